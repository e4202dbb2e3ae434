"""Exact point queries against many polygons, millions of points a second: which polygons
contain each point, and which polygon is nearest (and how far) for points outside them all.

Pure and numeric: coordinate arrays in EPSG:27700 metres in, positions and distances out; no
geometry objects are made for the points. A multi-level grid is built lazily over the cells that
points fall in. Each cell keeps the boundary segments that can be nearest to any point in it
(segments within the centre's nearest distance plus the cell's diameter), the polygons containing
its centre, and the polygons whose boundary passes near it. A point in a cell that no boundary
crosses takes the cell's answer; near a boundary it is tested exactly (prepared point-in-polygon,
and segment distances computed as GEOS computes them), so the answers equal shapely's. The loops
over a cell's or a point's candidate segments are compiled (kernels.py) and run without the GIL.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

# The lattice always covers the UK's longitude/latitude box (-11..3, 49..61.5) in British
# National Grid, so points that passed the readers' UK check never fall outside it.
UK_BNG_BOX = (-300_000.0, -150_000.0, 800_000.0, 1_400_000.0)
NO_POLYGON = -1
_BATCH = 1 << 17  # pairs per batch of cells or points, so temporaries stay small
THREADS = min(4, os.cpu_count() or 1)  # threads per query
_POINTS = 1 << 16  # points per batch of a query
_MAX_LEAF_CELLS = 1 << 23  # cells in the finest level's map (int32 each)
# A query of fewer points is answered by the trees (_exact), as points off the lattice are:
# the same answers, without building cells or loading the compiled kernels (a short run's cost)
FEW_POINTS = 1000
_CELLS_VERSION = 1  # raise when what a cell keeps changes (built_cells)


def _kernels() -> Any:
    """The compiled loops (kernels.py), imported when cells are first built or queried: numba
    takes some tenths of a second to load, which queries of under FEW_POINTS points never pay."""
    from iszones.geo import kernels

    return kernels


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges start..start+count for each pair (positions into a CSR array)."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(starts - (ends - counts), counts)
    return offsets + np.arange(total, dtype=np.int64)


def _expand(
    ptr: np.ndarray, values: np.ndarray, rows: np.ndarray, *_: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows as pairs: (position in `rows`, value), plus the count per row."""
    counts = ptr[rows + 1] - ptr[rows]
    owner = np.repeat(np.arange(len(rows)), counts)
    return owner, values[_ranges(ptr[rows], counts)], counts


def _csr(group: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, values) of a CSR table from pairs already sorted by group."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=n), out=ptr[1:])
    return ptr, values


