"""The site check: which zones each of a user's sites is in, how far the nearest zone is, and
which local authority it lies in. Pure: frames in, a frame out; files are readers.py's business.
The check index (core.CheckIndex: arrays and grids, no frames) is built from frames here too
(prepare_check), for every path; check_indexed checks a frame against one made already.

Everything is measured in British National Grid (EPSG:27700), in chunks of rows, so long lists
report progress. Points and lines follow spatial.py's boundary rule (touching counts); a polygon
site is in a zone when part of its area is (more than a 1 cm strip along its edge), so a site
that only shares an edge with a zone is outside it, at distance 0.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import CRS

from iszones.check.columns import (
    BORDER_NOTE_M,
    Answers,
    Labels,
    require_within_km,
    result_columns,
)
from iszones.check.core import (
    WORKERS,
    CheckIndex,
    check_points,
    free_name,
    locate_councils,
    polygon_grid,
)
from iszones.check.prepared import kept_cells
from iszones.check.taxsites import TAX_SITE_COLUMNS, TaxAnswers, TaxSiteIndex
from iszones.errors import IszonesError, SchemaError
from iszones.geo.grid import PolygonGrid
from iszones.geo.spatial import (
    ADMIN_NEAREST_M,
    BOUNDARY_TOLERANCE_M,
    assign_zones,
    nearest_zones,
    require_crs,
    to_measure_crs,
)
from iszones.inputs.coordinates import transformer
from iszones.schema import MEASURE_CRS, PROGRAMME_LABELS

CHUNK_ROWS = 20_000
LARGE_CHECK_ROWS = 30_000  # sites from which a check has grids of its own (see check_sites)
BOUNDARY_COLUMNS = ("zone_id", "name", "programme", "boundary_source")
NO_GEOMETRY = "no geometry: the row has no location"
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon

Progress = Callable[[int, int], None]


def bundled_boundaries(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The bundled zones as check boundaries: zone_id, name, programme label, boundary_source."""
    precision = (
        zones["geometry_precision"]
        if "geometry_precision" in zones
        else pd.Series("indicative", index=zones.index)
    )
    return gpd.GeoDataFrame(
        {
            "zone_id": zones["zone_id"].to_numpy(),
            "name": zones["name"].to_numpy(),
            "programme": [PROGRAMME_LABELS.get(p, p) for p in zones.get("programme", [""])],
            "boundary_source": [f"bundled footprint ({p})" for p in precision],
        },
        geometry=zones.geometry.to_numpy(),
        crs=zones.crs,
    )


