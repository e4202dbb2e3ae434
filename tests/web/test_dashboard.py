"""The dashboard through Streamlit's AppTest: filters, counts, URL parameters, embed, safety."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from iszones.render.safe import md
from iszones.web.urlstate import MAX_AT_CHARS
from tests.conftest import ROOT
from tests.xss import XSS_NAME, XSS_SITE_ID, make_xss_data

APP = str(ROOT / "app.py")
COUNT = re.compile(r"^\*\*(\d+) of (\d+) sites in (\d+) of (\d+) zones\*\*$")


def run_app(**query: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if COUNT.match(m.value))


def open_panel(at: AppTest, name: str) -> AppTest:
    """Open one of the panels under the map (only the open one is drawn), as its button does."""
    at.session_state["panel"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def share_link(at: AppTest) -> str:
    open_panel(at, "Share and download")
    return next(c.value for c in at.code if c.value.startswith("http"))


@pytest.fixture(autouse=True)
def bundled_data(monkeypatch):
    monkeypatch.delenv("ISZONES_DATA_DIR", raising=False)


def test_opens_on_everything():
    at = run_app()
    assert count_line(at) == "**130 of 130 sites in 22 of 22 zones**"
    assert at.title[0].value == "Industrial Strategy Zones"
    assert not at.dataframe  # no panel is open: the map and the card come first
    sites = open_panel(at, "Sites table").dataframe[0].value
    assert len(sites) == 130
    assert {"Site", "Zone", "Kind", "Largest funding (£)"} <= set(sites.columns)
    assert len(at.dataframe) == 1  # only the open panel is drawn
    assert len(open_panel(at, "Zones table").dataframe[0].value) == 22
    assert not at.warning


def test_filters_narrow_map_tables_and_counts_and_write_the_url():
    at = run_app()
    at.sidebar.multiselect(key="sectors").set_value(["Clean Energy Industries"]).run()
    at.sidebar.selectbox(key="programme").set_value("investment_zone").run()
    match = COUNT.match(count_line(at))
    assert match
    sites, zones = int(match.group(1)), int(match.group(3))
    assert 0 < sites < 130 and 0 < zones < 22
    assert len(open_panel(at, "Sites table").dataframe[0].value) == sites
    assert len(open_panel(at, "Zones table").dataframe[0].value) == zones
    assert at.query_params["sector"] == "Clean Energy Industries"
    assert at.query_params["programme"] == "investment_zone"


def test_a_url_with_sector_and_programme_reproduces_the_same_counts():
    at = run_app()
    at.sidebar.multiselect(key="sectors").set_value(
        ["Clean Energy Industries", "Advanced Manufacturing"]
    ).run()
    at.sidebar.selectbox(key="programme").set_value("freeport").run()
    at.sidebar.selectbox(key="nation").set_value("England").run()
    expected = count_line(at)
    link = share_link(at)
    query = parse_qs(urlsplit(link).query)
    assert query["sector"] == ["Clean Energy Industries", "Advanced Manufacturing"]
    colleague = open_panel(run_app(**query), "Sites table")
    open_panel(at, "Sites table")
    assert count_line(colleague) == expected
    assert colleague.sidebar.multiselect(key="sectors").value == [
        "Clean Energy Industries",
        "Advanced Manufacturing",
    ]
    assert colleague.sidebar.selectbox(key="programme").value == "freeport"
    assert list(colleague.dataframe[0].value["Site id"]) == list(at.dataframe[0].value["Site id"])


@pytest.mark.parametrize(
    ("name", "value", "label"),
    [
        ("nation", "Scotland", "nation"),
        ("kinds", ["tax_site"], "kind"),
        ("q", "airport", "q"),
        ("min_funding", 100.0, "min_funding"),
        ("zone", 22, "zone"),
    ],
)
def test_each_filter_narrows_and_is_kept_in_the_url(name, value, label):
    at = run_app()
    widget = next(w for w in at.sidebar if getattr(w, "key", None) == name)
    widget.set_value(value).run()
    match = COUNT.match(count_line(at))
    assert match and int(match.group(1)) < 130
    assert label in at.query_params


def test_clear_filters_resets_everything():
    at = run_app(sector="Defence", nation="England", q="park")
    assert count_line(at) != "**130 of 130 sites in 22 of 22 zones**"
    at.sidebar.button[0].click().run()
    assert count_line(at) == "**130 of 130 sites in 22 of 22 zones**"
    assert dict(at.query_params) == {}


def test_zone_url_opens_the_zone_sheet_with_sites_inside_and_nearby():
    at = run_app(zone="22", km="10")
    subheaders = [s.value for s in at.subheader]
    inside = next(s for s in subheaders if s.startswith("Sites inside"))
    near = next(s for s in subheaders if s.startswith("Sites outside it within 10 km"))
    assert re.match(r"Sites inside \(\d+, from the spatial join\)", inside)
    assert re.search(r"\(\d+\)$", near)
    assert any("East Midlands Freeport and Investment Zone" in h.value for h in at.html)
    assert at.query_params["zone"] == "22" and at.query_params["km"] == "10"
    facts = next(m.value for m in at.markdown if "Footprint area" in m.value)
    # bold labels, not escaped asterisks shown as text
    assert facts.startswith("**Programme:** Freeport and Investment Zone · **Footprint area:**")
    assert "\\*" not in facts and "Sites inside:** " in facts


def test_site_url_shows_its_card():
    at = run_app(site="ratcliffe-on-soar")
    assert at.selectbox(key="site").value == "ratcliffe-on-soar"
    card = next(h.value for h in at.html if "isz-card" in h.value)
    assert "Ratcliffe" in card and "East Midlands Freeport and Investment Zone" in card
    assert "<h4>Sources</h4>" in card


def test_picking_a_site_puts_it_in_the_url():
    at = run_app()
    at.selectbox(key="site").set_value("infinity-park-derby").run()
    assert at.query_params["site"] == "infinity-park-derby"
    assert any("Infinity Park" in h.value for h in at.html)


def test_bad_url_values_warn_and_the_page_still_opens():
    at = run_app(sector="Mining", zone="99", programme="freeport")
    warnings = " ".join(w.value for w in at.warning)
    assert "unknown sector" in warnings and "Mining" in warnings
    assert "unknown zone 99" in warnings
    assert at.sidebar.selectbox(key="programme").value == "freeport"


def test_embed_view_shows_only_the_map():
    at = run_app(view="embed", zone="22")
    assert len(at.sidebar) == 0
    assert len(at.dataframe) == 0
    assert len(at.tabs) == 0
    assert len(at.title) == 0
    caption = at.caption[0].value
    assert "1 of 22 zones" in caption
    # sources and licences: the legend
    assert "Data last checked" in caption and "legend" in caption


def test_a_zone_link_opens_on_the_zone_sheet_and_other_panels_are_not_drawn():
    at = run_app(zone="22")
    assert [b.label for b in at.get("download_button")] == ["Zone 22 briefing sheet (PDF)"]
    assert not at.code  # the Share panel is not drawn until opened
    assert any(s.value.startswith("Sites inside") for s in at.subheader)
    assert not open_panel(run_app(), "Zones table").subheader  # no zone picked: no sheet


def test_share_tab_offers_downloads_and_an_iframe():
    at = open_panel(run_app(zone="22"), "Share and download")
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Sites (CSV)",
        "Sites (GeoJSON)",
        "Zones (GeoJSON)",
        "Map (HTML, works offline)",
        "Map (PNG, 2338 px)",
        "Map (PDF, A4 landscape)",
        "Zone 22 briefing sheet (PDF)",  # and beside the map downloads
    ]
    snippet = next(c.value for c in at.code if c.value.startswith("<iframe"))
    assert "view=embed" in snippet and "zone=22" in snippet and "embed=true" in snippet


def test_footer_names_sources_vintage_and_boundaries():
    at = run_app()
    footer = at.caption[-1].value
    for text in (
        "ONS Postcode Directory",
        "OpenStreetMap",
        "GeoNames",
        "Data last checked",
        "Zone boundaries",
        "Leaflet",
    ):
        assert text in footer


def test_own_data_folder_and_hostile_names_stay_text(tmp_path, monkeypatch):
    monkeypatch.setenv("ISZONES_DATA_DIR", str(make_xss_data(tmp_path / "data")))
    at = run_app(site=XSS_SITE_ID)
    assert str(tmp_path) in at.caption[-1].value.replace("\\", "")
    cards = [h.value for h in at.html if "isz-card" in h.value]
    assert cards and all(XSS_NAME not in c for c in cards)
    assert "&lt;img src=x onerror=alert(1)&gt;" in cards[0]
    assert XSS_NAME in set(open_panel(at, "Sites table").dataframe[0].value["Site"])  # plain text
    named = run_app(at="onerror alert")  # the search names the hostile site: a plain label
    (button,) = [b for b in named.button if (b.key or "").startswith("named_site_")]
    assert button.label == md(f"Show site: {XSS_NAME}")  # markdown escaped: shown as typed


# ---------------------------------------------------------------- find a place (issue 13)


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_at_in_the_url_pins_the_place_and_answers_it():
    at = run_app(at="DE74 2SA")
    assert at.text_input(key="at").value == "DE74 2SA"
    text = _text(at)
    assert "North West Leicestershire \\(E07000134\\)" in text
    assert "Inside East Midlands Freeport and Investment Zone" in text
    assert "EMAGIC" in text
    assert parse_qs(urlsplit(share_link(at)).query)["at"] == ["DE74 2SA"]


def test_an_ambiguous_place_lists_its_candidates_to_pick_from():
    at = run_app(at="Newport")
    radio = at.radio(key="at_pick")
    assert any("Isle of Wight" in str(label) for label in radio.options)
    assert "Newport \\(W06000022\\)" in _text(at)
    radio.set_value(1).run()
    assert "Isle of Wight" in _text(at)


def test_a_place_that_cannot_be_found_is_one_line():
    assert run_app().text_input(key="at").max_chars == MAX_AT_CHARS  # as the address keeps
    at = run_app(at="Nowhereville")
    (error,) = at.error
    assert "Not found" in error.value and "\n" not in error.value
    assert not at.exception


def test_a_search_that_names_a_zone_offers_the_zone():
    """'Teesside' is no place of 500 people, 'Humber' a village in Herefordshire: both name a
    zone, and the card offers it; picking it shows the zone instead of the pin."""
    at = run_app(at="Teesside")
    assert not at.error and "'Teesside' is not a postcode or a place; it names" in at.info[0].value
    button = at.button(key="named_zone_21")
    assert "Show zone 21" in button.label
    offered = [b.key for b in at.button if (b.key or "").startswith("named_zone_")]
    assert offered == ["named_zone_21"]
    button.click().run()
    assert at.selectbox(key="zone").value == 21
    assert at.text_input(key="at").value == ""
    assert "of 22 zones" in count_line(at) and " 1 of 22 zones" in count_line(at)
    assert not at.exception


def test_a_search_that_names_a_site_opens_its_card():
    at = run_app(at="Infinity Park")
    assert not at.error
    offered = [b.key for b in at.button if (b.key or "").startswith("named_site_")]
    assert offered == ["named_site_infinity-park-derby"]
    at.button(key="named_site_infinity-park-derby").click().run()
    assert at.selectbox(key="site").value == "infinity-park-derby"
    assert at.text_input(key="at").value == ""
    cards = [h.value for h in at.html if "isz-card" in h.value]
    assert any("Infinity Park Derby" in c for c in cards)
    assert not at.exception


def test_a_search_that_names_a_council_gives_its_share_of_each_zone():
    at = run_app(at="Bassetlaw")
    assert not at.error
    text = _text(at)
    assert "Bassetlaw \\(E07000171\\), a council district\\: " in text
    assert "in zone 22, East Midlands Freeport and Investment Zone" in text
    captions = " ".join(c.value for c in at.caption)
    assert "Council district boundaries\\: approximate, not an official ONS boundary" in captions
    at.button(key="named_zone_22").click().run()  # the district's zone, to open
    assert at.selectbox(key="zone").value == 22
    assert not at.exception


def test_typing_in_the_search_box_finds_the_place():
    at = run_app()
    at.text_input(key="at").set_value("52.83,-1.33").run()
    assert "North West Leicestershire" in _text(at)
