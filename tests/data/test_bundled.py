"""The bundled data: counts, sources, vocabulary, and the spatial facts the sources state."""

import json
import re

import geopandas as gpd
import pytest
import shapely

from iszones.data.catalogue import read_admin_units
from iszones.data.footprints import FREEPORT_MAX_WIDTH_KM, parse_membership
from iszones.schema import (
    MEASURE_CRS,
    SECTORS,
    STORAGE_CRS,
    total_funding,
    unlisted_figure_sources,
)
from tests.conftest import DATA


def test_22_zones_in_action_plan_order_with_the_10_9_3_split(catalogue):
    zones = catalogue.zones
    assert zones["zone_id"].tolist() == list(range(1, 23))
    assert zones["programme"].value_counts().to_dict() == {
        "investment_zone": 10,
        "freeport": 9,
        "both": 3,
    }
    assert zones.set_index("zone_id").loc[[20, 21, 22], "programme"].eq("both").all()
    assert zones.loc[zones.zone_id == 11, "status"].item() == "in development"


def test_zone_names_match_the_action_plan_list():
    plan = next((DATA.parent.parent / "shared" / "seeds").glob("002_*.txt"), None)
    if plan is None:
        pytest.skip("shared/seeds is not beside this checkout")
    names = re.findall(r"^\s+(\d+)\. (.+?) \(", plan.read_text(encoding="utf-8"), flags=re.M)
    listed = {int(n): name for n, name in names if int(n) <= 22}
    zones = json.loads((DATA / "boundaries" / "zones.geojson").read_text())["features"]
    ours = {f["properties"]["zone_id"]: f["properties"]["name"] for f in zones}
    for zone_id, name in listed.items():
        assert ours[zone_id].startswith(name), (zone_id, name)


def test_zone_geometries_are_valid_polygons_in_wgs84(catalogue):
    zones = catalogue.zones
    assert zones.crs.to_epsg() == 4326
    assert zones.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert zones.is_valid.all() and not zones.is_empty.any()
    minx, miny, maxx, maxy = zones.total_bounds
    assert minx > -8.7 and maxx < 1.9 and miny > 49.8 and maxy < 61


def test_every_feature_has_sources_and_precision(catalogue):
    for frame, precision in (
        (catalogue.zones, "geometry_precision"),
        (catalogue.sites, "location_precision"),
    ):
        assert frame["sources"].map(len).gt(0).all()
        assert frame[precision].notna().all()
        for sources in frame["sources"]:
            assert all(s["document"].strip() for s in sources)


def test_sectors_come_from_the_vocabulary(catalogue):
    for frame in (catalogue.zones, catalogue.sites):
        used = {s for sectors in frame["sectors"] for s in sectors}
        assert used <= set(SECTORS), used - set(SECTORS)


def test_funding_lines_parse_and_standard_packages_hold(catalogue):
    zones = catalogue.zones.set_index("zone_id")

    def amounts(zone_id):
        return {line["amount_gbp"] for line in zones.loc[zone_id, "funding"]}

    for zone_id, programme in zones["programme"].items():
        if programme in ("freeport", "both"):
            assert 25_000_000 in amounts(zone_id), zone_id
        if programme in ("investment_zone", "both") and zone_id != 11:
            assert 160_000_000 in amounts(zone_id), zone_id
    assert 150_000_000 in amounts(11) and 160_000_000 not in amounts(11)
    assert {160_000_000, 383_000_000} <= amounts(22)
    assert any(j["number"] == 4000 for j in zones.loc[22, "jobs"])


def test_each_zone_contains_its_own_designated_sites(catalogue):
    sites = catalogue.sites
    designated = sites[sites["designated_zone_id"].notna() & sites.geometry.notna()]
    assert len(designated) >= 20
    misplaced = [
        (row.site_id, int(row.designated_zone_id), row.zone_ids)
        for row in designated.itertuples()
        if row.kind in ("tax_site", "port", "customs_site")
        and int(row.designated_zone_id) not in row.zone_ids
    ]
    assert misplaced == []


def test_east_midlands_iz_tax_sites_fall_in_zone_22(catalogue):
    sites = catalogue.sites.set_index("site_id")
    iz = sites[sites["designation"].fillna("").str.contains("SI 2025/111")]
    assert len(iz) == 3
    assert all(22 in ids for ids in iz["zone_ids"])


def test_millbrook_falls_in_no_zone(catalogue):
    sites = catalogue.sites
    millbrook = sites[sites["name"].str.contains("Millbrook")]
    assert len(millbrook) == 1
    assert millbrook["zone_ids"].iloc[0] == []


def test_d2n2_assets_are_in_zone_22(catalogue):
    sites = catalogue.sites
    d2n2 = sites[sites["d2n2_asset"] & sites.geometry.notna()]
    assert len(d2n2) >= 20
    outside = d2n2[~d2n2["zone_ids"].apply(lambda ids: 22 in ids)]
    assert outside["site_id"].tolist() == []


