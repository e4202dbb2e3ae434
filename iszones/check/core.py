"""The check's spatial core: boundaries, councils and tax sites indexed in British National
Grid, and the answers for points (zones, nearest zone, council, tax sites) as positions into them.
Every path (frames, stream, Dask) asks check_points.

The index holds arrays, grids and shapely geometries only (frames.check_index builds it from
frames), so the streamed check reads it back from the disk cache without pandas or geopandas."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import shapely

from iszones.check.columns import (
    FAR_FROM_POSTCODES,
    NEAR_BORDER,
    NEAR_BORDER_FAR,
    NO_COUNCIL,
    OFF_COAST,
    Answers,
    Labels,
)
from iszones.check.taxsites import TaxSiteIndex, locate_tax_sites
from iszones.geo.grid import NO_POLYGON, PolygonGrid
from iszones.geo.grid import mask_members as grid_members

WORKERS = min(4, os.cpu_count() or 1)  # threads checking blocks or chunks of sites at once

# ---------------------------------------------------------------- the spatial core


def free_name(name: str, taken: set[str]) -> str:
    """`name` renamed `<name>_input` (or with more underscores) so as not to clash."""
    candidate = f"{name}_input"
    while candidate in taken:
        candidate += "_"
    return candidate


@dataclass(frozen=True)
class CheckIndex:
    """Zones (and councils) in EPSG:27700, indexed for point checks; frames.check_index builds
    it from frames. Positions are what the grids answer: the zones' order, the councils' order.

    zone_ids: per zone, its zone_id as given; zone_text: per zone, its id as text, name,
    programme and boundary_source (object arrays, '' where none).
    """

    zone_ids: np.ndarray
    zone_text: dict[str, np.ndarray]
    zone_grid: PolygonGrid
    unit_names: np.ndarray | None = None
    unit_grid: PolygonGrid | None = None
    unit_codes: np.ndarray | None = None  # per unit, its GSS code (lad_code) when known
    border_grid: PolygonGrid | None = None  # the units again, to find points near a border
    tax: TaxSiteIndex | None = None  # designated tax sites, when the check answers for them
    customs: TaxSiteIndex | None = None  # Freeport customs sites, indexed the same way
    far_grid: PolygonGrid | None = None  # land over 1 km from any postcode (councils guessed)

    @property
    def n_zones(self) -> int:
        return len(self.zone_ids)

    @property
    def zone_geoms(self) -> np.ndarray:
        """The zones' polygons (EPSG:27700), in order, for sites that are not points."""
        return self.zone_grid.geoms

    @property
    def unit_geoms(self) -> np.ndarray | None:
        """The councils' polygons (EPSG:27700), in order; None when there are none."""
        return None if self.unit_grid is None else self.unit_grid.geoms

    def labels(self) -> Labels:
        """Its tables without its grids, for the result columns."""
        tax, customs = (
            None if sites is None else replace(sites, grid=None)
            for sites in (self.tax, self.customs)
        )
        return Labels(self.zone_ids, self.zone_text, self.unit_names, self.unit_codes, tax, customs)


_GRIDS: dict[tuple[str, float, float | None, bool], PolygonGrid] = {}
_GRIDS_LOCK = threading.Lock()
_MAX_GRIDS = 8


def polygon_grid(
    geoms: np.ndarray,
    *,
    tolerance: float = 0.0,
    max_distance: float | None = None,
    members: bool = True,
) -> PolygonGrid:
    """A PolygonGrid for these polygons, shared with earlier calls for the same polygons.

    The grid's cells are built as points need them, so a process that checks many files (the
    dashboard, a Dask worker) builds each cell once.
    """
    digest = hashlib.sha256()
    for wkb in shapely.to_wkb(np.asarray(geoms, dtype=object)):
        digest.update(wkb)
    key = (digest.hexdigest(), tolerance, max_distance, members)
    with _GRIDS_LOCK:
        grid = _GRIDS.get(key)
        if grid is None:
            if len(_GRIDS) >= _MAX_GRIDS:
                _GRIDS.pop(next(iter(_GRIDS)))
            grid = _GRIDS[key] = PolygonGrid(
                geoms, tolerance=tolerance, max_distance=max_distance, members=members
            )
    return grid


