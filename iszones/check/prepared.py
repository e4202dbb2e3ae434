"""The check index of a data folder (its zones, councils and tax sites, as reference.py reads
them), kept on disk between runs: what the command line's streamed check of a CSV runs against.

Read back, it needs numpy, shapely and pyproj only (core.CheckIndex holds no frames), so a short
check does not load pandas or geopandas; they load only when the index must be made again.

The grids' cells, built as points need them (some seconds for a million points spread over the
country), are kept too, after a large check (streamed or in memory), for the next one to start
with (kept_cells).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from iszones.check.core import CheckIndex
from iszones.data.diskcache import cached, folder_files, keep, kept
from iszones.geo.grid import PolygonGrid


def cached_index(folder: Path) -> tuple[CheckIndex, tuple[str, ...]]:
    """reference.cached_reference(folder).index() and the reference's notes, kept parsed and
    indexed on disk (data.diskcache), keyed by the folder's files and the package source."""
    return cached("check-index", folder_files(folder), lambda: _made(folder))


def _made(folder: Path) -> tuple[CheckIndex, tuple[str, ...]]:
    from iszones.check.reference import (
        cached_reference,  # geopandas: only when the index is made again
    )

    reference = cached_reference(folder)
    return reference.index(), reference.notes


def index_grids(index: CheckIndex) -> list[PolygonGrid]:
    """The index's polygon grids (zones, councils, borders, far land, tax and customs sites)."""
    grids = [index.zone_grid, index.unit_grid, index.border_grid, index.far_grid]
    grids += [sites.grid for sites in (index.tax, index.customs) if sites is not None]
    return [grid for grid in grids if grid is not None]


def add_kept_cells(index: CheckIndex) -> list[int]:
    """Give the index's grids the cells kept by keep_built_cells in an earlier run (a large
    check builds cells for some seconds); returns how many cells each grid has now, for
    keep_built_cells to compare with."""
    for grid in index_grids(index):
        state = kept("grid-cells", grid.fingerprint)
        if state is not None:
            grid.add_cells(state)
    return [grid.built() for grid in index_grids(index)]


def keep_built_cells(index: CheckIndex, before: list[int]) -> None:
    """Keep on disk the cells of each grid that built some since add_kept_cells."""
    for grid, count in zip(index_grids(index), before, strict=True):
        if grid.built() > count:
            keep("grid-cells", grid.built_cells(), grid.fingerprint)


@contextmanager
def kept_cells(index: CheckIndex, large: bool) -> Iterator[None]:
    """For a large check: the index's grids start with the cells kept by earlier checks, and
    the cells this one builds are kept for the next. A small check builds its few cells faster
    than it would read them, so it does neither."""
    before = add_kept_cells(index) if large else []
    yield
    if large:
        keep_built_cells(index, before)
