"""One end-to-end test: `streamlit run app.py` on 127.0.0.1, driven by Debian's headless Chromium.

The browser may reach nothing but the app: every other request is refused and recorded, so the
map only renders if Leaflet and its plugin come from the app itself. The data folder (through
ISZONES_DATA_DIR) holds a site named `<img src=x onerror=alert(1)>`. Screenshots are saved to
$ISZONES_ARTIFACTS (default build/test-artifacts/) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.xss import XSS_NAME, XSS_SITE_ID, make_xss_data

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ISZONES_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("ISZONES_ARTIFACTS", ROOT / "build" / "test-artifacts"))

# Sites on the map: every marker held by the cluster groups (clustered or not).
COUNT_SITES_JS = """() => {
  if (!window.map || !window.L || !L.MarkerClusterGroup) return -1;
  let n = 0;
  map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) n += l.getLayers().length; });
  return n;
}"""
ZONE_PATHS_JS = "() => document.querySelectorAll('path.leaflet-interactive').length"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    if (
        not Path(CHROMIUM).exists()
        or shutil.which("streamlit", path=Path(sys.executable).parent) is None
    ):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium.")
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    data = make_xss_data(tmp_path_factory.mktemp("browser") / "data")
    port = _free_port()
    env = {**os.environ, "ISZONES_DATA_DIR": str(data)}
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urlopen(url, timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.terminate()
                pytest.fail(f"streamlit did not start; see {log.name}")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=15)
    log.close()


def _map_frame(page, timeout_s: float = 45.0, *, want_markers: bool = True):
    """The frame holding the Leaflet map, once zones (and markers) are drawn."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate(ZONE_PATHS_JS) > 0 and (
                    not want_markers or frame.evaluate(COUNT_SITES_JS) > 0
                ):
                    return frame
            except Exception:  # noqa: S112 - frames detach while Streamlit re-renders; look again
                continue
        page.wait_for_timeout(100)
    raise AssertionError("the Leaflet map never appeared")


def test_dashboard_in_a_real_browser_with_the_network_blocked(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    dialogs: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("**/*", only_local)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            # 1. The whole map: zones, markers, legend, attribution, served with no CDN.
            page.goto(server)
            frame = _map_frame(page)
            all_sites = frame.evaluate(COUNT_SITES_JS)
            assert all_sites == 127  # every site with a location
            assert frame.evaluate(ZONE_PATHS_JS) == 22
            assert "Freeport and Investment Zone" in frame.inner_text(".isz-legend")
            assert "Natural Earth" in frame.inner_text(".leaflet-control-attribution")
            page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
            page.screenshot(path=str(ARTIFACTS / "browser-full.png"))

            # 2. A sector filter through the sidebar widget changes the markers shown.
            sector = page.get_by_test_id("stMultiSelect").first
            sector.click()
            page.keyboard.type("Defence")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            deadline = time.monotonic() + 30
            shown = all_sites
            while time.monotonic() < deadline and shown in (all_sites, -1):
                page.wait_for_timeout(200)
                try:
                    shown = _map_frame(page, 5).evaluate(COUNT_SITES_JS)
                except AssertionError:
                    continue
            assert 0 < shown < all_sites
            assert "sector=Defence" in page.url
            page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
            page.screenshot(path=str(ARTIFACTS / "browser-defence.png"))

            # 3. The hostile name stays text in the app's card and in the map's popup.
            page.goto(f"{server}?site={XSS_SITE_ID}&zone=22")
            frame = _map_frame(page)
            card = page.locator(".isz-card h3").first
            card.wait_for(timeout=30000)
            assert card.inner_text() == XSS_NAME
            assert page.locator("img[src='x']").count() == 0
            popup_title = frame.evaluate(
                """(id) => new Promise(done => {
                  map.eachLayer(g => {
                    if (!(g instanceof L.MarkerClusterGroup)) return;
                    g.getLayers().forEach(m => {
                      if (m.feature.properties.site_id !== id) return;
                      g.zoomToShowLayer(m, () => {
                        m.openPopup();
                        done(document.querySelector('.leaflet-popup .isz-card h3').textContent);
                      });
                    });
                  });
                })""",
                XSS_SITE_ID,
            )
            assert popup_title == XSS_NAME
            assert frame.locator("img[src='x']").count() == 0
            page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
            page.screenshot(path=str(ARTIFACTS / "browser-xss-card.png"))

            # 4. Embed view of zone 22: the map alone, with its legend; no sidebar, no tables.
            page.goto(f"{server}?view=embed&zone=22")
            frame = _map_frame(page)
            assert frame.evaluate(ZONE_PATHS_JS) == 1
            assert "in 1 of 22 zones" in frame.inner_text(".isz-legend")
            assert not page.get_by_test_id("stSidebar").is_visible()
            assert not page.get_by_test_id("stExpandSidebarButton").is_visible()
            assert page.get_by_test_id("stDataFrame").count() == 0
            assert page.get_by_test_id("stTabs").count() == 0
            page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
            page.screenshot(path=str(ARTIFACTS / "browser-embed-zone22.png"))
        finally:
            browser.close()
    assert dialogs == [], "a script ran from the data"
    assert outside == [], f"requests left 127.0.0.1: {outside}"
