"""The zone footprints on the LAD 2025 districts: councils, sites, ports and cities inside.

Real bundled data throughout: data/boundaries/{districts.geojson, lad_membership.csv,
membership.csv, zones.geojson} and data/sites.geojson. Which zone a point is in is decided by
iszones.geo.spatial.assign_zones, as everywhere else.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from iszones.cli import main
from iszones.data import lads as lad_build
from iszones.data import refresh
from iszones.data.catalogue import load_json, read_districts, read_sites, read_zones
from iszones.data.footprints import ANCHOR_KEEP_KM, parse_membership
from iszones.geo.spatial import assign_zones
from iszones.inputs.places import find_places
from iszones.inputs.postcodes import lookup_postcodes
from iszones.schema import MEASURE_CRS
from tests.conftest import DATA

BOUNDARIES = DATA / "boundaries"
CHECKED_KINDS = ("tax_site", "port", "customs_site")
# The main city of each zone that is drawn from its councils (GeoNames cities500 points); the
# Freeports' main towns are the `place` rows of membership.csv, each with its source.
COUNCIL_CITIES = {
    10: "Wrexham",
    11: "Belfast",
    12: "Manchester",
    13: "Sheffield",
    14: "Leeds",
    15: "Birmingham",
    16: "Cardiff",
    17: "Aberdeen",
    18: "Glasgow",
    19: "Newcastle upon Tyne",
    20: "Liverpool",
    21: "Middlesbrough",
    22: "Derby",
}


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return read_zones(BOUNDARIES / "zones.geojson")


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return read_districts(BOUNDARIES / "districts.geojson")


@pytest.fixture(scope="module")
def lad_members() -> list[lad_build.LadMember]:
    path = BOUNDARIES / "lad_membership.csv"
    return lad_build.parse_lad_membership(path.read_text(encoding="utf-8"), path=str(path))


def zone_ids_of(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> list[list[int]]:
    return [list(ids) for ids in assign_zones(points, zones)["zone_ids"]]


def test_every_membership_code_is_a_district(lad_members, districts):
    """Each council code in lad_membership.csv is in districts.geojson, under the same name."""
    names = dict(zip(districts["code"], districts["name"], strict=True))
    missing = [(m.line, m.lad_code, m.lad_name) for m in lad_members if m.lad_code not in names]
    assert missing == []
    lads, fields, _ = lad_build.lads_from_districts(districts, where="districts.geojson")
    assert fields.vintage == "LAD25" and len(lads) == 361
    # No council renamed, and every tax site's council listed for its zone.
    sites = read_sites(DATA / "sites.geojson")
    assert lad_build.council_warnings(lad_members, lads, sites) == []
    south_yorkshire = {m.lad_name: m.lad_code for m in lad_members if m.zone_id == 13}
    assert south_yorkshire["Barnsley"] == "E08000038"
    assert south_yorkshire["Sheffield"] == "E08000039"


def test_refresh_accepts_the_membership_codes(lad_members):
    """`iszones refresh` reads the same table: every code passes its checks."""
    attributes = load_json(BOUNDARIES / "zone_attributes.json")["zones"]
    lad_build.check_lad_membership(lad_members, attributes, path="lad_membership.csv")
    assert all(lad_build.LAD_CODE.match(m.lad_code) for m in lad_members)


def test_every_zone_contains_its_tax_sites_ports_and_customs_sites(zones):
    sites = read_sites(DATA / "sites.geojson")
    mine = sites[sites["kind"].isin(CHECKED_KINDS) & sites["designated_zone_id"].notna()]
    assert len(mine) >= 60
    outside = [
        (site_id, int(zone_id), ids)
        for site_id, zone_id, ids in zip(
            mine["site_id"], mine["designated_zone_id"], zone_ids_of(mine, zones), strict=True
        )
        if int(zone_id) not in ids
    ]
    assert outside == []


@pytest.mark.parametrize(
    ("what", "postcode", "zone_id"),
    [
        ("Harwich International Port (Parkeston Quay)", "CO12 4SR", 3),
        ("Pembroke Dock ferry port", "SA72 6TD", 7),
        ("Liverpool Pier Head (Port of Liverpool Building)", "L3 1BY", 20),
    ],
)
def test_coastal_ports_the_old_coastline_cut_off_are_inside(zones, what, postcode, zone_id):
    """Each was outside its zone on the Natural Earth coastline (by 108, 92 and 294 m)."""
    found = lookup_postcodes([postcode])
    assert found.loc[0, "problem"] == "", found
    point = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(found["lon"], found["lat"]), crs="EPSG:4326"
    )
    assert zone_id in zone_ids_of(point, zones)[0], what


def test_north_anglesey_rhosgoch_is_in_the_anglesey_freeport(zones):
    sites = read_sites(DATA / "sites.geojson")
    rhosgoch = sites[sites["site_id"] == "north-anglesey-rhosgoch"]
    assert zone_ids_of(rhosgoch, zones) == [[6]]


def test_main_towns_and_cities_are_inside(zones):
    members = parse_membership(
        (BOUNDARIES / "membership.csv").read_text(encoding="utf-8"), path="membership.csv"
    )
    named = [(m.zone_id, m.member, m.lon, m.lat) for m in members if m.member_type == "place"]
    for zone_id, city in COUNCIL_CITIES.items():
        place = find_places(city)[0]  # the biggest of that name
        named.append((zone_id, city, place.lon, place.lat))
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([n[2] for n in named], [n[3] for n in named]),
        crs="EPSG:4326",
    )
    outside = [
        (zone_id, name)
        for (zone_id, name, _, _), ids in zip(named, zone_ids_of(points, zones), strict=True)
        if zone_id not in ids
    ]
    assert outside == []
    assert len(named) == 23  # 10 membership places and 13 council cities


@pytest.mark.parametrize("zone_id", [10, 11, 12, 13, 14, 16, 17, 18])
def test_investment_zone_areas_are_their_councils(zones, districts, lad_members, zone_id):
    """An Investment Zone without anchors is exactly the union of its councils' districts."""
    codes = [m.lad_code for m in lad_members if m.zone_id == zone_id and m.role == "area"]
    bng = districts.to_crs(MEASURE_CRS)
    expected = shapely.union_all(bng[bng["code"].isin(codes)].geometry.array)
    zone = zones[zones["zone_id"] == zone_id].to_crs(MEASURE_CRS).geometry.iloc[0]
    assert shapely.symmetric_difference(zone, expected).area < 1e-5 * expected.area
    row = zones.set_index("zone_id").loc[zone_id]
    assert row["geometry_precision"] == "admin_area"
    assert f"union of {len(codes)} council district(s)" in row["geometry_method"]
    assert list(row["lad_codes"]) == codes


