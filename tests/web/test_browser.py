"""End-to-end tests: `iszones app` (as `make run`) on 127.0.0.1, driven by headless Chromium.

The browser may reach nothing but the app: every other request is refused and recorded, so the
map only renders if Leaflet and its plugin come from the app itself. The data folder (through
ISZONES_DATA_DIR) holds a site named `<img src=x onerror=alert(1)>`. Screenshots are saved to
$ISZONES_ARTIFACTS (default build/test-artifacts/) for a person to look at.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from tests.conftest import ROOT
from tests.xss import XSS_NAME, XSS_SITE_ID, make_xss_data

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ISZONES_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("ISZONES_ARTIFACTS", ROOT / "build" / "test-artifacts"))
FIXTURES = ROOT / "tests" / "fixtures" / "check"

# Sites on the map: every marker held by the cluster groups (clustered or not).
# Sites on the map: every marker held by the cluster groups (clustered or not). The map is
# window.map under streamlit-folium, and folium's map_<id> variable in a standalone file.
COUNT_SITES_JS = """() => {
  if (!window.L || !L.MarkerClusterGroup) return -1;
  const m = window.map || Object.keys(window).filter(k => k.startsWith('map_'))
    .map(k => window[k]).find(v => v instanceof L.Map);
  if (!m) return -1;
  let n = 0;
  m.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) n += l.getLayers().length; });
  return n;
}"""
ZONE_PATHS_JS = "() => document.querySelectorAll('path.leaflet-interactive').length"
# Zoomed to the selected site, with every zoom animation (map and clusters) finished.
SETTLED_AT_SITE_JS = """() => {
  if (map.getZoom() < 12 || map._animatingZoom) return false;
  let idle = true;
  map.eachLayer(g => {
    if (g instanceof L.MarkerClusterGroup && g._inZoomAnimation) idle = false;
  });
  return idle;
}"""
# Open a site's popup (un-clustering it if needed) and read its card's title; fails, never hangs.
OPEN_POPUP_JS = """(id) => new Promise((done, fail) => {
  setTimeout(() => fail(new Error('no popup for ' + id)), 15000);
  map.eachLayer(g => {
    if (!(g instanceof L.MarkerClusterGroup)) return;
    g.getLayers().forEach(m => {
      if (m.feature.properties.site_id !== id) return;
      g.zoomToShowLayer(m, () => {
        m.openPopup();
        const title = document.querySelector('.leaflet-popup .isz-card h3');
        title ? done(title.textContent) : fail(new Error('popup has no card'));
      });
    });
  });
})"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    if (
        not Path(CHROMIUM).exists()
        or shutil.which("iszones", path=Path(sys.executable).parent) is None
    ):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium.")
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    data = make_xss_data(tmp_path_factory.mktemp("browser") / "data")
    port = _free_port()
    env = {**os.environ, "ISZONES_DATA_DIR": str(data)}
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        # the server imports the pages' modules before it answers (web.app.serve)
        [str(Path(sys.executable).parent / "iszones"), "app", f"--server.port={port}"],
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


# The legend as a reader sees it after opening it (it opens folded where it would cover data).
OPENED_LEGEND_JS = """() => {
  const d = document.querySelector('.isz-legend details');
  if (!d.open) d.querySelector('summary').click();
  return document.querySelector('.isz-legend').innerText;
}"""


def text_of(selector: str) -> str:
    return f"() => document.querySelector({selector!r}).innerText"


def _on_map(page, script: str, arg: object = None, timeout_s: float = 45.0):
    """Evaluate `script` in the map's frame; Streamlit may replace the frame once, so retry."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = _map_frame(page, max(deadline - time.monotonic(), 1.0))
        try:
            return frame.evaluate(script, arg)
        except Exception as err:  # a detached frame or a reloaded document: find it again
            message = str(err).lower()
            gone = "detached" in message or "context was destroyed" in message
            if not gone or time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def _only_local(outside: list[str]):
    """A route handler: the app's own requests (and local files) pass, any other is blocked and
    noted in `outside`."""

    def handle(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:", "file:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    return handle


@contextmanager
def _chromium(outside: list[str]) -> Iterator[Callable[[int, int], Any]]:
    """Debian's Chromium, headless; yields new_page(width, height): a page whose requests
    beyond 127.0.0.1 are blocked and noted in `outside`."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def new_page(width: int, height: int) -> Any:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", _only_local(outside))
            return page

        try:
            yield new_page
        finally:
            browser.close()


