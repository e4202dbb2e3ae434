"""The grid index answers exactly as shapely (GEOS) does, with its compiled kernels, and by
its trees alone for queries of under FEW_POINTS points: every test here runs both ways."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from iszones.check.core import polygon_grid
from iszones.check.frames import bundled_boundaries, prepare_check
from iszones.data.catalogue import read_admin_units, read_zones
from iszones.geo import grid as grid_module
from iszones.geo import kernels
from iszones.geo.grid import PolygonGrid, mask_members
from tests.conftest import DATA, X0, Y0


@pytest.fixture(autouse=True, params=["cells", "trees"])
def query_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Queries answered by the cells whatever their size, then as a short run's are (under
    FEW_POINTS points: by the trees, without the compiled kernels)."""
    if request.param == "cells":
        monkeypatch.setattr(grid_module, "FEW_POINTS", 0)
    return str(request.param)


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return bundled_boundaries(read_zones(DATA / "boundaries" / "zones.geojson"))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return read_admin_units(DATA / "boundaries" / "uk_admin_units.geojson")


# ---------------------------------------------------------------- the grid index


def exact_answers(geoms, x, y, *, tolerance=0.0, max_distance=None):
    """(first, nearest, distance, members) from shapely's STRtree, ties to the lowest."""
    points = shapely.points(x, y)
    tree = shapely.STRtree(geoms)
    if tolerance:
        pt, poly = tree.query(points, predicate="dwithin", distance=tolerance)
    else:
        pt, poly = tree.query(points, predicate="intersects")
    members = [tuple(sorted(poly[pt == i].tolist())) for i in range(len(x))]
    first = np.array([m[0] if m else -1 for m in members])
    nearest, distance = first.copy(), np.where(first >= 0, 0.0, np.nan)
    out = np.flatnonzero(first < 0)
    if len(out) and max_distance != 0.0:  # 0: containment only, no nearest
        limit = {} if max_distance is None else {"max_distance": max_distance}
        (i, j), d = tree.query_nearest(points[out], return_distance=True, all_matches=True, **limit)
        for k in np.unique(i):
            low = d[i == k].min()
            nearest[out[k]] = j[(i == k) & (d == low)].min()
            distance[out[k]] = low
    return first, nearest, distance, members


@pytest.fixture
def tricky_polygons(tiny_zones) -> np.ndarray:
    """A holed square, a square sharing its border, a MultiPolygon, and one overlapping two."""
    extra = box(X0 + 1500, Y0 + 200, X0 + 2500, Y0 + 800)
    return np.array([*tiny_zones.geometry, extra], dtype=object)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.floats(-3000, 12000), st.floats(-3000, 4000)), min_size=1, max_size=60),
    st.sampled_from([0.0, 0.01]),
    st.sampled_from([None, 700.0, 0.0]),
)
def test_grid_answers_as_shapely_does(tricky_polygons, points, tolerance, max_distance):
    x = X0 + np.array([p[0] for p in points])
    y = Y0 + np.array([p[1] for p in points])
    # a small leaf, so that cells are built at every level, near edges and far from them
    grid = PolygonGrid(
        tricky_polygons, tolerance=tolerance, max_distance=max_distance, leaf_size=100.0
    )
    found = grid.locate(x, y, members=True)
    first, nearest, distance, members = exact_answers(
        tricky_polygons, x, y, tolerance=tolerance, max_distance=max_distance
    )
    assert found.first.tolist() == first.tolist()
    assert found.nearest.tolist() == nearest.tolist()
    np.testing.assert_array_equal(found.distance, distance)  # bit for bit, NaN where none
    assert [mask_members(m) for m in found.members] == members


@pytest.mark.parametrize(
    ("px", "py", "expected"),
    [
        (X0 + 1000, Y0 + 500, [0, 1]),  # on the border two zones share: in both
        (X0 + 500, Y0 + 500, []),  # in the hole
        (X0 + 400, Y0 + 500, [0]),  # on the hole's edge: the boundary counts
        (X0 + 2000.005, Y0 + 500, [1]),  # 5 mm outside zone 2: within the 1 cm rule
        (X0 + 2000.02, Y0 + 500, []),  # 2 cm outside: not
    ],
)
def test_grid_edge_cases(tiny_zones, px, py, expected):
    grid = PolygonGrid(tiny_zones.geometry.to_numpy(), tolerance=0.01)
    found = grid.locate(np.array([px]), np.array([py]), members=True)
    assert list(mask_members(found.members[0])) == expected


