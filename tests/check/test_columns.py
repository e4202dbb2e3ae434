"""The answer columns on real data: the levels a site can be in (tax site, zone area, outside),
said in a sentence that never claims more precision than the data has."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from iszones.check.frames import (
    bundled_boundaries,
    bundled_tax_sites,
    check_sites,
    uploaded_tax_sites,
)
from iszones.check.summary import summarise
from iszones.data.catalogue import load_catalogue, read_councils
from tests.conftest import DATA


@pytest.fixture(scope="module")
def reference():
    catalogue = load_catalogue(DATA)
    return (
        bundled_boundaries(catalogue.zones),
        read_councils(DATA),
        bundled_tax_sites(catalogue.sites),
        catalogue.sites.set_index("site_id"),
    )


def check(reference, points, tax_sites=None, **kwargs):
    zones, councils, bundled_tax, _ = reference
    sites = gpd.GeoDataFrame(
        {"name": list(points)}, geometry=[Point(*xy) for xy in points.values()], crs="EPSG:4326"
    )
    tax = bundled_tax if tax_sites is None else tax_sites
    return check_sites(sites, zones, councils, tax_sites=tax, **kwargs).set_index("name")


@pytest.mark.parametrize(
    "site_id",
    ["infinity-park-derby", "cemc-explore-park-steetley", "hartington-commerce-park-staveley"],
)
def test_each_east_midlands_iz_tax_site_is_possibly_inside_itself(reference, site_id):
    record = reference[3].loc[site_id]
    point = record.geometry
    found = check(reference, {"here": (point.x, point.y)}).loc["here"]
    assert found["nearest_tax_site_id"] == site_id
    assert found["nearest_tax_site_distance_m"] == 0.0
    assert found["nearest_tax_site_precision_m"] == record["location_precision_m"]
    assert pd.isna(found["tax_site_id"])  # a point cannot say "inside"
    assert "22" in found["zone_id"].split(";")
    assert f"0.0 km from the {record['name']} tax site" in found["answer"]
    assert "so possibly inside it: check the SI 2025/111 map" in found["answer"]


def test_buxton_is_in_zone_22s_area_but_far_from_any_tax_site(reference):
    found = check(reference, {"Buxton": (-1.9105, 53.2587)}).loc["Buxton"]
    assert found["in_zone"] is True and found["zone_id"] == "22"
    assert found["local_authority"] == "High Peak" and found["lad_code"] == "E07000037"
    assert found["nearest_tax_site_distance_m"] > 20_000
    answer = found["answer"]
    assert answer.startswith("Inside East Midlands Freeport and Investment Zone (programme area")
    assert "from the nearest tax site" in answer and "possibly" not in answer


def test_a_site_outside_every_zone_says_how_far_the_nearest_is(reference):
    found = check(reference, {"Aberystwyth": (-4.0829, 52.4153)}).loc["Aberystwyth"]
    assert found["in_zone"] is False
    km = found["nearest_zone_distance_m"] / 1000
    assert found["answer"].startswith(
        f"Outside every zone; {km:.1f} km from zone {found['nearest_zone_id']}"
    )


def test_uploaded_tax_site_polygons_decide_over_points(reference):
    ratcliffe = reference[3].loc["ratcliffe-on-soar"].geometry
    plot = gpd.GeoDataFrame(
        {"zone_id": ["RoS-1"], "name": ["Ratcliffe official red line"]},
        geometry=[gpd.GeoSeries([ratcliffe], crs=4326).to_crs(27700).buffer(400).iloc[0]],
        crs="EPSG:27700",
    )
    official = uploaded_tax_sites(plot, "ratcliffe_redline.geojson")
    found = check(
        reference,
        {"in": (ratcliffe.x, ratcliffe.y), "out": (ratcliffe.x + 0.02, ratcliffe.y)},
        tax_sites=official,
    )
    assert found.loc["in", "tax_site_id"] == "RoS-1"
    assert found.loc["in", "nearest_tax_site_precision_m"] == 0.0
    assert (
        "inside the Ratcliffe official red line tax site (uploaded file"
        in found.loc["in", "answer"]
    )
    assert pd.isna(found.loc["out", "tax_site_id"])
    assert 900 < found.loc["out", "nearest_tax_site_distance_m"] < 1100  # 1.36 km less 400 m
    assert "possibly" not in found.loc["out", "answer"]  # a red line is exact: no "possibly"


def test_summary_separates_the_levels(reference):
    points = {
        "Infinity Park": (-1.468, 52.879),
        "Buxton": (-1.9105, 53.2587),
        "Aberystwyth": (-4.0829, 52.4153),
    }
    summary = summarise(check(reference, points).reset_index())
    assert str(summary) == (
        "3 sites: 1 inside or possibly inside a tax site, 1 inside a zone's area only,"
        " 1 outside, 0 with problems"
    )


def test_answers_never_claim_inside_for_a_point_tax_site(reference):
    rng = np.random.default_rng(4)
    points = {f"p{i}": (x, y) for i, (x, y) in enumerate(zip(
        rng.uniform(-1.6, -1.1, 300), rng.uniform(52.8, 53.1, 300), strict=True))}  # fmt: skip
    found = check(reference, points)
    assert found["tax_site_id"].isna().all()  # every bundled tax site is a point
    assert not found["answer"].str.contains("inside the .* tax site", regex=True).any()


def test_postcodes_place_rows_without_coordinates(reference, tmp_path):
    from iszones.inputs.readers import read_site_file

    source = tmp_path / "sites.csv"
    source.write_text(
        "name,easting,northing,Post Code\n"
        "By coordinates,450400,329800,NG11 0EE\n"  # Ratcliffe-on-Soar, postcode agrees
        "By postcode,,,ng110ee\n"
        "Far postcode,437191,334229,NG11 0EE\n"  # coordinates in Derby: 13 km away
        "Unknown postcode,,,ZZ99 9ZZ\n"
        "Belfast,,,BT1 1AA\n"
    )
    sites = read_site_file(source)
    zones, councils, tax, _ = reference
    found = check_sites(
        sites.frame, zones, councils, problems=sites.problems, tax_sites=tax, sources=sites.sources
    ).set_index("name")
    source = found["location_source"].astype(object)  # categorical: NaN where not checked
    assert source.where(source.notna(), None).tolist() == [
        "coordinates",
        "postcode",
        "coordinates (the row's postcode is over 1 km away: check)",
        None,
        "postcode",
    ]
    assert found.loc["By postcode", "local_authority"] == "Rushcliffe"
    assert found.loc["Far postcode", "local_authority"] == "Derby"  # coordinates win
    assert (
        "'Post Code' 'ZZ99 9ZZ': not in the ONS Postcode Directory"
        in (found.loc["Unknown postcode", "problem"])
    )
    assert found.loc["Belfast", "local_authority"] == "Belfast"  # Irish Grid read as such
    notes = " ".join(sites.notes)
    assert "Postcode locations: ONS Postcode Directory (November 2025)" in notes
    assert "Northern Ireland postcode data is licensed by ONS for non-commercial" in notes


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])  # streamed, and read whole
@pytest.mark.parametrize(
    ("rows", "attributed", "northern_irish"),
    [
        ("A,445251,325658,\nB,,,BT3 9DT\n", True, True),  # a Belfast row placed by postcode
        ("A,445251,325658,\nB,,,DE74 2SA\n", True, False),
        ("A,445251,325658,DE74 2SA\n", True, False),  # the postcode only checks the row
        ("A,445251,325658,\nB,458474,378676,\n", False, False),  # no postcode used
    ],
)
def test_postcode_data_is_credited_where_it_placed_rows(
    rows, attributed, northern_irish, suffix, tmp_path
):
    """The ONS Postcode Directory's attribution, and Northern Ireland's non-commercial licence,
    are shown when (and only when) their data placed or checked a row."""
    from click.testing import CliRunner

    from iszones.cli import main

    source = tmp_path / "sites.csv"
    source.write_text("name,easting,northing,postcode\n" + rows)
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(main, ["check", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert ("Postcode locations: ONS Postcode Directory" in result.stderr) == attributed
    assert ("Contains Royal Mail data" in result.stderr) == attributed
    assert ("Northern Ireland postcode data is licensed" in result.stderr) == northern_irish


def test_a_postcode_only_file_is_checked(tmp_path):
    from click.testing import CliRunner

    from iszones.cli import main

    source = tmp_path / "sites.csv"
    source.write_text("site,postcode\nWorksop office,S80 2AH\nNowhere,XX1 1XX\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["check", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "placed by postcode from column 'postcode'" in result.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert "Bassetlaw" in text and ",postcode," in text


def test_customs_sites_are_a_level_of_their_own():
    """Issue 14: the programme area, customs sites and tax sites are answered separately."""
    from iszones.check.reference import bundled_reference

    against = bundled_reference(DATA)
    airport = against.customs_sites.set_index("tax_site_id").loc["edinburgh-airport-customs-site"]
    sites = gpd.GeoDataFrame(
        {"name": ["airport", "Buxton"]},
        geometry=[airport.geometry, Point(-1.9105, 53.2587)],
        crs=against.customs_sites.crs,
    )
    found = check_sites(
        sites,
        against.zones,
        against.councils,
        tax_sites=against.tax_sites,
        customs_sites=against.customs_sites,
    ).set_index("name")
    here = found.loc["airport"]
    assert here["nearest_customs_site_id"] == "edinburgh-airport-customs-site"
    assert here["nearest_customs_site_distance_m"] == 0.0
    assert pd.isna(here["customs_site_id"])  # a point: never "inside"
    assert "possibly in the Edinburgh Airport customs site (located to ±" in here["answer"]
    assert "customs site" not in found.loc["Buxton", "answer"]  # far from any: not mentioned
