"""Coordinates in a table's columns: which columns hold them, the numbers in their cells, which
CRS they are in, and whether each point can be a UK site (a `problem` for each one that cannot).

Pure: arrays and Arrow columns in, points and per-row problems out. readers.py (whole files)
and bulk.py (a file streamed in blocks) read coordinates through `locate_columns`.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from iszones.errors import CRSError, DataFileError
from iszones.schema import MEASURE_CRS, STORAGE_CRS

if TYPE_CHECKING:
    import geopandas as gpd

# Generous boxes: a point outside them cannot be a UK site (or is in another CRS).
UK_LON = (-11.0, 3.0)
UK_LAT = (49.0, 61.5)
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)
# Where UK sites lie in BNG (Scilly is at about 88000, 7800): values below are not site metres.
BNG_LIKE_MIN = (10_000.0, 5_000.0)


CRS_FIX = "say which CRS they are in (--crs on the command line, the CRS box in the app)"
CRS_FIX_SENTENCE = CRS_FIX[0].upper() + CRS_FIX[1:] + "."


def unlocated_fix(*, swapped: bool, by_postcode: bool) -> str:
    """What to do about a file none of whose rows could be located: every problem says the
    coordinates look swapped (`swapped`), or the rows were to be placed by postcode alone."""
    if by_postcode:
        return "Fix the postcodes (UK postcodes such as 'DE74 2SA'), or add coordinate columns."
    if swapped:
        return "Swap the two coordinate columns (their names or their values)."
    return "Fix the coordinates, or " + CRS_FIX + "."


# Column names (lower case, spaces, dots, hyphens and underscores removed) for each role.
LATITUDE_NAMES = ("lat", "latitude", "wgs84lat", "latwgs84")
LONGITUDE_NAMES = ("lon", "lng", "long", "longitude", "wgs84lon", "lonwgs84")
EASTING_NAMES = ("easting", "eastings", "east", "bngeasting", "osgbeasting", "xbng")
NORTHING_NAMES = ("northing", "northings", "north", "bngnorthing", "osgbnorthing", "ybng")
X_NAMES = ("x", "xcoord", "xcoordinate", "pointx")
POSTCODE_NAMES = ("postcode", "postcodes", "postalcode", "pcd", "pcds", "pcode")
Y_NAMES = ("y", "ycoord", "ycoordinate", "pointy")


def parse_crs(text: str | int) -> CRS:
    """A pyproj CRS from an EPSG code (27700, 'EPSG:27700') or any string pyproj knows."""
    raw = str(text).strip()
    try:
        return CRS.from_user_input(int(raw) if raw.isdigit() else raw)
    except ProjCRSError as err:
        raise CRSError(
            f"CRS {raw!r} is not one pyproj knows. Give an EPSG code such as EPSG:27700"
            " (British National Grid) or EPSG:4326 (longitude/latitude)."
        ) from err


def crs_label(crs: CRS) -> str:
    """'EPSG:27700 (OSGB36 / British National Grid)' or the CRS's name."""
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def _normalise(column: str) -> str:
    return re.sub(r"[\s._\-]", "", str(column).lower())


def matching_columns(columns: Sequence[str], names: Iterable[str]) -> list[str]:
    wanted = set(names)
    return [c for c in columns if _normalise(c) in wanted]


