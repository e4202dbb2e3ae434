"""Cells kept from one check serve the next: the same answers, from threads checking at once."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np

from iszones.check import core
from iszones.check.frames import check_indexed
from iszones.check.prepared import index_grids, kept_cells
from iszones.check.reference import bundled_reference
from tests.conftest import DATA

# In a process of its own: a crash there fails this test instead of ending pytest.
KEPT_CELLS_CHECKED_BY_THREADS = """
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np

from iszones.check import core
from iszones.check.frames import check_indexed
from iszones.check.prepared import index_grids
from iszones.check.reference import bundled_reference

reference = bundled_reference(Path(sys.argv[1]))
rng = np.random.default_rng(0)
n = 200_000
x, y = rng.uniform(350_000, 550_000, n), rng.uniform(150_000, 450_000, n)
sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")
index = reference.index()
first = check_indexed(sites, index, chunk_rows=n // 16)
cells = [grid.built_cells() for grid in index_grids(index)]
core.clear_grids()  # a new index, as in the next process, takes the cells built above
again = reference.index()
assert all(grid.add_cells(kept) for grid, kept in zip(index_grids(again), cells, strict=True))
second = check_indexed(sites, again, chunk_rows=n // 16)  # no cell to build: threads at once
assert first.drop(columns="geometry").equals(second.drop(columns="geometry"))
print("same answers")
"""


def test_threads_checking_with_kept_cells_at_once_give_the_same_answers():
    # Before each grid asked its own prepared copies one thread at a time, GEOS' prepared
    # polygons shared by two threads corrupted the heap: this aborted 5 runs in 5.
    run = subprocess.run(
        [sys.executable, "-c", KEPT_CELLS_CHECKED_BY_THREADS, str(DATA)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "same answers"


def test_a_large_check_keeps_its_cells_for_the_next_one_and_a_small_check_does_not(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("ISZONES_CACHE_DIR", str(tmp_path))
    reference = bundled_reference(DATA)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(400_000, 480_000, 2_000), rng.uniform(300_000, 380_000, 2_000)
    sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")

    core.clear_grids()
    index = reference.index()
    with kept_cells(index, large=False):
        check_indexed(sites, index)
    assert not list(tmp_path.glob("grid-cells-*"))  # a small check writes nothing

    core.clear_grids()
    index = reference.index()
    with kept_cells(index, large=True):
        first = check_indexed(sites, index)
    built = [grid.built() for grid in index_grids(index)]
    assert list(tmp_path.glob("grid-cells-*"))

    core.clear_grids()  # the next process: a new index starts with the kept cells
    again = reference.index()
    with kept_cells(again, large=True):
        assert [grid.built() for grid in index_grids(again)] == built
        second = check_indexed(sites, again)
    assert first.drop(columns="geometry").equals(second.drop(columns="geometry"))
