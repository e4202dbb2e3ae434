"""The council district (LAD 2025) of points in British National Grid, from the bundled layer.

Decided by the committed `data/boundaries/districts.geojson` (built from postcode locations by
`iszones build-geography`; coverage-simplified at 100 m). A point within BORDER_NOTE_M of a
border between two districts gets a `lad_note`, as does a point off the land, which takes the
nearest district within OFFSHORE_MAX_M. The layer is read on first use and kept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BORDER_NOTE_M = 200.0
OFFSHORE_MAX_M = 2000.0
DEFAULT_LAYER = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "districts.geojson"
NEAR_BORDER = "within 200 m of a district border: check the council"
OFFSHORE = "off the mapped coastline: nearest district, {m:.0f} m away"
NOT_FOUND = "no district within 2 km (outside the UK or at sea)"
COLUMNS = ("lad_code", "local_authority", "lad_note")


@dataclass(frozen=True)
class DistrictIndex:
    """The district polygons in EPSG:27700, a tree over them, and their shared border segments."""

    codes: np.ndarray
    names: np.ndarray
    tree: Any  # shapely.STRtree over the polygons
    pieces: Any  # shapely.STRtree over small pieces of them (fast point-in-polygon)
    owner: np.ndarray  # the polygon each piece came from
    borders: Any  # shapely.STRtree over segments shared by two districts


def _shared_segments(polys: np.ndarray) -> np.ndarray:
    """Segments (as LineStrings) that belong to exactly two polygons: the inland borders."""
    import shapely

    rings = shapely.get_rings(shapely.get_parts(polys))
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[1:] == ring_idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo, hi = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    seg = np.round(np.hstack([lo, hi]), 3)
    uniq, counts = np.unique(seg, axis=0, return_counts=True)
    shared = uniq[counts >= 2]
    return shapely.linestrings(shared.reshape(-1, 2, 2))


PIECE_VERTICES = 64


def _split(geom: Any, out: list[Any], limit: int = PIECE_VERTICES) -> None:
    """Cut geom into quadrants until each piece has at most `limit` vertices."""
    import shapely

    if shapely.get_num_coordinates(geom) <= limit:
        out.append(geom)
        return
    x0, y0, x1, y1 = geom.bounds
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    for rect in ((x0, y0, mx, my), (mx, y0, x1, my), (x0, my, mx, y1), (mx, my, x1, y1)):
        part = shapely.clip_by_rect(geom, *rect)
        if not part.is_empty:
            _split(part, out, limit)


@functools.lru_cache(maxsize=2)
def load_index(path: Path = DEFAULT_LAYER) -> DistrictIndex:
    """Read the district layer (WGS84 GeoJSON with code and name) into an index in EPSG:27700."""
    import geopandas as gpd
    import shapely

    from ..errors import DataFileError

    try:
        frame = gpd.read_file(path).to_crs("EPSG:27700")
    except Exception as err:  # pyogrio raises several types for a bad file
        raise DataFileError(f"{path}: cannot read the district layer ({err})") from err
    polys = frame.geometry.to_numpy()
    pieces: list[Any] = []
    owner: list[int] = []
    for i, poly in enumerate(polys):
        before = len(pieces)
        _split(poly, pieces)
        owner.extend([i] * (len(pieces) - before))
    return DistrictIndex(
        pieces=shapely.STRtree(pieces),
        owner=np.asarray(owner),
        codes=frame["code"].to_numpy(dtype=object),
        names=frame["name"].to_numpy(dtype=object),
        tree=shapely.STRtree(polys),
        borders=shapely.STRtree(_shared_segments(polys)),
    )


def districts_of_points(
    easting: np.ndarray, northing: np.ndarray, *, layer: Path = DEFAULT_LAYER
) -> pd.DataFrame:
    """District code, name and note for points in EPSG:27700 (NaN coordinates give empty rows)."""
    import shapely

    index = load_index(layer)
    x, y = np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)
    n = len(x)
    ok = ~(np.isnan(x) | np.isnan(y))
    pts = shapely.points(np.where(ok, x, 0.0), np.where(ok, y, 0.0))
    which = np.full(n, -1)
    # "intersects": a point on a cut between two pieces, or on a border, still finds one.
    pi, di = index.pieces.query(pts[ok], predicate="intersects")
    rows = np.flatnonzero(ok)
    first = np.unique(pi, return_index=True)[1]
    which[rows[pi[first]]] = index.owner[di[first]]
    note = np.full(n, "", dtype=object)
    lost = np.flatnonzero(ok & (which < 0))
    if len(lost):
        (qi, ti), dist = index.tree.query_nearest(
            pts[lost], max_distance=OFFSHORE_MAX_M, return_distance=True, all_matches=False
        )
        which[lost[qi]] = ti
        note[lost[qi]] = [OFFSHORE.format(m=d) for d in dist]
        found = np.zeros(len(lost), dtype=bool)
        found[qi] = True
        note[lost[~found]] = NOT_FOUND
    inside = np.flatnonzero(ok & (which >= 0) & (note == ""))
    (bi, _) = index.borders.query_nearest(
        pts[inside], max_distance=BORDER_NOTE_M, all_matches=False
    )
    note[inside[np.unique(bi)]] = NEAR_BORDER
    has = which >= 0
    code = np.full(n, None, dtype=object)
    name = np.full(n, None, dtype=object)
    code[has], name[has] = index.codes[which[has]], index.names[which[has]]
    return pd.DataFrame({"lad_code": code, "local_authority": name, "lad_note": note})


def district_of_point(easting: float, northing: float) -> dict[str, Any]:
    """District code, name and note for one point in EPSG:27700."""
    row = districts_of_points(np.array([easting]), np.array([northing])).iloc[0]
    return {k: row[k] for k in COLUMNS}