def find_coordinate_columns(
    columns: Sequence[str], name: str, user_crs: CRS | None = None
) -> tuple[str, str, str]:
    """(x column, y column, kind) where kind is 'lonlat', 'en' or 'xy'; DataFileError otherwise.

    Longitude/latitude and easting/northing names are recognised in any case; x/y are used only
    when neither is present, and their CRS is then decided by the values. A file with both
    lon/lat and easting/northing needs `user_crs` to say which pair to use.
    """
    roles = {
        "latitude": matching_columns(columns, LATITUDE_NAMES),
        "longitude": matching_columns(columns, LONGITUDE_NAMES),
        "easting": matching_columns(columns, EASTING_NAMES),
        "northing": matching_columns(columns, NORTHING_NAMES),
        "x": matching_columns(columns, X_NAMES),
        "y": matching_columns(columns, Y_NAMES),
    }
    for role, found in roles.items():
        if len(found) > 1:
            raise DataFileError(
                f"{name}: columns {' and '.join(map(repr, found))} could each be the {role}."
                " Rename or remove all but one."
            )
    pairs = {
        "lonlat": ("longitude", "latitude"),
        "en": ("easting", "northing"),
        "xy": ("x", "y"),
    }
    complete = {}
    for kind, (xr, yr) in pairs.items():
        if roles[xr] and roles[yr]:
            complete[kind] = (roles[xr][0], roles[yr][0])
        elif roles[xr] or roles[yr]:
            have, need = (xr, yr) if roles[xr] else (yr, xr)
            if kind != "xy" or not ({"lonlat", "en"} & complete.keys()):
                names_for = {
                    "longitude": LONGITUDE_NAMES,
                    "latitude": LATITUDE_NAMES,
                    "easting": EASTING_NAMES,
                    "northing": NORTHING_NAMES,
                    "x": X_NAMES,
                    "y": Y_NAMES,
                }[need]
                raise DataFileError(
                    f"{name}: found a {have} column {roles[have][0]!r} but no {need} column."
                    f" Name the {need} column one of: {', '.join(names_for)}."
                )
    if "lonlat" in complete and "en" in complete:
        if user_crs is None:
            (lon, lat), (east, north) = complete["lonlat"], complete["en"]
            raise CRSError(
                f"{name}: has both longitude/latitude ({lon!r}, {lat!r}) and easting/northing"
                f" ({east!r}, {north!r}) columns. Say which to use: --crs EPSG:4326 for"
                " longitude/latitude or --crs EPSG:27700 for easting/northing."
            )
        kind = "lonlat" if user_crs.is_geographic else "en"
        return (*complete[kind], kind)
    for kind in ("lonlat", "en", "xy"):
        if kind in complete:
            return (*complete[kind], kind)
    postcode = matching_columns(columns, POSTCODE_NAMES)
    if len(postcode) == 1:
        return (postcode[0], postcode[0], "postcode")
    raise DataFileError(
        f"{name}: no coordinate columns. Its columns are {', '.join(map(repr, columns))}."
        " Add longitude and latitude columns (lon/lng/longitude, lat/latitude) or British"
        " National Grid ones (easting, northing), x/y, or a postcode column."
    )


# What a cell may hold to be a number, once trimmed (ASCII digits only, as Arrow reads them)
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?", re.ASCII)  # 435,100
_DECIMAL_COMMA = re.compile(r"(-?\d+),(\d+)", re.ASCII)  # 52,91 in a semicolon file
# Columns shorter than this are read cell by cell (_cell_number): the same numbers, without
# loading numba for the compiled loop, which costs a short run some tenths of a second
FEW_CELLS = 1000