def _combos(mask: np.ndarray, n_zones: int) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Per point, a code for its set of zones (see Answers.combo) from its bit mask."""
    combo = np.full(len(mask), -1, dtype=np.int64)
    combos: list[tuple[int, ...]] = [(k,) for k in range(n_zones)]
    if mask.shape[1] == 1:
        key = mask[:, 0]
        single = (key != 0) & ((key & (key - np.uint64(1))) == 0)
        # a power of two below 2**63 is exact in float64, so log2 gives the bit
        combo[single] = np.log2(key[single].astype(np.float64)).astype(np.int64)
        multi = np.flatnonzero((key != 0) & ~single)
        keys = key[multi]
    else:
        rows = mask.any(axis=1)
        counts = np.zeros(len(mask), dtype=np.int64)
        for word in range(mask.shape[1]):
            counts += np.bitwise_count(mask[:, word]).astype(np.int64)
        single = np.flatnonzero(counts == 1)
        combo[single] = [grid_members(mask[i])[0] for i in single]
        multi = np.flatnonzero(rows & (counts > 1))
        keys = np.ascontiguousarray(mask[multi]).view(f"V{8 * mask.shape[1]}").ravel()
    if len(multi):
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        combos.extend(grid_members(mask[multi[i]]) for i in first)
        combo[multi] = n_zones + inverse.ravel()
    return combo, combos


def check_points(
    x: np.ndarray, y: np.ndarray, index: CheckIndex, *, threads: int | None = None
) -> Answers:
    """Zones, nearest zone and distance, council and tax sites for points in EPSG:27700.

    threads: per grid query (see PolygonGrid.locate); unless 1, the two grids are asked at once.
    """
    if threads == 1 or index.unit_grid is None or len(x) < 10_000:
        found = index.zone_grid.locate(x, y, members=True, threads=threads)
        unit, note = locate_councils(x, y, index, threads=threads)
    else:  # at once: they share the GIL little
        with ThreadPoolExecutor(1, thread_name_prefix="iszones-units") as pool:
            units = pool.submit(locate_councils, x, y, index, threads=threads)
            found = index.zone_grid.locate(x, y, members=True, threads=threads)
            unit, note = units.result()
    assert found.members is not None
    combo, combos = _combos(found.members, index.n_zones)
    tax = locate_tax_sites(x, y, index.tax) if index.tax is not None else None
    customs = locate_tax_sites(x, y, index.customs) if index.customs is not None else None
    distance = np.round(found.distance, 2)
    return Answers(
        combo, combos, found.nearest, distance, unit, tax=tax, unit_note=note, customs=customs
    )


def locate_councils(
    x: np.ndarray, y: np.ndarray, index: CheckIndex, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per point (EPSG:27700): the position of its council (containing, else nearest within
    5 km; -1 for none) and a columns.COUNCIL_NOTES code (near a border, far from any postcode,
    off the coastline)."""
    n = len(x)
    note = np.zeros(n, dtype=np.int64)
    if index.unit_grid is None:
        return np.full(n, NO_POLYGON, dtype=np.int64), note
    found = index.unit_grid.locate(x, y, threads=threads)
    if index.border_grid is not None:
        note[index.border_grid.near_several(x, y, threads=threads)] = NEAR_BORDER
    if index.far_grid is not None:
        far = index.far_grid.locate(x, y, threads=threads).first >= 0
        note[far] = np.where(note[far] == NEAR_BORDER, NEAR_BORDER_FAR, FAR_FROM_POSTCODES)
    note[(found.nearest >= 0) & (found.distance > 0)] = OFF_COAST
    note[found.nearest < 0] = NO_COUNCIL
    return found.nearest, note


def clear_grids() -> None:
    """Forget the shared grids (benchmarks start each run from scratch)."""
    with _GRIDS_LOCK:
        _GRIDS.clear()
