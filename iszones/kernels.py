"""Compiled loops (numba) behind the polygon grid's queries.

Each runs without the GIL, so the threads checking blocks of a file use every core; compiled
code is cached beside this module (or in numba's user cache) after the first run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

compiled = njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)


@compiled
def segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from a point to segment A-B, with the arithmetic of GEOS's pointToSegment (so
    ties, such as a vertex shared by two polygons, are exact and distances equal shapely's)."""
    ex = px - ax
    ey = py - ay
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    if len2 == 0.0:
        return math.sqrt(ex * ex + ey * ey)
    r = (ex * dx + ey * dy) / len2
    if r <= 0.0:
        return math.sqrt(ex * ex + ey * ey)
    if r >= 1.0:
        fx = px - bx
        fy = py - by
        return math.sqrt(fx * fx + fy * fy)
    s = ((ay - py) * dx - (ax - px) * dy) / len2
    return abs(s) * math.sqrt(len2)


@compiled
def nearest_owners(
    x: np.ndarray,
    y: np.ndarray,
    row: np.ndarray,
    ptr: np.ndarray,
    segs: np.ndarray,
    seg_xy: np.ndarray,
    owner: np.ndarray,
    best: np.ndarray,
    dmin: np.ndarray,
) -> None:
    """For each point, among its row's candidate segments (CSR ptr/segs), the nearest owner
    (the lowest on a tie) into `best` and the distance into `dmin`; -1 and inf for none.
    seg_xy: (segments, 4) of ax, ay, bx, by."""
    for i in range(len(x)):
        r = row[i]
        found = -1
        low = np.inf
        for k in range(ptr[r], ptr[r + 1]):
            s = segs[k]
            d = segment_distance(x[i], y[i], seg_xy[s, 0], seg_xy[s, 1], seg_xy[s, 2], seg_xy[s, 3])
            o = owner[s]
            if d < low or (d == low and o < found):
                low = d
                found = o
        best[i] = found
        dmin[i] = low
