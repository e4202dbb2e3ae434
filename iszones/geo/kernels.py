"""Compiled loops (numba) behind the polygon grid, the readers' number parsing and the CSV
writer's text.

Each runs without the GIL, so the threads checking blocks of a file use every core. Compiled
code is cached beside this module (or in numba's user cache directory) after the first run;
where neither can be written, functions are compiled afresh in each process instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy", "boundscheck": False}


def compiled(function: Callable[..., Any]) -> Any:
    """`function` compiled without the GIL, cached on disk where there is somewhere to."""
    try:
        return njit(cache=True, **_OPTIONS)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(**_OPTIONS)(function)


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
def distance_to(px: float, py: float, seg_xy: np.ndarray, s: int) -> float:
    """segment_distance from a point to row `s` of seg_xy (segments, 4: ax, ay, bx, by)."""
    return segment_distance(px, py, seg_xy[s, 0], seg_xy[s, 1], seg_xy[s, 2], seg_xy[s, 3])


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
            d = distance_to(x[i], y[i], seg_xy, s)
            o = owner[s]
            if d < low or (d == low and o < found):
                low = d
                found = o
        best[i] = found
        dmin[i] = low


_POWERS_OF_TEN = np.array([10.0**k for k in range(23)])  # exact in float64 up to 1e22
_MAX_EXACT = 1 << 53  # integers up to this are exact in float64
_PLUS, _MINUS, _ZERO, _NINE, _LOWER_E, _UPPER_E = b"+-09eE"  # as byte values


@compiled
def plain_decimals(
    offsets: np.ndarray, data: np.ndarray, point: int, out: np.ndarray, ok: np.ndarray
) -> None:
    """Parse text cells (Arrow offsets into UTF-8 `data`) written as plain decimals,
    [+-]digits[.digits][e[+-]digits] with the byte `point` as the decimal mark, into `out`,
    setting `ok` where that worked exactly.

    Only numbers whose digits fit in 53 bits and whose power of ten is within 22 are parsed
    (Clinger's fast path: one correctly rounded multiplication or division, so the result is
    what any correct parser gives); other cells are left for the caller (`ok` False).
    """
    for i in range(len(out)):
        ok[i] = False
        j = offsets[i]
        end = offsets[i + 1]
        negative = False
        if j < end and (data[j] == _PLUS or data[j] == _MINUS):
            negative = data[j] == _MINUS
            j += 1
        mantissa = 0
        digits = 0  # digits read, of either part
        scale = 0  # digits after the point
        exact = True
        fraction = False
        while j < end:
            c = data[j]
            if _ZERO <= c <= _NINE:
                digits += 1
                if mantissa <= (_MAX_EXACT - 9) // 10:
                    mantissa = mantissa * 10 + (c - _ZERO)
                    if fraction:
                        scale += 1
                elif c != _ZERO or not fraction:
                    exact = False  # more digits than 53 bits hold (trailing zeros aside)
            elif c == point and not fraction:
                fraction = True
            else:
                break
            j += 1
        if digits == 0 or not exact:
            continue
        power = 0
        if j < end and (data[j] == _LOWER_E or data[j] == _UPPER_E):
            j += 1
            minus = False
            if j < end and (data[j] == _PLUS or data[j] == _MINUS):
                minus = data[j] == _MINUS
                j += 1
            start = j
            while j < end and _ZERO <= data[j] <= _NINE and j - start < 4:
                power = power * 10 + (data[j] - _ZERO)
                j += 1
            if j == start:
                continue
            if minus:
                power = -power
        if j != end:
            continue
        power -= scale
        value = float(mantissa)
        if mantissa != 0:
            if power < -22 or power > 22:
                continue
            scaled = _POWERS_OF_TEN[abs(power)]
            value = value / scaled if power < 0 else value * scaled
        out[i] = -value if negative else value
        ok[i] = True


@compiled
def cell_segments(
    rows: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    ptr: np.ndarray,
    segs: np.ndarray,
    seg_xy: np.ndarray,
    owner: np.ndarray,
    radius: float,
    margin: float,
    max_distance: float,
    n_polygons: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For cells of a grid level (centre cx, cy, half-diagonal `radius`), from the candidate
    segments of their rows in a table (CSR ptr/segs; the parent cells' candidates):

    - the segments that can be nearest to some point of the cell: within the centre's nearest
      distance plus the cell's diameter (and within max_distance plus `radius`), in table order;
    - the polygons whose boundary comes within `radius` + `margin` of the centre, lowest first.

    Returns (segments per cell, segments, polygons per cell, polygons), the pairs cell by cell.
    """
    m = len(rows)
    total = 0
    widest = 0
    for i in range(m):
        count = ptr[rows[i] + 1] - ptr[rows[i]]
        total += count
        widest = max(widest, count)
    kept_count = np.zeros(m, dtype=np.int64)
    kept = np.empty(total, dtype=np.int32)
    near_count = np.zeros(m, dtype=np.int64)
    near = np.empty(total, dtype=np.int32)
    distance = np.empty(widest)
    stamp = np.full(n_polygons, -1, dtype=np.int64)
    k_out = 0
    n_out = 0
    for i in range(m):
        start = ptr[rows[i]]
        count = ptr[rows[i] + 1] - start
        low = np.inf
        for k in range(count):
            s = segs[start + k]
            d = distance_to(cx[i], cy[i], seg_xy, s)
            distance[k] = d
            low = min(low, d)
        slack = 1e-6 * (1.0 + low)  # far above float error in the distances
        reach = min(low + 2.0 * radius, max_distance + radius) + slack
        first_kept = k_out
        first_near = n_out
        for k in range(count):
            s = segs[start + k]
            if distance[k] <= reach:
                kept[k_out] = s
                k_out += 1
            polygon = owner[s]
            if distance[k] <= radius + margin and stamp[polygon] != i:
                stamp[polygon] = i
                near[n_out] = polygon
                n_out += 1
        near[first_near:n_out].sort()
        kept_count[i] = k_out - first_kept
        near_count[i] = n_out - first_near
    return kept_count, kept[:k_out], near_count, near[:n_out]


