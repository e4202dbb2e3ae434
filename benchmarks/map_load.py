"""Measure the dashboard map's weight and how long it takes to appear in headless Chromium.

Reports (as JSON on stdout):
- the map HTML as the app sends it (assets linked, not inlined) and as the offline standalone
  file (assets inlined), in KB, for the full selection and for zone 22;
- seconds from `streamlit run app.py` starting to the server answering, and to Leaflet's zone
  polygons and markers being visible in headless Chromium (network limited to 127.0.0.1), over
  a few runs, plus the time to a warm reload in the same browser.

Usage: python benchmarks/map_load.py [--runs 3] [--chromium /usr/bin/chromium]
Needs Debian's chromium and the dev extra (playwright); never downloads a browser.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iszones.data.catalogue import load_catalogue  # noqa: E402
from iszones.data.selection import Selection, apply_selection  # noqa: E402
from iszones.render import assets  # noqa: E402
from iszones.render import webmap as maps  # noqa: E402
from iszones.render.format import count_line  # noqa: E402

VISIBLE_JS = (
    "document.querySelectorAll('path.leaflet-interactive').length > 0 &&"
    " document.querySelectorAll('.leaflet-marker-icon').length > 0"
)


def html_sizes() -> dict[str, float]:
    """Map HTML sizes in KB for the whole catalogue and for zone 22."""
    cat = load_catalogue(ROOT / "data")
    zones, units = maps.simplify_for_web(cat.zones, cat.admin_units)
    out: dict[str, float] = {}
    for label, selection in (("all", Selection()), ("zone22", Selection(zone_id=22))):
        kept_zones, kept_sites = apply_selection(zones, cat.sites, selection)
        count = count_line(len(kept_zones), len(zones), len(kept_sites), len(cat.sites))

        def fresh(kz=kept_zones, ks=kept_sites, c=count):  # type: ignore[no-untyped-def]
            return maps.build_map(kz, ks, selection_summary=c, background=units)

        linked = fresh().get_root().render()
        offline = assets.standalone_html(fresh(), offline=True)
        out[f"{label}_map_html_kb"] = round(len(linked.encode()) / 1024, 1)
        out[f"{label}_offline_html_kb"] = round(len(offline.encode()) / 1024, 1)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=1) as response:  # noqa: S310 - a local URL we just started
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in time")


def map_frame_visible(page) -> bool:  # type: ignore[no-untyped-def]
    for frame in page.frames:
        try:
            if frame.evaluate(VISIBLE_JS):
                return True
        except Exception:  # noqa: S112 - frames come and go while Streamlit renders
            continue
    return False


def time_run(chromium: str, timeout: float = 60.0) -> dict[str, float]:
    """One cold start: server start -> HTTP answer -> map visible; then a warm reload."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else route.abort()
            ),
        )
        start = time.monotonic()
        server = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = start + timeout
            wait_http(url, deadline)
            answered = time.monotonic()
            page.goto(url)
            while not map_frame_visible(page):
                if time.monotonic() > deadline:
                    raise TimeoutError("the map did not appear")
                page.wait_for_timeout(50)
            visible = time.monotonic()
            reload_start = time.monotonic()
            page.reload()
            page.wait_for_timeout(100)
            while not map_frame_visible(page):
                if time.monotonic() > deadline + 30:
                    raise TimeoutError("the map did not reappear")
                page.wait_for_timeout(50)
            warm = time.monotonic() - reload_start
        finally:
            server.terminate()
            server.wait(timeout=10)
            browser.close()
    return {
        "server_answering_s": round(answered - start, 2),
        "server_start_to_map_visible_s": round(visible - start, 2),
        "page_open_to_map_visible_s": round(visible - answered, 2),
        "warm_reload_to_map_visible_s": round(warm, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    report: dict[str, object] = html_sizes()
    runs = [time_run(args.chromium) for _ in range(args.runs)]
    for name in runs[0]:
        values = [run[name] for run in runs]
        report[name + "_median"] = round(statistics.median(values), 2)
        report[name + "_all"] = values
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