def _numbers(raw: Any, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values, empty mask); values are NaN where the cell is empty or not a number.

    `raw` is a column of text (or, from Excel or Parquet, of numbers and text): a Series or an
    Arrow array. Plain decimals are read by a compiled loop; the few other cells one by one.
    """
    if isinstance(raw, pa.Array | pa.ChunkedArray) and (
        pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type)
    ):  # numbers already (Parquet): empty where null
        out = np.array(pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        empty = np.isnan(out) & np.asarray(pc.is_null(raw).to_numpy(zero_copy_only=False))
        out[~np.isfinite(out)] = np.nan
        return out, empty
    text = _arrow_text(raw)
    if text is None:  # numbers, dates or booleans from Excel among the text
        cells = raw.to_pylist() if isinstance(raw, pa.Array | pa.ChunkedArray) else list(raw)
        out, empty = np.full(len(cells), np.nan), np.zeros(len(cells), dtype=bool)
        rest = np.arange(len(cells))
    else:
        out, plain = _plain_decimals(text, "," if decimal_comma else ".")
        empty = np.zeros(len(out), dtype=bool)
        rest = np.flatnonzero(~plain)  # empty, words, "1,200", many digits: few, if any
        cells = text.take(pa.array(rest)).to_pylist()
    for pos, cell in zip(rest.tolist(), cells, strict=True):
        out[pos], empty[pos] = _cell_number(cell, decimal_comma)
    out[~np.isfinite(out)] = np.nan
    return out, empty


def _arrow_text(raw: Any) -> pa.Array | None:
    """The column as one Arrow text array, or None when it holds other things than text."""
    try:
        if not isinstance(raw, pa.Array | pa.ChunkedArray):
            raw = pa.array(raw, pa.string())  # Arrow-backed text (pandas' str) stays chunked
        if isinstance(raw, pa.ChunkedArray):
            raw = raw.combine_chunks()
        return raw if pa.types.is_string(raw.type) else raw.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _plain_decimals(text: pa.Array, point: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """(values, parsed) for an Arrow text column: its simple decimals, with `point` as the
    decimal mark, read by a compiled loop (kernels.plain_decimals). A column of under FEW_CELLS
    cells is left to the caller (none parsed), which reads each cell as it reads the others."""
    n = len(text)
    out = np.full(n, np.nan)
    parsed = np.zeros(n, dtype=bool)
    _, offsets, data = text.buffers()
    if n >= FEW_CELLS and data is not None:
        from iszones.geo import kernels  # numba: loaded when a long column is first read

        starts = np.frombuffer(offsets, dtype=np.int32)[text.offset : text.offset + n + 1]
        cells = np.frombuffer(data, dtype=np.uint8)
        kernels.plain_decimals(starts, cells, ord(point), out, parsed)
        if text.null_count:  # an empty cell from Excel, read as ""
            parsed &= np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return out, parsed


def _cell_number(cell: Any, decimal_comma: bool) -> tuple[float, bool]:
    """(number or NaN, whether the cell is empty) for one cell of any type."""
    pandas = sys.modules.get("pandas")  # an NA cell comes from a pandas frame: pandas is loaded
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return math.nan, True
    if pandas is not None and cell is pandas.NA:
        return math.nan, True
    text = str(cell).strip()
    if not text:
        return math.nan, True
    if decimal_comma and (match := _DECIMAL_COMMA.fullmatch(text)):
        text = f"{match[1]}.{match[2]}"
    elif not decimal_comma and _GROUPED_NUMBER.fullmatch(text):
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        return math.nan, False
    value = float(text)
    return (value if math.isfinite(value) else math.nan), False  # 1e999: not a number here


def _classify(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of values that look like UK degrees, swapped UK degrees, or BNG metres."""
    deg = (x >= UK_LON[0]) & (x <= UK_LON[1]) & (y >= UK_LAT[0]) & (y <= UK_LAT[1])
    swap = (y >= UK_LON[0]) & (y <= UK_LON[1]) & (x >= UK_LAT[0]) & (x <= UK_LAT[1])
    bng = (
        (x >= BNG_LIKE_MIN[0])
        & (x <= BNG_EASTING[1])
        & (y >= BNG_LIKE_MIN[1])
        & (y <= BNG_NORTHING[1])
        & ~deg
        & ~swap
    )
    return {"deg": deg, "swap": swap, "bng": bng}


def _rows_text(mask: np.ndarray, word: str = "row", limit: int = 3) -> str:
    rows = np.flatnonzero(mask)[:limit] + 1
    more = " ..." if mask.sum() > limit else ""
    return ", ".join(f"{word} {r}" for r in rows) + more


