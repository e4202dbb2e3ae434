"""The text choke point: nothing from data, files, URLs or options is compiled as a template,
and everything shows exactly as typed. Every map the product builds is rendered with hostile text
in every free-text field."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys

import folium
import geopandas as gpd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from iszones.check.frames import bundled_boundaries, check_sites
from iszones.cli import main
from iszones.data.catalogue import load_catalogue
from iszones.inputs.text import clean_text
from iszones.render import safe
from iszones.render import webmap as maps
from tests.templates import EXPR, LOOP, MKDIR, PAYLOAD, PWNED, assert_inert, make_template_data

# branca 0.8.2. If an upgrade changes either method, read the new one: does it still compile
# element output as a template? Then update iszones.render.safe to match and these digests.
PINNED = {
    "MacroElement.render": "37b6a09e772154d6a8e3d3983456fd7ce06d9e7d0b13726a680e9637abc4ecbd",
    "Figure.render": "30084db124d6c8ca1363084ade4ab31a212a96644fae81247a6b5b9e51871821",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so the MKDIR payload would show if it ever ran."""
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / PWNED).exists(), "a template payload ran on the server"


def test_the_replaced_branca_methods_are_the_pinned_ones():
    assert safe.upstream_digests() == PINNED


def test_upstream_folium_still_compiles_element_output():
    """Pins the behaviour the choke point exists for: without iszones, {{7*7}} prints 49."""
    code = (
        "import folium; m = folium.Map(tiles=None);"
        "folium.Marker([52, -1], tooltip='{{7*7}}').add_to(m);"
        "print('49' in m.get_root().render())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize(
    "add",
    [
        lambda m, t: folium.Marker([52, -1], tooltip=t).add_to(m),
        lambda m, t: folium.Marker([52, -1], popup=folium.Popup(t)).add_to(m),
        lambda m, t: folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": t},
                        "geometry": {"type": "Point", "coordinates": [-1, 52]},
                    }
                ],
            },
            tooltip=folium.GeoJsonTooltip(["name"]),
        ).add_to(m),
        lambda m, t: m.get_root().html.add_child(folium.Element(t)),
    ],
    ids=["tooltip", "popup", "geojson-property", "element"],
)
def test_folium_elements_given_raw_text_do_not_run_it(add):
    """Guard 2: even text that skipped esc/js_literal is output, never run. (A raw folium.Popup
    still compiles its text when built, so unbalanced braces would raise there: guard 1, esc
    and js_literal, is what keeps `Plot {{A` working on every map iszones builds.)"""
    fmap = folium.Map(tiles=None)
    add(fmap, f"{EXPR} {LOOP} {MKDIR}")
    assert_inert(fmap.get_root().render(), EXPR, LOOP)


@given(st.text())
def test_esc_shows_text_as_typed(text):
    escaped = safe.esc(text)
    assert "{" not in escaped and "}" not in escaped and "<" not in escaped
    assert html.unescape(escaped) == clean_text(text)


@given(
    st.recursive(
        st.text() | st.integers() | st.none(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_js_literal_reads_back_as_the_same_value(value):
    literal = safe.js_literal(value)
    assert (
        "</" not in literal and "{{" not in literal and "{%" not in literal and "{#" not in literal
    )
    assert json.loads(literal) == value


def test_md_escapes_markdown_and_html():
    assert safe.md("**b** <i>x</i> :smile: $x$") == (
        "\\*\\*b\\*\\* \\<i\\>x\\</i\\> \\:smile\\: \\$x\\$"
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return load_catalogue(make_template_data(tmp_path_factory.mktemp("tpl") / "data"))


def test_dashboard_map_shows_hostile_data_literally(hostile):
    zones, units = maps.simplify_for_web(hostile.zones, hostile.admin_units)
    nearby = hostile.sites[hostile.sites.geometry.notna()].head(3).assign(distance_km=1.5)
    fmap = maps.build_map(
        zones,
        hostile.sites,
        selection_summary=f"3 sites matching {PAYLOAD}",
        background=units,
        nearby=nearby,
        title=f"Title {PAYLOAD}",
        attribution=f"Sources {PAYLOAD}",
        vintage=f"Vintage {PAYLOAD}",
        pin=(52.83, -1.33, f"Found {PAYLOAD}"),  # a search result's label
    )
    page = fmap.get_root().render()
    assert_inert(page)
    assert page.count(safe.esc(EXPR)) > len(hostile.sites)  # every card and tooltip has it


def test_check_map_shows_hostile_names_literally(hostile):
    sites = gpd.GeoDataFrame(
        {"name": [f"Site {PAYLOAD}", f"Other {LOOP}"]},
        geometry=[Point(-1.25, 52.87), Point(-3.0, 55.5)],
        crs="EPSG:4326",
    )
    zones = bundled_boundaries(hostile.zones)
    result = check_sites(sites, zones, hostile.admin_units)
    page = maps.check_map(result, zones, hostile.admin_units).get_root().render()
    assert_inert(page)


def test_export_map_html_with_hostile_title_and_data(hostile, tmp_path):
    folder = make_template_data(tmp_path / "data")
    out = tmp_path / "map.html"
    env = {**os.environ, "ISZONES_DATA_DIR": str(folder)}
    result = CliRunner(env=env).invoke(
        main, ["export-map", "--zone", "22", "--out", str(out), "--title", f"T {PAYLOAD}"]
    )
    assert result.exit_code == 0, result.output
    assert_inert(out.read_text(encoding="utf-8"))
