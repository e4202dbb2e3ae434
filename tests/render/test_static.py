"""Static map exports: PNG size, one vector A4-landscape PDF page with the right text, labels
that never overlap, and the HTML export built from the dashboard's map."""

import html
import math
import re
from io import BytesIO

import geopandas as gpd
import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from PIL import Image
from pypdf import PdfReader
from shapely.geometry import Point

from iszones import CRSError, IszonesError
from iszones.data.selection import Selection, apply_selection
from iszones.render.format import data_date, describe_selection
from iszones.render.static import (
    DEFAULT_DPI,
    Label,
    _label_box,
    _leader,
    _overlaps,
    check_dpi,
    interactive_map_html,
    number_sites,
    place_labels,
    rendering,
    selection_subtitle,
    static_map_pdf,
    static_map_png,
    text_width,
    wrap_text,
)
from tests.conftest import X0, Y0

A4_LANDSCAPE_PT = (841.89, 595.28)


def pdf_text(payload: bytes) -> str:
    """All the text of a PDF, whitespace collapsed (wrapped lines join up again)."""
    reader = PdfReader(BytesIO(payload))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def image_xobjects(payload: bytes) -> int:
    """How many raster images the PDF's pages use (0 for a purely vector page)."""
    count = 0
    for page in PdfReader(BytesIO(payload)).pages:
        xobjects = page["/Resources"].get("/XObject")
        for ref in (xobjects.get_object() if xobjects else {}).values():
            count += ref.get_object().get("/Subtype") == "/Image"
    return count


def selected(catalogue, selection):
    zones, sites = apply_selection(catalogue.zones, catalogue.sites, selection)
    subtitle = selection_subtitle(
        selection,
        zones_kept=len(zones),
        zones_all=len(catalogue.zones),
        sites_kept=len(sites),
        sites_all=len(catalogue.sites),
    )
    return zones, sites, subtitle


@pytest.fixture(scope="module")
def uk_pdf(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection())
    return static_map_pdf(
        zones,
        sites,
        title="Industrial Strategy Zones",
        subtitle=subtitle,
        background=catalogue.admin_units,
    )


@pytest.fixture(scope="module")
def zone22_png(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    return static_map_png(
        zones, sites, title="East Midlands", subtitle=subtitle, background=catalogue.admin_units
    )


# ---------------------------------------------------------------- words and numbers


def test_data_date_is_the_latest_last_checked(catalogue):
    assert data_date(catalogue.zones, catalogue.sites) == "2026-11-30"
    assert data_date(catalogue.zones.iloc[0:0]) is None


def test_wrap_text_keeps_every_word_within_the_width():
    text = "Liverpool City Region Innovation Zone (Freeport and Investment Zone) " * 3
    lines = wrap_text(text, 120, 7)
    assert " ".join(lines).split() == text.split()
    assert all(text_width(line, 7) <= 120 for line in lines)


def test_wrap_text_breaks_a_word_longer_than_a_line():
    lines = wrap_text("x" * 80, 40, 7)
    assert "".join(lines) == "x" * 80
    assert all(text_width(line, 7) <= 40 for line in lines)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(), "All zones and sites · 128 of 128 sites in 22 of 22 zones"),
        (Selection(zone_id=22), "Filters: zone 22 · 128 of 128 sites in 22 of 22 zones"),
        (
            Selection(sectors=("Defence", "Life Sciences"), nation="Wales"),
            "Filters: sectors Defence or Life Sciences; nation Wales · 128 of 128 sites"
            " in 22 of 22 zones",
        ),
        (
            Selection(programme="both", kinds=("tax_site",), query="derby"),
            "Filters: programme Freeport and Investment Zone; site kind Tax site; text “derby”"
            " · 128 of 128 sites in 22 of 22 zones",
        ),
    ],
)
def test_selection_subtitle_names_the_filters_and_counts(selection, expected):
    counts = {"zones_kept": 22, "zones_all": 22, "sites_kept": 128, "sites_all": 128}
    assert selection_subtitle(selection, **counts) == expected


def test_describe_selection_is_empty_without_filters():
    assert describe_selection(Selection()) == ""


# ---------------------------------------------------------------- label placement