def _example(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> str:
    first = np.flatnonzero(mask)[0]
    return f"({_num(x[first])}, {_num(y[first])})"


_EVIDENCE_ROWS = 3


@dataclass(frozen=True)
class CoordinateEvidence:
    """What a table's coordinates look like (UK degrees, swapped degrees, BNG metres): how many
    rows of each, the first few row numbers, and the first example; enough to choose the CRS
    and to word the errors, and it adds up over the blocks of a file read in parts."""

    counts: dict[str, int]
    rows: dict[str, tuple[int, ...]]  # 1-based, the first few
    examples: dict[str, tuple[int, str]]  # (row, "(x, y)") of the first

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, first_row: int = 1) -> CoordinateEvidence:
        """Evidence from values whose first row is numbered `first_row`."""
        found = _classify(x, y)
        counts, rows, examples = {}, {}, {}
        for kind, mask in found.items():
            where = np.flatnonzero(mask)
            counts[kind] = len(where)
            rows[kind] = tuple(int(r) + first_row for r in where[:_EVIDENCE_ROWS])
            if len(where):
                examples[kind] = (rows[kind][0], _example(x, y, mask))
        return cls(counts, rows, examples)

    def __add__(self, other: CoordinateEvidence) -> CoordinateEvidence:
        return CoordinateEvidence(
            {k: self.counts[k] + other.counts[k] for k in self.counts},
            {k: tuple(sorted(self.rows[k] + other.rows[k])[:_EVIDENCE_ROWS]) for k in self.rows},
            {
                k: min(v for v in (self.examples.get(k), other.examples.get(k)) if v)
                for k in set(self.examples) | set(other.examples)
            },
        )

    def shifted(self, rows: int) -> CoordinateEvidence:
        """The same evidence for rows numbered `rows` later (a later part of a file)."""
        return CoordinateEvidence(
            self.counts,
            {k: tuple(r + rows for r in v) for k, v in self.rows.items()},
            {k: (row + rows, text) for k, (row, text) in self.examples.items()},
        )

    def has(self, *kinds: str) -> bool:
        return any(self.counts[k] for k in kinds)

    def example(self, *kinds: str) -> str:
        return min(self.examples[k] for k in kinds if k in self.examples)[1]

    def rows_text(self, *kinds: str) -> str:
        rows = sorted(r for k in kinds for r in self.rows[k])[:_EVIDENCE_ROWS]
        more = " ..." if sum(self.counts[k] for k in kinds) > _EVIDENCE_ROWS else ""
        return ", ".join(f"row {r}" for r in rows) + more


def table_crs(
    evidence: CoordinateEvidence,
    cols: tuple[str, str, str],
    name: str,
    user_crs: CRS | None,
) -> tuple[CRS, str]:
    """The CRS of a table's coordinate columns, and a note saying how it was chosen.

    CRSError when the values contradict the columns' names, mix degrees and metres, or fit
    neither.
    """
    xcol, ycol, kind = cols
    where = f"from columns {xcol!r}/{ycol!r}"
    if user_crs is not None:
        return user_crs, f"coordinates read as {crs_label(user_crs)} (as given) {where}"
    degrees, swapped, metres = (evidence.has(k) for k in ("deg", "swap", "bng"))
    pair = f"{xcol!r}/{ycol!r}"
    if kind == "lonlat":
        if metres and not (degrees or swapped):
            raise CRSError(
                f"{name}: columns {pair} hold values like {evidence.example('bng')},"
                " which look like British National Grid metres, not degrees. Rename them"
                " easting/northing, or " + CRS_FIX + "."
            )
        chosen = CRS.from_user_input(STORAGE_CRS)
    elif kind == "en":
        if (degrees or swapped) and not metres:
            raise CRSError(
                f"{name}: columns {pair} hold values like"
                f" {evidence.example('deg', 'swap')}, which look like degrees,"
                " not British National Grid metres. Rename them longitude/latitude, or "
                + CRS_FIX
                + "."
            )
        chosen = CRS.from_user_input(MEASURE_CRS)
    else:
        if (degrees or swapped) and metres:
            raise CRSError(
                f"{name}: columns {pair} mix degrees ({evidence.rows_text('deg', 'swap')})"
                f" and British National Grid metres ({evidence.rows_text('bng')}); a file must"
                " use one CRS. Fix those rows, or " + CRS_FIX + "."
            )
        if not (degrees or swapped or metres):
            raise CRSError(
                f"{name}: the values in {pair} fit neither UK longitude/latitude nor British"
                " National Grid eastings/northings, so their CRS cannot be told. "
                + CRS_FIX_SENTENCE
            )
        chosen = CRS.from_user_input(STORAGE_CRS if (degrees or swapped) else MEASURE_CRS)
        return chosen, f"coordinates read as {crs_label(chosen)} {where}, judged by their values"
    return chosen, f"coordinates read as {crs_label(chosen)} {where}"


