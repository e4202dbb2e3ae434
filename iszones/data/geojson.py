"""GeoJSON text of a frame (WGS84), one feature per line, written a block of rows at a time.

Each feature is what `json.dumps(feature, ensure_ascii=False, separators=(",", ":"))` writes
for {"type": "Feature", "properties": {...}, "geometry": {...}}, and the file is the same bytes
whatever the block size. The usual columns (text, numbers, flags) and point geometries become
JSON texts a column at a time (Arrow, and geo.texts' loops for numbers), anything else (lists,
dicts, shapes other than points) one value at a time by `json`; the features' lines are then
written by the compiled loop that writes CSV rows (geo.texts.text_rows). A million checked
sites take seconds, and memory for one block, not a Python object per value. The streamed check
(check.stream) writes its blocks with the same pieces.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry import mapping

from iszones.errors import CRSError
from iszones.geo.texts import Field, block_rows, constant, float_text, patched, text_rows
from iszones.schema import STORAGE_CRS

if TYPE_CHECKING:
    import geopandas as gpd

BLOCK_ROWS = 50_000  # features made into text at once
_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}
_ESCAPED = r'["\\\x00-\x1f]'  # what json.dumps escapes in text, with ensure_ascii=False
_TEXT = pa.large_string()
# Columns of Python objects of one of these kinds (pandas' infer_dtype) are typed by Arrow
_ARROW_KINDS = {
    "string": _TEXT,
    "empty": _TEXT,
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "floating": pa.float64(),
}


def geojson_opening(name: str | None = None) -> bytes:
    """A FeatureCollection's text up to its first feature."""
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        head["name"] = name
    return (json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n').encode()


GEOJSON_CLOSING = b"\n]}\n"
FEATURE_SEPARATOR = b",\n"  # between features, one per line


def geojson_blocks(
    frame: gpd.GeoDataFrame, *, name: str | None = None, digits: int = 6
) -> Iterator[bytes]:
    """The FeatureCollection as UTF-8, in parts: the opening, the features BLOCK_ROWS at a
    time (fewer for many properties: geo.texts.block_rows; FEATURE_SEPARATOR between blocks),
    the closing. Coordinates are rounded to `digits`
    decimals (a shape that the rounding breaks is repaired); NaN, infinities and missing
    values are null."""
    import geopandas as gpd  # loaded only for frames: the streamed check writes points

    if frame.crs is None:
        raise CRSError("Cannot write GeoJSON from data with no CRS. Set one first with set_crs().")
    yield geojson_opening(name)
    geometry = frame.geometry.name
    columns = [i for i, c in enumerate(frame.columns) if c != geometry]
    keys = [frame.columns[i] for i in columns]
    rows = block_rows(2 * len(columns) + 3, BLOCK_ROWS)  # a key and a value per property
    for start in range(0, len(frame), rows):
        block = frame.iloc[start : start + rows]
        shapes = gpd.GeoSeries(block.geometry.array, crs=frame.crs)
        if not shapes.crs.equals(STORAGE_CRS):
            shapes = shapes.to_crs(STORAGE_CRS)
        values = [_json_values(block.iloc[:, i]) for i in columns]
        if start:
            yield FEATURE_SEPARATOR
        yield feature_lines(keys, values, geometry_texts(shapes, digits)).tobytes()
    yield GEOJSON_CLOSING


def geojson_bytes(frame: gpd.GeoDataFrame, *, name: str | None = None, digits: int = 6) -> bytes:
    """geojson_blocks as one piece: for files of zones and sites, and downloads."""
    return b"".join(geojson_blocks(frame, name=name, digits=digits))


def feature_lines(
    keys: Sequence[Hashable], values: Sequence[Field], geometry: pa.Array
) -> np.ndarray:
    """Features as UTF-8 bytes, one per line with FEATURE_SEPARATOR between them: each row's
    properties (`keys`, with their JSON texts in `values`: per row, or a table and each row's
    position in it) and its geometry's JSON text."""
    n = len(geometry)
    if not n:
        return np.zeros(0, dtype=np.uint8)
    fields: list[Field] = []
    opening = '{"type":"Feature","properties":{'
    for k, (key, texts) in enumerate(zip(keys, values, strict=True)):
        fields += [constant(opening + ("," if k else "") + _key(key) + ":", n), texts]
        opening = ""
    fields += [constant(opening + '},"geometry":', n), geometry, constant("},", n)]
    return text_rows(fields)[: -len(FEATURE_SEPARATOR)]  # rows end "},\n"; the last "}"


def json_texts(values: pa.Array) -> pa.Array:
    """Each value of a typed Arrow array (flags, numbers, text) as JSON text; null for none."""
    kind = values.type
    if pa.types.is_boolean(kind):
        texts = pc.if_else(values, pa.scalar("true", _TEXT), pa.scalar("false", _TEXT))
    elif pa.types.is_floating(kind):
        return _json_floats(values.to_numpy(zero_copy_only=False))
    elif pa.types.is_integer(kind):
        texts = values.cast(_TEXT)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _json_strings(values.cast(_TEXT))
    else:
        texts = pa.nulls(len(values), _TEXT)
    return texts.fill_null("null")


def point_texts(x: np.ndarray, y: np.ndarray, digits: int) -> pa.Array:
    """Points (WGS84 longitude x, latitude y) as GeoJSON geometries, coordinates rounded to
    `digits` decimals; null where x is NaN."""
    x, y = np.round(x, digits), np.round(y, digits)
    texts = _joined(
        pa.scalar('{"type":"Point","coordinates":[', _TEXT),
        float_text(x),
        pa.scalar(",", _TEXT),
        float_text(y),
        pa.scalar("]}", _TEXT),
    )
    return pc.if_else(pa.array(np.isnan(x)), pa.scalar("null", _TEXT), texts)


def geometry_texts(shapes: gpd.GeoSeries, digits: int) -> pa.Array:
    """Each geometry (WGS84) as json writes shapely's mapping of it, coordinates rounded; null
    when missing or empty. Two-dimensional points a column at a time, the rest one by one."""
    geoms = np.asarray(shapes.array, dtype=object)
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    point = ~missing & (shapely.get_type_id(geoms) == 0) & ~shapely.has_z(geoms)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[point], y[point] = shapely.get_coordinates(geoms[point]).T
    texts = point_texts(x, y, digits)
    other = np.flatnonzero(~missing & ~point)
    if len(other):
        shaped = [json.dumps(mapping(_rounded(geoms[i], digits)), **_COMPACT) for i in other]  # type: ignore[arg-type]
        texts = patched(texts, other, pa.array(shaped, _TEXT))
    return texts


def _key(name: Hashable) -> str:
    """A property's name as json writes a dict key (numbers as text, say)."""
    return json.dumps({name: 0}, **_COMPACT)[1:-3]  # type: ignore[arg-type]


def _joined(*parts: Any) -> pa.Array:
    """Texts and scalars end to end, row by row (null where any is null)."""
    return pc.binary_join_element_wise(*parts, pa.scalar("", _TEXT))


def _json_values(column: pd.Series) -> Field:
    """Each value of a column as JSON text (null for NaN, None and NA): flags, numbers and
    text by Arrow (Python strings as a table of the distinct ones and each row's position in
    it), anything else (lists, dicts, mixtures) one by one."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        return json_texts(pa.array(column.to_numpy()))
    if isinstance(column.dtype, pd.StringDtype):  # Arrow's text already, in chunks maybe
        text = pa.array(column)
        return json_texts(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text)
    values = column.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":  # a result column's few names, say: each written once
        codes, distinct = pd.factorize(values)
        table = json_texts(pa.array([*distinct, None], _TEXT))
        return table, np.where(codes < 0, len(distinct), codes)
    typed = _ARROW_KINDS.get(kind)
    if typed is not None:
        try:
            return json_texts(pa.array(values, typed, from_pandas=True))
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):  # integers beyond 64 bits
            pass
    return pa.array([json.dumps(json_value(v), **_COMPACT) for v in values], _TEXT)  # type: ignore[arg-type]


def _json_floats(values: np.ndarray) -> pa.Array:
    """Floats as json writes them (Python's repr), null where not finite."""
    values = np.asarray(values, dtype=float)
    texts = float_text(np.where(np.isfinite(values), values, np.nan))
    return pc.if_else(pc.equal(texts, ""), pa.scalar("null", _TEXT), texts)


def _json_strings(text: pa.Array) -> pa.Array:
    """Text as json writes it: quoted, escaped where it must be; null for none."""
    quoted = _joined(pa.scalar('"', _TEXT), text, pa.scalar('"', _TEXT))
    escaped = np.flatnonzero(pc.match_substring_regex(text, _ESCAPED).fill_null(False))
    if len(escaped):
        texts = [json.dumps(text[int(i)].as_py(), ensure_ascii=False) for i in escaped]
        quoted = patched(quoted, escaped, pa.array(texts, _TEXT))
    return quoted.fill_null("null")


def _rounded(geom: Any, digits: int) -> Any:
    """Coordinates rounded; rounding can fold a thin sliver, so what it breaks is repaired."""
    from iszones.geo.spatial import make_valid_keeping_type  # geopandas: not for points

    return make_valid_keeping_type(shapely.transform(geom, lambda xy: np.round(xy, digits)))


def json_value(value: Any) -> Any:
    """A value json can write: numpy as Python, NaN and NA as None, arrays as lists."""
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value