@compiled
def owners_within(
    x: np.ndarray,
    y: np.ndarray,
    row: np.ndarray,
    ptr: np.ndarray,
    segs: np.ndarray,
    seg_xy: np.ndarray,
    owner: np.ndarray,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, polygon) for each candidate segment of the point's row (CSR ptr/segs)
    within `tolerance` of the point; a polygon may come more than once."""
    total = 0
    for i in range(len(x)):
        total += ptr[row[i] + 1] - ptr[row[i]]
    points = np.empty(total, dtype=np.int64)
    polygons = np.empty(total, dtype=np.int32)
    found = 0
    for i in range(len(x)):
        for k in range(ptr[row[i]], ptr[row[i] + 1]):
            s = segs[k]
            d = distance_to(x[i], y[i], seg_xy, s)
            if d <= tolerance:
                points[found] = i
                polygons[found] = owner[s]
                found += 1
    return points[:found], polygons[:found]


@compiled
def segments_in_reach(
    cx: np.ndarray, cy: np.ndarray, seg_xy: np.ndarray, spread: float, cap: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each centre, the segments within reach (CSR ptr, segs in segment order): the nearest
    segment's distance plus `spread`, at most `cap` (each with a 1e-6 relative margin).

    Every segment is measured from every centre: the grid's top level has some hundreds of
    cells, so this costs less than building a tree over all segments."""
    n = len(cx)
    m = seg_xy.shape[0]
    dist = np.empty(m)
    ptr = np.zeros(n + 1, dtype=np.int64)
    segs = np.empty(max(m, 16), dtype=np.int32)
    k = 0
    for i in range(n):
        low = np.inf
        for s in range(m):
            d = distance_to(cx[i], cy[i], seg_xy, s)
            dist[s] = d
            low = min(low, d)
        margin = 1e-6 * (1.0 + low)
        reach = min(low + spread + margin, cap + margin)
        for s in range(m):
            if dist[s] <= reach:
                if k == len(segs):
                    grown = np.empty(2 * len(segs), dtype=np.int32)
                    grown[:k] = segs[:k]
                    segs = grown
                segs[k] = s
                k += 1
        ptr[i + 1] = k
    return ptr, segs[:k].copy()