def combine_boundaries(
    bundled: gpd.GeoDataFrame,
    uploaded: gpd.GeoDataFrame,
    *,
    replace: bool,
    linked: bool = False,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Boundaries for a check from the bundled ones and a user's (both as BOUNDARY_COLUMNS).

    `replace` keeps only the uploaded ones; otherwise they are added. When `linked` (the upload
    has a zone_id column), an uploaded boundary whose zone_id is a bundled zone's takes that
    zone's name and programme where it has none, and when adding it replaces that zone's footprint.
    Returns the boundaries in EPSG:27700 and notes on what was replaced.
    """
    bundled_bng = to_measure_crs(bundled, "The bundled zones")
    uploaded_bng = to_measure_crs(uploaded, "The uploaded boundaries").copy()
    notes: list[str] = []
    if linked:
        by_id = bundled_bng.set_index("zone_id")
        known = uploaded_bng["zone_id"].isin(by_id.index)
        for column in ("name", "programme"):
            empty = uploaded_bng[column].fillna("").astype(str).str.strip() == ""
            fill = known & empty
            uploaded_bng.loc[fill, column] = by_id.loc[
                uploaded_bng.loc[fill, "zone_id"], column
            ].to_numpy()
        if not replace:
            swapped = sorted(set(uploaded_bng.loc[known, "zone_id"]))
            notes.extend(
                f"zone {z}: the bundled footprint is replaced by the uploaded boundary"
                for z in swapped
            )
            bundled_bng = bundled_bng[~bundled_bng["zone_id"].isin(swapped)]
    if replace:
        combined = uploaded_bng
    else:
        combined = pd.concat([bundled_bng, uploaded_bng], ignore_index=True)
    frame = gpd.GeoDataFrame(combined, geometry="geometry", crs=MEASURE_CRS)
    return frame[[*BOUNDARY_COLUMNS, "geometry"]].reset_index(drop=True), notes


def bundled_tax_sites(sites: gpd.GeoDataFrame, kind: str = "tax_site") -> gpd.GeoDataFrame:
    """The bundled sites of `kind` (tax_site, or customs_site for the customs level) that have
    a location, as TAX_SITE_COLUMNS."""
    chosen = sites[(sites["kind"] == kind) & sites.geometry.notna()]
    chosen = chosen[~chosen.geometry.is_empty]
    precision = pd.to_numeric(chosen.get("location_precision_m"), errors="coerce")
    return gpd.GeoDataFrame(
        {
            "tax_site_id": chosen["site_id"].astype(str).to_numpy(),
            "name": chosen["name"].astype(str).to_numpy(),
            "precision_m": precision.to_numpy(dtype=float),
            "designation": chosen.get("designation", pd.Series("", index=chosen.index))
            .fillna("")
            .astype(str)
            .to_numpy(),
            "decided_by": np.where(
                np.isin(shapely.get_type_id(chosen.geometry.array), _POLYGONAL),
                "bundled outline",
                "bundled point",
            ),
        },
        geometry=chosen.geometry.to_numpy(),
        crs=sites.crs,
    )


def uploaded_tax_sites(boundaries: gpd.GeoDataFrame, file_name: str) -> gpd.GeoDataFrame:
    """A user's official tax-site polygons (readers' boundary frame: zone_id, name, ...) as
    TAX_SITE_COLUMNS, decided by `file_name`."""
    ids = boundaries["zone_id"].astype(str).to_numpy()
    names = boundaries["name"].fillna("").astype(str).to_numpy()
    return gpd.GeoDataFrame(
        {
            "tax_site_id": ids,
            "name": np.where(names == "", ids, names),
            "precision_m": np.zeros(len(boundaries)),
            "designation": np.full(len(boundaries), "", dtype=object),
            "decided_by": np.full(len(boundaries), f"uploaded file {file_name}", dtype=object),
        },
        geometry=boundaries.geometry.to_numpy(),
        crs=boundaries.crs,
    )


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what} need column(s) {', '.join(map(repr, missing))}; they have"
            f" {', '.join(map(repr, frame.columns))}."
        )


def _check_chunk(geoms: np.ndarray, crs: Any, index: CheckIndex) -> Answers:
    """Answers for sites (all with geometry) in `crs`.

    Points, nearly always the bulk, take the vectorised path (core.check_points), their
    coordinates converted to EPSG:27700 as arrays (no geometries made: a million WGS84 points
    in 0.4 s rather than 1.0 s, the same numbers to the bit); lines and polygons the geometric
    one.
    """
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.all():
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        if not CRS.from_user_input(crs).equals(MEASURE_CRS):
            x, y = transformer(crs, MEASURE_CRS).transform(x, y)
        return check_points(x, y, index, threads=1)
    part = gpd.GeoSeries(geoms, crs=crs)
    geoms = (part if part.crs.equals(MEASURE_CRS) else part.to_crs(MEASURE_CRS)).to_numpy()
    shapes = _check_shapes(geoms[~is_point], index)
    if not is_point.any():
        return shapes
    points = check_points(
        shapely.get_x(geoms[is_point]), shapely.get_y(geoms[is_point]), index, threads=1
    )
    placed = [(np.flatnonzero(is_point), points), (np.flatnonzero(~is_point), shapes)]
    answers = place_answers(placed, len(geoms), index.n_zones)
    assert answers is not None  # both parts came
    return answers


def place_answers(
    parts: Iterable[tuple[np.ndarray, Answers]], n: int, n_zones: int
) -> Answers | None:
    """Answers for `n` rows from parts answering some of them (each with its rows), their sets
    of zones renumbered into one list; None when no part came. A row no part answers holds what
    columns.result_columns fills for an unchecked row (combo -2, no council, NaN distances).
    Each part is written into the whole as it comes, so a million answers are held once, not
    once in parts and again joined; positions as int32, half the kernels' int64."""
    seen: dict[tuple[int, ...], int] = {(k,): k for k in range(n_zones)}
    out: dict[str, Any] = {}

    def whole(name: str, fill: Any, dtype: Any) -> np.ndarray:
        if name not in out:
            out[name] = np.full(n, fill, dtype=dtype)
        return out[name]

    for rows, part in parts:
        remap = np.array([seen.setdefault(c, len(seen)) for c in part.combos] or [0])
        whole("combo", -2, np.int32)[rows] = np.where(
            part.combo >= 0, remap[np.maximum(part.combo, 0)], -1
        )
        whole("nearest", 0, np.int32)[rows] = part.nearest
        whole("distance", np.nan, float)[rows] = part.distance
        whole("unit", -1, np.int32)[rows] = part.unit
        whole("unit_note", 0, np.int8)[rows] = part.unit_note if part.unit_note is not None else 0
        if part.share is not None:
            whole("share", np.nan, float)[rows] = part.share
        for level in ("tax", "customs"):
            found = getattr(part, level)
            if found is not None:
                whole(f"{level}.inside", -1, np.int32)[rows] = found.inside
                whole(f"{level}.nearest", -1, np.int32)[rows] = found.nearest
                whole(f"{level}.distance", np.nan, float)[rows] = found.distance
    if not out:
        return None

    def sites(level: str) -> TaxAnswers | None:
        if f"{level}.inside" not in out:
            return None
        return TaxAnswers(*(out[f"{level}.{f}"] for f in ("inside", "nearest", "distance")))

    return Answers(
        out["combo"],
        list(seen),
        out["nearest"],
        out["distance"],
        out["unit"],
        out.get("share"),
        sites("tax"),
        out["unit_note"],
        sites("customs"),
    )


