"""The built wheel installs into a fresh virtual environment and runs there, away from the
repository: the commands, the bundled data (package data) and the dashboard."""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.conftest import ROOT

SITES = "name,lat,lon\nInfinity Park,52.879,-1.468\nBuxton,53.2587,-1.9105\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new venv with only the iszones wheel installed; its dependencies come from this
    environment's site-packages through a .pth file (no network)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "wheel"),
        ],
        check=True,
    )
    wheel = next((tmp / "wheel").glob("iszones-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "iszones_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    return venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ISZONES_DATA_DIR"}
    return subprocess.run(
        [str(venv / "bin" / "iszones"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_installed_package_is_the_wheel_with_its_data(installed, tmp_path):
    code = "import iszones, iszones.data.paths as p;print(iszones.__file__); print(p.data_dir())"
    done = subprocess.run(
        [installed / "bin" / "python", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    module, data = done.stdout.splitlines()
    assert module.startswith(str(installed)) and data.startswith(str(installed))
    assert (Path(data) / "boundaries" / "districts.geojson").is_file()


def test_zones_and_check_run_from_another_folder(installed, tmp_path):
    zones = run(installed, "zones", cwd=tmp_path)
    assert zones.returncode == 0, zones.stderr
    assert "East Midlands Freeport and Investment Zone" in zones.stdout
    (tmp_path / "sites.csv").write_text(SITES)
    checked = run(installed, "check", "sites.csv", "--out", "out.csv", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("2 sites: 1 inside or possibly inside a tax site")
    out = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "High Peak" in out and "Infinity Park Derby" in out


def test_the_dashboard_starts_from_the_install(installed, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "ISZONES_DATA_DIR"}
    server = subprocess.Popen(
        [installed / "bin" / "iszones", "app", f"--server.port={port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.5)
        with urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"<title>" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