def test_freeport_outer_boundaries_respect_45_km_or_say_why(catalogue):
    zones = catalogue.zones[catalogue.zones.programme == "freeport"].to_crs(MEASURE_CRS)
    for row in zones.itertuples():
        width = 2 * shapely.minimum_bounding_radius(row.geometry) / 1000
        if width > FREEPORT_MAX_WIDTH_KM + 2 * 1.0:  # the 1 km anchor discs may poke out
            assert "kept apart" in row.geometry_method, (row.name, width)


def test_membership_table_names_real_admin_units_and_sites(catalogue):
    members = parse_membership(
        (DATA / "boundaries" / "membership.csv").read_text(), path="membership.csv"
    )
    units = set(read_admin_units(DATA / "boundaries" / "uk_admin_units.geojson")["name"])
    site_ids = set(catalogue.sites["site_id"])
    for m in members:
        assert m.reason and m.source, m
        if m.member_type == "admin_unit":
            assert m.member in units, m
        if m.member_type == "site":
            assert m.member in site_ids, m
    assert {m.zone_id for m in members} == set(range(1, 23))


def test_admin_units_fix_the_known_source_labels():
    units = read_admin_units(DATA / "boundaries" / "uk_admin_units.geojson")
    assert len(units) == 232 and units["name"].is_unique
    fixed = units.set_index("unit_id").loc[["GBR-2108", "GBR-5669"], "name"].tolist()
    assert fixed == ["Wirral", "St Helens"]


def test_bundled_zones_are_what_the_builder_makes(tmp_path):
    """The committed zones.geojson is reproducible from the committed inputs."""
    from click.testing import CliRunner

    from iszones.cli import main

    folder = tmp_path / "data"
    (folder / "boundaries").mkdir(parents=True)
    for name in (
        "districts.geojson",
        "lad_membership.csv",
        "membership.csv",
        "zone_attributes.json",
    ):
        (folder / "boundaries" / name).write_bytes((DATA / "boundaries" / name).read_bytes())
    (folder / "sites.geojson").write_bytes((DATA / "sites.geojson").read_bytes())
    result = CliRunner().invoke(main, ["build-boundaries", "--data-dir", str(folder)])
    assert result.exit_code == 0, result.output
    built = (folder / "boundaries" / "zones.geojson").read_text()
    assert built == (DATA / "boundaries" / "zones.geojson").read_text()


def test_zones_overlap_only_where_documented(catalogue):
    """Only zone 20's indicative Freeport boundary round Parkside reaches into Wigan (zone 12)."""
    zones = catalogue.zones.to_crs(MEASURE_CRS).set_index("zone_id").geometry
    overlaps = {}
    for a in zones.index:
        for b in zones.index[zones.index > a]:
            area = zones[a].intersection(zones[b]).area / 1e6
            if area > 0.01:
                overlaps[(a, b)] = area
    assert set(overlaps) <= {(12, 20)}
    assert all(area < 0.2 for area in overlaps.values())


def test_programme_regions_have_no_geometry_and_say_so(catalogue):
    regional = catalogue.sites[catalogue.sites.geometry.isna()]
    assert (regional["kind"] == "programme").all()
    assert regional["location_precision"].str.contains("region-wide").all()
    assert regional["zone_ids"].map(len).eq(0).all()


# --- Issue 14: the tax-site facts ---------------------------------------------------------


def _raw_features():
    zones = json.loads((DATA / "boundaries" / "zone_attributes.json").read_text())["zones"]
    sites = [f["properties"] for f in json.loads((DATA / "sites.geojson").read_text())["features"]]
    return zones, sites


def test_each_zone_lists_exactly_its_tax_site_records():
    """One source of truth: a zone's tax_sites are the names of its tax_site records."""
    zones, sites = _raw_features()
    for zone in zones:
        records = [
            s["name"]
            for s in sites
            if s["kind"] == "tax_site" and s["designated_zone_id"] == zone["zone_id"]
        ]
        assert zone["tax_sites"] == records, zone["zone_id"]
        if not records:
            assert zone["tax_sites_note"], zone["zone_id"]


def test_audited_tax_site_lists():
    zones, sites = _raw_features()
    listed = {z["zone_id"]: z["tax_sites"] for z in zones}
    assert listed[21] == ["Teesworks East", "Teesworks West", "Wilton International"]
    assert listed[5][0] == "AMEP (Able Marine Energy Park)"
    assert listed[12] == listed[13] == listed[15] == []
    kinds = {s["site_id"]: s["kind"] for s in sites}
    for site_id in ("manchester-smile", "northern-gateway-atom-valley", "doncaster-gatewayeast"):
        assert kinds[site_id] != "tax_site"
    for site_id in ("teesport", "port-of-middlesbrough", "teesside-international-airport"):
        assert kinds[site_id] == "port"