def test_grid_ties_go_to_the_first_polygon():
    """A point as far from two polygons (a shared vertex is nearest) takes the first."""
    a = box(0, 0, 10, 10)
    b = box(10, -10, 20, 0)  # touches a at (10, 0) only
    grid = PolygonGrid(np.array([b, a], dtype=object), leaf_size=5.0)
    found = grid.locate(np.array([15.0]), np.array([5.0]))
    assert found.nearest[0] == 0 and found.distance[0] == 5.0
    assert PolygonGrid(np.array([a, b], dtype=object)).locate([15.0], [5.0]).nearest[0] == 0


def test_grid_points_outside_its_lattice_are_answered_too(tiny_zones):
    grid = PolygonGrid(tiny_zones.geometry.to_numpy(), tolerance=0.01)
    x, y = np.array([5e6, X0 + 100]), np.array([5e6, Y0 + 100])
    found = grid.locate(x, y)
    _, nearest, distance, _ = exact_answers(tiny_zones.geometry.to_numpy(), x, y, tolerance=0.01)
    assert found.nearest.tolist() == nearest.tolist()
    np.testing.assert_allclose(found.distance, distance)


def test_grid_travels_by_pickle_and_keeps_answering(tiny_zones):
    grid = PolygonGrid(tiny_zones.geometry.to_numpy(), tolerance=0.01, max_distance=900.0)
    grid.locate(np.array([X0]), np.array([Y0]))
    again = pickle.loads(pickle.dumps(grid))  # noqa: S301 -- our own object, as Dask sends it
    x, y = np.array([X0 + 100, X0 + 2500, X0 - 2000]), np.full(3, Y0 + 100.0)
    a, b = grid.locate(x, y), again.locate(x, y)
    assert a.nearest.tolist() == b.nearest.tolist() == [0, 1, -1]


def test_a_grid_takes_the_cells_another_built_and_answers_the_same(tiny_zones):
    """Cells kept from one grid (as a large check keeps them on disk) serve a new grid of the
    same polygons: the same answers, nothing built again for the same points, the rest built
    on top; a grid that has built cells, or arrays that do not fit, are refused."""
    geoms = tiny_zones.geometry.to_numpy()
    rng = np.random.default_rng(5)
    x, y = rng.uniform(X0 - 3000, X0 + 12_000, 3000), rng.uniform(Y0 - 3000, Y0 + 4000, 3000)
    built = PolygonGrid(geoms, tolerance=0.01, max_distance=900.0)
    before = built.locate(x, y, members=True)
    state = pickle.loads(pickle.dumps(built.built_cells()))  # noqa: S301 -- as kept on disk
    taker = PolygonGrid(geoms, tolerance=0.01, max_distance=900.0)
    assert taker.fingerprint == built.fingerprint
    assert taker.add_cells(state)
    assert taker.built() == built.built() > 0
    after = taker.locate(x, y, members=True)
    assert taker.built() == built.built()  # none built again
    for field in ("first", "nearest", "distance", "members"):
        np.testing.assert_array_equal(getattr(after, field), getattr(before, field))
    more_x, more_y = x + 20_000, y + 10_000  # elsewhere: built on top of the kept cells
    np.testing.assert_array_equal(
        taker.locate(more_x, more_y).distance,
        PolygonGrid(geoms, tolerance=0.01, max_distance=900.0).locate(more_x, more_y).distance,
    )
    assert not taker.add_cells(state)  # it has built cells of its own
    assert PolygonGrid(geoms, tolerance=0.02).fingerprint != built.fingerprint
    leaf = len(built.levels) - 1
    for broken in (
        {**state, f"{leaf}/first": state[f"{leaf}/first"][:-1]},
        {k: v for k, v in state.items() if k != "0/mask"},
        {**state, f"{leaf}/row": state[f"{leaf}/row"] + 10**6},
    ):
        fresh = PolygonGrid(geoms, tolerance=0.01, max_distance=900.0)
        assert not fresh.add_cells(broken)
        assert fresh.built() == 0


