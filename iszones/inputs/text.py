"""Text hygiene for user-supplied strings: files' bytes decoded with a message naming the bad
line (`decoded`), bidi controls removed (`clean_text`) and, for spreadsheets and CSV,
formula-looking text made inert (`spreadsheet_text`, `spreadsheet_column`: the one choke point
every CSV and XLSX writer uses)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iszones.errors import DataFileError

ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}

# Unicode bidirectional embedding/override/isolate controls and the implicit marks.
# They can make a name display reversed or hide part of it ("Trojan Source", CVE-2021-42574);
# a site name never needs them, so they are removed rather than escaped.
BIDI_CONTROLS = (
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
)
_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")

# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula
# (tab and carriage return too, as some importers strip them first). Such text gets a leading
# apostrophe; a plain number ("-1.5", "+44", "1e3", "-1,5") is left alone, so a longitude stays
# a number. One pattern for Python and for Arrow (RE2), so both writers agree byte for byte.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)


def decoded(
    data: bytes, name: str, fix: str, *, encoding: str = "utf-8", first_line: int = 1
) -> str:
    """`data` decoded, or DataFileError naming the file, the first line that is not `encoding`
    text (lines counted from `first_line`), its byte, and `fix`."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = first_line + data[: err.start].count(b"\n")
        what = ENCODING_NAMES.get(encoding, encoding)
        raise DataFileError(
            f"{name}: line {line} is not {what} text (byte 0x{data[err.start]:02x}). {fix}"
        ) from err


def clean_text(s: str) -> str:
    """Return ``s`` with Unicode bidirectional control characters removed.

    Everything else, braces, quotes and markup included, is kept exactly as typed:
    escaping for HTML, templates or spreadsheets is the job of each output's own choke point.
    """
    if not isinstance(s, str):
        return s
    return _BIDI_RE.sub("", s)


def spreadsheet_text(s: str) -> str:
    """Text as a CSV or XLSX cell: bidi controls removed, and a leading apostrophe when it
    starts like a formula (= + - @ tab CR) without being a plain number."""
    s = clean_text(s)
    if s[:1] in FORMULA_STARTS and not _NUMBER_RE.fullmatch(s):
        return "'" + s
    return s


def safe_cell(value: Any) -> Any:
    """spreadsheet_text for text; numbers, dates, booleans and None unchanged."""
    return spreadsheet_text(value) if isinstance(value, str) else value


def _holds_bidi(values: pa.Array) -> bool:
    """Whether the bytes behind an Arrow text column hold a bidi control (perhaps in a part
    outside this slice of them: then the callers' exact test finds none)."""
    data = values.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    # Each control is D8 9C or E2 xx yy in UTF-8: only the bytes after a D8 or E2 are looked at
    lead = np.flatnonzero((raw[:-1] == 0xD8) | (raw[:-1] == 0xE2))
    pairs = (raw[lead].astype(np.int32) << 8) | raw[lead + 1]
    if np.isin(pairs, _BIDI_PAIRS).any():
        return True
    lead = lead[(raw[lead] == 0xE2) & (lead + 2 < len(raw))]
    triples = (raw[lead + 1].astype(np.int32) << 8) | raw[lead + 2]
    return bool(np.isin(triples, _BIDI_TRIPLES).any())


# The controls' UTF-8 as numbers: two-byte ones whole, three-byte ones after their E2
_BIDI_PAIRS = [int.from_bytes(c.encode()) for c in BIDI_CONTROLS if len(c.encode()) == 2]
_BIDI_TRIPLES = [int.from_bytes(c.encode()[1:]) for c in BIDI_CONTROLS if len(c.encode()) == 3]
assert all(c.encode()[0] in (0xD8, 0xE2) for c in BIDI_CONTROLS)


def spreadsheet_changes(values: pa.Array) -> np.ndarray:
    """Positions of the values of an Arrow text column that spreadsheet_text would change (a
    formula start that is not a number, or a bidi control): usually none, so callers holding
    Python strings already change only those, in place."""
    changed = np.zeros(len(values), dtype=bool)
    if _holds_bidi(values):
        bidi = pc.match_substring_regex(values, f"[{BIDI_CONTROLS}]")
        changed |= np.asarray(pc.fill_null(bidi, False).to_numpy(zero_copy_only=False), bool)
    first = pc.utf8_slice_codeunits(values, 0, 1)
    risky = pc.fill_null(pc.is_in(first, value_set=pa.array(FORMULA_STARTS)), False)
    if pc.any(risky).as_py():
        number = pc.fill_null(pc.match_substring_regex(values, f"^(?:{_NUMBER})$"), False)
        flagged = pc.and_(risky, pc.invert(number))
        changed |= np.asarray(flagged.to_numpy(zero_copy_only=False), dtype=bool)
    return np.flatnonzero(changed)


def spreadsheet_column(values: pa.Array) -> pa.Array:
    """spreadsheet_text for every value of an Arrow text column (nulls stay null)."""
    if _holds_bidi(values):
        values = pc.replace_substring_regex(values, f"[{BIDI_CONTROLS}]", "")
    first = pc.utf8_slice_codeunits(values, 0, 1)
    risky = pc.fill_null(pc.is_in(first, value_set=pa.array(FORMULA_STARTS)), False)
    if not pc.any(risky).as_py():
        return values
    number = pc.fill_null(pc.match_substring_regex(values, f"^(?:{_NUMBER})$"), False)
    flagged = pc.and_(risky, pc.invert(number))
    return pc.if_else(flagged, pc.binary_join_element_wise("'", values, ""), values)
