"""URL query parameters <-> dashboard state: lenient reading, stable writing, round trips."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iszones.data.selection import Selection
from iszones.render.webmap import BASEMAPS
from iszones.schema import (
    NATIONS,
    PROGRAMMES,
    SECTORS,
    SITE_KINDS,
)
from iszones.web.urlstate import (
    MAX_AT_CHARS,
    UrlState,
    iframe_snippet,
    parse_params,
    query_string,
    to_params,
)

ZONES = range(1, 23)
SITES = ["ratcliffe-on-soar", "infinity-park-derby"]


def parse(**params):
    wrapped = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return parse_params(wrapped, zone_ids=ZONES, site_ids=SITES)


def test_empty_url_is_the_default_state():
    assert parse() == (UrlState(), [])


def test_every_parameter_is_read():
    state, problems = parse(
        sector=["Clean Energy Industries", "Advanced Manufacturing"],
        programme="investment_zone",
        nation="England",
        zone="22",
        kind=["tax_site", "asset"],
        q="airport",
        min_funding="25",
        site="ratcliffe-on-soar",
        km="5",
        basemap="osm",
        view="embed",
    )
    assert problems == []
    assert state.selection == Selection(
        sectors=("Clean Energy Industries", "Advanced Manufacturing"),
        programme="investment_zone",
        nation="England",
        zone_id=22,
        kinds=("tax_site", "asset"),
        query="airport",
        min_funding_gbp=25e6,
    )
    assert (state.site_id, state.km, state.basemap, state.view) == (
        "ratcliffe-on-soar",
        5.0,
        "osm",
        "embed",
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sector": "clean energy industries"}, Selection(sectors=("Clean Energy Industries",))),
        ({"programme": "Investment Zone"}, Selection(programme="investment_zone")),
        ({"programme": "investment-zone"}, Selection(programme="investment_zone")),
        ({"nation": "northern ireland"}, Selection(nation="Northern Ireland")),
        ({"kind": "Tax site"}, Selection(kinds=("tax_site",))),
        ({"sector": ["Defence", "defence"]}, Selection(sectors=("Defence",))),
    ],
)
def test_values_are_matched_leniently(params, expected):
    state, problems = parse(**params)
    assert problems == []
    assert state.selection == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sector": "Mining"}, "unknown sector 'Mining' \\(choose from: Advanced Manufacturing"),
        ({"programme": "enterprise zone"}, "unknown programme 'enterprise zone'"),
        ({"nation": "Mars"}, "unknown nation 'Mars'"),
        ({"kind": "castle"}, "unknown site kind 'castle'"),
        ({"zone": "99"}, "unknown zone 99 \\(zones are numbered 1-22\\)"),
        ({"zone": "East"}, "zone='East' is not a zone number \\(1-22\\)"),
        ({"min_funding": "lots"}, "min_funding='lots' is not a number >= 0; ignored"),
        ({"min_funding": "-3"}, "min_funding='-3' is not a number >= 0"),
        ({"km": "nan"}, "km='nan' is not a number >= 0"),
        ({"site": "atlantis"}, "site='atlantis' is not a site id in this data"),
        ({"basemap": "google"}, "basemap='google' is not one of none, osm, positron"),
        ({"view": "print"}, "view='print' is not one of full, embed"),
        ({"nation": ["England", "Wales"]}, "nation given 2 times; the first, 'England', is used"),
    ],
)
def test_bad_values_are_dropped_with_a_message(params, message):
    state, problems = parse(**params)
    assert len(problems) == 1
    assert re.search(message, problems[0]), problems[0]
    assert isinstance(state, UrlState)  # the link still opens


def test_bad_values_leave_the_good_ones():
    state, problems = parse(sector=["Mining", "Defence"], zone="99", nation="Wales")
    assert state.selection == Selection(sectors=("Defence",), nation="Wales")
    assert len(problems) == 2


def test_to_params_writes_only_what_differs_from_default():
    assert to_params(UrlState()) == {}
    state = UrlState(selection=Selection(sectors=("Defence",), min_funding_gbp=2.5e6), km=3.0)
    assert to_params(state) == {"sector": ["Defence"], "min_funding": "2.5", "km": "3"}


def test_query_string_repeats_sector():
    state = UrlState(selection=Selection(sectors=("Defence", "Life Sciences"), zone_id=22))
    assert query_string(state) == "sector=Defence&sector=Life+Sciences&zone=22"


selections = st.builds(
    Selection,
    sectors=st.lists(st.sampled_from(SECTORS), unique=True, max_size=3).map(tuple),
    programme=st.none() | st.sampled_from(PROGRAMMES),
    nation=st.none() | st.sampled_from(NATIONS),
    zone_id=st.none() | st.integers(1, 22),
    kinds=st.lists(st.sampled_from(SITE_KINDS), unique=True, max_size=3).map(tuple),
    query=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip),
    min_funding_gbp=st.none() | st.integers(1, 500).map(lambda m: m * 1e6),
)
states = st.builds(
    UrlState,
    selection=selections,
    site_id=st.none() | st.sampled_from(SITES),
    view=st.sampled_from(["full", "embed"]),
    km=st.sampled_from([2.0, 0.5, 5.0, 12.5]),
    basemap=st.sampled_from(list(BASEMAPS)),
)


@given(states)
def test_a_shared_link_reproduces_the_state(state):
    params = parse_qs(query_string(state), keep_blank_values=False)
    again, problems = parse_params(params, zone_ids=ZONES, site_ids=SITES)
    assert problems == []
    assert again == state


def test_iframe_snippet_embeds_the_map_alone():
    state = UrlState(selection=Selection(zone_id=22))
    snippet = iframe_snippet("http://localhost:8501/?zone=3", state, title='Zone "22" <map>')
    assert 'src="http://localhost:8501/?zone=22&amp;view=embed&amp;embed=true"' in snippet
    assert 'title="Zone &quot;22&quot; &lt;map&gt;"' in snippet
    assert snippet.startswith("<iframe ") and snippet.endswith("</iframe>")


def test_map_position_round_trips():
    state, problems = parse(lat="52.8660", lon="-1.2550", z="12")
    assert problems == []
    assert state.centre == (52.866, -1.255) and state.zoom == 12
    assert to_params(state) == {"lat": "52.8660", "lon": "-1.2550", "z": "12"}
    assert parse_params(parse_qs(query_string(state)), zone_ids=ZONES, site_ids=SITES)[0] == state


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "52.8", "lon": "-1.2"},  # no zoom
        {"lat": "95", "lon": "-1.2", "z": "9"},
        {"lat": "52.8", "lon": "x", "z": "9"},
        {"lat": "52.8", "lon": "-1.2", "z": "30"},
    ],
)
def test_a_bad_map_position_is_dropped_with_a_message(params):
    state, problems = parse(**params)
    assert state.centre is None and state.zoom is None
    assert len(problems) == 1 and "is not a map position" in problems[0]


def test_a_place_to_find_round_trips():
    state, problems = parse_params({"at": ["  DE74   2SA "]}, zone_ids=[22], site_ids=[])
    assert problems == [] and state.at == "DE74 2SA"
    assert to_params(state)["at"] == "DE74 2SA"


def test_a_place_to_find_is_kept_to_as_many_characters_as_the_search_box_takes():
    state, problems = parse(at="  Infinity   Park " + "x" * 500)
    assert state.at.startswith("Infinity Park x") and len(state.at) == MAX_AT_CHARS
    assert problems == []