def test_footprints_stay_on_land_except_round_their_anchors(zones, districts):
    """Off the districts' land a footprint holds only the 1 km discs round its anchors."""
    members = parse_membership(
        (BOUNDARIES / "membership.csv").read_text(encoding="utf-8"), path="membership.csv"
    )
    sites = read_sites(DATA / "sites.geojson").set_index("site_id").to_crs(MEASURE_CRS)
    land = shapely.union_all(districts.to_crs(MEASURE_CRS).geometry.array)
    places = {m.member: (m.lon, m.lat) for m in members if m.member_type == "place"}
    place_pts = gpd.GeoSeries.from_xy(
        [v[0] for v in places.values()], [v[1] for v in places.values()], crs="EPSG:4326"
    ).to_crs(MEASURE_CRS)
    place_bng = dict(zip(places, place_pts.array, strict=True))
    for row in zones.to_crs(MEASURE_CRS).itertuples():
        anchors = [
            sites.geometry[m.member] if m.member_type == "site" else place_bng[m.member]
            for m in members
            if m.zone_id == row.zone_id and m.member_type in ("site", "place")
        ]
        discs = shapely.union_all([a.buffer(ANCHOR_KEEP_KM * 1000 + 1) for a in anchors])
        off_land = shapely.difference(shapely.difference(row.geometry, land), discs)
        # Rounding to 5 decimals (about 1 m) leaves hairlines along the coast, nothing wider.
        assert off_land.buffer(-2).is_empty, (row.zone_id, off_land.area)


def test_northern_ireland_zone_is_only_northern_ireland(zones):
    """Zone 11 is the 11 NI districts and nothing on the coasts of Great Britain."""
    zone = zones[zones["zone_id"] == 11].geometry.iloc[0]
    minx, miny, maxx, maxy = zone.bounds
    assert (minx, miny) > (-8.3, 53.9) and maxx < -5.3 and maxy < 55.5


def test_geometry_method_names_the_districts(zones):
    for row in zones.itertuples():
        assert "LAD 2025 districts derived from postcode locations" in row.geometry_method
        assert "not official ONS boundaries" in row.geometry_method
        assert row.geometry_precision in ("admin_area", "indicative")
        if row.programme != "investment_zone":
            assert row.geometry_precision == "indicative"


def _data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "boundaries").mkdir(parents=True)
    for name in ("districts.geojson", "lad_membership.csv", "membership.csv"):
        shutil.copy(BOUNDARIES / name, folder / "boundaries")
    shutil.copy(BOUNDARIES / "zone_attributes.json", folder / "boundaries")
    shutil.copy(DATA / "sites.geojson", folder)
    return folder


def test_build_stops_on_a_council_the_districts_lack(tmp_path):
    folder = _data_copy(tmp_path)
    table = folder / "boundaries" / "lad_membership.csv"
    table.write_text(
        table.read_text(encoding="utf-8").replace("E08000038", "E08000016"), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["build-boundaries", "--data-dir", str(folder)])
    assert result.exit_code == 1
    assert "zone 13: Barnsley (E08000016)" in result.output
    assert "update lad_membership.csv" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "boundaries" / "zones.geojson").exists()


def test_bundled_vintage_says_districts(tmp_path):
    folder = _data_copy(tmp_path)
    assert refresh.boundary_vintage(folder) == refresh.DISTRICT_VINTAGE
    (folder / "boundaries" / "districts.geojson").unlink()
    assert refresh.boundary_vintage(folder) == refresh.BUNDLED_VINTAGE
