"""District build from postcodes: a valid coverage, deterministic, and the committed layer."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from iszones.data.geography import (
    browser_layer,
    build_districts,
    far_land,
    read_district_names,
    to_geojson,
    unique_points,
)
from iszones.inputs.postcodes import read_directory
from tests.conftest import ROOT

BOUNDARIES = ROOT / "data" / "boundaries"


@pytest.fixture(scope="module")
def nottingham() -> tuple[gpd.GeoDataFrame, dict, shapely.Geometry]:
    """NG postcodes only, clipped to a box round them (a stand-in for the land mask)."""
    directory = read_directory(["N"])
    directory = directory[directory["pcd"].str.startswith("NG")].reset_index(drop=True)
    land = shapely.box(-1.35, 52.85, -0.95, 53.05)
    names = read_district_names(BOUNDARIES / "lad2025_names.csv")
    frame, far, report = build_districts(directory, land, names)
    return frame, report, land, far


def test_subset_is_a_valid_coverage(nottingham) -> None:
    frame, report, land, _ = nottingham
    geoms = frame.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    # No overlaps: the parts' areas add up to the union; no gaps: the union is the land.
    assert abs(sum(g.area for g in geoms) - union.area) < 1.0
    land_bng = gpd.GeoSeries([land], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
    assert abs(union.area - land_bng.area) / land_bng.area < 1e-6
    assert {"E06000018", "E07000172", "E07000176"} <= set(
        frame["code"]
    )  # Nottingham, Broxtowe, Rushcliffe
    assert report["holdout"]["overall_right"] > 0.99


def test_browser_layer_is_deterministic(nottingham) -> None:
    frame, *_ = nottingham
    assert to_geojson(browser_layer(frame)) == to_geojson(browser_layer(frame.copy()))


def test_unique_points_take_the_majority_district() -> None:
    import pandas as pd

    directory = pd.DataFrame(
        {
            "laua": ["E1", "E2", "E2", None, "L99999999"],
            "easting": [1.0, 1.0, 1.0, 2.0, 3.0],
            "northing": [5.0, 5.0, 5.0, 6.0, 7.0],
            "is_ni": [False] * 5,
        }
    )
    points = unique_points(directory)
    assert points[["easting", "laua"]].values.tolist() == [[1.0, "E2"]]


def test_every_directory_code_has_a_name() -> None:
    names = read_district_names(BOUNDARIES / "lad2025_names.csv")
    codes = set(read_directory()["laua"].dropna())
    assert codes <= set(names)
    assert len([c for c in codes if c[0] in "EWSN"]) == 361
    with (BOUNDARIES / "lad2025_names.csv").open(encoding="utf-8") as f:
        assert all(row["source"] for row in csv.DictReader(f))


def test_committed_layer() -> None:
    layer = gpd.read_file(BOUNDARIES / "districts.geojson")
    assert len(layer) == 361 and layer["code"].is_unique
    assert layer.geometry.is_valid.all()
    manifest = json.loads((BOUNDARIES / "geography_manifest.json").read_text())
    holdout = manifest["report"]["holdout"]
    assert holdout["overall_right"] >= 0.995 and holdout["near_border_right"] >= 0.96
    import hashlib

    digest = hashlib.sha256((BOUNDARIES / "districts.geojson").read_bytes()).hexdigest()
    assert digest == manifest["districts_geojson"]["sha256"]
    assert np.isclose(layer.to_crs("EPSG:27700").area.sum() / 1e6, 244_000, rtol=0.02)


def test_every_district_says_where_its_boundary_and_name_come_from():
    doc = json.loads((BOUNDARIES / "districts.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        props = feature["properties"]
        assert props["name_source"], props["code"]
        assert "ONS Postcode Directory" in props["boundary_source"]
        assert props["boundary_precision"].startswith("approximate, not an official ONS boundary")


def test_far_land_is_exactly_beyond_the_distance_from_every_point() -> None:
    xy = np.array([[0.0, 0.0], [5_000.0, 0.0], [0.0, 6_000.0]])
    land = shapely.box(-3_000, -3_000, 8_000, 9_000)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=land, ordered=True)
    )
    far = far_land(xy, cells, land, far=1_000.0)
    expected = land.difference(shapely.union_all(shapely.buffer(shapely.points(xy), 1_000.0)))
    assert abs(far.area - expected.area) / expected.area < 1e-3
    assert far.contains(shapely.Point(2_500, 1_000)) and not far.intersects(shapely.Point(900, 0))


def test_committed_far_land_holds_no_postcode() -> None:
    """No postcode of the Highlands and Islands lies in the committed far-from-postcodes land
    (it keeps 1 km clear of every postcode, less its 200 m simplification)."""
    far = gpd.read_file(BOUNDARIES / "far_from_postcodes.geojson").to_crs(27700)
    assert far["source"].str.contains("ONS Postcode Directory").all()
    area = far.geometry.iloc[0]
    assert 20_000 < area.area / 1e6 < 100_000  # km²: a large share of the Highlands is far
    directory = read_directory(["I", "K", "P", "H"])
    directory = directory[directory["easting"].notna() & ~directory["is_ni"]]
    inside = shapely.contains_xy(area, directory["easting"], directory["northing"])
    assert len(directory) > 100_000 and not inside.any()