def _unique_pairs(
    group: np.ndarray, values: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (group, value) sorted and without repeats."""
    if not len(group):
        return group.astype(np.int64), values.astype(np.int32)
    key = np.sort(group.astype(np.int64) * width + values)
    key = key[np.r_[True, key[1:] != key[:-1]]]
    return key // width, (key % width).astype(np.int32)


def _distinct(ids: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of non-negative ints below `size`, sorted."""
    if len(ids) * 16 < size:  # few: sorting them beats marking the whole map
        return np.unique(ids)
    seen = np.zeros(size, dtype=bool)
    seen[ids] = True
    return np.flatnonzero(seen)


def _batches(counts: np.ndarray, target: int = _BATCH) -> Iterator[slice]:
    """Consecutive slices of rows whose counts add up to about `target` each."""
    if not len(counts):
        return
    bounds = np.searchsorted(np.cumsum(counts), np.arange(target, int(counts.sum()), target))
    start = 0
    for end in (*np.unique(bounds + 1), len(counts)):
        end = int(min(end, len(counts)))
        if end > start:
            yield slice(start, end)
            start = end


@dataclass
class _Level:
    """One level of the grid: a dense map from cell to row, and per row three CSR tables
    (candidate segments, polygons whose boundary is near, polygons containing the cell with no
    boundary near) and, from the last, the first such polygon and a bit mask of them all."""

    size: float
    nx: int
    ny: int
    words: int  # uint64 words in a row's mask
    row: np.ndarray  # int32 per cell: 1 + its row in the tables below, 0 when not built yet
    tables: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {
            name: [np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int32)]
            for name in ("cand", "near", "inside")
        }
    )
    first: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    mask: np.ndarray | None = None
    _pending: list[tuple[Any, ...]] = field(default_factory=list)
    _stores: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    inherited: dict[int, int] = field(default_factory=dict)  # settled parent row -> its row here

    @property
    def radius(self) -> float:
        return self.size * math.sqrt(0.5)

    def rows(self) -> int:
        return len(self.tables["cand"][0]) - 1

    def append(
        self,
        built: dict[str, tuple[np.ndarray, np.ndarray]],
        first: np.ndarray,
        mask: np.ndarray,
        cells: np.ndarray,
    ) -> None:
        """Add rows for cells; they join the tables at the next `commit`."""
        self._pending.append((built, first, mask, cells))

    def commit(self) -> None:
        """Join the added rows to the tables, growing them by doubling (as a list grows), so
        that cells built block after block do not copy the tables each time."""
        if not self._pending:
            return
        start = self.rows()
        if not self._stores:  # the first commit: start growing stores from the empty tables
            if self.mask is None:
                self.mask = np.zeros((0, self.words), dtype=np.uint64)
            for name, (ptr, values) in self.tables.items():
                self._stores[name] = (_Growing(ptr), _Growing(values))
            self._stores["first"] = (_Growing(self.first), _Growing(self.first))
            self._stores["mask"] = (_Growing(self.mask), _Growing(self.mask))
        for name in self.tables:
            ptr_store, value_store = self._stores[name]
            end = int(ptr_store.view()[-1])
            for built, *_ in self._pending:
                ptr, vals = built[name]
                ptr_store.extend(end + ptr[1:])
                value_store.extend(vals.astype(np.int32))
                end += int(ptr[-1])
            self.tables[name] = [ptr_store.view(), value_store.view()]
        first = self._stores["first"][0]
        for pending in self._pending:
            first.extend(pending[1].astype(np.int32))
        self.first = first.view()
        mask = self._stores["mask"][0]
        for pending in self._pending:
            mask.extend(pending[2])
        self.mask = mask.view()
        cells = np.concatenate([p[3] for p in self._pending])
        if len(cells):
            self.row[cells] = np.arange(start + 1, start + 1 + len(cells), dtype=np.int32)
        self._pending = []


class _Growing:
    """A numpy array that grows by doubling; views of what it held stay valid as it grows."""

    def __init__(self, initial: np.ndarray) -> None:
        self._data = initial.copy()
        self._size = len(initial)

    def extend(self, more: np.ndarray) -> None:
        need = self._size + len(more)
        if need > len(self._data):
            grown = np.empty(
                (max(need, 2 * len(self._data), 1024), *self._data.shape[1:]),
                dtype=self._data.dtype,
            )
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = more
        self._size = need

    def view(self) -> np.ndarray:
        return self._data[: self._size]


def _masks(pt: np.ndarray, poly: np.ndarray, n: int, words: int) -> np.ndarray:
    """Bit masks (n, words) of uint64 with bit `poly` set for each pair (pt, poly), the pairs
    sorted by pt."""
    mask = np.zeros((n, words), dtype=np.uint64)
    if not len(pt) or not words:
        return mask
    bits = np.left_shift(np.uint64(1), (poly % 64).astype(np.uint64))
    word = poly // 64
    for w in range(words):  # OR along each point's run of pairs
        mine = word == w
        if mine.any():
            at, b = pt[mine], bits[mine]
            starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
            mask[at[starts], w] = np.bitwise_or.reduceat(b, starts)
    return mask


def mask_members(mask: np.ndarray) -> tuple[int, ...]:
    """The polygon positions whose bits are set in one row's mask, lowest first."""
    return tuple(
        64 * word + bit
        for word, value in enumerate(int(v) for v in mask)
        for bit in range(64)
        if value >> bit & 1
    )


def _first_of(pt: np.ndarray, poly: np.ndarray, n: int) -> np.ndarray:
    """Per group 0..n-1, the lowest `poly` among its pairs (sorted by pt), or -1."""
    first = np.full(n, NO_POLYGON, dtype=np.int64)
    if len(pt):
        starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
        first[pt[starts]] = np.minimum.reduceat(poly, starts)
    return first