def test_labels_of_a_dense_cluster_never_overlap_each_other_or_markers():
    # 25 markers 3 points apart: every label has to move off its point, none may collide.
    anchors = [(200 + 3 * (i % 5), 200 + 3 * (i // 5)) for i in range(25)]
    labels = [Label(str(i + 1), a, size=6, boxed=False) for i, a in enumerate(anchors)]
    radius = 3.25
    markers = [(x - radius, y - radius, x + radius, y + radius) for x, y in anchors]
    bounds = (0.0, 0.0, 400.0, 400.0)
    centres = place_labels(labels, markers, bounds, marker_radius=radius)
    boxes = [_label_box(label, c) for label, c in zip(labels, centres, strict=True)]
    for i, box in enumerate(boxes):
        assert bounds[0] <= box[0] and box[2] <= bounds[2]
        assert not any(_overlaps(box, other) for other in boxes[i + 1 :]), i
        assert not any(_overlaps(box, m) for m in markers), i


def test_a_label_stays_inside_the_map_at_its_edge():
    label = Label("22", (1.0, 1.0), size=6.5, boxed=True)
    (centre,) = place_labels([label], [], (0.0, 0.0, 100.0, 100.0), marker_radius=3)
    box = _label_box(label, centre)
    assert box[0] >= 0 and box[1] >= 0


def test_a_leader_line_joins_a_label_only_when_it_could_be_misread():
    label = Label("7", (100.0, 100.0), size=6, boxed=False)
    (alone,) = place_labels([label], [], (0.0, 0.0, 200.0, 200.0), marker_radius=3.25)
    assert _leader(label, alone, [label.anchor], 3.25) is None
    # Another marker lies nearer the label than its own: draw the line, from box to marker.
    crowd = [label.anchor, (alone[0], alone[1] + 6)]
    start, end = _leader(label, alone, crowd, 3.25)
    box = _label_box(label, alone)
    assert box[0] - 0.01 <= start[0] <= box[2] + 0.01 and box[1] - 0.01 <= start[1] <= box[3] + 0.01
    assert math.dist(end, label.anchor) == pytest.approx(3.25 * 0.7)


def test_number_sites_orders_by_kind_then_name_and_skips_unlocated(catalogue):
    numbered = number_sites(catalogue.sites)
    assert numbered["key"].tolist() == [str(n) for n in range(1, len(numbered) + 1)]
    assert len(numbered) == catalogue.sites.geometry.notna().sum() == 129
    assert numbered["kind"].iloc[0] == "tax_site"
    assert "key" not in catalogue.sites.columns  # the input is not changed


# ---------------------------------------------------------------- PNG


def test_png_is_a4_landscape_at_least_1600_px_wide_by_default(zone22_png):
    image = Image.open(BytesIO(zone22_png))
    assert image.format == "PNG"
    assert image.size == (int(297 / 25.4 * DEFAULT_DPI), int(210 / 25.4 * DEFAULT_DPI))
    assert image.size[0] >= 1600


def test_png_at_300_dpi_is_3507_px_wide(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=7))
    png = static_map_png(zones, sites, title="Celtic", subtitle=subtitle, dpi=300)
    image = Image.open(BytesIO(png))
    assert image.size == (3507, 2480)
    assert image.info.get("dpi", (300, 300))[0] == pytest.approx(300, abs=1)


def test_png_is_not_blank(zone22_png):
    image = Image.open(BytesIO(zone22_png)).convert("RGB")
    colours = image.resize((200, 140)).getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 20  # zones, markers, text, background


@pytest.mark.parametrize("dpi", [72, 100, 150, 200, 300])
def test_text_is_as_wide_as_drawn_at_every_dpi(dpi):
    """Lines are wrapped by text_width at 72 dpi and drawn at the PNG's dpi: hinted, a 6.2 pt
    sources line drew 11% wider at 100 dpi than measured, past the edge of the page."""
    line = "Sources: Zones: iszones indicative footprints from the LAD 2025 council districts"
    for size, bold in [(6.2, False), (8.5, False), (15, True)]:
        with rendering():
            drawn, _, _ = RendererAgg(10, 10, dpi).get_text_width_height_descent(
                line,
                FontProperties(
                    family="DejaVu Sans", size=size, weight="bold" if bold else "normal"
                ),
                ismath=False,
            )
        assert drawn * 72 / dpi == pytest.approx(text_width(line, size, bold=bold), rel=0.002)


@pytest.mark.parametrize("dpi", [72, 100])
def test_the_sources_footer_stays_on_the_page_at_a_low_dpi(catalogue, dpi):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    png = static_map_png(zones, sites, title="East Midlands", subtitle=subtitle, dpi=dpi)
    image = Image.open(BytesIO(png)).convert("L")
    width, height = image.size
    footer = np.asarray(image.crop((0, int(height * 0.88), width, height)))
    ink = np.flatnonzero((footer < 200).any(axis=0))  # columns with text in them
    assert len(ink), "the footer has text"
    assert max(ink) < width * (1 - 9 / 297)  # inside the 10 mm right margin


@pytest.mark.parametrize("dpi", [71, 601, 0])
def test_dpi_out_of_range_is_refused(dpi):
    with pytest.raises(IszonesError, match=rf"dpi {dpi} is out of range; choose 72-600"):
        check_dpi(dpi)


# ---------------------------------------------------------------- PDF


def test_pdf_is_one_a4_landscape_vector_page(uk_pdf):
    reader = PdfReader(BytesIO(uk_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_PT, abs=0.5)
    assert image_xobjects(uk_pdf) == 0
    assert reader.metadata.title == "Industrial Strategy Zones"


def test_pdf_text_has_every_zone_name_the_sources_and_the_date(uk_pdf, catalogue):
    text = pdf_text(uk_pdf)
    for name in catalogue.zones["name"]:
        assert name in text
    assert "Industrial Strategy Zones Action Plan (23 June 2025)" in text
    assert "Office for National Statistics" in text  # the background is the council districts
    assert "Town names: GeoNames (CC BY 4.0)" in text
    assert "Data last checked 30 November 2026" in text
    assert "All zones and sites · 130 of 130 sites in 22 of 22 zones" in text
    assert "1 region-wide record without a location not drawn" in text
    assert "British National Grid" in text


def test_pdf_numbers_the_sites_of_one_zone_in_its_key(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    text = pdf_text(static_map_pdf(zones, sites, title="East Midlands", subtitle=subtitle))
    assert "Sites (numbers on the map)" in text
    for name in sites["name"]:
        assert name in text
    assert "Filters: zone 22 · 29 of 130 sites in 1 of 22 zones" in text


def test_a_zone_map_names_towns_and_outlines_the_council_districts(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    kwargs = {"title": "East Midlands", "subtitle": subtitle, "background": catalogue.admin_units}
    text = pdf_text(static_map_pdf(zones, sites, **kwargs))
    for town in ("Nottingham", "Derby", "Leicester", "Loughborough", "Burton upon Trent"):
        assert town in text
    assert "Council district (2025)" in text  # the legend row of the outlines
    plain = pdf_text(static_map_pdf(zones, sites, towns=False, **kwargs))
    assert "Loughborough" not in plain and "GeoNames" not in plain


def test_the_map_of_britain_does_not_mesh_the_zones_with_districts(uk_pdf):
    assert "Council district (2025)" not in pdf_text(uk_pdf)


def test_without_districts_the_background_is_credited_to_natural_earth(catalogue):
    from iszones.data.catalogue import read_admin_units
    from iszones.data.paths import admin_units_path

    units = read_admin_units(admin_units_path(catalogue.folder))
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    text = pdf_text(static_map_pdf(zones, sites, title="t", subtitle=subtitle, background=units))
    assert "Natural Earth" in text and "Council district (2025)" not in text


def test_text_is_measured_once_per_string(monkeypatch):
    from iszones.render import static

    calls: list[str] = []
    measure = static._unhinted_width

    def counting(text, *args, **kwargs):
        calls.append(text)
        return measure(text, *args, **kwargs)

    monkeypatch.setattr(static, "_unhinted_width", counting)
    static.text_width.cache_clear()
    words = ["Liverpool", "City", "Region", "Innovation", "Zone", "Freeport", "and", "Investment"]
    text = " ".join(words * 12)  # 96 words, 9 different
    lines = wrap_text(text, 150, 7)
    assert len(calls) == len(set(calls))  # never the same string twice
    assert len(calls) <= len(set(words)) + 1 + 2 * len(lines)  # words, a space, a few lines
    wrap_text(text, 150, 7)
    assert len(calls) == len(set(calls))  # a second wrap measures nothing new


def test_too_many_sites_are_shown_by_kind_not_numbered(uk_pdf):
    text = pdf_text(uk_pdf)
    assert "The 129 sites are shown by kind, not numbered" in text
    assert "Sites (numbers on the map)" not in text


def test_an_empty_selection_still_draws_a_page_that_says_so(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(query="no such place anywhere"))
    assert len(zones) == len(sites) == 0
    text = pdf_text(
        static_map_pdf(
            zones, sites, title="Nothing", subtitle=subtitle, background=catalogue.admin_units
        )
    )
    assert "Nothing matches this selection." in text
    assert "0 of 130 sites in 0 of 22 zones" in text


def test_pdf_bytes_are_reproducible(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=7))
    first = static_map_pdf(zones, sites, title="Celtic", subtitle=subtitle)
    assert static_map_pdf(zones, sites, title="Celtic", subtitle=subtitle) == first


def test_inputs_are_not_changed(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    before_zones, before_sites = zones.copy(), sites.copy()
    static_map_pdf(zones, sites, title="t", subtitle=subtitle, background=catalogue.admin_units)
    assert zones.equals(before_zones) and sites.equals(before_sites)
    assert zones.crs == before_zones.crs and list(sites.columns) == list(before_sites.columns)


def test_tiny_bng_frames_draw_in_any_crs(tiny_zones, tiny_sites):
    zones = tiny_zones.assign(programme=["freeport", "investment_zone", "both"])
    sites = tiny_sites.assign(name=tiny_sites["site_id"], kind="tax_site")
    text = pdf_text(static_map_pdf(zones, sites, title="Tiny", subtitle="hand-made"))
    assert "Holed" in text and "Two parts" in text and "shared-border" in text
    assert "Data date unknown." in text


def test_frames_without_a_crs_are_refused(tiny_zones, tiny_sites):
    zones = tiny_zones.assign(programme="freeport").set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="The zones has no coordinate reference system"):
        static_map_png(zones, tiny_sites, title="t", subtitle="s")


def test_a_site_polygon_is_drawn_and_numbered(tiny_zones):
    zones = tiny_zones.assign(programme="freeport")
    sites = gpd.GeoDataFrame(
        {"site_id": ["area"], "name": ["An area site"], "kind": ["place"]},
        geometry=[Point(X0 + 500, Y0 + 300).buffer(150)],
        crs="EPSG:27700",
    )
    assert "An area site" in pdf_text(static_map_pdf(zones, sites, title="t", subtitle="s"))


# ---------------------------------------------------------------- HTML (the dashboard's map)


@pytest.fixture(scope="module")
def zone22_html(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=22))
    text = interactive_map_html(
        zones,
        sites,
        title="East Midlands Freeport and Investment Zone",
        subtitle=subtitle,
        background=catalogue.admin_units,
        selected_zone_id=22,
        offline=True,
    )
    return text, zones, sites


def test_html_has_every_selected_zone_and_site(zone22_html):
    text, zones, sites = zone22_html
    for zone_id in zones["zone_id"]:
        assert re.search(rf'"zone_id":\s*{zone_id}\b', text), zone_id
    for site_id in sites.loc[sites.geometry.notna(), "site_id"]:
        assert re.search(rf'"site_id":\s*"{site_id}"', text), site_id
    assert html.escape("Filters: zone 22 · 29 of 130 sites in 1 of 22 zones") in text
    assert "<title>East Midlands Freeport and Investment Zone</title>" in text
    assert "Data last checked 30 November 2026" in text


def test_html_names_the_towns_as_the_dashboard_does(zone22_html):
    """A briefing's map file, zoomed in, still says where it is (towns, credited)."""
    text, _, _ = zone22_html
    for town in ("Worksop", "Matlock", "Bakewell", "Long Eaton"):
        assert re.search(rf'\["{town}",\s*-?[0-9.]+,\s*[0-9.]+,\s*\d+,\s*0\]', text), town
    assert "places: GeoNames (CC BY 4.0)" in text


def test_offline_html_links_no_script_or_stylesheet_from_the_network(zone22_html):
    text, _, _ = zone22_html
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=[\"']https?:", text)
    assert "L.map(" in text and "leaflet" in text.lower()


def test_online_html_links_the_map_library(catalogue):
    zones, sites, subtitle = selected(catalogue, Selection(zone_id=7))
    text = interactive_map_html(zones, sites, title="Celtic", subtitle=subtitle, offline=False)
    assert re.search(r"<script[^>]+src=\"https://", text)