def first_problem(
    problems: np.ndarray,
    mask: np.ndarray,
    text: str | Callable[[np.ndarray], list[str]],
    said: np.ndarray | None = None,
) -> None:
    """Write a problem where `mask` holds and no earlier problem was found (in place).

    `text` is a string, or a function from the row positions to one string per row (so the
    words are built only for the rows that need them). `said`, when given, marks the rows that
    have a problem already, and is kept up to date (faster than comparing text).
    """
    free = problems == "" if said is None else ~said
    rows = np.flatnonzero(mask & free)
    if len(rows):
        problems[rows] = text if isinstance(text, str) else np.array(text(rows), dtype=object)
        if said is not None:
            said[rows] = True


@dataclass(frozen=True)
class TablePoints:
    """Points read from a table's coordinate columns: x, y in `crs` (NaN where the row has a
    problem), the problems ("" when none), how the CRS was chosen, and what the values looked
    like (so that a file read in blocks can check the CRS over all of them)."""

    x: np.ndarray
    y: np.ndarray
    problems: np.ndarray
    crs: CRS
    note: str
    evidence: CoordinateEvidence | None  # None when no CRS was judged (placed by postcode)
    ok: np.ndarray  # rows without a problem (problems == "", without comparing text)
    blank: np.ndarray | None = None  # rows with both coordinates empty
    source: np.ndarray | None = None  # inputs.placing.LOCATION_SOURCES codes, when known
    notes: tuple[str, ...] = ()  # what the user must be told of the data that placed rows

    @property
    def by_postcode(self) -> bool:
        """Whether the rows were placed by postcode alone (a table with no coordinate columns,
        whose CRS is the directory's, not judged from values)."""
        return self.evidence is None


def locate_columns(
    xraw: Any,
    yraw: Any,
    cols: tuple[str, str, str],
    name: str,
    user_crs: CRS | None,
    *,
    decimal_comma: bool = False,
    ragged: Sequence[str] | None = None,
    crs: CRS | None = None,
    first_row: int = 1,
) -> TablePoints:
    """Read the x and y columns of a table (text, or Excel's numbers) into checked points.

    `crs`, when given, is the CRS already chosen for the file (a later block of a file read in
    parts); otherwise it is chosen from these values (see table_crs). `first_row` numbers the
    first row in messages.
    """
    xcol, ycol, kind = cols
    x, x_empty = _numbers(xraw, decimal_comma)
    y, y_empty = _numbers(yraw, decimal_comma)
    evidence = CoordinateEvidence.of(x, y, first_row)
    note = ""
    if crs is None:
        crs, note = table_crs(evidence, cols, name, user_crs)

    n = len(x)
    problems = np.full(n, "", dtype=object) if ragged is None else np.array(ragged, dtype=object)
    said = problems != "" if ragged is not None else np.zeros(n, dtype=bool)

    def problem(mask: np.ndarray, text: str | Callable[[np.ndarray], list[str]]) -> None:
        first_problem(problems, mask, text, said)

    problem(x_empty & y_empty, f"no coordinates: {xcol!r} and {ycol!r} are empty")
    for col, empty in ((xcol, x_empty), (ycol, y_empty)):
        problem(empty, f"{col!r} is empty")
    for col, values, raw in ((xcol, x, xraw), (ycol, y, yraw)):
        problem(np.isnan(values), _not_number(col, raw))

    with np.errstate(invalid="ignore"):
        if crs.is_geographic:
            problem(np.abs(y) > 90, _ranged(ycol, y, "latitude", "-90 to 90"))
            problem(np.abs(x) > 180, _ranged(xcol, x, "longitude", "-180 to 180"))
        elif crs.equals(CRS.from_user_input(MEASURE_CRS)):
            swapped = (x > BNG_EASTING[1]) & (x <= BNG_NORTHING[1]) & (y >= 0)
            swapped &= y <= BNG_EASTING[1]
            problem(swapped, _swapped_text(xcol, ycol, x, y))
            degrees = (x >= UK_LON[0]) & (x <= UK_LON[1]) & (y >= UK_LAT[0]) & (y <= UK_LAT[1])
            problem(degrees, _degrees_text(xcol, ycol, x, y))
            e_bad = (x < BNG_EASTING[0]) | (x > BNG_EASTING[1])
            problem(e_bad, _ranged(xcol, x, "easting", "0 to 700000 m"))
            n_bad = (y < BNG_NORTHING[0]) | (y > BNG_NORTHING[1])
            problem(n_bad, _ranged(ycol, y, "northing", "0 to 1300000 m"))

    problems = _outside_uk_xy(x, y, crs, problems, (xcol, ycol), kind, said)
    x[said] = np.nan
    y[said] = np.nan
    return TablePoints(x, y, problems, crs, note, evidence, ~said, blank=x_empty & y_empty)


