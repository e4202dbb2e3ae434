"""CSV text of a check's results, written as Python's csv writer (and so pandas) writes it:
fields quoted where that writer quotes them, floats as Python prints them, true/false for flags.

Every CSV the check writes goes through `csv_rows`, the stream's blocks and whole frames alike.
Its compiled loop (kernels.csv_lines) runs without the GIL, so the threads checking a file's
blocks write them at once; under FEW_ROWS rows Python writes them, as numba takes some tenths of
a second to load. Text is made inert for spreadsheets before it gets here
(inputs.text.spreadsheet_column), and quoted here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa

from iszones.inputs.text import spreadsheet_text


def _probe_quoting() -> str:
    """The characters that make Python's csv writer (which pandas uses) quote a field."""
    quoted = []
    for char in ',"\n\r':
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([f"a{char}b", "c"])
        if buffer.getvalue().startswith('"'):
            quoted.append(char)
    return "".join(quoted)


# A carriage return too: Python's writer leaves it bare with "\n" line ends, and a spreadsheet
# reads a bare one as the end of a row (the rest of the value becoming a row of its own).
QUOTED_CHARS = "".join(dict.fromkeys(_probe_quoting() + "\r"))
_SPECIAL = np.zeros(256, dtype=np.bool_)
_SPECIAL[[ord(c) for c in QUOTED_CHARS]] = True

FEW_ROWS = 5_000  # rows written by Python rather than by the compiled loops

# A field of a CSV: text per row, or (a table of texts, each row's position in it)
Field: TypeAlias = pa.Array | tuple[pa.Array, np.ndarray]


def _kernels() -> Any:
    from iszones.geo import kernels  # numba: loaded on the first rows written

    return kernels


def cell_text(value: Any) -> str:
    """One value as a CSV cell holds it, before quoting: '' for none, true/false, numbers as
    str() prints them, text made inert (inputs.text.spreadsheet_text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, np.generic):
        value = value.item()
    return spreadsheet_text(value) if isinstance(value, str) else str(value)


def csv_field(value: Any) -> str:
    """One CSV field (a header's name, say): cell_text, quoted when it must be."""
    return _quoted(cell_text(value))


def _quoted(text: str) -> str:
    if any(c in text for c in QUOTED_CHARS):
        return '"' + text.replace('"', '""') + '"'
    return text


def patched(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """`base` with `values` in place of its `rows` (Arrow has no scatter: a take does it)."""
    order = np.arange(len(base))
    order[rows] = len(base) + np.arange(len(rows))
    return pa.concat_arrays([base, values.cast(base.type)]).take(pa.array(order))


def float_text(values: np.ndarray) -> pa.Array:
    """Floats as Python prints them (1234.5, 0.0, 12.05, 1e-05), '' for NaN: whole cents by a
    compiled loop (kernels.cent_text), the rare others by Python."""
    values = np.ascontiguousarray(values, dtype=float)
    if len(values) < FEW_ROWS:
        return pa.array(["" if np.isnan(v) else repr(float(v)) for v in values], pa.string())
    offsets, data, done = _kernels().cent_text(values)
    text = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))
    rows = np.flatnonzero(~done)
    if len(rows):
        text = patched(text, rows, pa.array([repr(float(v)) for v in values[rows]]))
    return text


def csv_rows(fields: Sequence[Field]) -> np.ndarray:
    """Rows of CSV (UTF-8 bytes, each row ending in a newline) of `fields` side by side: each a
    text column, or a table of texts taken by each row's position in it. Nulls are written
    empty; text is written as given (made inert by the caller) and quoted where it must be."""
    tables = [f[0] if isinstance(f, tuple) else f for f in fields]
    rows = [f[1] if isinstance(f, tuple) else None for f in fields]
    lengths = {len(t) if r is None else len(r) for t, r in zip(tables, rows, strict=True)}
    if len(lengths) > 1:
        raise ValueError(f"CSV fields of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    if n < FEW_ROWS:
        texts = [[_quoted(v or "") for v in table.to_pylist()] for table in tables]
        lines = (
            ",".join(text[r if at is None else at[r]] for text, at in zip(texts, rows, strict=True))
            for r in range(n)
        )
        return np.frombuffer("".join(f"{line}\n" for line in lines).encode("utf-8"), np.uint8)
    merged = pa.concat_arrays([t.cast(pa.large_string()) for t in tables] or [pa.array([""])])
    if merged.null_count:
        merged = merged.fill_null("")
    codes = np.empty((n, len(tables)), dtype=np.int64)
    start = 0
    for f, (table, at) in enumerate(zip(tables, rows, strict=True)):
        codes[:, f] = start + (np.arange(n) if at is None else at)
        start += len(table)
    offsets = np.frombuffer(merged.buffers()[1], dtype=np.int64)
    offsets = offsets[merged.offset : merged.offset + len(merged) + 1]
    data = merged.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return _kernels().csv_lines(offsets, text, codes, _SPECIAL)
