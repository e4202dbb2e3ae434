"""Columns of text made by compiled loops (geo.kernels): floats as Python prints them
(`float_text`) and rows of fields side by side (`text_rows`), for the CSV and GeoJSON writers.

For fewer values (FEW_ROWS, or as many rows of 30 fields) Python does the same work, as numba
takes some tenths of a second to load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa

FEW_ROWS = 5_000  # values made by Python rather than by the compiled loops
_ROW_FIELDS = 30  # about a checked site list's width: rows are counted in rows of 30 fields
BLOCK_CELLS = 2_000_000  # fields (rows x columns) made into text at once: some tens of MB


def block_rows(columns: int, most: int) -> int:
    """Rows a block of `columns` fields may have (at most `most`): BLOCK_CELLS fields."""
    return max(1, min(most, BLOCK_CELLS // max(1, columns)))


# A field of a row: text per row, or (a table of texts, each row's position in it)
Field: TypeAlias = pa.Array | tuple[pa.Array, np.ndarray]


def _kernels() -> Any:
    from iszones.geo import kernels  # numba: loaded on the first long column

    return kernels


def patched(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """`base` with `values` in place of its `rows` (Arrow has no scatter: a take does it)."""
    order = np.arange(len(base))
    order[rows] = len(base) + np.arange(len(rows))
    return pa.concat_arrays([base, values.cast(base.type)]).take(pa.array(order))


def float_text(values: np.ndarray) -> pa.Array:
    """Floats as Python prints them (1234.5, 0.0, 12.05, 1e-05, inf), '' for NaN: those with
    up to 7 decimals by a compiled loop (kernels.decimal_text), the rare others by `repr`."""
    values = np.ascontiguousarray(values, dtype=float)
    if len(values) < FEW_ROWS:
        texts = ["" if np.isnan(v) else repr(v) for v in values.tolist()]
        return pa.array(texts, pa.large_string())
    offsets, data, done = _kernels().decimal_text(values)
    text = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))
    rows = np.flatnonzero(~done)
    if len(rows):
        text = patched(text, rows, pa.array([repr(v) for v in values[rows].tolist()]))
    return text


def constant(text: str, n: int) -> Field:
    """The same text in each of n rows, as a field."""
    return pa.array([text], pa.large_string()), np.zeros(n, dtype=np.int64)


def text_rows(
    fields: Sequence[Field],
    *,
    separator: str = "",
    quoted: Callable[[str], str] | None = None,
    special: np.ndarray | None = None,
) -> np.ndarray:
    """Rows (UTF-8 bytes, each ending in a newline) of `fields` side by side, joined by
    `separator` (one ASCII character, or none). Nulls are written empty. `quoted` makes an
    entry's text as written (CSV quoting, say), and `special` (256 flags) marks the bytes that
    make the compiled loop quote an entry the same way (kernels.text_rows)."""
    tables = [f[0] if isinstance(f, tuple) else f for f in fields]
    rows = [f[1] if isinstance(f, tuple) else None for f in fields]
    lengths = {len(t) if r is None else len(r) for t, r in zip(tables, rows, strict=True)}
    if len(lengths) > 1:
        raise ValueError(f"Fields of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    if n * len(fields) < FEW_ROWS * _ROW_FIELDS:
        write = quoted or str
        texts = [[write(v or "") for v in table.to_pylist()] for table in tables]
        lines = (
            separator.join(
                text[r if at is None else at[r]] for text, at in zip(texts, rows, strict=True)
            )
            for r in range(n)
        )
        return np.frombuffer("".join(f"{line}\n" for line in lines).encode("utf-8"), np.uint8)
    merged = pa.concat_arrays([t.cast(pa.large_string()) for t in tables] or [pa.array([""])])
    if merged.null_count:
        merged = merged.fill_null("")
    codes = np.empty((n, len(tables)), dtype=np.int64)
    start = 0
    for f, (table, at) in enumerate(zip(tables, rows, strict=True)):
        codes[:, f] = np.arange(n) if at is None else at  # codes of any int width
        codes[:, f] += start
        start += len(table)
    offsets = np.frombuffer(merged.buffers()[1], dtype=np.int64)
    offsets = offsets[merged.offset : merged.offset + len(merged) + 1]
    data = merged.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    flags = special if special is not None else np.zeros(256, dtype=np.bool_)
    return _kernels().text_rows(offsets, text, codes, flags, ord(separator) if separator else -1)