def _num(value: float) -> str:
    """A number as people write it: 1400000, 52.912186231 (no exponent, no trailing zeros);
    beyond a million million, or a nonzero under a millionth, as 1e+308 (not 309 digits)."""
    if value and not 1e-6 <= abs(value) < 1e15:
        return f"{value:.6g}"
    return np.format_float_positional(value, trim="-")


def _degrees(value: float) -> str:
    """Degrees to 5 decimals (about a metre); a wild value as 1e+308, not 309 digits."""
    return f"{value:.5f}" if abs(value) < 1e6 else _num(value)


def _cell_text(raw: Any, row: int) -> str:
    if isinstance(raw, pa.Array | pa.ChunkedArray):
        return str(raw[row].as_py())
    return str(raw.iloc[row] if hasattr(raw, "iloc") else raw[row])  # a pandas Series, or a list


def _shown(text: str, width: int = 40) -> str:
    """A cell's text for a message: a 100,000-digit cell is cut, not repeated whole."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _not_number(col: str, raw: Any) -> Callable[[np.ndarray], list[str]]:
    return lambda rows: [
        f"{col!r} {_shown(_cell_text(raw, r).strip())!r} is not a number" for r in rows
    ]


def _ranged(
    col: str, values: np.ndarray, what: str, expected: str
) -> Callable[[np.ndarray], list[str]]:
    return lambda rows: [
        f"{col!r} {_num(values[r])} is out of range ({what} must be {expected})" for r in rows
    ]


def _swapped_text(
    xcol: str, ycol: str, x: np.ndarray, y: np.ndarray
) -> Callable[[np.ndarray], list[str]]:
    return lambda rows: [
        f"easting and northing look swapped: {xcol!r} {_num(x[r])} and {ycol!r} {_num(y[r])}"
        " are not in the UK, but swapped they would be. Swap the two values"
        for r in rows
    ]


def _degrees_text(
    xcol: str, ycol: str, x: np.ndarray, y: np.ndarray
) -> Callable[[np.ndarray], list[str]]:
    return lambda rows: [
        f"{xcol!r} {_num(x[r])} and {ycol!r} {_num(y[r])} look like longitude/latitude values,"
        " not British National Grid metres: put them in longitude/latitude columns"
        for r in rows
    ]


# A rectangle of British National Grid that lies wholly inside the UK longitude/latitude box
# (tests/test_bulk.py checks it): points in it need no conversion to pass the UK check.
_BNG_INSIDE_UK_BOX = (0.0, 0.0, 640_000.0, 1_280_000.0)


@functools.lru_cache(maxsize=16)
def _transformer(source: CRS, target: CRS) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def transformer(source: CRS | str, target: CRS | str) -> Transformer:
    """A cached pyproj Transformer, x (longitude, easting) first: the one GeoSeries.to_crs
    builds, so coordinates come out identical to the bit."""
    return _transformer(CRS.from_user_input(source), CRS.from_user_input(target))


def _outside_uk_xy(
    x: np.ndarray,
    y: np.ndarray,
    crs: CRS,
    problems: np.ndarray,
    names: tuple[str, str],
    kind: str,
    said: np.ndarray | None = None,
) -> np.ndarray:
    """outside_uk for points given as coordinate arrays (no geometries made); `said` marks
    the rows with a problem already (see first_problem), and is kept up to date."""
    problems = problems.copy()
    located = np.flatnonzero(problems == "" if said is None else ~said)
    if not len(located):
        return problems
    if crs.equals(CRS.from_user_input(MEASURE_CRS)):  # most need no conversion to be sure
        box = _BNG_INSIDE_UK_BOX
        lx, ly = x[located], y[located]
        sure = (lx >= box[0]) & (lx <= box[2]) & (ly >= box[1]) & (ly <= box[3])
        located = located[~sure]
        if not len(located):
            return problems
    lx, ly = x[located], y[located]
    if crs.equals(STORAGE_CRS):
        lon, lat = lx, ly
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyproj warns on points it cannot convert
            lon, lat = transformer(crs, STORAGE_CRS).transform(lx, ly)
    in_box = (
        (lon >= UK_LON[0]) & (lon <= UK_LON[1]) & (lat >= UK_LAT[0]) & (lat <= UK_LAT[1])
    )  # NaN compares false, so it is checked below too
    check = located[~in_box]
    if len(check):
        bounds = np.column_stack([lon, lat, lon, lat])[~in_box]
        inside, texts = _uk_check(bounds, crs, names, kind)
        problems[check] = np.where(inside, problems[check], texts)
        if said is not None:
            said[check[~inside]] = True
    return problems


def outside_uk(
    geoms: np.ndarray,
    crs: CRS,
    problems: np.ndarray,
    names: tuple[str, str],
    kind: str,
) -> np.ndarray:
    """Mark located rows that fall outside the UK once converted to longitude/latitude."""
    import geopandas as gpd  # only a spatial file's features come here (readers)
    import pandas as pd

    problems = problems.copy()
    located = ~pd.isna(geoms) & (problems == "")
    if not located.any():
        return problems
    series = gpd.GeoSeries(list(geoms[located]), crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyproj warns on points it cannot convert
        wgs84 = series.to_crs(STORAGE_CRS) if not crs.equals(STORAGE_CRS) else series
    inside, texts = _uk_check(shapely.bounds(wgs84.array), crs, names, kind)
    idx = np.flatnonzero(located)
    problems[idx] = np.where(inside, problems[idx], texts)
    return problems


def _uk_check(
    bounds: np.ndarray, crs: CRS, names: tuple[str, str], kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """(inside the UK box, the problem text for each outside) from lon/lat bounds per row."""
    lon = bounds[:, 0] / 2 + bounds[:, 2] / 2  # halves first: 1e308 + 1e308 overflows
    lat = bounds[:, 1] / 2 + bounds[:, 3] / 2
    finite = np.isfinite(bounds).all(axis=1)
    inside = (
        finite
        & (bounds[:, 0] >= UK_LON[0])
        & (bounds[:, 2] <= UK_LON[1])
        & (bounds[:, 1] >= UK_LAT[0])
        & (bounds[:, 3] <= UK_LAT[1])
    )
    texts = np.full(len(lon), "", dtype=object)
    outside = np.flatnonzero(~inside)
    if not len(outside):
        return inside, texts
    swapped = finite & ~inside & _classify(lon, lat)["swap"]
    via = "" if crs.equals(STORAGE_CRS) else f" (converted from {crs_label(crs)})"
    for pos in outside:  # only the bad rows: few, and each needs its own words
        if not finite[pos]:
            texts[pos] = f"coordinates cannot be converted from {crs_label(crs)}"
        elif swapped[pos] and kind == "lonlat":
            texts[pos] = (
                f"latitude and longitude look swapped: latitude {_num(lat[pos])} and longitude"
                f" {_num(lon[pos])} are not in the UK, but swapped they would be."
                f" Swap the values of {names[1]!r} and {names[0]!r}"
            )
        elif swapped[pos]:
            texts[pos] = (
                f"coordinates look swapped (longitude {_num(lon[pos])}, latitude {_num(lat[pos])}"
                f"{via} is not in the UK, but swapped it would be). Put longitude (x) first"
            )
        else:
            texts[pos] = (
                f"outside the UK: longitude {_degrees(lon[pos])}, latitude"
                f" {_degrees(lat[pos])}{via}."
                " Check the coordinates and their CRS"
            )
    return inside, texts


def feature_crs(
    frame: gpd.GeoDataFrame, name: str, declared: bool, user_crs: CRS | None
) -> tuple[CRS, str]:
    """(CRS, note) for a spatial file's features: the user's, the file's, or judged by where
    the features lie (UK degrees or British National Grid metres); CRSError when unclear."""
    import pandas as pd  # only a spatial file's frame comes here (readers)

    geoms = frame.geometry.array
    has = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms[has]) if has.any() else np.empty((0, 4))
    cx, cy = bounds[:, 0] / 2 + bounds[:, 2] / 2, bounds[:, 1] / 2 + bounds[:, 3] / 2  # no overflow
    found = _classify(cx, cy)
    degrees = bool((found["deg"] | found["swap"]).any())
    metres = bool(found["bng"].any())
    if user_crs is not None:
        note = f"coordinates read as {crs_label(user_crs)} (as given)"
        if (
            declared
            and frame.crs is not None
            and not CRS.from_user_input(frame.crs).equals(user_crs)
        ):
            note += f", overriding the file's {crs_label(CRS.from_user_input(frame.crs))}"
        return user_crs, note
    if declared and frame.crs is not None:
        crs = CRS.from_user_input(frame.crs)
        if crs.is_geographic and metres and not degrees:
            raise CRSError(
                f"{name}: says its CRS is {crs_label(crs)}, but its coordinates (e.g."
                f" {_example(cx, cy, found['bng'])}) look like British National Grid metres."
                " Fix the file's CRS, or " + CRS_FIX + " (EPSG:27700)."
            )
        if crs.is_projected and degrees and not metres:  # read as metres, all 250 km away
            lonlat = found["deg"] | found["swap"]
            raise CRSError(
                f"{name}: says its CRS is {crs_label(crs)}, but its coordinates (e.g."
                f" {_example(cx, cy, lonlat)}) look like longitude/latitude degrees."
                " Fix the file's CRS, or " + CRS_FIX + " (EPSG:4326)."
            )
        return crs, f"coordinates read as {crs_label(crs)}, as the file says"
    if degrees and metres:
        raise CRSError(
            f"{name}: names no CRS, and its features mix degrees"
            f" ({_rows_text(found['deg'] | found['swap'], 'feature')}) and British National Grid"
            f" metres ({_rows_text(found['bng'], 'feature')}). " + CRS_FIX_SENTENCE
        )
    if metres:
        crs = CRS.from_user_input(MEASURE_CRS)
        return (
            crs,
            f"the file names no CRS; coordinates read as {crs_label(crs)}, judged by their values",
        )
    if degrees:
        crs = CRS.from_user_input(STORAGE_CRS)
        return (
            crs,
            f"the file names no CRS; coordinates read as {crs_label(crs)}, judged by their values",
        )
    raise CRSError(
        f"{name}: names no CRS, and its coordinates fit neither UK longitude/latitude nor British"
        " National Grid, so their CRS cannot be told. " + CRS_FIX_SENTENCE
    )
