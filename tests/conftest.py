"""Shared fixtures: tiny hand-made zones and sites in British National Grid, checkable by eye.

Zone 1 is a 1 km square with a 200 m square hole; zone 2 is the 1 km square east of it
(they share the border x = X0 + 1000); zone 3 is a MultiPolygon of two squares further east.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from iszones.data.catalogue import load_catalogue
from iszones.data.diskcache import CACHE_ENV

X0, Y0 = 435_000, 335_000  # near Derby, in EPSG:27700 metres
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = ROOT / "data"
FIXTURES = TESTS / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite keeps its disk cache (iszones.data.diskcache) in a folder of its own, shared by
    every test, command and server it starts, and removed afterwards; never the user's."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("iszones-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


def square(x: float, y: float, size: float) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


@pytest.fixture
def tiny_zones() -> gpd.GeoDataFrame:
    holed = Polygon(square(0, 0, 1000).exterior.coords, [square(400, 400, 200).exterior.coords])
    return gpd.GeoDataFrame(
        {"zone_id": [1, 2, 3], "name": ["Holed", "East", "Two parts"]},
        geometry=[
            holed,
            square(1000, 0, 1000),
            MultiPolygon([square(5000, 0, 1000), square(8000, 0, 1000)]),
        ],
        crs="EPSG:27700",
    )


@pytest.fixture
def tiny_sites() -> gpd.GeoDataFrame:
    points = {
        "inside-1": (100, 100),
        "in-hole": (500, 500),
        "shared-border": (1000, 500),
        "second-part": (8500, 500),
        "outside": (3000, 500),
    }
    return gpd.GeoDataFrame(
        {"site_id": list(points)},
        geometry=[Point(X0 + x, Y0 + y) for x, y in points.values()],
        crs="EPSG:27700",
    )


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(DATA)


@pytest.fixture(scope="session")
def bundled_sites_doc() -> dict:
    return json.loads((DATA / "sites.geojson").read_text(encoding="utf-8"))


@pytest.fixture
def sites_doc(bundled_sites_doc) -> dict:
    """A private copy of the bundled sites document, for tests that break it on purpose."""
    return copy.deepcopy(bundled_sites_doc)
