"""Find a place: a query placed and answered by the check engine, as CLI and dashboard show it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from shapely import points

from iszones.check.reference import bundled_reference
from iszones.cli import main
from iszones.data.catalogue import data_dir, read_sites, sites_path
from iszones.inputs.locate import locate
from iszones.web.search import (
    answer_locations,
    councils_named,
    names_in,
    site_locations,
    sites_named,
    zones_named,
)


@pytest.fixture(scope="module")
def reference():
    return bundled_reference(data_dir())


def test_a_postcode_names_its_council_zone_and_nearest_tax_site(reference):
    (found,) = answer_locations([locate("DE74 2SA")], reference)
    assert found.council == "North West Leicestershire (E07000134)"
    assert found.answer.startswith("Inside East Midlands Freeport and Investment Zone")
    assert "EMAGIC" in found.answer
    assert found.line().startswith("DE74 2SA: postcode at 52.82656, -1.32987 (E 445,251")


def test_an_ambiguous_place_lists_the_others_with_their_council(reference):
    (found,) = answer_locations([locate("Newport")], reference)
    assert found.location.label == "Newport, Wales"
    assert found.row["local_authority"] == "Newport"
    councils = dict((other.label, council) for other, council in found.others[:1])
    assert councils == {"Newport, England": "Isle of Wight"}
    assert len(found.others) >= 5


def test_a_grid_reference_outside_every_zone_gives_the_nearest(reference):
    (found,) = answer_locations([locate("TF 00000 00000")], reference)
    assert found.location.kind == "grid reference"
    # TF 00000 00000 is 1.25 km from the nearest postcode (PE8 6XX)
    assert found.council == (
        "North Northamptonshire (E06000061); over 1 km from any postcode, where district"
        " borders are guesses: check the council"
    )
    assert found.row["in_zone"] is False or not found.row["in_zone"]
    assert "Outside every zone; 39.6 km from zone 22" in found.answer


def test_nothing_to_answer(reference):
    assert answer_locations([], reference) == []


@pytest.fixture(scope="module")
def zone_names() -> dict[int, str]:
    zones = bundled_reference(data_dir()).zones
    return dict(zip(zones["zone_id"], zones["name"], strict=True))


@pytest.mark.parametrize(
    ("query", "zone_ids"),
    [
        ("Humber", [5]),  # a village in Herefordshire too
        ("teesside", [21]),
        ("Tees Valley", [21]),
        ("North East", [17, 19]),
        ("Newport", [16]),
        ("Investment Zone", []),  # a kind of zone, not one zone
        ("Freeport", []),
        ("West", []),  # too vague on its own
        ("Worksop", []),
        ("DE74 2SA", []),
    ],
)
def test_a_query_that_names_a_zone_finds_it(query, zone_ids, zone_names):
    assert [z for z, _ in zones_named(query, zone_names)] == zone_ids


def test_the_locate_command_says_when_a_query_also_names_a_zone():
    result = CliRunner().invoke(main, ["locate", "Humber", "Teesside", "Celtic"])
    assert result.exit_code == 0  # Teesside and Celtic are no places, but name a zone
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Humber: place Humber, England")  # the village, as asked
    assert lines[1] == "  'Humber' also names zone 5, Humber Freeport (iszones zones --zone 5)"
    assert lines[2].startswith("Teesside: site Teesside International Airport at")
    assert lines[3].startswith("  'Teesside' also names zone 21, Teesside Freeport")
    assert lines[4] == "Celtic: names zone 7, Celtic Freeport (iszones zones --zone 7)"
    assert "Not found" not in result.stderr


# ---------------------------------------------------------------- sites and councils by name


@pytest.fixture(scope="module")
def sites():
    return read_sites(sites_path(data_dir()))


@pytest.fixture(scope="module")
def site_names(sites) -> dict[str, str]:
    return dict(zip(sites["site_id"], sites["name"], strict=True))


@pytest.mark.parametrize(
    ("query", "leading", "site_ids"),
    [
        ("Infinity Park", False, ["infinity-park-derby"]),
        ("biocity", False, ["biocity-nottingham"]),
        ("Teesworks", False, ["teesworks", "teesworks-east", "teesworks-west"]),
        ("Toton", True, ["toton-hs2-hub-and-testbed"]),  # the place's own site
        ("Derby", True, []),  # the city: 'Pride Park, Derby' does not start with it
        (
            "Derby",
            False,
            [
                "infinity-park-derby",
                "university-of-derby-rail-research-innovation-centre",
                "pride-park-derby",
            ],
        ),
        ("Port", False, []),  # words many sites share find none
        ("Business Park", False, []),
        ("DE74 2SA", False, []),
        ("14", False, []),  # numbers alone name nothing ('Gateway 14, Stowmarket')
        ("Gateway 14", False, ["gateway-14-stowmarket"]),
        ("{{7*7}}", False, []),
    ],
)
def test_a_query_that_names_a_site_finds_it(query, leading, site_ids, site_names):
    assert [s for s, _ in sites_named(query, site_names, leading=leading)] == site_ids


def test_a_site_is_answered_where_it_is_with_its_precision(reference, sites):
    (place,) = site_locations("Infinity Park", sites, ["infinity-park-derby"])
    (found,) = answer_locations([place], reference)
    assert found.line().startswith("Infinity Park: site Infinity Park Derby at 52.87900, -1.46800")
    assert found.council == "Derby (E06000015)"
    assert "Infinity Park Derby tax site" in found.answer
    assert place.notes == (
        "Infinity Park Derby: placed by iszones' bundled sites (approximate: park centre, about"
        " 1 km; straddles Derby City / South Derbyshire, both in EMCCA).",
    )


def test_a_council_names_the_share_of_it_in_each_zone(reference):
    """The share is the area's: points spread evenly over the district and checked one by one
    by the check engine land in the zone about as often (Hull: the Freeport's footprint covers
    part of the city)."""
    (hull,) = councils_named("Hull", reference.councils, reference.zones)
    assert (hull.code, hull.name) == ("E06000010", "Kingston upon Hull, City of")
    ((zone_id, zone_name, share),) = hull.zones
    assert (zone_id, zone_name) == (5, "Humber Freeport") and 0.1 < share < 0.9
    shape = reference.councils.set_index("code").loc[["E06000010"]].to_crs("EPSG:27700")
    x0, y0, x1, y1 = shape.total_bounds
    rng = np.random.default_rng(0)
    grid = gpd.GeoDataFrame(
        geometry=points(rng.uniform(x0, x1, 20_000), rng.uniform(y0, y1, 20_000)), crs=27700
    )
    inside = grid[grid.within(shape.geometry.iloc[0])]
    checked = reference.check(inside)
    in_zone = checked["zone_id"].astype(object).fillna("").str.split(";").map(lambda z: "5" in z)
    assert abs(in_zone.mean() - share) < 0.02
    assert hull.line().startswith(
        f"Kingston upon Hull, City of (E06000010), a council district: {share:.0%} in zone 5"
    )


def test_a_council_in_no_zone_and_words_that_name_none(reference):
    (city,) = councils_named("City of London", reference.councils, reference.zones)
    assert city.zones == () and city.line().endswith("in no zone's area")
    assert councils_named("North", reference.councils, reference.zones) == []  # too vague
    derbyshire = councils_named("Derbyshire", reference.councils, reference.zones)
    assert [c.name for c in derbyshire] == [
        "Derbyshire Dales",
        "North East Derbyshire",
        "South Derbyshire",
    ]
    placed = councils_named("Derbyshire", reference.councils, reference.zones, leading=True)
    assert [c.name for c in placed] == ["Derbyshire Dales"]


def test_the_locate_command_answers_sites_and_councils_by_name():
    result = CliRunner().invoke(main, ["locate", "Infinity Park", "Bassetlaw", "Derby", "SK"])
    assert result.exit_code == 1  # SK: a grid square, not a place
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Infinity Park: site Infinity Park Derby at 52.87900, -1.46800")
    assert lines[1].startswith("Bassetlaw: names Bassetlaw (E07000171), a council district: ")
    assert "in zone 22, East Midlands Freeport and Investment Zone" in lines[1]
    assert lines[2].startswith("Derby: place Derby, England")
    assert lines[3].startswith("  'Derby' also names Derby (E06000015), a council district: ")
    assert "Not found: 'SK': a 100 km square of the British National Grid" in result.stderr
    assert "Infinity Park Derby: placed by iszones' bundled sites (approximate" in result.stderr
    assert result.stderr.count("Council district boundaries: approximate, not an official") == 1


def test_what_a_query_names_offers_each_zone_once(reference, site_names):
    named = names_in("Bassetlaw", reference, site_names, placed=False)
    assert named and named.zones == [] and [c.code for c in named.councils] == ["E07000171"]
    assert [z for z, _ in named.zones_to_open] == [22]  # the district's zone, to open
    both = names_in("East Midlands", reference, site_names, placed=False)
    assert [z for z, _ in both.zones_to_open] == [22] and len(both.sites) == 4  # and Toton
    assert not names_in("xyzzy", reference, site_names, placed=False)


def test_a_site_with_no_position_is_named_not_placed():
    """The D2N2 broadband programme covers the region: no point to answer, but it is named."""
    result = CliRunner().invoke(main, ["locate", "Broadband"])
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "Broadband: names site D2N2 Broadband Expansion (Digital Derbyshire and Better"
        " Broadband for Nottinghamshire) (iszones sites --q 'D2N2 Broadband Expansion"
    )