def test_every_figure_source_is_in_its_features_sources():
    zones, sites = _raw_features()
    for props in (*zones, *sites):
        label = props.get("site_id", props.get("zone_id"))
        assert unlisted_figure_sources(props) == [], label


def test_every_tax_site_has_its_relief_window_precision_and_designation():
    zones, sites = _raw_features()
    by_zone = {z["zone_id"]: z for z in zones}
    iz_sites = {
        "sci-tech-daresbury",
        "maghull-health-park",
        "st-helens-manufacturing-innovation-campus",
        "infinity-park-derby",
        "cemc-explore-park-steetley",
        "hartington-commerce-park-staveley",
    }
    taxed = [s for s in sites if s["kind"] == "tax_site"]
    assert len(taxed) == 53
    for site in taxed:
        zone = by_zone[site["designated_zone_id"]]
        england_freeport = (
            zone["nation"] == "England"
            and zone["programme"] in ("freeport", "both")
            and site["site_id"] not in iz_sites
        )
        assert site["relief_until"] == ("2031-09-30" if england_freeport else "2034-09-30")
        assert site["relief_source"] and site["designation"], site["site_id"]
        assert site["location_precision_m"] and site["location_precision_m"] > 0
    designations = {s["site_id"]: s["designation"] for s in taxed}
    assert "SI 2022/184" in designations["ratcliffe-on-soar"]
    assert "SI 2025/111" in designations["infinity-park-derby"]
    assert "SI 2024/383" in designations["maghull-health-park"]


def _zone_with_its_sites(zone_id):
    zones, sites = _raw_features()
    lines = [line for z in zones if z["zone_id"] == zone_id for line in z["funding"]]
    return lines + [
        line for s in sites if s["designated_zone_id"] == zone_id for line in s["funding"]
    ]


def test_funding_totals_never_count_a_line_twice():
    zones, sites = _raw_features()
    lines = [line for props in (*zones, *sites) for line in props["funding"]]
    keys = [line["key"] for line in lines if line.get("key")]
    assert len(keys) == len(set(keys))
    kind_of = {line["key"]: line["kind"] for line in lines if line.get("key")}
    for line in lines:
        if line.get("included_in"):
            assert kind_of[line["included_in"]] == line["kind"], line
    # Zone 19: Nissan's £1.12bn sits inside the £2bn, and is repeated on the zone.
    zone19 = _zone_with_its_sites(19)
    assert total_funding(zone19, "private_investment") == 2_000_000_000
    assert total_funding(zone19, "public_funding") == 160_000_000  # MADE NE's £9.7m is inside
    # Zone 15: the Gigapark's £23m (on zone and site) and Wolverhampton's £7m are IZ money.
    assert total_funding(_zone_with_its_sites(15), "public_funding") == 160_000_000
    assert total_funding(_zone_with_its_sites(4), "public_funding") == 25_000_000 + 29_000_000
    # A part counts when what contains it is not being totalled.
    nissan = next(s for s in sites if s["site_id"] == "nissan-sunderland")["funding"]
    assert total_funding(nissan[:1], "private_investment") == 1_120_000_000


def test_ardersier_credit_facility_is_a_loan_not_public_funding():
    _, sites = _raw_features()
    ardersier = next(s for s in sites if s["site_id"] == "ardersier-port")
    loan = [line for line in ardersier["funding"] if line["amount_gbp"] == 100_000_000]
    assert [line["kind"] for line in loan] == ["loan_finance"]
    assert total_funding(ardersier["funding"], "public_funding") == 0


def test_northern_ireland_has_no_retained_rates_line():
    zones, _ = _raw_features()
    zone11 = next(z for z in zones if z["zone_id"] == 11)
    assert all(line["kind"] != "retained_rates" for line in zone11["funding"])


@pytest.mark.parametrize(
    ("site_id", "postcode"),
    [
        ("port-of-middlesbrough", "TS2 1PL"),
        ("university-of-nottingham-innovation-park", "NG7 2TU"),
        ("space-park-leicester", "LE4 5SP"),
    ],
)
def test_points_placed_by_postcode_are_within_their_precision(catalogue, site_id, postcode):
    from iszones.inputs.postcodes import lookup_postcode

    where = lookup_postcode(postcode)
    site = catalogue.sites.set_index("site_id").loc[site_id]
    point = gpd.GeoSeries([site.geometry], crs=STORAGE_CRS).to_crs(MEASURE_CRS).iloc[0]
    distance = point.distance(shapely.Point(where.easting, where.northing))
    assert distance <= site["location_precision_m"]
    assert postcode in site["location_precision"]


def test_moved_points_land_in_the_council_the_sources_name():
    from iszones.inputs.postcodes import lookup_postcode

    assert lookup_postcode("TS2 1PL").lad_code == "E06000002"  # Middlesbrough, not Stockton
    assert lookup_postcode("LE4 5SP").lad_code == "E06000016"  # Leicester
