"""The bundled data: counts, sources, vocabulary, and the spatial facts the sources state."""

import json
import re

import pytest
import shapely

from iszones.boundaries import FREEPORT_MAX_WIDTH_KM, parse_membership
from iszones.io import read_admin_units
from iszones.schema import MEASURE_CRS, SECTORS

from .conftest import DATA


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
    for name in ("uk_admin_units.geojson", "membership.csv", "zone_attributes.json"):
        (folder / "boundaries" / name).write_bytes((DATA / "boundaries" / name).read_bytes())
    (folder / "sites.geojson").write_bytes((DATA / "sites.geojson").read_bytes())
    result = CliRunner().invoke(main, ["build-boundaries", "--data-dir", str(folder)])
    assert result.exit_code == 0, result.output
    built = (folder / "boundaries" / "zones.geojson").read_text()
    assert built == (DATA / "boundaries" / "zones.geojson").read_text()


def test_zones_overlap_only_where_documented(catalogue):
    """Only the CEMC disc (zone 22) reaches over the generalised Rotherham outline (zone 13)."""
    zones = catalogue.zones.to_crs(MEASURE_CRS).set_index("zone_id").geometry
    overlaps = {}
    for a in zones.index:
        for b in zones.index[zones.index > a]:
            area = zones[a].intersection(zones[b]).area / 1e6
            if area > 0.01:
                overlaps[(a, b)] = area
    assert set(overlaps) <= {(13, 22)}
    assert all(area < 3.2 for area in overlaps.values())  # at most one 1 km disc


def test_programme_regions_have_no_geometry_and_say_so(catalogue):
    regional = catalogue.sites[catalogue.sites.geometry.isna()]
    assert (regional["kind"] == "programme").all()
    assert regional["location_precision"].str.contains("region-wide").all()
    assert regional["zone_ids"].map(len).eq(0).all()
