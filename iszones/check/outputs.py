"""Writing a site check's results and listings: CSV (UTF-8 with a byte-order mark, true/false),
Excel (text stays text, never a formula), GeoJSON and GeoPackage; files are written atomically.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from iszones.check.columns import ARROW_TYPES, RESULT_COLUMNS, WGS84_DIGITS
from iszones.check.csvtext import cell_text, csv_field, csv_rows
from iszones.check.geopackage import LAYER, distinct_fields, write_geopackage_arrow
from iszones.data.atomic import atomic_output, atomic_path, write_bytes_atomic
from iszones.data.geojson import geojson_blocks, geojson_bytes
from iszones.errors import DataFileError
from iszones.geo.texts import block_rows, float_text
from iszones.inputs.text import (
    clean_text,
    safe_cell,
    spreadsheet_changes,
    spreadsheet_column,
    spreadsheet_text,
)

OUTPUT_FORMATS = (".csv", ".geojson", ".gpkg", ".xlsx")
CSV_BLOCK_ROWS = 100_000
XLSX_BLOCK_ROWS = 20_000  # rows made plain values at a time for Excel
_TEXT_KINDS = ("string", "empty")  # pandas' infer_dtype kinds of text
_JSON_KINDS = (*_TEXT_KINDS, "boolean", "floating")  # kinds GeoJSON writes as they are


def output_format(path: str | os.PathLike[str]) -> str:
    """The output suffix of `path` ('.csv', '.geojson', '.gpkg' or '.xlsx'), or DataFileError."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        suffix = ".geojson"
    if suffix not in OUTPUT_FORMATS:
        raise DataFileError(
            f"{path}: cannot write a {suffix or 'extensionless'!r} file."
            f" End the output name in one of: {', '.join(OUTPUT_FORMATS)}."
        )
    return suffix


def _cell(value: Any) -> Any:
    """A plain value for tables: lists and dicts as JSON, NaN/NA as None, numpy as Python."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple | dict | np.ndarray):
        listed = value.tolist() if isinstance(value, np.ndarray) else value
        return json.dumps(listed, ensure_ascii=False, default=str)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _plain_values(column: pd.Series, bool_text: bool, spreadsheet: bool = False) -> np.ndarray:
    """_cell for every value of a column (and true/false text when `bool_text`), without a
    Python call per value for the usual kinds of column: text, numbers, flags.

    `spreadsheet`: text made inert for CSV and XLSX (inputs.text.safe_cell: a leading apostrophe
    before a formula, bidi controls dropped); numbers are never touched.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):  # a result's text: each category once
        categories = _plain_values(pd.Series(column.cat.categories), bool_text, spreadsheet)
        with_none = np.array([*categories, None], dtype=object)  # code -1 (empty): None
        return with_none[column.cat.codes.to_numpy()]
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "empty":
        return np.full(len(column), None, dtype=object)
    values = column.astype(object).to_numpy(copy=True)
    values[pd.isna(values)] = None  # NaN, NA and NaT alike
    if kind == "string":  # Python str, None where missing
        if spreadsheet:  # Arrow finds the few cells to change; only those are rewritten
            for row in spreadsheet_changes(pa.array(values, pa.string())):
                values[row] = spreadsheet_text(values[row])
        return values
    if kind in ("floating", "integer", "mixed-integer-float") and not any(
        isinstance(v, np.generic) for v in values
    ):
        return values  # Python numbers, None where missing
    if kind == "boolean" and not any(isinstance(v, np.generic) for v in values):
        if bool_text:
            known = np.flatnonzero(pd.notna(values))
            values[known] = np.where(values[known].astype(bool), "true", "false")
        return values
    cells = [_cell(v) for v in values]  # numpy scalars, lists, dates, mixtures: one by one
    if bool_text:
        cells = [("true" if v else "false") if isinstance(v, bool) else v for v in cells]
    if spreadsheet:
        cells = [safe_cell(v) for v in cells]
    return np.array(cells, dtype=object)


def _plain_table(
    result: gpd.GeoDataFrame, *, bool_text: bool, spreadsheet: bool = False
) -> pd.DataFrame:
    """The attribute table as plain values; `spreadsheet`: names and text made inert too."""
    table = pd.DataFrame(result.drop(columns=result.geometry.name))
    for column in table.columns:
        values = _plain_values(table[column], bool_text, spreadsheet)
        table[column] = pd.Series(values, index=table.index, dtype=object)
    if spreadsheet:
        table.columns = [spreadsheet_text(str(c)) for c in table.columns]
    return table