def test_dashboard_in_a_real_browser_with_the_network_blocked(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    dialogs: list[str] = []

    with _chromium(outside) as new_page:
        page = new_page(1400, 1000)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # 1. The whole map: zones, markers, legend, attribution, served with no CDN.
        page.goto(server)
        all_sites = _on_map(page, COUNT_SITES_JS)
        assert all_sites == 129  # every site with a location
        assert _on_map(page, ZONE_PATHS_JS) == 22
        assert "Freeport and Investment Zone" in _on_map(page, OPENED_LEGEND_JS)
        assert "OpenStreetMap (ODbL)" in _on_map(page, text_of(".leaflet-control-attribution"))
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
            shown = _on_map(page, COUNT_SITES_JS)
        assert 0 < shown < all_sites
        assert "sector=Defence" in page.url
        page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
        page.screenshot(path=str(ARTIFACTS / "browser-defence.png"))

        # 3. The hostile name stays text in the app's card and in the map's popup.
        page.goto(f"{server}?site={XSS_SITE_ID}&zone=22")
        card = page.locator(".isz-card h3").first
        card.wait_for(timeout=30000)
        assert card.inner_text() == XSS_NAME
        assert page.locator("img[src='x']").count() == 0
        deadline = time.monotonic() + 30
        while not _on_map(page, SETTLED_AT_SITE_JS) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert _on_map(page, OPEN_POPUP_JS, XSS_SITE_ID) == XSS_NAME
        assert _on_map(page, "() => document.querySelectorAll('img[src=\"x\"]').length") == 0
        page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
        page.screenshot(path=str(ARTIFACTS / "browser-xss-card.png"))

        # 4. Embed view of zone 22: the map alone, with its legend; no sidebar, no tables.
        page.goto(f"{server}?view=embed&zone=22")
        assert _on_map(page, ZONE_PATHS_JS) == 1
        assert "in 1 of 22 zones" in _on_map(page, OPENED_LEGEND_JS)
        assert not page.get_by_test_id("stSidebar").is_visible()
        assert not page.get_by_test_id("stExpandSidebarButton").is_visible()
        assert page.get_by_test_id("stDataFrame").count() == 0
        assert page.get_by_test_id("stTabs").count() == 0
        page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
        page.screenshot(path=str(ARTIFACTS / "browser-embed-zone22.png"))

        # 5. The map download opens from disk, offline, with the same zone and sites.
        page.goto(f"{server}?zone=22")
        _map_frame(page)
        page.get_by_role("radio", name="Share and download").click()
        button = page.get_by_role("button", name="Map (HTML, works offline)")
        with page.expect_download(timeout=30000) as download:
            button.click()
        saved = ARTIFACTS / "browser-download-map.html"
        download.value.save_as(saved)
        html = saved.read_text(encoding="utf-8")
        assert "&lt;img src=x onerror=alert(1)&gt;" in html and XSS_NAME not in html
        # the other downloads straight after it, as a user clicks them: each arrives whole
        for name in ("Sites (CSV)", "Sites (GeoJSON)", "Zones (GeoJSON)"):
            with page.expect_download(timeout=30000) as more:
                page.get_by_role("button", name=name).click()
            body = Path(more.value.path()).read_bytes()
            assert body.startswith(codecs.BOM_UTF8) if "CSV" in name else json.loads(body)
        offline = new_page(1200, 800)
        offline.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        offline.goto(saved.as_uri())
        assert _on_map(offline, ZONE_PATHS_JS, timeout_s=20) == 1
        assert _on_map(offline, COUNT_SITES_JS) > 0
        offline.wait_for_timeout(800)
        offline.screenshot(path=str(ARTIFACTS / "browser-download-offline.png"))
    assert dialogs == [], "a script ran from the data"
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_check_page_in_a_real_browser_with_the_network_blocked(server):
    """A council officer's upload: the page's map draws its sites and zones with no CDN."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []

    with _chromium(outside) as new_page:
        page = new_page(1400, 1400)
        page.goto(f"{server}Check_my_sites")
        page.locator("input[type=file]").first.set_input_files(FIXTURES / "sites_wgs84.csv")
        # the zones the sites are in or nearest to, the sites as icons by level, a legend
        frame = _map_frame(page, want_markers=False)
        assert frame.evaluate(ZONE_PATHS_JS) >= 1
        icons = "() => document.querySelectorAll('.leaflet-marker-icon').length"
        assert frame.evaluate(icons) >= 3
        legend = frame.evaluate("() => document.querySelector('.isz-legend').innerText")
        assert "Your sites" in legend and "Outside every zone" in legend
        assert "inside a zone" in page.get_by_test_id("stHeading").last.inner_text()
        page.wait_for_timeout(1200)  # let Leaflet finish its zoom animation
        page.screenshot(path=str(ARTIFACTS / "browser-check-page.png"), full_page=True)
        # the table's filter: only the rows with a problem
        page.get_by_text("Only problems", exact=True).click()
        page.get_by_text("3 of 11 rows").wait_for(timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "browser-check-page-problems.png"), full_page=True)
        # every download, one straight after another as a user clicks them: each arrives whole
        got = {}
        for kind in ("CSV", "GeoJSON", "Excel", "GeoPackage"):
            with page.expect_download(timeout=30_000) as download:
                page.get_by_role("button", name=f"Download {kind}").click()
            got[kind] = Path(download.value.path()).read_bytes()
        assert got["CSV"].startswith(codecs.BOM_UTF8) and got["CSV"].count(b"\n") == 12
        assert len(json.loads(got["GeoJSON"])["features"]) == 11
        assert got["Excel"][:2] == b"PK" and got["GeoPackage"][:16] == b"SQLite format 3\x00"
        # on a phone the legend opens folded to its title, covering none of the sites
        phone = new_page(390, 844)
        phone.goto(f"{server}Check_my_sites")
        phone.locator("input[type=file]").first.set_input_files(FIXTURES / "sites_wgs84.csv")
        frame = _map_frame(phone, want_markers=False)
        folded = "() => !document.querySelector('.isz-legend details').open"
        assert frame.evaluate(folded)
        assert frame.evaluate(text_of(".isz-legend")).strip() == "Your sites"
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_a_long_list_of_sites_draws_without_a_layout_per_site(server, tmp_path):
    """Every site on the check map is a layer; measuring the attribution on each layer's
    arrival made the browser lay out the page once per site (3,069 layouts for 3,000 sites, the
    page frozen for seconds; over 20 s for 5,000). Chromium counts the layouts."""
    source = tmp_path / "many.csv"
    rows = [
        f"s{i},{300_000 + (i * 7919) % 250_000},{150_000 + (i * 104_729) % 300_000}"
        for i in range(3_000)
    ]
    source.write_text("ref,easting,northing\n" + "\n".join(rows) + "\n", encoding="utf-8")
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(1400, 1200)
        page.goto(f"{server}Check_my_sites")
        page.get_by_text("Choose a file of sites to start.").wait_for(timeout=30_000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")

        def layouts() -> float:
            metrics = cdp.send("Performance.getMetrics")["metrics"]
            return next(m["value"] for m in metrics if m["name"] == "LayoutCount")

        before = layouts()
        page.locator("input[type=file]").first.set_input_files(source)
        frame = _map_frame(page, want_markers=False)
        icons = "() => document.querySelectorAll('.leaflet-marker-icon').length"
        assert frame.evaluate(icons) >= 2_000  # the sites are drawn (up to the map's limit)
        page.get_by_role("button", name="Download CSV").wait_for(timeout=60_000)
        assert layouts() - before < 300
        # measured once the sites are in: the scale bar still sits above the attribution
        stacked = """() => {
          const a = document.querySelector('.leaflet-control-attribution').getBoundingClientRect();
          const b = document.querySelector('.leaflet-control-scale').getBoundingClientRect();
          return b.bottom <= a.top + 1;
        }"""
        assert frame.evaluate(stacked)
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_check_page_shows_template_text_as_typed_and_runs_none(server, tmp_path):
    """Issue 12: names holding Jinja, uploaded in a real browser, show with their braces (map
    tooltips and table) and nothing runs on the server (its folder gains no directory)."""
    from tests.templates import EXPR, LOOP, MKDIR, PWNED

    outside: list[str] = []
    source = tmp_path / "templates.csv"
    source.write_text(
        f'name,lat,lon\n"{EXPR} {MKDIR}",52.9,-1.47\n"Plot {{{{A {LOOP}",52.95,-1.2\n'
    )
    with _chromium(outside) as new_page:
        page = new_page(1400, 1400)
        page.goto(f"{server}Check_my_sites")
        page.locator("input[type=file]").first.set_input_files(source)
        frame = _map_frame(page, want_markers=False)
        tips = frame.evaluate(
            """() => { const out = []; map.eachLayer(l => { if (l.getTooltip && l.getTooltip())
              out.push(l.getTooltip().getContent()); }); return out.join(' '); }"""
        )
        shown = frame.evaluate(
            "(html) => { const d = document.createElement('div'); d.innerHTML = html;"
            " return d.textContent; }",
            tips,
        )
        assert EXPR in shown and LOOP in shown and "Plot {{A" in shown
        assert "1234000" not in shown and "zqzqzq" not in shown
    assert not (ROOT / PWNED).exists(), "a template payload ran on the server"
    assert outside == [], f"requests left 127.0.0.1: {outside}"


# Issue 16: what a reader sees zoomed in, on a phone, a desktop and in a small iframe.
LABELS_JS = """() => ({
  towns: [...document.querySelectorAll('.isz-place')].map(e => e.textContent),
  districts: [...document.querySelectorAll('.isz-district')].map(e => e.textContent),
})"""
# Share of the map's area under the legend, and whether the open popup lies wholly in the map.
COVER_JS = """() => {
  const m = document.querySelector('.leaflet-container').getBoundingClientRect();
  const l = document.querySelector('.isz-legend').getBoundingClientRect();
  const p = document.querySelector('.leaflet-popup');
  const inside = r => r.left >= m.left - 1 && r.right <= m.right + 1 && r.top >= m.top - 1
    && r.bottom <= m.bottom + 1;
  const overlap = (a, b) => a.left < b.right && a.right > b.left && a.top < b.bottom
    && a.bottom > b.top;
  const pr = p && p.getBoundingClientRect();
  return {legend: (l.width * l.height) / (m.width * m.height),
          popupInside: !!p && inside(pr), popupUnderLegend: !!p && overlap(pr, l)};
}"""
POPUP_AT_JS = """(id) => new Promise((done) => {
  map.eachLayer(g => {
    if (!(g instanceof L.MarkerClusterGroup)) return;
    g.getLayers().forEach(m => {
      if (m.feature.properties.site_id === id) g.zoomToShowLayer(m, () => m.openPopup());
    });
  });
  setTimeout(done, 1500);  // the popup's auto-pan
})"""
SIZES = [("phone", 390, 844), ("desktop", 1400, 1000)]


# Markers and zone outlines (their boxes) that a control (buttons, legend, scale bar,
# attribution) lies over.
COVERED_JS = """() => {
  const box = e => e.getBoundingClientRect();
  const controls = [...document.querySelectorAll('.leaflet-control')].map(box);
  const data = [...document.querySelectorAll('.leaflet-marker-icon, path.leaflet-interactive')];
  return data.map(box).filter(d => d.width && controls.some(c =>
    d.left < c.right && d.right > c.left && d.top < c.bottom && d.bottom > c.top)).length;
}"""


def test_on_a_phone_the_selection_opens_clear_of_the_maps_controls(server):
    """Scotland's Freeports on a 390 px screen: the fit left the Inverness zone under the buttons
    and folded legend and the Forth one under the scale bar and attribution."""
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(390, 844)
        page.goto(f"{server}?programme=freeport&nation=Scotland")
        page.get_by_text("in 2 of 22 zones").wait_for(timeout=60_000)
        _map_frame(page)
        page.wait_for_timeout(1000)
        assert _on_map(page, COVERED_JS) == 0
        page.screenshot(path=str(ARTIFACTS / "browser-phone-selection.png"))
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def _settled(page) -> None:
    deadline = time.monotonic() + 30
    while not _on_map(page, SETTLED_AT_SITE_JS) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(800)


@pytest.mark.parametrize(("label", "width", "height"), SIZES, ids=[s[0] for s in SIZES])
def test_zoomed_in_map_names_places_and_keeps_the_data_visible(server, label, width, height):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(width, height)
        page.goto(f"{server}?zone=22&site=ratcliffe-on-soar")
        _settled(page)
        labels = _on_map(page, LABELS_JS)
        assert {"Kegworth", "Long Eaton"} & set(labels["towns"]), labels
        page.goto(f"{server}?zone=22&lat=52.95&lon=-1.2&z=9")  # districts named from zoom 9
        _map_frame(page)
        page.wait_for_timeout(1500)
        assert _on_map(page, "() => map.getZoom()") == 9
        assert _on_map(page, LABELS_JS)["districts"], "no district names at zoom 9"
        page.screenshot(path=str(ARTIFACTS / f"browser-{label}-zoom9.png"))
        page.goto(f"{server}?zone=22&site=ratcliffe-on-soar")
        _settled(page)
        _on_map(page, POPUP_AT_JS, "ratcliffe-on-soar")
        cover = _on_map(page, COVER_JS)
        assert cover["legend"] <= 0.25, cover
        assert cover["popupInside"] and not cover["popupUnderLegend"], cover
        page.screenshot(path=str(ARTIFACTS / f"browser-{label}-popup.png"))
        if label == "desktop":
            names = page.get_by_test_id("stSidebarNav").inner_text()
            assert "Map" in names and "Check my sites" in names and "app" not in names
            assert page.get_by_text("Deploy", exact=True).count() == 0
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_embed_fits_a_small_iframe_and_a_link_keeps_the_view(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(640, 440)
        page.set_content(
            f'<iframe src="{server}?zone=22&view=embed&embed=true" width="600" height="400"'
            ' style="border:0"></iframe>'
        )
        frame = _map_frame(page)
        page.wait_for_timeout(1500)
        box = frame.evaluate(
            "() => { const m = document.querySelector('.leaflet-container')"
            ".getBoundingClientRect(); const z = [...document.querySelectorAll("
            "'path.leaflet-interactive')].map(p => p.getBoundingClientRect());"
            " const l = document.querySelector('.isz-legend').getBoundingClientRect();"
            " return {h: m.height, w: m.width, inner: window.innerHeight, legend: l.width"
            " * l.height / (m.width * m.height), zone: z.every(r => r.top >= m.top - 2 &&"
            " r.bottom <= m.bottom + 2 && r.left >= m.left - 2 && r.right <= m.right + 2)}; }"
        )
        assert box["legend"] <= 0.25 and box["zone"], box
        outer = page.frames[1]
        caption = outer.locator("[data-testid=stCaptionContainer]").first
        c = caption.bounding_box()
        assert c is not None and c["y"] + c["height"] <= 400 + 2  # inside the frame
        page.screenshot(path=str(ARTIFACTS / "browser-embed-600x400.png"))

        # A link with a map position opens there.
        link = new_page(1400, 1000)
        link.goto(f"{server}?lat=53.2000&lon=-1.5000&z=10")
        _map_frame(link)
        link.wait_for_timeout(1500)
        centre = _on_map(link, "() => [map.getCenter().lat, map.getCenter().lng, map.getZoom()]")
        assert abs(centre[0] - 53.2) < 0.01 and abs(centre[1] + 1.5) < 0.01 and centre[2] == 10
        link.wait_for_timeout(500)
        assert "z=10" in link.url and "lat=53.2" in link.url
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_search_box_drops_a_pin_and_answers_with_the_network_blocked(server):
    """Find a place (issue 13): typing a postcode pins it on the map at zoom 12 and the card
    names its council, zone and nearest tax site."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(1400, 1000)
        page.goto(server)
        _map_frame(page)
        box = page.get_by_role("textbox", name="Find a place")
        box.fill("DE74 2SA")
        box.press("Enter")
        page.get_by_text("North West Leicestershire (E07000134)").wait_for(timeout=30_000)
        pin = "() => document.querySelectorAll('.isz-icon path[fill=\"#d7191c\"]').length"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _on_map(page, pin) != 1:
            page.wait_for_timeout(200)
        assert _on_map(page, pin) == 1
        zoom = _on_map(page, "() => map.getZoom()")
        assert zoom == 12
        assert "at=DE74+2SA" in page.url or "at=DE74%202SA" in page.url
        page.screenshot(path=str(ARTIFACTS / "browser-search.png"))
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def test_a_table_row_opens_its_site_card_or_its_zone_sheet(server):
    """The panels under the map open on request; picking a row (the table is a canvas, so by
    position: the first row under the header) opens that site's card, or that zone's sheet."""
    outside: list[str] = []
    with _chromium(outside) as new_page:
        page = new_page(1400, 1000)
        page.goto(server)
        _map_frame(page)
        assert page.get_by_test_id("stDataFrame").count() == 0  # no panel open at first

        def pick_first_row(panel: str) -> None:
            page.get_by_role("radio", name=panel).click()
            grid = page.get_by_test_id("stDataFrame").first
            grid.wait_for()
            page.wait_for_timeout(1500)  # the canvas draws its rows
            grid.scroll_into_view_if_needed()
            box = grid.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + 17, box["y"] + 35 + 17)  # the row's select box

        pick_first_row("Sites table")
        page.wait_for_url("**site=*", timeout=30000)
        pick_first_row("Zones table")
        page.wait_for_url("**zone=*", timeout=30000)
        sheet = page.get_by_role("radio", name="Zone sheet")
        sheet.wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('[role=radio]')]"
            ".some(r => r.innerText.includes('Zone sheet')"
            " && r.getAttribute('aria-checked') === 'true')",
            timeout=30000,
        )
        page.get_by_text("Sites inside (").first.wait_for(timeout=30000)
    assert outside == [], f"requests left 127.0.0.1: {outside}"