@dataclass(frozen=True)
class Located:
    """Answers for each queried point.

    first: the lowest position of a polygon the point is in (or within `tolerance` of), or -1.
    nearest: for points in no polygon, the nearest one (lowest position on a tie), or -1 beyond
        `max_distance`; for points in a polygon, `first`.
    distance: metres to `nearest` (0 in a polygon; NaN when there is none).
    members: when asked for, a bit mask per point (n, words) of every polygon it is in: bit
        p % 64 of word p // 64 for polygon p (see mask_members).
    """

    first: np.ndarray
    nearest: np.ndarray
    distance: np.ndarray
    members: np.ndarray | None = None


class PolygonGrid:
    """Polygons (EPSG:27700) indexed for exact point queries; build once, query many times.

    tolerance: a point within this distance of a polygon counts as in it (spatial.py's 1 cm
        boundary rule); 0 means point-in-polygon with the boundary included.
    max_distance: nearest polygons further than this are not reported (None: no limit).
    members: keep every polygon a point is in (locate(members=True)), not only the first.
    Thread-safe: cells are built under a lock, and the exact tests near boundaries ask GEOS
    one thread at a time (_intersects), so several threads may query at once.
    """

    def __init__(
        self,
        geoms: np.ndarray,
        *,
        tolerance: float = 0.0,
        max_distance: float | None = None,
        members: bool = True,
        leaf_size: float = 1000.0,
        levels: int = 4,
        factor: int = 4,
    ) -> None:
        self._options = {
            "tolerance": tolerance,
            "max_distance": max_distance,
            "members": members,
            "leaf_size": leaf_size,
            "levels": levels,
            "factor": factor,
        }
        geoms = np.asarray(geoms, dtype=object)
        if not len(geoms):
            raise ValueError("PolygonGrid needs at least one polygon.")
        self.geoms = geoms.copy()
        self.n = len(self.geoms)
        self.words = (self.n + 63) // 64 if members else 0  # bit masks of members, if kept
        self.tolerance = float(tolerance)
        self.max_distance = None if max_distance is None else float(max_distance)
        # Margin for deciding that no boundary is near a cell: generous beside float error.
        self._margin = self.tolerance + 1e-3
        self._lock = threading.Lock()
        self._geos_lock = threading.Lock()  # see _intersects
        self._prepared: np.ndarray | None = None  # this grid's own copies of geoms, prepared
        parts, part_owner = shapely.get_parts(self.geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        start, end = coords[:-1][same], coords[1:][same]
        self.owner = part_owner[ring_part[ring_of[:-1][same]]].astype(np.int32)
        self._seg_xy = np.ascontiguousarray(np.hstack([start, end]))  # ax, ay, bx, by
        self._segment_tree: shapely.STRtree | None = None  # made when a stray point needs it
        self._polygon_tree = shapely.STRtree(self.geoms)
        bounds = shapely.total_bounds(self.geoms)
        # The lattice covers the polygons and, for polygons in the UK, the whole UK box: points
        # that pass the readers' UK check never fall outside it (those that do are answered
        # by _exact). Its leaves grow if needed to keep the cell map to some tens of MB.
        x0, y0, x1, y1 = bounds
        span = max(x1 - x0, y1 - y0, leaf_size)
        x0, y0, x1, y1 = x0 - span, y0 - span, x1 + span, y1 + span
        box = UK_BNG_BOX
        if (
            box[0] <= bounds[0]
            and bounds[2] <= box[2]
            and box[1] <= bounds[1]
            and bounds[3] <= box[3]
        ):
            x0, y0, x1, y1 = min(x0, box[0]), min(y0, box[1]), max(x1, box[2]), max(y1, box[3])
        while (x1 - x0) * (y1 - y0) / leaf_size**2 > _MAX_LEAF_CELLS:
            leaf_size *= 2
        top = leaf_size * factor ** (levels - 1)
        self.x0 = math.floor(x0 / top) * top
        self.y0 = math.floor(y0 / top) * top
        self.factor = factor
        self.levels: list[_Level] = []
        for depth in range(levels):
            size = leaf_size * factor ** (levels - 1 - depth)
            nx = math.ceil((x1 - self.x0) / size)
            ny = math.ceil((y1 - self.y0) / size)
            # zeros, not -1: the system hands over zeroed pages only as cells are built, so a
            # grid made (or unpickled) for a few points does not fill tens of MB of maps
            row = np.zeros(nx * ny, dtype=np.int32)
            self.levels.append(_Level(size, nx, ny, self.words, row))

    @property
    def fingerprint(self) -> str:
        """A digest of the polygons, options and lattice: grids with the same fingerprint build
        the same cells, so one may take the other's (built_cells, add_cells)."""
        digest = hashlib.sha256(f"{_CELLS_VERSION}{self._options}".encode())
        lattice = [(self.x0, self.y0, self.n, self.words)]
        lattice += [(level.size, level.nx, level.ny, 0) for level in self.levels]
        digest.update(np.array(lattice, dtype=np.float64).tobytes())
        for wkb in shapely.to_wkb(self.geoms):
            digest.update(wkb)
        return digest.hexdigest()

    def built(self) -> int:
        """How many cells have been built, over all levels."""
        with self._lock:
            return sum(level.rows() + len(level._pending) for level in self.levels)

    def built_cells(self) -> dict[str, np.ndarray]:
        """The cells built so far, as arrays that add_cells takes back (in another process, for
        a grid with the same fingerprint)."""
        state: dict[str, np.ndarray] = {}
        with self._lock:
            for depth, level in enumerate(self.levels):
                level.commit()
                cells = np.flatnonzero(level.row)
                state[f"{depth}/cells"] = cells
                state[f"{depth}/row"] = level.row[cells]
                for name, (ptr, values) in level.tables.items():
                    state[f"{depth}/{name}/ptr"] = ptr.copy()
                    state[f"{depth}/{name}/values"] = values.copy()
                state[f"{depth}/first"] = level.first.copy()
                mask = level.mask if level.mask is not None else np.zeros((0, self.words))
                state[f"{depth}/mask"] = mask.astype(np.uint64)
                state[f"{depth}/inherited"] = np.array(
                    list(level.inherited.items()), dtype=np.int64
                ).reshape(-1, 2)
        return state

    def add_cells(self, state: dict[str, np.ndarray]) -> bool:
        """Take the cells of `built_cells` (from a grid with the same fingerprint) as if built
        here. Only a grid that has built nothing yet takes them; False when it did not (built
        already, or the arrays do not fit this grid)."""
        with self._lock:
            if any(level.rows() or level._pending for level in self.levels):
                return False
            try:
                levels = [self._restored(depth, state) for depth in range(len(self.levels))]
            except (KeyError, ValueError, IndexError):
                return False
            for level, (row, tables, first, mask, inherited) in zip(
                self.levels, levels, strict=True
            ):
                level.row, level.tables, level.first, level.mask = row, tables, first, mask
                level.inherited = inherited
            return True

    def _restored(self, depth: int, state: dict[str, np.ndarray]) -> tuple[Any, ...]:
        """One level's arrays from `state`, checked to fit this grid (ValueError if not)."""
        level = self.levels[depth]
        tables: dict[str, list[np.ndarray]] = {
            name: [
                np.asarray(state[f"{depth}/{name}/ptr"], dtype=np.int64),
                np.asarray(state[f"{depth}/{name}/values"], dtype=np.int32),
            ]
            for name in level.tables
        }
        rows = len(tables["cand"][0]) - 1
        first = np.asarray(state[f"{depth}/first"], dtype=np.int32)
        mask = np.asarray(state[f"{depth}/mask"], dtype=np.uint64)
        cells = np.asarray(state[f"{depth}/cells"], dtype=np.int64)
        values = np.asarray(state[f"{depth}/row"], dtype=np.int32)
        inherited = np.asarray(state[f"{depth}/inherited"], dtype=np.int64)
        fits = (
            all(len(ptr) == rows + 1 and ptr[-1] == len(v) for ptr, v in tables.values())
            and len(first) == rows
            and mask.shape == (rows, self.words)
            and len(cells) == len(values)
            and (not len(cells) or (cells.min() >= 0 and cells.max() < level.nx * level.ny))
            and (not len(values) or (values.min() >= 1 and values.max() <= rows))
        )
        if not fits:
            raise ValueError(f"the kept cells of level {depth} do not fit this grid")
        row = np.zeros(level.nx * level.ny, dtype=np.int32)
        row[cells] = values
        return row, tables, first, mask, dict(inherited.tolist())

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its polygons where it is unpickled (a Dask worker): the cells built here
        # are only a cache, and GEOS trees and prepared geometries do not travel.
        return (_rebuild, (self.geoms, self._options))

    # ------------------------------------------------------------ building cells

    def _cells(self, level: _Level, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cell ids, whether inside the lattice) for points."""
        i = np.floor((x - self.x0) / level.size)
        j = np.floor((y - self.y0) / level.size)
        ok = (i >= 0) & (i < level.nx) & (j >= 0) & (j < level.ny)
        ids = np.where(ok, j * level.nx + i, 0).astype(np.int64)
        return ids, ok

    def _centres(self, level: _Level, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        j, i = np.divmod(cells, level.nx)
        return self.x0 + (i + 0.5) * level.size, self.y0 + (j + 0.5) * level.size

    def _ensure(self, depth: int, cells: np.ndarray) -> None:
        """Build the rows of these (unique) cells at this depth, and their parents first."""
        level = self.levels[depth]
        missing = cells[level.row[cells] == 0]
        if not len(missing):
            return
        if depth == 0:
            self._build_top(level, missing)
            level.commit()
            return
        parent = self.levels[depth - 1]
        cj, ci = np.divmod(missing, level.nx)
        parents = (cj // self.factor) * parent.nx + ci // self.factor
        self._ensure(depth - 1, _distinct(parents, parent.nx * parent.ny))
        prow = parent.row[parents] - 1
        cand_ptr, near_ptr = parent.tables["cand"][0], parent.tables["near"][0]
        # A parent with no candidate and no boundary near is settled: so are all its children
        pure = (cand_ptr[prow + 1] == cand_ptr[prow]) & (near_ptr[prow + 1] == near_ptr[prow])
        if pure.any():
            self._inherit(level, missing[pure], parent, prow[pure])
            missing, prow = missing[~pure], prow[~pure]
        for part in _batches(cand_ptr[prow + 1] - cand_ptr[prow]):
            self._build_children(level, missing[part], parent, prow[part])
        level.commit()

    def _inherit(self, level: _Level, cells: np.ndarray, parent: _Level, prow: np.ndarray) -> None:
        """Point cells whose parent is settled at one row per parent row, a copy of it."""
        rows = np.unique(prow)
        new = np.array([r for r in rows.tolist() if r not in level.inherited], dtype=np.int64)
        if len(new):
            level.commit()
            start = level.rows()
            in_pt, in_poly, _ = _expand(*parent.tables["inside"], new)
            empty = (np.zeros(len(new) + 1, dtype=np.int64), np.empty(0, dtype=np.int32))
            level.append(
                {"cand": empty, "near": empty, "inside": _csr(in_pt, in_poly, len(new))},
                parent.first[new],
                parent.mask[new] if parent.mask is not None else np.zeros((len(new), 0), np.uint64),
                np.empty(0, dtype=np.int64),
            )
            level.commit()
            level.inherited.update(zip(new.tolist(), range(start, start + len(new)), strict=True))
        lookup = np.array([level.inherited[r] for r in rows.tolist()], dtype=np.int32)
        level.row[cells] = lookup[np.searchsorted(rows, prow)] + 1

    def _build_top(self, level: _Level, cells: np.ndarray) -> None:
        cx, cy = self._centres(level, cells)
        radius = level.radius
        # A top cell's candidates: every segment within the nearest one's distance plus the
        # cell's diameter of its centre (none nearer to any of its points is further).
        cap = np.inf if self.max_distance is None else self.max_distance + radius
        ptr, segs = _kernels().segments_in_reach(cx, cy, self._seg_xy, 2 * radius, cap)
        in_cell, in_poly = self._polygon_tree.query(shapely.points(cx, cy), predicate="intersects")
        inside = _unique_pairs(in_cell, in_poly, self.n)
        rows = np.arange(len(cells), dtype=np.int32)  # as parents' rows are: one compiled kernel
        self._store(level, cells, cx, cy, (ptr, segs, rows), inside)

    def _build_children(
        self, level: _Level, cells: np.ndarray, parent: _Level, prow: np.ndarray
    ) -> None:
        cx, cy = self._centres(level, cells)
        # Inside: the parent's polygons with no boundary near it, and those whose boundary is
        # near the parent re-tested at this cell's centre.
        in_cell, in_poly, _ = _expand(*parent.tables["inside"], prow)
        near_cell, near_poly, _ = _expand(*parent.tables["near"], prow)
        if len(near_poly):
            hit = self._intersects(near_poly, cx[near_cell], cy[near_cell])
            in_cell = np.concatenate([in_cell, near_cell[hit]])
            in_poly = np.concatenate([in_poly, near_poly[hit]])
        inside = _unique_pairs(in_cell, in_poly, self.n)
        ptr, segs = parent.tables["cand"]
        self._store(level, cells, cx, cy, (ptr, segs, prow), inside)

    def _intersects(self, polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per pair, whether polygon polys[i] holds point (x[i], y[i]), boundary included.

        Asked of the grid's own prepared copies of the polygons, one thread at a time: GEOS'
        prepared geometries change as they answer and are not safe to share between threads
        (libgeos/geos#825); two threads asking at once corrupted the heap and aborted the
        process. The polygons the caller gave are left unprepared, for its own use.
        """
        with self._geos_lock:
            if self._prepared is None:
                self._prepared = shapely.from_wkb(shapely.to_wkb(self.geoms))
                shapely.prepare(self._prepared)
            return shapely.intersects_xy(self._prepared[polys], x, y)

    def _among(
        self, pt: np.ndarray, poly: np.ndarray, other_pt: np.ndarray, other_poly: np.ndarray
    ) -> np.ndarray:
        """For pairs (pt, poly), whether the pair is also among (other_pt, other_poly)."""
        return np.isin(
            pt.astype(np.int64) * self.n + poly, other_pt.astype(np.int64) * self.n + other_poly
        )

    def _store(
        self,
        level: _Level,
        cells: np.ndarray,
        cx: np.ndarray,
        cy: np.ndarray,
        candidates: tuple[np.ndarray, np.ndarray, np.ndarray],
        inside: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Keep each cell's candidate segments, near-boundary polygons and inside polygons.

        candidates: (ptr, segs, rows), the segments that may be nearest to each cell's points
        are among those of its row in that table (its parent's, or all within reach).
        """
        m = len(cells)
        ptr, segs, rows = candidates
        limit = np.inf if self.max_distance is None else self.max_distance
        counts, kept, near_counts, near_poly = _kernels().cell_segments(
            rows,
            cx,
            cy,
            ptr,
            segs,
            self._seg_xy,
            self.owner,
            level.radius,
            self._margin,
            limit,
            self.n,
        )
        near_cell = np.repeat(np.arange(m), near_counts)
        in_cell, in_poly = inside
        if len(near_cell) and len(in_cell):  # kept apart: those are tested exactly below
            far = ~self._among(in_cell, in_poly, near_cell, near_poly)
            in_cell, in_poly = in_cell[far], in_poly[far]
        # A cell inside a polygon with no boundary near it needs no candidates: every point in
        # it is in that polygon, so no nearest distance will be asked for.
        settled = np.zeros(m, dtype=bool)
        settled[in_cell] = True
        settled[near_cell] = False
        cand_ptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.where(settled, 0, counts), out=cand_ptr[1:])
        level.append(
            {
                "cand": (cand_ptr, kept[np.repeat(~settled, counts)]),
                "near": _csr(near_cell, near_poly, m),
                "inside": _csr(in_cell, in_poly, m),
            },
            _first_of(in_cell, in_poly, m),
            _masks(in_cell, in_poly, m, self.words),
            cells,
        )

    # ------------------------------------------------------------ queries

    def locate(
        self, x: np.ndarray, y: np.ndarray, *, members: bool = False, threads: int | None = None
    ) -> Located:
        """Answers for points given by coordinate arrays (EPSG:27700 metres, all finite).

        threads: how many threads share the work (default THREADS); 1 where the caller keeps
        the other cores busy itself (bulk.CsvCheck's pipeline).
        """
        if members and not self.words:
            raise ValueError("This grid keeps no members: build it with members=True.")
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = len(x)
        in_lattice, row, view = self._leaf_rows(x, y)
        first = np.full(n, NO_POLYGON, dtype=np.int64)
        nearest = np.full(n, NO_POLYGON, dtype=np.int64)
        distance = np.full(n, np.nan)
        mask = np.zeros((n, self.words), dtype=np.uint64) if members else None

        def batch(start: int) -> None:
            idx = np.arange(start, min(start + _POINTS, n))[in_lattice[start : start + _POINTS]]
            if not len(idx):
                return
            found = self._locate_rows(x[idx], y[idx], row[idx], view, members)
            first[idx], nearest[idx], distance[idx] = found.first, found.nearest, found.distance
            if mask is not None and found.members is not None:
                mask[idx] = found.members

        _in_batches(batch, n, THREADS if threads is None else max(1, threads))
        stray = np.flatnonzero(~in_lattice)
        if len(stray):
            found = self._exact(x[stray], y[stray], members)
            first[stray], nearest[stray], distance[stray] = (
                found.first,
                found.nearest,
                found.distance,
            )
            if mask is not None and found.members is not None:
                mask[stray] = found.members
        return Located(first, nearest, distance, mask)

    def near_several(
        self, x: np.ndarray, y: np.ndarray, *, threads: int | None = None
    ) -> np.ndarray:
        """Per point, whether it is in or within `tolerance` of two or more polygons, for
        polygons that do not overlap (council districts): as `locate(members=True)` with two
        or more members, without testing containment. A point in one polygon and within
        tolerance of another is within tolerance of both boundaries, so counting the owners of
        the boundary segments within tolerance settles it."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = len(x)
        in_lattice, row, view = self._leaf_rows(x, y)
        several = np.zeros(n, dtype=bool)
        near_ptr = view.tables["near"][0]
        inside_ptr = view.tables["inside"][0]
        ptr, segs = view.tables["cand"]

        def batch(start: int) -> None:
            idx = np.arange(start, min(start + _POINTS, n))[in_lattice[start : start + _POINTS]]
            r = row[idx]
            several[idx] = inside_ptr[r + 1] - inside_ptr[r] >= 2
            edgy = idx[near_ptr[r + 1] > near_ptr[r]]
            if len(edgy):
                pt, poly = _kernels().owners_within(
                    x[edgy], y[edgy], row[edgy], ptr, segs, self._seg_xy, self.owner, self.tolerance
                )
                pt, _ = _unique_pairs(pt, poly, self.n)
                several[edgy] = np.bincount(pt, minlength=len(edgy)) >= 2

        _in_batches(batch, n, THREADS if threads is None else max(1, threads))
        stray = np.flatnonzero(~in_lattice)
        if len(stray):
            points = shapely.points(x[stray], y[stray])
            pt, poly = self._polygon_tree.query(
                points, predicate="dwithin", distance=max(self.tolerance, 1e-12)
            )
            pt, _ = _unique_pairs(pt, poly, self.n)
            several[stray] = np.bincount(pt, minlength=len(stray)) >= 2
        return several

    def _leaf_rows(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, _LeafView]:
        """(whether in the lattice, leaf row, leaf tables) per point, building cells as needed;
        none is in it for a query of under FEW_POINTS points (the trees answer those)."""
        leaf = self.levels[-1]
        cells, in_lattice = self._cells(leaf, x, y)
        if len(x) < FEW_POINTS:
            in_lattice = np.zeros(len(x), dtype=bool)
        with self._lock:
            todo = cells[in_lattice & (leaf.row[cells] == 0)]
            if len(todo):
                self._ensure(len(self.levels) - 1, _distinct(todo, leaf.nx * leaf.ny))
            row = leaf.row[cells] - 1
            view = _LeafView(dict(leaf.tables), leaf.first, leaf.mask)
        return in_lattice, row, view

    def _locate_rows(
        self, x: np.ndarray, y: np.ndarray, row: np.ndarray, view: _LeafView, members: bool
    ) -> Located:
        """Answers for one batch of points whose leaf rows are built."""
        first = view.first[row].astype(np.int64)
        mask = view.mask[row] if members and view.mask is not None else None
        near_ptr, near = view.tables["near"]
        edgy = np.flatnonzero(near_ptr[row + 1] > near_ptr[row])
        if len(edgy):  # a boundary passes near: its polygons are tested exactly
            in_pt, in_poly, _ = _expand(*view.tables["inside"], row[edgy])
            e_pt, e_poly, _ = _expand(near_ptr, near, row[edgy])
            ex, ey = x[edgy], y[edgy]
            hit = self._intersects(e_poly, ex[e_pt], ey[e_pt])
            pts, polys = [in_pt, e_pt[hit]], [in_poly, e_poly[hit]]
            if self.tolerance > 0:  # within tolerance of a boundary, from outside
                ptr, segs = view.tables["cand"]
                close_pt, close_poly = _kernels().owners_within(
                    ex, ey, row[edgy], ptr, segs, self._seg_xy, self.owner, self.tolerance
                )
                pts.append(close_pt)
                polys.append(close_poly)
            pt, poly = _unique_pairs(np.concatenate(pts), np.concatenate(polys), self.n)
            first[edgy] = _first_of(pt, poly, len(edgy))
            if mask is not None:
                mask[edgy] = _masks(pt, poly, len(edgy), self.words)
        nearest = first.copy()
        distance = np.where(first >= 0, 0.0, np.nan)
        out = np.flatnonzero(first < 0)
        if len(out) and self.max_distance != 0.0:  # 0: only containment is asked for
            best, dmin = self._nearest(x[out], y[out], row[out], view.tables["cand"])
            found = best >= 0
            if self.max_distance is not None:
                found &= dmin <= self.max_distance
            nearest[out[found]] = best[found]
            distance[out[found]] = dmin[found]
        return Located(first, nearest, distance, mask)

    def _nearest(
        self, x: np.ndarray, y: np.ndarray, row: np.ndarray, cand: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(nearest polygon or -1, distance) from each row's candidate segments."""
        best = np.empty(len(x), dtype=np.int64)
        dmin = np.empty(len(x))
        ptr, segs = cand
        _kernels().nearest_owners(x, y, row, ptr, segs, self._seg_xy, self.owner, best, dmin)
        return best, dmin

    def _exact(self, x: np.ndarray, y: np.ndarray, members: bool) -> Located:
        """The same answers from shapely's STRtree, for points outside the lattice (rare)."""
        n = len(x)
        points = shapely.points(x, y)
        if self.tolerance > 0:
            pt, poly = self._polygon_tree.query(
                points, predicate="dwithin", distance=self.tolerance
            )
        else:
            pt, poly = self._polygon_tree.query(points, predicate="intersects")
        pt, poly = _unique_pairs(pt, poly, self.n)
        first = _first_of(pt, poly, n)
        nearest = first.copy()
        distance = np.where(first >= 0, 0.0, np.nan)
        out = np.flatnonzero(first < 0)
        if len(out) and self.max_distance != 0.0:
            limit = {} if self.max_distance is None else {"max_distance": self.max_distance}
            with self._lock:
                if self._segment_tree is None:
                    ends = self._seg_xy.reshape(-1, 2, 2)
                    self._segment_tree = shapely.STRtree(shapely.linestrings(ends))
            (o_pt, o_seg), d = self._segment_tree.query_nearest(
                points[out], return_distance=True, all_matches=True, **limit
            )
            owner = self.owner[o_seg]
            order = np.lexsort((owner, d, o_pt))
            o_pt, owner, d = o_pt[order], owner[order], d[order]
            if len(o_pt):
                starts = np.flatnonzero(np.r_[True, o_pt[1:] != o_pt[:-1]])
                nearest[out[o_pt[starts]]] = owner[starts]
                distance[out[o_pt[starts]]] = d[starts]
        return Located(
            first, nearest, distance, _masks(pt, poly, n, self.words) if members else None
        )


def _in_batches(batch: Callable[[int], None], n: int, threads: int) -> None:
    """batch(start) for each _POINTS-long batch of n points, on `threads` threads."""
    starts = range(0, n, _POINTS)
    if len(starts) > 1 and threads > 1:  # numpy and GEOS let go of the GIL in their loops
        with ThreadPoolExecutor(threads, thread_name_prefix="iszones-grid") as pool:
            list(pool.map(batch, starts))
    else:
        for start in starts:
            batch(start)


@dataclass(frozen=True)
class _LeafView:
    """The leaf level's tables as they were when a query's cells had been built."""

    tables: dict[str, list[np.ndarray]]
    first: np.ndarray
    mask: np.ndarray | None


def _rebuild(geoms: np.ndarray, options: dict[str, Any]) -> PolygonGrid:
    return PolygonGrid(geoms, **options)