def result_bytes(
    result: gpd.GeoDataFrame,
    suffix: str,
    *,
    include_wkt: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The check results as a file's bytes; format by suffix (see OUTPUT_FORMATS).

    CSV is UTF-8 with a byte-order mark (so Excel reads it right) and true/false; XLSX keeps
    booleans and numbers as such and never turns text into formulas. In both, text that starts
    like a formula (= + - @ tab CR, not a plain number) gets a leading apostrophe. Neither
    carries geometry unless `include_wkt` (CSV only: a `wkt` column, for inputs that were shapes,
    not coordinates).
    GeoJSON is WGS84; GeoPackage keeps the input's CRS.
    """
    suffix = output_format(f"out{suffix}")
    if suffix == ".csv":
        return b"".join(_csv_parts(result, include_wkt))
    if suffix == ".xlsx":
        buffer = io.BytesIO()
        _xlsx(result, buffer, progress)
        return buffer.getvalue()
    if suffix == ".geojson":
        return b"".join(_geojson_parts(result))
    return _geopackage(result)


def _geojson_parts(result: gpd.GeoDataFrame) -> Iterator[bytes]:
    """The results as GeoJSON, block by block (data.geojson), as the streamed check writes
    them: result columns typed as for Parquet (columns.ARROW_TYPES; zone numbers as text),
    other text, numbers and flags as they are, anything else as _plain_values makes it for
    tables (lists and dicts as JSON text, dates in ISO 8601)."""
    frame = result.copy(deep=False)
    for i, column in enumerate(result.columns):
        values = result.iloc[:, i]
        if column == result.geometry.name or (
            isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf"
        ):
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):  # a result's text, None where empty
            values = pd.Series(_plain_values(values, bool_text=False), dtype=object)
            frame.isetitem(i, values.set_axis(result.index))
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if column in RESULT_COLUMNS and column not in ARROW_TYPES and kind not in _TEXT_KINDS:
            text = _arrow_column(values).cast(pa.string()).to_numpy(zero_copy_only=False)
            frame.isetitem(i, pd.Series(text, index=result.index, dtype=object))
        elif kind not in _JSON_KINDS:
            plain = _plain_values(values, bool_text=False)
            frame.isetitem(i, pd.Series(plain, index=result.index, dtype=object))
    return geojson_blocks(frame, name=LAYER, digits=WGS84_DIGITS)


def _arrow_column(values: pd.Series) -> pa.Array:
    """A plain column as Arrow, typed as pyarrow infers it; text when its kinds are mixed or
    it has no value at all."""
    try:
        array = pa.array(values.to_numpy(dtype=object), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array([None if v is None else str(v) for v in values], pa.string())
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def _geopackage_column(column: pd.Series) -> pa.Array:
    """A column for the GeoPackage: numbers straight from numpy and text straight from its
    strings (NaN and None as null), anything else as _plain_values makes it (true/false as
    text). A result column other than the distances is text, as the streamed check writes it
    (stream.geopackage_table): zone numbers too."""
    if column.dtype.kind in "fiu":
        return pa.array(column.to_numpy(), from_pandas=True)
    if isinstance(column.dtype, pd.CategoricalDtype):  # a result's text, say: its plain values
        column = pd.Series(_plain_values(column, bool_text=True), dtype=object, name=column.name)
    try:  # a column of text only, the usual kind
        return pa.array(column, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    array = _arrow_column(pd.Series(_plain_values(column, bool_text=True), dtype=object))
    return array.cast(pa.string()) if column.name in RESULT_COLUMNS else array


def write_geopackage(result: gpd.GeoDataFrame, path: Path, shown: object = None) -> None:
    """A GeoPackage layer 'checked_sites' at `path` (a new file), written through GDAL's Arrow
    interface: columns at a time, not a Python object per value. GDAL's failures (a full disk,
    say) are DataFileError naming `shown` (default: `path`)."""
    geometry = result.geometry
    skip = result.columns.get_loc(geometry.name)  # columns by position: no copy of the frame
    table = [result.iloc[:, i] for i in range(result.shape[1]) if i != skip]
    kinds = set(geometry.geom_type.dropna())
    names = distinct_fields([*(str(c.name) for c in table), "geometry"])
    arrow = pa.table(
        [*map(_geopackage_column, table), pa.array(shapely.to_wkb(geometry.array), pa.binary())],
        names=names,
    )
    write_geopackage_arrow(
        arrow,
        path,
        geometry_type=kinds.pop() if len(kinds) == 1 else "Unknown",
        crs=geometry.crs.to_wkt() if geometry.crs is not None else None,
        shown=shown,
    )


def _geopackage(result: gpd.GeoDataFrame) -> bytes:
    """write_geopackage's bytes, through a file: SQLite in GDAL's memory files grows slower
    (7.6 s against 5.3 s for 1M rows)."""
    with tempfile.TemporaryDirectory(prefix="iszones-") as folder:
        path = Path(folder) / "checked.gpkg"
        write_geopackage(result, path)
        return path.read_bytes()


def _csv_text_column(name: str, values: np.ndarray) -> pa.Array:
    """A column of plain values (_plain_values, true/false as text) as CSV cells hold them
    (csvtext.cell_text), as the streamed check writes them: text and floats a column at a time."""
    if ARROW_TYPES.get(name) == pa.float64():  # a result distance: as Column.csv prints it
        return float_text(np.array(values, dtype=float))  # None becomes NaN, written empty
    try:
        text = pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        kinds = {type(v) for v in values} - {type(None)}
        if kinds <= {int}:  # Arrow prints ints as str() does
            return pa.array(values, pa.int64()).cast(pa.string()).fill_null("")
        if kinds <= {float}:  # a spreadsheet's coordinates, say: as repr() prints them
            return float_text(np.array(values, dtype=float))
        return pa.array([cell_text(v) for v in values], pa.string())  # as str() prints each
    return spreadsheet_column(text.fill_null(""))


def _csv_parts(result: gpd.GeoDataFrame, include_wkt: bool) -> Iterator[bytes]:
    """CSV with a byte-order mark and "\\n" line ends, through the stream's writer, in blocks of
    CSV_BLOCK_ROWS rows (fewer for a wide table: geo.texts.block_rows): only one block's plain
    values and text are held at a time. Text is made inert as it is written (spreadsheet_column
    and cell_text neutralise every text cell)."""
    table = pd.DataFrame(result.drop(columns=result.geometry.name))
    names = [str(c) for c in table.columns] + (["wkt"] if include_wkt else [])
    yield ("\ufeff" + ",".join(csv_field(n) for n in names) + "\n").encode("utf-8")
    rows = block_rows(len(names), CSV_BLOCK_ROWS)
    for start in range(0, len(table), rows):
        block = table.iloc[start : start + rows]
        fields = [
            _csv_text_column(str(name), _plain_values(block.iloc[:, k], bool_text=True))
            for k, name in enumerate(table.columns)
        ]
        if include_wkt:
            geoms = result.geometry.array[start : start + rows]
            wkt = shapely.to_wkt(geoms, rounding_precision=-1)
            fields.append(spreadsheet_column(pa.array(wkt, pa.string())))
        if fields:
            yield csv_rows(fields).tobytes()


EXCEL_MAX_ROWS = 1_048_576  # rows in a worksheet, header included
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,15})?")
_MIN_WIDTH, _MAX_WIDTH = 8, 60


def excel_number(text: str) -> float | int | None:
    """A text cell that is plainly a number (435100, -1.4746, 0.5) as that number, else None.

    Codes with leading zeros ('007', '0115'), thousands separators, exponents and over 15
    digits stay text, so no id or phone number is changed by Excel's rounding.
    """
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


def require_excel_rows(rows: int) -> None:
    """DataFileError when `rows` rows (under a header) do not fit in an Excel sheet."""
    if rows + 1 > EXCEL_MAX_ROWS:
        raise DataFileError(
            f"{rows:,} rows do not fit in an Excel sheet (at most"
            f" {EXCEL_MAX_ROWS - 1:,} under the header). Write a .csv or .gpkg instead."
        )


def _xlsx(
    result: gpd.GeoDataFrame,
    out: BinaryIO,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The results as one sheet written into `out`: header frozen, auto-filter on, columns as
    wide as their content (within limits); numbers as numbers (plain-number text too), text as
    text, never formulas. Rows are made plain XLSX_BLOCK_ROWS at a time (_plain_table), so
    memory holds one block's cells, not every row's; openpyxl's write-only sheet keeps its rows
    in a temporary file until the workbook is saved."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    require_excel_rows(len(result))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("checked_sites")
    n = len(result)
    sample = _plain_table(result.iloc[:200], bool_text=False, spreadsheet=True)
    columns = [str(c) for c in sample.columns]
    for pos, name in enumerate(columns, start=1):
        longest = max([len(name), *(len(str(v)) for v in sample.iloc[:, pos - 1] if v is not None)])
        width = min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(pos)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{n + 1}"

    def cell(value: Any) -> Any:
        """The value as openpyxl appends it; a cell of its own only for text openpyxl would
        take as a formula or an error code (a cell costs openpyxl an exception to append)."""
        if not isinstance(value, str):
            return value
        number = excel_number(value)
        if number is not None:
            return number
        text = ILLEGAL_CHARACTERS_RE.sub("", value)[:32767]
        if not text.startswith("=") and text not in ERROR_CODES:
            return text
        kept = WriteOnlyCell(sheet, value=text)
        kept.data_type = "s"  # text stays text: '=1+1' must not become a formula
        return kept

    header = []
    for name in columns:
        title = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", name)[:32767])
        title.data_type = "s"
        header.append(title)
    sheet.append(header)
    done = 0
    for start in range(0, n, XLSX_BLOCK_ROWS):
        block = _plain_table(
            result.iloc[start : start + XLSX_BLOCK_ROWS], bool_text=False, spreadsheet=True
        )
        for row in block.itertuples(index=False, name=None):
            sheet.append([cell(value) for value in row])
            done += 1
            if progress is not None and (done % 10_000 == 0 or done == n):
                progress(done, n)
    book.save(out)


def _flat_lists(frame: gpd.GeoDataFrame, columns: Sequence[str] | None) -> gpd.GeoDataFrame:
    """Lists of names or ids as 'a; b' text (lists of records stay JSON, in _cell)."""
    chosen = list(columns) if columns is not None else [c for c in frame if c != "geometry"]
    out = gpd.GeoDataFrame(frame[chosen], geometry=frame.geometry.array, crs=frame.crs)
    for column in chosen:
        values = out[column]
        scalar_lists = values.map(
            lambda v: isinstance(v, list | tuple) and all(not isinstance(i, dict) for i in v)
        )
        if scalar_lists.any():
            out[column] = values.where(
                ~scalar_lists, values.map(lambda v: "; ".join(map(str, v)) if v else "")
            )
    return out


def listing_table(frame: pd.DataFrame, columns: Sequence[str], width: int = 48) -> str:
    """A left-aligned plain-text table of `columns`; values longer than `width` end in '...'."""
    flat = _flat_lists(gpd.GeoDataFrame(frame), columns)
    rows = [[str(c) for c in columns]]
    for record in flat[list(columns)].itertuples(index=False):
        cells = ["" if _cell(v) is None else clean_text(str(_cell(v))) for v in record]
        rows.append([c if len(c) <= width else c[: width - 3] + "..." for c in cells])
    if len(rows) == 1:
        return "(none)"
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def listing_bytes(
    frame: gpd.GeoDataFrame, suffix: str, *, columns: Sequence[str] | None = None
) -> bytes:
    """Zones or sites as a file (format by suffix), lists of names joined with '; '.

    GeoJSON keeps every property as it is (lists stay lists); tables take `columns` (all when
    None) and carry no geometry.
    """
    suffix = output_format(f"out{suffix}")
    if suffix == ".geojson":
        return geojson_bytes(frame, digits=6)
    return result_bytes(_flat_lists(frame, columns), suffix)


def write_result(
    result: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    include_wkt: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write the check results to `path` (format by extension), atomically; `progress` is
    called with (rows written, rows) while an Excel file is written (the slow one)."""
    suffix = output_format(path)
    if suffix == ".gpkg":  # GDAL writes the file itself, beside `path`
        with atomic_path(path) as tmp:
            tmp.unlink()  # GDAL makes a GeoPackage only where there is no file
            write_geopackage(result, tmp, shown=path)
        return
    if suffix in (".csv", ".geojson"):  # block by block into the file
        parts = _csv_parts(result, include_wkt) if suffix == ".csv" else _geojson_parts(result)
        with atomic_output(path) as out:
            for part in parts:
                out.write(part)
        return
    if suffix == ".xlsx":  # straight into the file, not a copy in memory first
        with atomic_output(path) as out:
            _xlsx(result, out, progress)
        return
    payload = result_bytes(result, suffix, include_wkt=include_wkt, progress=progress)
    write_bytes_atomic(path, payload)