def _check_shapes(geoms: np.ndarray, index: CheckIndex) -> Answers:
    """Answers for lines and polygons in EPSG:27700."""
    n = len(geoms)
    keyed = gpd.GeoDataFrame(
        {"zone_id": np.arange(1, index.n_zones + 1), "name": index.zone_text["zone_name"]},
        geometry=index.zone_geoms,
        crs=MEASURE_CRS,
    )
    sites = gpd.GeoDataFrame(geometry=geoms, crs=MEASURE_CRS)
    lists = assign_zones(sites, keyed)["zone_ids"]
    site = np.repeat(np.arange(n), lists.str.len().to_numpy())
    key = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=len(site))
    zone_geoms = keyed.geometry.to_numpy()

    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    if polygonal[site].any():  # keep a polygon's pair only when it shares more than an edge
        on_poly = polygonal[site]
        overlap = shapely.area(
            shapely.intersection(geoms[site[on_poly]], zone_geoms[key[on_poly] - 1])
        )
        edge_strip = BOUNDARY_TOLERANCE_M * shapely.length(geoms[site[on_poly]])
        keep = np.ones(len(site), dtype=bool)
        keep[on_poly] = overlap > edge_strip
        site, key = site[keep], key[keep]

    pos = key - 1
    inside = np.zeros(n, dtype=bool)
    inside[site] = True
    by_site: dict[int, set[int]] = {}
    for row, zone in zip(site.tolist(), pos.tolist(), strict=True):
        by_site.setdefault(row, set()).add(zone)
    found: dict[tuple[int, ...], int] = {}
    combo = np.full(n, -1, dtype=np.int64)
    for row, zones_in in by_site.items():
        combo[row] = found.setdefault(tuple(sorted(zones_in)), len(found))
    combos = list(found)

    nearest = nearest_zones(sites, keyed)
    near_key = nearest["nearest_zone_id"].to_numpy(dtype="float64", na_value=np.nan)
    distance = nearest["nearest_zone_distance_m"].to_numpy(dtype=float).copy()
    first_key = pd.Series(key).groupby(site).min()
    near_key[first_key.index.to_numpy()] = first_key.to_numpy()  # inside: its own zone
    distance[inside] = 0.0
    near_pos = near_key.astype(np.int64) - 1  # every site has a nearest zone: there are zones

    share = np.where(polygonal, 0.0, np.nan)  # points and lines have no area to share
    poly_in = polygonal & inside
    for members_, number in found.items():  # each distinct set of zones is unioned once
        rows = np.flatnonzero(poly_in & (combo == number))
        if len(rows):
            covered = shapely.union_all(zone_geoms[list(members_)])
            share[rows] = shapely.area(shapely.intersection(geoms[rows], covered)) / shapely.area(
                geoms[rows]
            )

    reps = shapely.point_on_surface(geoms)  # a line's or polygon's council: its own point's
    unit, note = locate_councils(shapely.get_x(reps), shapely.get_y(reps), index)
    tax = locate_tax_shapes(geoms, index.tax) if index.tax is not None else None
    customs = locate_tax_shapes(geoms, index.customs) if index.customs is not None else None
    return Answers(combo, combos, near_pos, np.round(distance, 2), unit, share, tax, note, customs)


