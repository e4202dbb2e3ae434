import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from iszones import (
    CRSError,
    assign_zones,
    nearest_zones,
    sites_near_zone,
)
from iszones.geo.spatial import areas_km2, repair_geometries
from tests.conftest import X0, Y0


def zones_of(frame: gpd.GeoDataFrame) -> dict[str, list[int]]:
    return dict(zip(frame["site_id"], frame["zone_ids"], strict=True))


EXPECTED = {
    "inside-1": [1],
    "in-hole": [],  # the hole is not part of the zone
    "shared-border": [1, 2],  # boundary rule: on the border counts for both zones
    "second-part": [3],  # MultiPolygon: the second square counts
    "outside": [],
}


def test_assign_zones_in_bng(tiny_sites, tiny_zones):
    assert zones_of(assign_zones(tiny_sites, tiny_zones)) == EXPECTED


def test_assign_zones_same_answer_from_wgs84_input(tiny_sites, tiny_zones):
    wgs84_sites = tiny_sites.to_crs("EPSG:4326")
    wgs84_zones = tiny_zones.to_crs("EPSG:4326")
    assert zones_of(assign_zones(wgs84_sites, tiny_zones)) == EXPECTED
    assert zones_of(assign_zones(tiny_sites, wgs84_zones)) == EXPECTED


def test_assign_zones_keeps_input_and_names(tiny_sites, tiny_zones):
    before = tiny_sites.copy()
    out = assign_zones(tiny_sites, tiny_zones)
    assert list(out.loc[out.site_id == "shared-border", "zone_names"].iloc[0]) == ["Holed", "East"]
    assert tiny_sites.equals(before)  # never mutates its argument
    assert "zone_ids" not in tiny_sites.columns


def test_missing_crs_is_a_clear_error(tiny_sites, tiny_zones):
    naive = tiny_sites.set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"The sites has no coordinate reference system.*set_crs"):
        assign_zones(naive, tiny_zones)


def test_sites_without_geometry_get_no_zone(tiny_zones):
    sites = gpd.GeoDataFrame({"site_id": ["nowhere"]}, geometry=[None], crs="EPSG:27700")
    assert zones_of(assign_zones(sites, tiny_zones)) == {"nowhere": []}
    nearest = nearest_zones(sites, tiny_zones)
    assert nearest["nearest_zone_id"].isna().all()


def test_nearest_zone_distance_in_metres(tiny_sites, tiny_zones):
    nearest = nearest_zones(tiny_sites.to_crs("EPSG:4326"), tiny_zones)
    by_site = dict(zip(tiny_sites["site_id"], nearest.itertuples(index=False), strict=True))
    assert by_site["outside"].nearest_zone_id == 2
    assert by_site["outside"].nearest_zone_distance_m == pytest.approx(1000, abs=0.5)
    assert by_site["inside-1"].nearest_zone_distance_m == 0
    # in the hole: 100 m from the hole's edge
    assert by_site["in-hole"].nearest_zone_distance_m == pytest.approx(100, abs=0.5)


def test_sites_near_zone_excludes_inside_and_far(tiny_sites, tiny_zones):
    zone2 = tiny_zones.to_crs("EPSG:4326").geometry.iloc[1]
    near = sites_near_zone(tiny_sites, zone2, km=1.0)
    # nearest first; the border point counts as inside zone 2, the far part of zone 3 is 6 km off
    assert list(near["site_id"]) == ["in-hole", "inside-1", "outside"]
    assert near["distance_km"].tolist() == pytest.approx([0.5, 0.9, 1.0])
    assert sites_near_zone(tiny_sites, zone2, km=0.4).empty


def test_area_measured_in_bng(tiny_zones):
    areas = areas_km2(tiny_zones.to_crs("EPSG:4326"))
    assert areas.round(3).tolist() == [0.96, 1.0, 2.0]


def test_repair_reports_what_it_fixed():
    bowtie = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[bowtie], crs="EPSG:27700")
    fixed, notes = repair_geometries(frame, "upload.geojson")
    assert fixed.geometry.is_valid.all()
    assert notes and "Self-intersection" in notes[0] and "upload.geojson row 0" in notes[0]
    assert fixed.geometry.area.iloc[0] == pytest.approx(50)


def test_point_just_outside_tolerance_is_outside(tiny_zones):
    sites = gpd.GeoDataFrame(
        {"site_id": ["a", "b"]},
        geometry=[Point(X0 + 2000.005, Y0 + 10), Point(X0 + 2000.05, Y0 + 10)],
        crs="EPSG:27700",
    )
    assert zones_of(assign_zones(sites, tiny_zones)) == {"a": [2], "b": []}