@compiled
def nearest_points(
    x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each point (x, y), the position of the nearest of the points (px, py), the first on
    a tie, and its distance (-1 and inf when there are none)."""
    nearest = np.full(len(x), -1, dtype=np.int64)
    distance = np.full(len(x), np.inf)
    for i in range(len(x)):
        low = np.inf
        for k in range(len(px)):
            dx = x[i] - px[k]
            dy = y[i] - py[k]
            d2 = dx * dx + dy * dy
            if d2 < low:
                low = d2
                nearest[i] = k
        distance[i] = math.sqrt(low)
    return nearest, distance


_QUOTE, _NEWLINE, _POINT = b'"\n.'  # as byte values


@compiled
def text_rows(
    offsets: np.ndarray, data: np.ndarray, codes: np.ndarray, special: np.ndarray, separator: int
) -> np.ndarray:
    """Rows as UTF-8 bytes: field f of row r is text entry codes[r, f] (Arrow `offsets` into
    `data`), fields joined by the byte `separator` (none when it is negative), each row ended
    by a newline. An entry holding a byte marked in `special` (256 flags) is quoted as CSV
    quotes it, its double quotes doubled.

    Byte positions are unsigned: numba then skips its check for negative indices on every byte
    (measured 4x quicker)."""
    one = np.uint64(1)
    n, fields = codes.shape
    extra = np.zeros(len(offsets) - 1, dtype=np.int64)  # bytes quoting adds to each entry
    for e in range(len(extra) if special.any() else 0):
        quotes = 0
        must = False
        j, end = np.uint64(offsets[e]), np.uint64(offsets[e + 1])
        while j < end:
            if special[data[j]]:
                must = True
                quotes += data[j] == _QUOTE
            j += one
        if must:
            extra[e] = quotes + 2
    size = 0
    for r in range(n):
        for f in range(fields):
            e = codes[r, f]
            size += offsets[e + 1] - offsets[e] + extra[e] + (separator >= 0 or f == fields - 1)
    out = np.empty(size, dtype=np.uint8)
    k = np.uint64(0)
    for r in range(n):
        for f in range(fields):
            e = codes[r, f]
            j, end = np.uint64(offsets[e]), np.uint64(offsets[e + 1])
            if extra[e]:
                out[k] = _QUOTE
                k += one
                while j < end:
                    out[k] = data[j]
                    k += one
                    if data[j] == _QUOTE:
                        out[k] = _QUOTE
                        k += one
                    j += one
                out[k] = _QUOTE
                k += one
            else:
                while j < end:
                    out[k] = data[j]
                    k += one
                    j += one
            if f == fields - 1:
                out[k] = _NEWLINE
                k += one
            elif separator >= 0:
                out[k] = separator
                k += one
    return out


_PLACES = 7  # decimals tried (coordinates are rounded to 7, distances to 2)
_MAX_DIGITS = 10**15  # a decimal of 15 significant digits names one double, no other does


@compiled
def decimal_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers with at most _PLACES decimals (12.05, 1234.5, 7.0, -2.6552515) as Python prints
    them, NaN as ''; as Arrow offsets and UTF-8 data, and per value whether it was written
    (others, such as 1e-05 or 0.1 + 0.2, are left empty for the caller).

    A value has p decimals when k / 10^p gives it back for k its 10^p-fold rounded, p the fewest
    that do. When k has under 16 digits, no other decimal as short names the same double, so
    Python's shortest round trip prints k / 10^p too (plain notation from 1e-4 up)."""
    n = len(values)
    done = np.zeros(n, dtype=np.bool_)
    scaled = np.zeros(n, dtype=np.int64)
    places = np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    digits = np.empty(20, dtype=np.uint8)
    for i in range(n):
        v = values[i]
        size = 0
        if math.isnan(v):
            done[i] = True
        elif (
            math.isfinite(v)
            and abs(v) < _MAX_DIGITS
            and (abs(v) >= 1e-4 or v == 0)
            and not (v == 0 and math.copysign(1.0, v) < 0)
        ):
            for p in range(_PLACES + 1):
                scale = _POWERS_OF_TEN[p]
                k = round(v * scale)
                if abs(k) >= _MAX_DIGITS:
                    break
                if k / scale == v:
                    done[i] = True
                    scaled[i] = k
                    places[i] = p
                    whole = abs(k) // np.int64(scale)
                    size = (k < 0) + 2 + max(p, 1)  # sign, a digit, point, decimals
                    while whole >= 10:
                        whole //= 10
                        size += 1
                    break
        offsets[i + 1] = offsets[i] + size
    data = np.empty(offsets[n], dtype=np.uint8)
    for i in range(n):
        if offsets[i + 1] == offsets[i]:
            continue
        k = scaled[i]
        p = places[i]
        j = offsets[i]
        if k < 0:
            data[j] = _MINUS
            j += 1
            k = -k
        unit = np.int64(_POWERS_OF_TEN[p])
        whole = k // unit
        count = 0
        while True:
            digits[count] = _ZERO + whole % 10
            count += 1
            whole //= 10
            if whole == 0:
                break
        for d in range(count):
            data[j] = digits[count - 1 - d]
            j += 1
        data[j] = _POINT
        j += 1
        if p == 0:
            data[j] = _ZERO
        fraction = k % unit
        for d in range(p):  # p decimals, the last not zero
            data[j + p - 1 - d] = _ZERO + fraction % 10
            fraction //= 10
    return offsets, data, done