def locate_tax_shapes(geoms: np.ndarray, tax: TaxSiteIndex) -> TaxAnswers:
    """Tax-site answers for lines and polygons in EPSG:27700 (few: pairwise distances)."""
    sites = tax.geoms
    n = len(geoms)
    pairs = shapely.distance(geoms[:, None], sites[None, :]).reshape(n, len(sites))
    nearest = np.argmin(pairs, axis=1) if len(sites) else np.full(n, -1)
    distance = pairs[np.arange(n), nearest]
    polygonal = np.zeros(len(sites), dtype=bool)
    polygonal[tax.polygon_pos] = True
    touching = (pairs <= BOUNDARY_TOLERANCE_M) & polygonal
    inside = np.where(touching.any(axis=1), np.argmax(touching, axis=1), -1)
    return TaxAnswers(inside.astype(np.int64), nearest.astype(np.int64), np.round(distance, 2))


def _measured(
    zones: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Zones (with programme and boundary_source, empty if missing) and units in EPSG:27700."""
    boundaries = zones.copy()
    for column in ("programme", "boundary_source"):
        if column not in boundaries:
            boundaries[column] = ""
    zones_bng = to_measure_crs(boundaries, "The zones").reset_index(drop=True)
    units_bng = (
        to_measure_crs(admin_units, "The admin units").reset_index(drop=True)
        if admin_units is not None
        else None
    )
    return zones_bng, units_bng


def check_index(
    zones_bng: gpd.GeoDataFrame,
    units_bng: gpd.GeoDataFrame | None,
    tax_sites: gpd.GeoDataFrame | None = None,
    customs_sites: gpd.GeoDataFrame | None = None,
    far_land: np.ndarray | None = None,
    *,
    shared: bool = True,
) -> CheckIndex:
    """Index boundaries (zone_id, name, programme, boundary_source), councils (name, and code
    when known), tax sites (taxsites.TAX_SITE_COLUMNS) and the land far from any postcode
    (polygons), in EPSG:27700, for check_points. `shared`: with the grids other checks in this
    process use (core.polygon_grid), whose cells stay built; else with grids of its own."""
    grid = polygon_grid if shared else PolygonGrid
    zones = zones_bng.reset_index(drop=True)
    zone_text = {
        "zone_id": np.array([str(v) for v in zones["zone_id"]], dtype=object),
        "zone_name": zones["name"].to_numpy(dtype=object),
        "programme": zones["programme"].fillna("").to_numpy(dtype=object),
        "boundary_source": zones["boundary_source"].fillna("").to_numpy(dtype=object),
    }
    zone_grid = grid(zones.geometry.to_numpy(), tolerance=BOUNDARY_TOLERANCE_M)
    unit_names = unit_grid = unit_codes = border_grid = None
    if units_bng is not None and len(units_bng):
        unit_names = units_bng["name"].to_numpy(dtype=object)
        if "code" in units_bng:
            unit_codes = units_bng["code"].to_numpy(dtype=object)
        unit_grid = grid(units_bng.geometry.to_numpy(), max_distance=ADMIN_NEAREST_M, members=False)
        border_grid = grid(units_bng.geometry.to_numpy(), tolerance=BORDER_NOTE_M, members=False)
    tax = index_tax_sites(tax_sites) if tax_sites is not None else None
    customs = index_tax_sites(customs_sites) if customs_sites is not None else None
    far_grid = None
    if far_land is not None and len(far_land):
        # its parts, not one multipolygon: a point near an edge is tested against one small part
        far_grid = grid(shapely.get_parts(far_land), max_distance=0.0, members=False)
    return CheckIndex(
        zones["zone_id"].to_numpy(dtype=object),
        zone_text,
        zone_grid,
        unit_names,
        unit_grid,
        unit_codes,
        border_grid,
        tax,
        customs,
        far_grid,
    )


def index_tax_sites(tax_sites: gpd.GeoDataFrame) -> TaxSiteIndex | None:
    """Index tax sites (TAX_SITE_COLUMNS, any CRS); None when there are none."""
    if tax_sites is None or tax_sites.empty:
        return None
    bng = to_measure_crs(tax_sites, "The tax sites").reset_index(drop=True)
    geoms = bng.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    polygon_pos = np.flatnonzero(polygonal)
    point_pos = np.flatnonzero(~polygonal)
    points = shapely.point_on_surface(geoms[point_pos])
    grid = (
        PolygonGrid(geoms[polygon_pos], tolerance=BOUNDARY_TOLERANCE_M, members=False)
        if len(polygon_pos)
        else None
    )
    table = {
        column: bng[column].to_numpy(dtype=float if column == "precision_m" else object)
        for column in TAX_SITE_COLUMNS
    }
    return TaxSiteIndex(
        table, geoms, polygon_pos, grid, point_pos, shapely.get_x(points), shapely.get_y(points)
    )


def prepare_check(
    zones: gpd.GeoDataFrame,
    admin_units: gpd.GeoDataFrame | None = None,
    tax_sites: gpd.GeoDataFrame | None = None,
    customs_sites: gpd.GeoDataFrame | None = None,
    far_land: gpd.GeoDataFrame | None = None,
    *,
    shared: bool = True,
) -> CheckIndex:
    """Validate zones (as for check_sites) and admin units, and index them with the tax and
    customs sites and the land far from any postcode, for every check path (`shared`: see
    check_index)."""
    _require_columns(zones, ("zone_id", "name"), "The zones")
    if zones.empty:
        raise IszonesError("There are no zones to check against. Supply at least one boundary.")
    far = None if far_land is None else to_measure_crs(far_land, "The far land").geometry
    return check_index(
        *_measured(zones, admin_units),
        tax_sites,
        customs_sites,
        None if far is None else far.to_numpy(),
        shared=shared,
    )


def check_sites(
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    admin_units: gpd.GeoDataFrame | None = None,
    *,
    problems: Sequence[str] | pd.Series | None = None,
    within_km: float | None = None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    tax_sites: gpd.GeoDataFrame | None = None,
    sources: Sequence[int] | np.ndarray | None = None,
    customs_sites: gpd.GeoDataFrame | None = None,
    far_land: gpd.GeoDataFrame | None = None,
    keep_cells: bool = False,
) -> gpd.GeoDataFrame:
    """Check every site against the zones; a copy of `sites` with the RESULT_COLUMNS added.

    Parameters
    ----------
    sites: any CRS; rows without geometry, or with a problem, are kept and not checked.
    zones: `zone_id` and `name`, optionally `programme` and `boundary_source` (see
        bundled_boundaries and combine_boundaries); any CRS.
    admin_units: `name` (and `code`) per council, for `local_authority` and `lad_code`.
    tax_sites: taxsites.TAX_SITE_COLUMNS (e.g. bundled_tax_sites), for the tax-site
        columns and the answer's tax-site part (left empty without them).
    customs_sites: the same for the Freeport customs sites (the customs-site columns).
    far_land: polygons of the land over 1 km from any postcode (lad_note says so there).
    problems: per row, "" or why the row cannot be checked (from readers.read_site_bytes).
    sources: per row, where its location came from (readers' SiteTable.sources); None: the
        geometry given.
    within_km: adds `within_km`, true when the nearest zone is at most this far.
    progress: called with (rows done, rows in all) after each chunk.
    keep_cells: a large check (LARGE_CHECK_ROWS or more) starts from the grid cells kept on
        disk by earlier checks and keeps the ones it builds (prepared.kept_cells): for the
        bundled data, not a user's files, whose cells would pile up on disk.

    The result's text columns are pandas Categoricals (each value stored once, 1-4 bytes a
    row), empty (NaN, as pd.isna tells) where there is nothing to say; the answer sentence is
    text ("" when not checked); in_zone and within_km are True, False or None (not checked);
    distances are floats.
    Input columns whose names clash with a result column are kept, renamed `<name>_input`.
    A large check indexes the boundaries in grids of its own, not the process's shared ones,
    and lets them go before its columns are made: their cells (about 150 MB for a million
    sites over the whole country) are not held with the result.
    """
    require_within_km(within_km)
    large = len(sites) >= LARGE_CHECK_ROWS
    index = prepare_check(zones, admin_units, tax_sites, customs_sites, far_land, shared=not large)
    with kept_cells(index, large and keep_cells):
        answered = answer_sites(
            sites, index, problems=problems, progress=progress, chunk_rows=chunk_rows
        )
    labels = index.labels()
    del index  # a large check's own grids, and their cells
    return with_results(sites, answered, labels, within_km=within_km, sources=sources)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl, Windows)
        return None


def _give_back_freed_memory() -> None:
    """Return memory the last step freed to the OS. glibc keeps freed arrays for reuse, so a
    million-site check held 150 MB twice at its peak (1.35 GB, 1.20 GB with this; about 6 ms
    a call). Nothing where the C library is not glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()  # Arrow's own allocator keeps freed pages too


def check_indexed(
    sites: gpd.GeoDataFrame,
    index: CheckIndex,
    *,
    problems: Sequence[str] | pd.Series | None = None,
    within_km: float | None = None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    sources: Sequence[int] | np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """check_sites against an index made already (prepare_check): a Dask task's partition."""
    require_within_km(within_km)
    answered = answer_sites(
        sites, index, problems=problems, progress=progress, chunk_rows=chunk_rows
    )
    return with_results(sites, answered, index.labels(), within_km=within_km, sources=sources)


@dataclass(frozen=True)
class Answered:
    """answer_sites' answers for a frame's sites, for with_results."""

    answers: Answers | None  # for every row (see place_answers); None when none was checked
    problem: np.ndarray  # per row, "" (checked) or why it was not checked
    polygons: bool  # some checked sites are polygons (the result has area_share_in_zone)


def answer_sites(
    sites: gpd.GeoDataFrame,
    index: CheckIndex,
    *,
    problems: Sequence[str] | pd.Series | None = None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Answered:
    """The answers for every site with a geometry and no problem, in chunks checked by a pool
    of threads (see check_sites for the parameters)."""
    _give_back_freed_memory()  # what reading the file freed, before the check's arrays
    n = len(sites)
    problem = np.full(n, "", dtype=object)
    if problems is not None:
        given = np.asarray(pd.Series(problems).fillna(""), dtype=object)
        if len(given) != n:
            raise IszonesError(
                f"problems has {len(given):,} entries for {n:,} sites; give one per site."
            )
        problem[:] = given
    geoms = sites.geometry.array
    missing = np.asarray(pd.isna(geoms) | shapely.is_empty(geoms))
    problem[missing & (problem == "")] = NO_GEOMETRY
    todo = np.flatnonzero(problem == "")
    if len(todo):
        require_crs(sites, "The sites")

    starts = range(0, len(todo), max(1, chunk_rows))

    def answer(start: int) -> Answers:
        return _check_chunk(np.asarray(geoms[todo[start : start + chunk_rows]]), sites.crs, index)

    def placed() -> Iterator[tuple[np.ndarray, Answers]]:
        # a pool of threads, one chunk each (as the stream checks blocks): 1M points 3.7-3.9 s,
        # against 4.2-4.5 s for one chunk at a time, each query using the threads
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="iszones-check") as pool:
            for start, part in zip(starts, pool.map(answer, starts), strict=True):
                yield todo[start : start + chunk_rows], part
                if progress is not None:
                    progress(min(start + chunk_rows, len(todo)), len(todo))

    answers = place_answers(placed(), n, index.n_zones)
    if not len(todo) and progress is not None:
        progress(0, 0)
    _give_back_freed_memory()
    polygons = (
        answers is not None
        and answers.share is not None
        and bool(np.isin(shapely.get_type_id(np.asarray(geoms)[todo]), _POLYGONAL).any())
    )
    return Answered(answers, problem, polygons)


def with_results(
    sites: gpd.GeoDataFrame,
    answered: Answered,
    labels: Labels,
    *,
    within_km: float | None = None,
    sources: Sequence[int] | np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """A copy of `sites` with the result columns of `answered` (see check_sites)."""
    _give_back_freed_memory()  # what the check freed (a large check's grid cells)
    problem = answered.problem
    found = result_columns(
        answered.answers,
        problem == "",
        problem,
        labels,
        within_km=within_km,
        polygons=answered.polygons,
        sources=None if sources is None else np.asarray(sources),
    )
    del answered  # what the columns need of it, they hold
    _give_back_freed_memory()

    out = sites.copy(deep=False)  # copy-on-write (pandas 3): the input frame is not changed
    names = {c.name for c in found}
    taken = set(map(str, out.columns)) | names
    clashes = {c: free_name(str(c), taken) for c in out.columns if c in names}
    out = out.rename(columns=clashes)
    while found:  # each column's codes may go once it is in the frame
        column = found.pop(0)
        out[column.name] = column.series(out.index)
    _give_back_freed_memory()  # the columns' codes, and the answers' Arrow text
    return out