def test_nearest_points_kernel_is_argmin():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1e5, 5000), rng.uniform(0, 1e5, 5000)
    px, py = np.round(rng.uniform(0, 1e5, 40)), np.round(rng.uniform(0, 1e5, 40))
    px[7], py[7] = px[3], py[3]  # a tie goes to the first
    nearest, distance = kernels.nearest_points(x, y, px, py)
    d2 = (x[:, None] - px) ** 2 + (y[:, None] - py) ** 2
    np.testing.assert_array_equal(nearest, np.argmin(d2, axis=1))
    np.testing.assert_array_equal(distance, np.sqrt(d2.min(axis=1)))
    assert kernels.nearest_points(x, y, px[:0], py[:0])[0].tolist() == [-1] * 5000


def test_grid_without_members_says_so(tiny_zones):
    grid = PolygonGrid(tiny_zones.geometry.to_numpy(), members=False)
    with pytest.raises(ValueError, match="members=True"):
        grid.locate(np.array([X0]), np.array([Y0]), members=True)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6).map(lambda v: round(v, 6)), min_size=6, max_size=6))
def test_segment_distance_is_shapelys(values):
    """Equal to GEOS's for coordinates in metres to the micrometre (GEOS itself gives inf for a
    segment whose squared length underflows, such as one 1e-308 m long)."""
    px, py, ax, ay, bx, by = values
    expected = shapely.distance(Point(px, py), shapely.LineString([(ax, ay), (bx, by)]))
    if (ax, ay) == (bx, by):  # a zero-length segment: the distance to its point
        expected = shapely.distance(Point(px, py), Point(ax, ay))
    assert kernels.segment_distance(px, py, ax, ay, bx, by) == expected


def test_kernels_compile_where_nothing_can_be_cached():
    namespace: dict = {}
    # a function with no source file: numba has nowhere to cache it, and must still compile it
    exec("def add_one(x):\n    return x + 1\n", namespace)  # noqa: S102
    assert kernels.compiled(namespace["add_one"])(41) == 42


def test_bundled_data_grid_equals_shapely(zones, units):
    """The real zones and councils, 3000 seeded points over the UK box."""
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-250_000, 700_000, 3000), rng.uniform(0, 1_250_000, 3000)
    index = prepare_check(zones, units)
    zone_geoms = index.zone_geoms
    unit_geoms = index.unit_geoms
    for grid, geoms, kwargs in (
        (index.zone_grid, zone_geoms, {"tolerance": 0.01}),
        (index.unit_grid, unit_geoms, {"max_distance": 5000.0}),
    ):
        found = grid.locate(x, y)
        first, nearest, distance, _ = exact_answers(geoms, x, y, **kwargs)
        assert found.first.tolist() == first.tolist()
        assert found.nearest.tolist() == nearest.tolist()
        np.testing.assert_array_equal(found.distance, distance)


def test_grids_are_shared_between_checks(tiny_zones):
    a = polygon_grid(tiny_zones.geometry.to_numpy(), tolerance=0.01)
    b = polygon_grid(tiny_zones.geometry.copy().to_numpy(), tolerance=0.01)
    assert a is b
    assert polygon_grid(tiny_zones.geometry.to_numpy()) is not a


def test_near_several_matches_two_or_more_members_on_districts() -> None:
    """On the council districts (polygons that do not overlap), near_several answers as
    locate(members=True) with two or more members, points at sea and off the lattice included."""
    from iszones.data.catalogue import districts_path, read_districts

    geoms = read_districts(districts_path(DATA)).to_crs(27700).geometry.to_numpy()
    rng = np.random.default_rng(4)
    x = np.r_[rng.uniform(380_000, 480_000, 20_000), 5_000_000.0, 437_000.0]
    y = np.r_[rng.uniform(300_000, 400_000, 20_000), 5_000_000.0, 334_000.0]
    # and points on and beside a shared border
    shared = shapely.intersection(geoms[0], shapely.buffer(geoms[1:], 1.0))
    line = shared[~shapely.is_empty(shared)][0]
    along = shapely.line_interpolate_point(
        shapely.boundary(line), np.linspace(0, 1, 200), normalized=True
    )
    x = np.r_[x, shapely.get_x(along), shapely.get_x(along) + 150.0, shapely.get_x(along) + 250.0]
    y = np.r_[y, shapely.get_y(along), shapely.get_y(along), shapely.get_y(along)]
    members = PolygonGrid(geoms, tolerance=200.0).locate(x, y, members=True).members
    expected = np.array([len(mask_members(m)) >= 2 for m in members])
    got = PolygonGrid(geoms, tolerance=200.0, members=False).near_several(x, y)
    assert expected.sum() > 1_000
    np.testing.assert_array_equal(got, expected)
