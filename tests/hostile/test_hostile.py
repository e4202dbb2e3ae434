"""Every hostile file in corpus.py through the real command line and through check_sites.

Per case: exit code 1 with exactly one line of message naming the file, or the check runs and
the bad rows carry a problem; never a traceback; no temporary file left; memory capped (address
space limit on the child) and time bounded (a timeout). The limits are generous on purpose:
benchmarks/hostile_inputs.py measures the real figures.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from iszones.check.frames import bundled_boundaries, check_sites
from iszones.data.catalogue import admin_units_path, read_admin_units, read_zones, zones_path
from iszones.errors import IszonesError
from iszones.inputs.readers import read_boundary_bytes, read_site_bytes
from tests.conftest import ROOT
from tests.hostile.corpus import (
    REFUSED,
    ROW_PROBLEM,
    Case,
    cases,
    good_csv,
)

DATA = ROOT / "data"
ISZONES = Path(sys.executable).parent / "iszones"
MEMORY_LIMIT = 3 << 30  # bytes of address space for the child (a normal check needs < 1 GB)
TIME_LIMIT = 120  # seconds per case (each takes 1-6 s here)
CASES = list(cases())


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(case: Case, folder: Path) -> tuple[subprocess.CompletedProcess[str], Path, Path, float]:
    """Run `iszones check` on the case in `folder` with a private TMPDIR; returns the process,
    the input and output paths, and the seconds it took."""
    tmp = folder / "tmp"
    tmp.mkdir()
    path = folder / case.name
    path.write_bytes(case.data)
    out = folder / f"out{case.out}"
    if case.boundary:
        sites = folder / "sites.csv"
        sites.write_bytes(good_csv())
        argv = [str(ISZONES), "check", str(sites), "--out", str(out), "--boundaries", str(path)]
    else:
        argv = [str(ISZONES), "check", str(path), "--out", str(out)]
    extra = [a.format(input=path, dir=folder) for a in case.args]
    if "--out" in extra:
        at = argv.index("--out")
        del argv[at : at + 2]
        out = Path(extra[extra.index("--out") + 1])
    started = time.perf_counter()
    done = subprocess.run(
        [*argv, *extra],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        env={**os.environ, "TMPDIR": str(tmp)},
        preexec_fn=_limit_memory,
    )
    return done, path, out, time.perf_counter() - started


def output_rows(out: Path) -> list[dict[str, str]]:
    if out.suffix == ".xlsx":
        rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
        header = [str(h) for h in rows[0]]
        return [
            {h: "" if v is None else str(v) for h, v in zip(header, row, strict=False)}
            for row in rows[1:]
        ]
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_hostile_file_through_the_cli(case: Case, tmp_path: Path) -> None:
    done, path, out, seconds = run_cli(case, tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert seconds < TIME_LIMIT
    assert not list((tmp_path / "tmp").iterdir()), "temporary files left behind"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    if case.expect == REFUSED:
        assert done.returncode == 1, done.stderr
        assert len(errors) == 1, done.stderr  # one line of message
        assert path.name in errors[0] or "--max-mb" in errors[0]
        assert case.says in errors[0]
        assert "/vsimem/" not in errors[0] and str(tmp_path / "tmp") not in errors[0]
        if out != path:
            assert not out.exists()
        else:
            assert path.read_bytes() == case.data  # the input is never overwritten
        return
    assert done.returncode == 0, done.stderr
    assert not errors
    rows = output_rows(out)
    assert rows
    if case.expect == ROW_PROBLEM:
        problems = [row["problem"] for row in rows if row["problem"]]
        assert problems and any(case.says in p for p in problems), problems
        assert all("\n" not in p for p in problems)
        assert all(len(p) < 400 for p in problems)  # no 309-digit numbers
    if case.check is not None:
        case.check(rows)


@pytest.fixture(scope="module")
def reference():
    zones = bundled_boundaries(read_zones(zones_path(DATA)))
    return zones, read_admin_units(admin_units_path(DATA))


IN_PROCESS = [c for c in CASES if not c.args]


@pytest.mark.parametrize("case", IN_PROCESS, ids=[c.key for c in IN_PROCESS])
def test_hostile_file_through_check_sites(case: Case, reference) -> None:
    """The library path (the dashboard's): a one-line IszonesError or per-row problems."""
    zones, units = reference
    try:
        if case.boundary:
            read_boundary_bytes(case.data, case.name)
            sites = read_site_bytes(good_csv(), "sites.csv")
        else:
            sites = read_site_bytes(case.data, case.name)
        result = check_sites(sites.frame, zones, units, problems=sites.problems)
    except IszonesError as err:
        message = str(err)
        assert case.expect == REFUSED, message
        assert "\n" not in message and case.name in message and case.says in message
        return
    assert case.expect != REFUSED, f"{case.key} was read"
    if case.expect == ROW_PROBLEM:
        assert (result["problem"] != "").any()


def test_streamed_and_whole_file_csv_neutralise_alike(tmp_path, reference) -> None:
    """The streamed CSV writer (bulk) and result_bytes make the same formula cells inert."""
    from iszones.check.frames import prepare_check
    from iszones.check.outputs import result_bytes
    from iszones.check.stream import CsvCheck
    from tests.hostile.corpus import _formula_csv

    zones, units = reference
    source = tmp_path / "formula.csv"
    source.write_bytes(_formula_csv())
    sites = read_site_bytes(source.read_bytes(), source.name)
    whole = result_bytes(check_sites(sites.frame, zones, units, problems=sites.problems), ".csv")
    CsvCheck(source).run(tmp_path / "out.csv", prepare_check(zones, units))
    streamed = (tmp_path / "out.csv").read_bytes()
    names = [row["name"] for row in csv.DictReader(io.StringIO(streamed.decode("utf-8-sig")))]
    assert names[0].startswith("'=HYPERLINK") and names[1].startswith("'+cmd")
    assert names[-1] == "Plot gpj.exe"  # the right-to-left override dropped
    whole_names = [row["name"] for row in csv.DictReader(io.StringIO(whole.decode("utf-8-sig")))]
    assert whole_names == names


def _big_csv(path: Path, rows: int) -> None:
    with path.open("w") as handle:
        handle.write("name,easting,northing\n")
        handle.writelines(
            f"s{i},{100000 + (i * 7919) % 500000},{100000 + (i * 104729) % 800000}\n"
            for i in range(rows)
        )


def test_sigterm_leaves_no_temporary_file_and_stale_ones_go(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    _big_csv(source, 1_000_000)
    stale = tmp_path / ".out.csv.999999.abcdefgh.tmp"  # a killed run's (no such process)
    stale.write_bytes(b"x" * 100)
    process = subprocess.Popen(
        [str(ISZONES), "check", str(source), "--out", str(tmp_path / "out.csv")],
        stderr=subprocess.PIPE,
        text=True,
    )
    mine = f".out.csv.{process.pid}."
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        p.name.startswith(mine) for p in tmp_path.iterdir()
    ):
        time.sleep(0.05)
    assert any(p.name.startswith(mine) for p in tmp_path.iterdir()), "never started writing"
    assert not stale.exists()  # removed when the run started
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Stopped (terminated)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


@pytest.mark.parametrize(
    ("command", "setup", "says"),
    [
        (["import-admin-units", "{dir}/missing.json"], None, "missing.json: file not found"),
        (["import-admin-units", "{dir}/broken.json"], "broken.json", "cannot be read as"),
        (["build-boundaries", "--dry-run", "--data-dir", "{dir}/data"], "no-units", "not found"),
        (["build-boundaries", "--dry-run", "--data-dir", "{dir}/data"], "bad-units", "cannot"),
    ],
)
def test_maintainer_commands_say_a_broken_input_in_one_line(tmp_path, command, setup, says):
    data = tmp_path / "data"
    (data / "boundaries").mkdir(parents=True)
    (data / "sites.geojson").write_bytes((DATA / "sites.geojson").read_bytes())
    for name in ("membership.csv", "zone_attributes.json"):
        (data / "boundaries" / name).write_bytes((DATA / "boundaries" / name).read_bytes())
    if setup == "broken.json":
        (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    elif setup == "bad-units":
        (data / "boundaries" / "uk_admin_units.geojson").write_text("{oops", encoding="utf-8")
    done = subprocess.run(
        [str(ISZONES), *[a.format(dir=tmp_path) for a in command]],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and says in errors[0], done.stderr
