"""Measure the dashboard map's weight and how fast it appears, against a minimal app.

Reports (as JSON on stdout):
- the map HTML as the app sends it (assets linked, not inlined) and as the offline standalone
  file (assets inlined), in KB, for the full selection and for zone 22;
- for iszones (`iszones app`, as `make run` starts it) and for a minimal streamlit-folium app
  drawing the same zones and sites with Leaflet served by the app (MINIMAL_APP, 20 lines), run
  alternately in the same run, each round on a fresh server: seconds for the server to answer
  (iszones imports the page's modules first), then from the server answering to the map visible
  in headless Chromium (cold: the first page of a new server), a warm reload, and a sector
  change ("Clean Energy Industries" typed into the Sector box and picked, to the new map
  drawn; `sector_pick` counts from the click on the option, without the typing); medians,
  every round, and the ratios iszones / minimal (target: at most 1.3x; filter change under
  0.6 s).

Usage: python benchmarks/map_load.py [--rounds 3] [--chromium /usr/bin/chromium]
Needs Debian's chromium and the dev extra (playwright); never downloads a browser. The network
is limited to 127.0.0.1, so any CDN link would fail.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
# A map drawn since the last mark (see mark_map): a filter change has been redrawn.
FRESH_JS = "!!document.querySelector('.leaflet-container:not([data-bench-old])') && " + VISIBLE_JS
MARK_JS = (
    "document.querySelectorAll('.leaflet-container')"
    ".forEach(e => e.setAttribute('data-bench-old', '1')), true"
)
SECTOR = "Clean Energy Industries"

# The baseline: the same zones and sites, a sector filter, Leaflet served by the app (the same
# local serving as iszones, so neither touches a CDN). Nothing else.
MINIMAL_APP = """
import json, folium, streamlit as st
from streamlit_folium import st_folium
from iszones.data.paths import data_dir, sites_path, zones_path
from iszones.render import assets
from iszones.schema import SECTORS
st.set_page_config(layout="wide")
url = assets.serve_in_streamlit()
@st.cache_resource
def features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]
sectors = st.sidebar.multiselect("Sector", SECTORS)
def keep(f):
    return f["geometry"] and (not sectors or set(sectors) & set(f["properties"]["sectors"]))
zones = [f for f in features(zones_path(data_dir())) if keep(f)]
sites = [f for f in features(sites_path(data_dir())) if keep(f)]
m = folium.Map(location=[54.5, -3], zoom_start=6, tiles=None)
m.default_js, m.default_css = m.default_js[:1], m.default_css[:1]  # Leaflet only
folium.GeoJson({"type": "FeatureCollection", "features": zones}).add_to(m)
folium.GeoJson({"type": "FeatureCollection", "features": sites}).add_to(m)
st_folium(assets.localise(m, url), height=680, use_container_width=True, returned_objects=[])
"""


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


def frames_say(page, script: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether `script` is true in any frame of the page (the map lives in an iframe)."""
    for frame in page.frames:
        try:
            if frame.evaluate(script):
                return True
        except Exception:  # noqa: S112 - frames come and go while Streamlit renders
            continue
    return False


def wait_for(page, script: str, deadline: float, what: str) -> float:  # type: ignore[no-untyped-def]
    while not frames_say(page, script):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        page.wait_for_timeout(20)
    return time.monotonic()


def mark_map(page) -> None:  # type: ignore[no-untyped-def]
    """Mark the maps now drawn, in every frame (the map lives in an iframe), as old."""
    for frame in page.frames:
        try:
            frame.evaluate(MARK_JS)
        except Exception:  # noqa: S112 - frames come and go while Streamlit renders
            continue


def pick_sector(page) -> float:  # type: ignore[no-untyped-def]
    """Choose SECTOR in the sidebar's Sector box, as a user would; returns the moment the
    option is clicked (typing the name takes a browser about half a second)."""
    box = page.locator('section[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    box.click()
    page.keyboard.type(SECTOR)
    option = page.get_by_role("option", name=SECTOR).first
    option.wait_for()
    picked = time.monotonic()
    option.click()
    return picked


def iszones_command(port: int) -> list[str]:
    """The product's own start: `iszones app` (what `make run` runs)."""
    return [str(Path(sys.executable).parent / "iszones"), "app", f"--server.port={port}"]


def streamlit_run(script: Path) -> Callable[[int], list[str]]:
    """`streamlit run script` with the same server flags as iszones'."""

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
        ]

    return command


def time_app(
    start_command: Callable[[int], list[str]], chromium: str, timeout: float = 90.0
) -> dict[str, float]:
    """One round on a fresh server: cold page open -> map visible, a warm reload, a sector
    change."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = start_command(port)
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
            visible = wait_for(page, VISIBLE_JS, deadline, "the map did not appear")
            reload_start = time.monotonic()
            page.reload()
            page.wait_for_timeout(50)
            warm = wait_for(page, VISIBLE_JS, deadline + 30, "the map did not reappear")
            page.wait_for_timeout(500)  # let the page settle before the change
            mark_map(page)
            change_start = time.monotonic()
            picked = pick_sector(page)
            changed = wait_for(page, FRESH_JS, deadline + 60, "the map was not redrawn")
        finally:
            server.terminate()
            server.wait(timeout=10)
            browser.close()
    return {
        "server_answering_s": round(answered - start, 2),
        "cold_page_open_to_map_visible_s": round(visible - answered, 2),
        "warm_reload_to_map_visible_s": round(warm - reload_start, 2),
        "sector_change_to_map_redrawn_s": round(changed - change_start, 2),
        "sector_pick_to_map_redrawn_s": round(changed - picked, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    report: dict[str, object] = html_sizes()
    with tempfile.TemporaryDirectory() as folder:
        minimal = Path(folder) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        apps = {"iszones": iszones_command, "minimal": streamlit_run(minimal)}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
        for number in range(args.rounds):
            order = list(apps) if number % 2 == 0 else list(apps)[::-1]  # alternate who starts
            for name in order:
                runs[name].append(time_app(apps[name], args.chromium))
    for name, rounds in runs.items():
        for measure in rounds[0]:
            values = [r[measure] for r in rounds]
            report[f"{name}_{measure}_median"] = round(statistics.median(values), 2)
            report[f"{name}_{measure}_all"] = values
    for measure in (
        "cold_page_open_to_map_visible_s",
        "warm_reload_to_map_visible_s",
        "sector_change_to_map_redrawn_s",
        "sector_pick_to_map_redrawn_s",
    ):
        ours = report[f"iszones_{measure}_median"]
        theirs = report[f"minimal_{measure}_median"]
        report[f"ratio_{measure.removesuffix('_s')}"] = round(float(ours) / float(theirs), 2)  # type: ignore[arg-type]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
