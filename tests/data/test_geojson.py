"""GeoJSON text of frames: the bytes `json` writes for each feature, whatever the block size
and whichever writer (compiled or Python) makes the rows."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, mapping

from iszones.data import geojson
from iszones.data.geojson import geojson_bytes
from iszones.errors import CRSError
from iszones.geo import texts

TEXTS = [
    "plain",
    'say "hi"',
    "back\\slash",
    "two\nlines",
    "tab\there",
    "bell\x07",
    "£1.2m – Café ✓",
    "\u202eRLO",
    "{{7*7}} <b>x</b>",
    "",
]


@pytest.fixture(autouse=True, params=["compiled, blocks of 3", "python, one block"])
def writer(request, monkeypatch):
    compiled = request.param.startswith("compiled")
    monkeypatch.setattr(texts, "FEW_ROWS", 0 if compiled else 10**9)
    monkeypatch.setattr(geojson, "BLOCK_ROWS", 3 if compiled else 10**6)


def _json_written(frame: gpd.GeoDataFrame, name: str | None, digits: int) -> bytes:
    """What json.dumps writes for each feature, made one by one: the reference."""

    def plain(value):
        if value is None or value is pd.NA:
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not np.isfinite(value):
            return None
        if isinstance(value, np.ndarray):
            return [plain(v) for v in value.tolist()]
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    wgs84 = frame.to_crs("EPSG:4326")
    lines = []
    for i in range(len(wgs84)):
        row = wgs84.iloc[i]
        geom = row[wgs84.geometry.name]
        shape = None
        if geom is not None and not geom.is_empty:
            shape = mapping(shapely.transform(geom, lambda xy: np.round(xy, digits)))
        properties = {k: plain(v) for k, v in row.items() if k != wgs84.geometry.name}
        feature = {"type": "Feature", "properties": properties, "geometry": shape}
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    head = {"type": "FeatureCollection", **({"name": name} if name else {})}
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n'
    return (opening + ",\n".join(lines) + "\n]}\n").encode()


def _frame() -> gpd.GeoDataFrame:
    n = len(TEXTS)
    rng = np.random.default_rng(2)
    geoms = [Point(435_000 + 1000 * i, 335_000 + 777.7 * i) for i in range(n)]
    geoms[1] = None
    geoms[2] = Point()
    geoms[3] = Polygon([(435_000, 335_000), (436_000, 335_000), (436_000, 336_500)])
    geoms[4] = Point(435_000, 335_000, 12.5)
    floats = rng.uniform(-1e6, 1e6, n)
    floats[:6] = [np.nan, np.inf, -0.0, 1e-05, 0.1 + 0.2, 2500.0]
    return gpd.GeoDataFrame(
        {
            "text": TEXTS,
            "str_dtype": pd.Series([*TEXTS[:-1], None], dtype="str"),
            "with_none": [None if i % 3 == 0 else t for i, t in enumerate(TEXTS)],
            "flag": [i % 2 == 0 for i in range(n)],
            "flag_or_none": [None, True, False, *([True] * (n - 3))],
            "count": np.arange(n) * 10**12,
            "nullable": pd.array([None, *range(n - 1)], dtype="Int64"),
            "number": floats,
            "number_or_none": [None, 1.5, np.float64(2.25), *([None] * (n - 3))],
            "whole_or_none": [None, 1, np.int64(2), *range(n - 3)],
            "mixed": [1, True, 1.0, "1", None, [1, "a"], {"k": [np.nan]}, 2**70, 0.5, "x"],
            "listed": [["Clean Energy", 'a "b"'], [], *([["x"]] * (n - 2))],
            5: list(range(n)),
        },
        geometry=geoms,
        crs="EPSG:27700",
    )


@pytest.mark.parametrize("digits", [5, 7])
def test_features_are_what_json_writes(digits):
    frame = _frame()
    written = geojson_bytes(frame, name="checked £ sites", digits=digits)
    assert written == _json_written(frame, "checked £ sites", digits)
    features = json.loads(written)["features"]
    assert [f["properties"]["text"] for f in features] == TEXTS
    assert features[0]["properties"]["number"] is None  # NaN
    assert features[1]["properties"]["number"] is None  # infinity: not a JSON number
    assert features[1]["geometry"] is None and features[2]["geometry"] is None
    assert features[3]["geometry"]["type"] == "Polygon"
    assert features[4]["geometry"]["type"] == "Point"
    assert features[0]["properties"]["mixed"] == 1 and features[1]["properties"]["mixed"] is True
    assert features[7]["properties"]["mixed"] == 2**70
    assert features[0]["properties"]["5"] == 0


def test_rows_in_another_order_and_index_write_the_same_features():
    frame = _frame()
    shuffled = frame.iloc[::-1].set_index(pd.Index([f"r{i}" for i in range(len(frame))]))
    lines = geojson_bytes(frame, digits=6).decode().splitlines()
    again = geojson_bytes(shuffled, digits=6).decode().splitlines()
    features = [line.rstrip(",") for line in lines[1:-1]]
    assert [line.rstrip(",") for line in again[1:-1]] == features[::-1]


def test_a_frame_in_wgs84_is_not_converted_and_an_empty_one_is_valid():
    frame = gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[Point(-1.123456789, 52.987654321)], crs="EPSG:4326"
    )
    feature = json.loads(geojson_bytes(frame, digits=7))["features"][0]
    assert feature["geometry"]["coordinates"] == [-1.1234568, 52.9876543]
    empty = geojson_bytes(frame.iloc[:0], name="none")
    assert json.loads(empty) == {"type": "FeatureCollection", "name": "none", "features": []}


def test_text_held_by_arrow_in_several_chunks():
    """A `str` column read in blocks is Arrow text in chunks (escapes in a later one)."""
    names = pd.concat(
        [pd.Series(["a", None], dtype="str"), pd.Series(['say "b"', "c\\d"], dtype="str")],
        ignore_index=True,
    )
    points = [Point(-1.5, 52.9 + i / 100) for i in range(4)]
    frame = gpd.GeoDataFrame({"name": names}, geometry=points, crs="EPSG:4326")
    written = geojson_bytes(frame)
    assert written == _json_written(frame, None, 6)
    assert [f["properties"]["name"] for f in json.loads(written)["features"]] == [
        "a",
        None,
        'say "b"',
        "c\\d",
    ]


def test_no_crs_is_refused():
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(1, 2)])
    with pytest.raises(CRSError, match="no CRS"):
        geojson_bytes(frame)
