"""Reading users' site and boundary files, and writing results: every bad-input case says
which file, which row, what is wrong and how to fix it."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from shapely.geometry import Point, Polygon, box

from iszones.errors import CRSError, DataFileError
from iszones.inputs import coordinates
from iszones.inputs.coordinates import find_coordinate_columns, parse_crs
from iszones.inputs.csvparse import UNCLOSED_QUOTE
from iszones.inputs.readers import read_boundary_bytes, read_site_bytes, read_site_file
from tests.conftest import TESTS, X0, Y0

FIXTURES = TESTS / "fixtures" / "check"


def csv_sites(text: str, name: str = "sites.csv", **kwargs):
    return read_site_bytes(text.encode("utf-8"), name, **kwargs)


def xy(table) -> list[tuple[float, float]]:
    return [(round(g.x, 6), round(g.y, 6)) for g in table.frame.geometry if g is not None]


# ---------------------------------------------------------------- CSV: columns and CRS


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (["lat", "lon"], "lonlat"),
        (["Latitude", "Longitude"], "lonlat"),
        (["LAT", "LNG"], "lonlat"),
        (["latitude", "long"], "lonlat"),
        (["Easting", "Northing"], "en"),
        (["EASTINGS", "northings"], "en"),
        (["X", "Y"], "xy"),
        (["x_coord", "y_coord"], "xy"),
        (["lat", "lon", "x", "y"], "lonlat"),  # named pairs win over x/y
    ],
)
def test_coordinate_columns_found_by_common_names(header, kind):
    assert find_coordinate_columns(["name", *header], "f.csv")[2] == kind


def test_bng_csv_read_as_british_national_grid():
    table = csv_sites("name,Easting,Northing\nA,435100,335100\n")
    assert table.frame.crs.to_epsg() == 27700
    assert xy(table) == [(435100, 335100)]
    assert "EPSG:27700" in table.crs_note and "'Easting'/'Northing'" in table.crs_note


def test_utf8_bom_semicolons_and_decimal_commas():
    table = read_site_bytes(
        "\ufeffnom;lat;lon\nCafé;52,91;-1,48\n".encode(), "sites.csv"
    )  # Excel's "CSV UTF-8" in a comma-decimal locale
    assert list(table.frame.columns) == ["nom", "lat", "lon", "geometry"]
    assert table.frame.loc[0, "nom"] == "Café"
    assert xy(table) == [(-1.48, 52.91)]


def test_short_rows_are_padded():
    table = csv_sites("name,lat,lon,notes\nA,52.91,-1.48\n")
    assert table.problems.tolist() == [""] and table.frame.loc[0, "notes"] == ""


def test_tabs_and_thousands_separators():
    table = csv_sites('name,easting,northing\nA,"435,100","335,100"\n')
    assert xy(table) == [(435100, 335100)]
    table = csv_sites("name\teasting\tnorthing\nA\t435100\t335100\n")
    assert xy(table) == [(435100, 335100)]


PLAIN_DECIMALS = st.from_regex(
    r"\A[+-]?([0-9]{1,20}\.?[0-9]{0,20}|\.[0-9]{1,20})([eE][+-]?[0-9]{1,3})?\Z"
)
ODD_CELLS = st.sampled_from(
    ["", "  ", " 1.5 ", "n/a", "1,200", "1,200.5", "nan", "inf", "-0", "1e400", "1e-400", "1.", "."]
)


def python_number(cell: str) -> float:
    """What a cell means, by Python's own (correctly rounded) parser: NaN for no number."""
    text = cell.strip()
    if text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit() and "," in text:
        text = text.replace(",", "")  # a thousands separator
    try:
        value = float(text)
    except ValueError:
        return float("nan")
    return value if np.isfinite(value) else float("nan")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PLAIN_DECIMALS, ODD_CELLS), min_size=1, max_size=30))
def test_coordinate_cells_read_exactly_as_python_reads_them(cells):
    values, empty = coordinates._numbers(pa.array(cells), decimal_comma=False)
    expected = np.array([python_number(c) for c in cells])
    assert np.array_equal(values, expected, equal_nan=True)
    assert np.signbit(values[values == 0]).tolist() == np.signbit(expected[expected == 0]).tolist()
    assert empty.tolist() == [not c.strip() for c in cells]


def test_decimal_commas_and_cells_from_excel():
    values, empty = coordinates._numbers(pa.array(["52,91", "-1,48", "52.5", "", "1.200,5"]), True)
    assert values[:3].tolist() == [52.91, -1.48, 52.5] and np.isnan(values[3:]).all()
    assert empty.tolist() == [False, False, False, True, False]
    excel = pd.Series([435100, 335100.5, " 435,100 ", None, float("nan"), True, "n/a"])
    values, empty = coordinates._numbers(excel, False)
    assert values[:3].tolist() == [435100.0, 335100.5, 435100.0] and np.isnan(values[3:]).all()
    assert empty.tolist() == [False, False, False, True, True, False, False]


def test_plain_coordinates_take_the_compiled_path(monkeypatch):
    monkeypatch.setattr(coordinates, "FEW_CELLS", 0)  # short columns too (a short run's are not)
    cells = pa.array(["-1.4812345", "52.91", "435100", "+0.5e1", ".25", "-0"])
    values, parsed = coordinates._plain_decimals(cells)
    assert parsed.all()
    assert values.tolist() == [-1.4812345, 52.91, 435100.0, 5.0, 0.25, -0.0]
    values, parsed = coordinates._plain_decimals(pa.array(["1,200", "", "n/a", "1" * 17, None]))
    assert not parsed.any()  # left to the cell-by-cell path
    values, parsed = coordinates._plain_decimals(cells.slice(2, 3))  # a block cut from a file
    assert parsed.all() and values.tolist() == [435100.0, 5.0, 0.25]


def test_short_columns_are_read_cell_by_cell_to_the_same_numbers(monkeypatch):
    """Under FEW_CELLS cells numba is not loaded: each cell is read as the compiled loop's
    leftovers are, to the same values and empty cells."""
    texts = ["-1.4812345", "52.91", " 435100 ", "+0.5e1", ".25", "-0", "1,200", "", None]
    cells = pa.array([*texts, "1" * 17, "n/a", "1e400", "0.1", "7e-3"])
    short = coordinates._plain_decimals(cells)
    assert not short[1].any()  # left to the cell-by-cell path
    slow = coordinates._numbers(cells, False)
    monkeypatch.setattr(coordinates, "FEW_CELLS", 0)
    assert coordinates._plain_decimals(cells)[1].any()
    fast = coordinates._numbers(cells, False)
    np.testing.assert_array_equal(slow[0], fast[0])  # bit for bit, NaN alike
    np.testing.assert_array_equal(slow[1], fast[1])


@pytest.mark.parametrize(
    ("rows", "epsg"),
    [("-1.48,52.91\n-1.2,53.1", 4326), ("435100,335100\n436000,336000", 27700)],
)
def test_xy_columns_resolved_by_their_values(rows, epsg):
    table = csv_sites(f"x,y\n{rows}\n")
    assert table.frame.crs.to_epsg() == epsg
    assert "judged by their values" in table.crs_note


def test_crs_option_overrides_and_picks_the_pair():
    text = "lat,lon,easting,northing\n52.91,-1.48,435100,335100\n"
    with pytest.raises(CRSError, match=r"both longitude/latitude .* Say which to use: --crs EPSG"):
        csv_sites(text)
    assert xy(csv_sites(text, crs="EPSG:27700")) == [(435100, 335100)]
    assert xy(csv_sites(text, crs="4326")) == [(-1.48, 52.91)]
    irish = csv_sites("x,y\n333000,374000\n", crs="EPSG:29903")  # Irish Grid: Belfast
    assert irish.frame.crs.to_epsg() == 29903 and irish.problems[0] == ""


# ---------------------------------------------------------------- CSV: bad rows, kept


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("B,95,-1.4", "'lat' 95 is out of range (latitude must be -90 to 90)"),
        ("B,52.9,-190", "'lon' -190 is out of range (longitude must be -180 to 180)"),
        ("B,abc,-1.4", "'lat' 'abc' is not a number"),
        ("B,,", "no coordinates: 'lon' and 'lat' are empty"),
        ("B,52.9,", "'lon' is empty"),
        ("B,0,0", "outside the UK: longitude 0.00000, latitude 0.00000"),
        ("B,-1.48,52.91", "latitude and longitude look swapped"),
        ("B,52.9,-1.4,extra", "has 4 fields where the header has 3"),
    ],
)
def test_bad_rows_get_a_problem_and_are_kept(row, problem):
    table = csv_sites(f"name,lat,lon\nA,52.91,-1.48\n{row}\n")
    assert len(table.frame) == 2
    assert table.problems.tolist()[0] == ""
    assert table.problems[1].startswith(problem)
    assert table.frame.geometry.iloc[1] is None
    assert table.frame.loc[1, "name"] == "B"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("B,-5,335000", "'easting' -5 is out of range (easting must be 0 to 700000 m)"),
        ("B,435000,1400000", "'northing' 1400000 is out of range"),
        ("B,1100000,435000", "easting and northing look swapped"),
    ],
)
def test_bad_bng_rows(row, problem):
    table = csv_sites(f"name,easting,northing\nA,435100,335100\n{row}\n")
    assert table.problems[1].startswith(problem)


def test_a_quote_never_closed_is_said_on_its_row_not_as_empty_coordinates():
    """A stray opening quote makes the csv module read the rest of the file into that row:
    its problem says so (it said the coordinates were empty), and the rows before it stand."""
    table = csv_sites('name,easting,northing\nA,435100,335100\n"B,435200,335200\nC,1,2\n')
    assert table.problems.tolist() == ["", UNCLOSED_QUOTE]
    assert table.frame["name"].tolist()[1] == "B,435200,335200\nC,1,2\n"
    closed = csv_sites('name,easting,northing\n"A\nB",435100,335100\n5" pipe,435200,335200\n')
    assert closed.problems.tolist() == ["", ""]  # a quoted line break, and a stray quote


def test_a_windows_1252_csv_from_excel_is_read_and_said_to_be():
    """Excel's 'CSV (Comma delimited)' on a UK PC writes Windows-1252: a £, an é and a curly
    apostrophe are one byte each, not UTF-8. The file is read, and the notes say how."""
    text = (
        "name,cost,easting,northing\nSt John’s Café,£500,435100,335100\nB – east,,436100,336100\n"
    )
    table = read_site_bytes(text.encode("cp1252"), "council.csv")
    assert table.frame["name"].tolist() == ["St John’s Café", "B – east"]
    assert table.frame["cost"].tolist()[0] == "£500"
    assert xy(table) == [(435100.0, 335100.0), (436100.0, 336100.0)]
    assert any(n.startswith("council.csv: read as Windows-1252 text") for n in table.notes), (
        table.notes
    )
    assert not any("Windows-1252" in n for n in csv_sites(text).notes)  # UTF-8: nothing said


def test_the_encoding_is_judged_from_the_first_megabyte_as_the_stream_does():
    """Read whole or streamed, a file is judged on the same first 1 MB: one whose first MB is
    plain ASCII is UTF-8, and a Windows-1252 byte after it is refused, naming its line."""
    rows = "".join(f"Unit {i},435100,335100\n" for i in range(60_000))  # 1.3 MB
    data = ("name,easting,northing\n" + rows + "Café,435100,335100\n").encode("cp1252")
    with pytest.raises(
        DataFileError, match=r"big\.csv: line 60002 is not UTF-8 text \(byte 0xe9\)"
    ):
        read_site_bytes(data, "big.csv", max_mb=10)


def test_a_geojson_that_is_not_utf8_names_its_line_and_no_excel_fix():
    doc = '{"type": "FeatureCollection", "features": []}\n"Café"'.encode("cp1252")
    with pytest.raises(
        DataFileError,
        match=r"^x\.geojson: line 2 is not UTF-8 text \(byte 0xe9\)\. GeoJSON is UTF-8 text: save"
        r" it as UTF-8\.$",
    ):
        read_site_bytes(doc, "x.geojson")


# ---------------------------------------------------------------- CSV: whole-file problems


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (b"", DataFileError, r"sites\.csv: the file is empty"),
        (b"name,lat,lon\n", DataFileError, "has a header but no rows"),
        (
            "name,lat,lon\nPoundland £,52.9,-1.4\nA\x81,52.9,-1.4\n".encode("latin-1"),
            DataFileError,
            r"line 3 is not Windows-1252 text \(byte 0x81\)\. Save the file as UTF-8",
        ),
        (
            "name,lat,lon\nA,52.9,-1.4\n".encode("utf-16"),
            DataFileError,
            r"sites\.csv: is UTF-16 text \(Excel's 'Unicode Text'\), not UTF-8\. Save the file",
        ),
        (
            b"name,town\nA,Derby\n",
            DataFileError,
            "no coordinate columns. Its columns are 'name', 'town'. Add longitude",
        ),
        (
            b"name,lat\nA,52.9\n",
            DataFileError,
            "found a latitude column 'lat' but no longitude column. Name the longitude column",
        ),
        (
            b"lat,Latitude,lon\n1,1,1\n",
            DataFileError,
            "columns 'lat' and 'Latitude' could each be the latitude. Rename or remove",
        ),
        (
            b"name,lat,lon\nA,335100,435100\n",
            CRSError,
            "columns 'lon'/'lat' hold values like .* British National Grid metres, not degrees",
        ),
        (
            b"name,easting,northing\nA,-1.48,52.91\n",
            CRSError,
            "look like degrees, not British National Grid metres",
        ),
        (
            b"x,y\n-1.48,52.91\n435100,335100\n",
            CRSError,
            r"mix degrees \(row 1\) and British National Grid metres \(row 2\)",
        ),
        (b"x,y\n5000000,5000000\n", CRSError, "fit neither UK longitude/latitude nor British"),
        (
            b"name,lat,lon\nA,-1.48,52.91\nB,-1.2,53.1\n",
            DataFileError,
            "no row could be located .* look swapped.* Swap the two coordinate columns",
        ),
        (
            b"name,lat,lon\nA,95,1\nB,,\n",
            DataFileError,
            r"no row could be located \(2 in all\)\. row 1: 'lat' 95 is out of range.*row 2: no",
        ),
        (b'name,lat,lon\n"A,52.9,-1.4\n', DataFileError, "no row could be located"),
    ],
)
def test_whole_file_problems_raise_with_the_fix(payload, error, match):
    with pytest.raises(error, match=match):
        read_site_bytes(payload, "sites.csv")


def test_unknown_crs_is_refused():
    with pytest.raises(CRSError, match="CRS 'EPSG:99999999' is not one pyproj knows"):
        csv_sites("x,y\n1,2\n", crs="EPSG:99999999")
    assert parse_crs("27700").to_epsg() == 27700


def test_size_limit_extension_and_missing_file(tmp_path):
    with pytest.raises(DataFileError, match=r"big\.csv: the file is 2\.0 MB, over the 1 MB limit"):
        read_site_bytes(b"x" * 2_000_000, "big.csv", max_mb=1)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 2_000_000)
    with pytest.raises(DataFileError, match=r"over the 1 MB limit.*--max-mb"):
        read_site_file(big, max_mb=1)
    with pytest.raises(DataFileError, match=r"sites\.txt.*'\.txt' file. Save them as one of"):
        read_site_bytes(b"a", "sites.txt")
    with pytest.raises(DataFileError, match=r"nope\.csv: file not found"):
        read_site_file(tmp_path / "nope.csv")


# ---------------------------------------------------------------- XLSX


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_numbers_and_sheets():
    data = xlsx_bytes(
        {
            "Sites": [["Ref", "Easting", "Northing"], ["S1", 435100, 335100], ["S2", None, None]],
            "Other": [["Name", "lat", "lon"], ["A", 52.91, -1.48]],
        }
    )
    table = read_site_bytes(data, "sites.xlsx")
    assert xy(table)[0] == (435100, 335100)
    assert table.problems.tolist() == ["", "no coordinates: 'Easting' and 'Northing' are empty"]
    assert table.notes == ("read sheet 'Sites', the first of 2; choose another with --layer",)
    assert xy(read_site_bytes(data, "sites.xlsx", layer="Other")) == [(-1.48, 52.91)]
    with pytest.raises(DataFileError, match="has no sheet 'Nope'; its sheets are 'Sites', 'Other'"):
        read_site_bytes(data, "sites.xlsx", layer="Nope")


def test_damaged_xlsx():
    with pytest.raises(DataFileError, match=r"sites\.xlsx: is not a readable zip file"):
        read_site_bytes(b"not a workbook", "sites.xlsx")


# ---------------------------------------------------------------- GeoJSON


def geojson(features: list, **top) -> bytes:
    return json.dumps({"type": "FeatureCollection", **top, "features": features}).encode()


def point_feature(x, y, **props) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [x, y]},
    }


def test_geojson_points_and_polygons():
    table = read_site_file(FIXTURES / "polygons.geojson")
    assert table.frame.crs.to_epsg() == 4326
    assert list(table.frame.columns) == ["site", "expect", "geometry"]
    assert table.problems.tolist()[-1] == "no geometry: the feature has no location"
    assert len(table.notes) == 1 and "feature 4: Self-intersection" in table.notes[0]
    assert table.frame.geometry.iloc[3].is_valid


def test_geojson_in_bng_with_or_without_a_crs_member():
    legacy = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    table = read_site_bytes(geojson([point_feature(435100, 335100)], crs=legacy), "s.geojson")
    assert table.frame.crs.to_epsg() == 27700 and "as the file says" in table.crs_note
    table = read_site_bytes(geojson([point_feature(435100, 335100)]), "s.geojson")
    assert table.frame.crs.to_epsg() == 27700 and "judged by their values" in table.crs_note


def test_geojson_bad_features_are_kept_with_a_problem():
    features = [
        point_feature(-1.48, 52.91, name="good"),
        point_feature(52.91, -1.48, name="lat first"),
        {
            "type": "Feature",
            "properties": {"name": "broken"},
            "geometry": {"type": "Point", "coordinates": "x"},
        },
        "not a feature",
    ]
    table = read_site_bytes(geojson(features), "s.geojson")
    assert table.problems[0] == ""
    assert table.problems[1].startswith("coordinates look swapped")
    assert table.problems[2].startswith("geometry cannot be read")
    assert table.problems[3] == "not a GeoJSON Feature"


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (
            b'{"type": "FeatureCollection",\n "features": [}',
            DataFileError,
            r"s\.geojson: broken JSON at line 2, column 15",
        ),
        (b"[1, 2]", DataFileError, "not a GeoJSON FeatureCollection"),
        (geojson([]), DataFileError, "has no features"),
        (
            geojson(
                [point_feature(435100, 335100)],
                crs={"type": "name", "properties": {"name": "EPSG:4326"}},
            ),
            CRSError,
            r"says its CRS is EPSG:4326 .* look like British National Grid metres",
        ),
        (
            geojson([point_feature(-1.48, 52.91), point_feature(435100, 335100)]),
            CRSError,
            r"mix degrees \(feature 1\) and British National Grid metres \(feature 2\)",
        ),
        (
            geojson([point_feature(52.91, -1.48)]),
            DataFileError,
            "no feature could be located .* look swapped",
        ),
    ],
)
def test_geojson_whole_file_problems(payload, error, match):
    with pytest.raises(error, match=match):
        read_site_bytes(payload, "s.geojson")


# ---------------------------------------------------------------- GeoPackage, Shapefile, KML


def sample_frame(crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"name": ["in", "near"]},
        geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 3000, Y0 + 500)],
        crs="EPSG:27700",
    )
    return frame.to_crs(crs)


def gpkg_bytes(tmp_path: Path, layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    path = tmp_path / "sites.gpkg"
    for layer, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=layer, append=path.exists())
    return path.read_bytes()


def test_geopackage_keeps_its_crs_and_needs_a_layer_when_several(tmp_path):
    data = gpkg_bytes(tmp_path, {"sites": sample_frame(), "more": sample_frame("EPSG:4326")})
    with pytest.raises(
        DataFileError, match=r"several layers \(sites, more\). Choose one with --layer"
    ):
        read_site_bytes(data, "sites.gpkg")
    table = read_site_bytes(data, "sites.gpkg", layer="sites")
    assert table.frame.crs.to_epsg() == 27700 and table.frame["name"].tolist() == ["in", "near"]
    with pytest.raises(DataFileError, match="has no layer 'nope'"):
        read_site_bytes(data, "sites.gpkg", layer="nope")


def shapefile_zip(
    tmp_path: Path, frame: gpd.GeoDataFrame, *, prj: bool = True, extra=None
) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "sites.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in sorted(folder.iterdir()):
            if prj or part.suffix != ".prj":
                archive.write(part, f"sites/{part.name}")
        for name, payload in (extra or {}).items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def test_zipped_shapefile(tmp_path):
    table = read_site_bytes(shapefile_zip(tmp_path, sample_frame()), "sites.zip")
    assert table.frame.crs.to_epsg() == 27700
    assert table.frame["name"].tolist() == ["in", "near"]


def test_zipped_shapefile_without_prj_is_judged_by_values(tmp_path):
    table = read_site_bytes(shapefile_zip(tmp_path, sample_frame(), prj=False), "sites.zip")
    assert table.frame.crs.to_epsg() == 27700 and "judged by their values" in table.crs_note


def evil_zip(member: str, payload: bytes = b"x", *, link: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(member)
        if link:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (evil_zip("readme.txt"), r"has no \.shp file inside \(it holds readme\.txt\)"),
        (evil_zip("../evil.shp"), r"member '\.\./evil\.shp' has a path outside the zip's folder"),
        (evil_zip("/etc/evil.shp"), "has a path outside the zip's folder"),
        (evil_zip("C:/evil.shp"), "has a path outside the zip's folder"),
        (evil_zip("link.shp", b"/etc/passwd", link=True), "is a symbolic link"),
        (evil_zip("bomb.shp", b"\0" * 3_000_000), r"unpacks to 3\.0 MB, over the 2 MB limit"),
        (evil_zip("a.shp"), r"a\.shp has no \.shx beside it"),
        (b"PK not really", "is not a readable zip file"),
    ],
)
def test_unsafe_or_incomplete_zips_are_refused(payload, match):
    with pytest.raises(DataFileError, match=match):
        read_site_bytes(payload, "sites.zip", max_mb=2)


def test_zip_with_several_shapefiles_needs_a_layer(tmp_path):
    data = shapefile_zip(
        tmp_path, sample_frame(), extra={"other/two.shp": b"", "other/two.shx": b""}
    )
    with pytest.raises(
        DataFileError, match=r"several shapefiles \(sites, two\). Choose one with --layer"
    ):
        read_site_bytes(data, "sites.zip")
    assert len(read_site_bytes(data, "sites.zip", layer="sites").frame) == 2


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Folder><name>Points</name>
<Placemark><name>Site A</name><ExtendedData><Data name="ref"><value>R1</value></Data></ExtendedData>
<Point><coordinates>-1.48,52.91,0</coordinates></Point></Placemark></Folder>
<Folder><name>Areas</name>
<Placemark><name>Site B</name><Polygon><outerBoundaryIs><LinearRing>
<coordinates>-1.48,52.91 -1.47,52.91 -1.47,52.92 -1.48,52.91</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark></Folder>
</Document></kml>
"""


def test_kml_layers_are_read_together_without_gdal_clutter():
    table = read_site_bytes(KML.encode(), "sites.kml")
    assert table.frame["Name"].tolist() == ["Site A", "Site B"]
    assert "ref" in table.frame.columns and "tessellate" not in table.frame.columns
    assert not table.frame.geometry.has_z.any()
    assert table.problems.tolist() == ["", ""]


def test_kml_without_folders():
    kml = (
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Derby</name>'
        "<Point><coordinates>-1.4795,52.9122</coordinates></Point></Placemark></Document></kml>"
    )
    table = read_site_bytes(kml.encode(), "one.kml")
    assert table.frame["Name"].tolist() == ["Derby"] and xy(table) == [(-1.4795, 52.9122)]


def test_kmz():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("doc.kml", KML)
    assert len(read_site_bytes(buffer.getvalue(), "sites.kmz").frame) == 2


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<kml><Document>&x;</Document></kml>",
            "contains an XML document type or entity declaration .* refusing it",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            "<kml>&b;</kml>",
            "document type or entity declaration",
        ),
        ("<kml><Document>\n<Placemark></Document></kml>", r"broken XML at line 2, column \d+"),
    ],
)
def test_hostile_or_broken_kml_is_refused(payload, match):
    with pytest.raises(DataFileError, match=match):
        read_site_bytes(payload.encode(), "sites.kml")


# ---------------------------------------------------------------- boundaries


def test_boundary_file_with_zone_id_links_to_bundled_zones():
    boundaries = read_boundary_bytes(
        (FIXTURES / "official_boundary.geojson").read_bytes(), "o.geojson"
    )
    assert boundaries.linked_by_zone_id
    assert boundaries.frame["zone_id"].tolist() == [1]
    assert boundaries.frame["name"].tolist() == ["Official tax site"]
    assert boundaries.frame["boundary_source"].tolist() == ["uploaded o.geojson (as supplied)"]


def test_boundaries_are_repaired_and_merged_and_say_so(tmp_path):
    bowtie = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    frame = gpd.GeoDataFrame(
        {"Name": ["Tax site", "Tax site", "Bow"], "programme": ["Freeport", "Freeport", ""]},
        geometry=[box(X0, Y0, X0 + 5, Y0 + 5), box(X0 + 100, Y0, X0 + 105, Y0 + 5), bowtie],
        crs="EPSG:27700",
    )
    data = shapefile_zip(tmp_path, frame)
    boundaries = read_boundary_bytes(data, "official.zip")
    assert boundaries.frame["zone_id"].tolist() == ["Tax site", "Bow"]
    assert boundaries.frame.geometry.is_valid.all()
    assert boundaries.frame.loc[1, "boundary_source"] == (
        "uploaded official.zip (as supplied; geometry repaired)"
    )
    notes = " | ".join(boundaries.notes)
    assert "official.zip: feature 3: Self-intersection" in notes
    assert "features sharing 'Name' 'Tax site' were merged" in notes
    assert not boundaries.linked_by_zone_id


@pytest.mark.parametrize(
    ("features", "match"),
    [
        (
            [point_feature(-1.48, 52.91, name="a")],
            "feature 1 is a Point; boundaries must be polygons",
        ),
        (
            [
                {
                    "type": "Feature",
                    "properties": {"colour": "red"},
                    "geometry": json.loads(
                        json.dumps(
                            {
                                "type": "Polygon",
                                "coordinates": [
                                    [[-1.5, 52.9], [-1.4, 52.9], [-1.4, 53], [-1.5, 52.9]]
                                ],
                            }
                        )
                    ),
                }
            ],
            "no name or id column .* Add a column named 'name'",
        ),
        (
            [{"type": "Feature", "properties": {"name": "a"}, "geometry": None}],
            "feature 1 has no geometry",
        ),
    ],
)
def test_bad_boundary_files(features, match):
    with pytest.raises(DataFileError, match=match):
        read_boundary_bytes(geojson(features), "b.geojson")


def test_boundaries_cannot_be_a_csv():
    with pytest.raises(DataFileError, match=r"cannot read boundaries from a '\.csv' file"):
        read_boundary_bytes(b"a,b\n1,2\n", "b.csv")


# ---------------------------------------------------------------- hostile files (issue 12)


def test_unique_names_keeps_its_rules_and_is_linear():
    from iszones.inputs.csvparse import unique_names

    assert unique_names(["a", "a", "", "a.1", "a", None]) == [
        "a",
        "a.1",
        "column_3",
        "a.1.1",
        "a.2",
        "column_6",
    ]
    import time

    started = time.perf_counter()
    names = unique_names(["x"] * 100_000)
    assert time.perf_counter() - started < 5  # was cubic: 4,000 took over 120 s
    assert len(set(names)) == 100_000 and names[-1] == "x.99999"


def _far(**kwargs):
    from tests.hostile.corpus import far_cell_xlsx

    return far_cell_xlsx(**kwargs)


@pytest.mark.parametrize(
    ("make", "name", "match"),
    [
        (lambda: _far(), "far.xlsx", r"far\.xlsx: sheet 'Sites' has a value in cell XFD1048576"),
        (lambda: _far(row=1000), "f.xlsx", r"cell XFD1000, beyond the limits of 1,000 columns"),
        (lambda: _far(row=1_000_001, column=2), "f.xlsx", r"cell B1000001, beyond"),
        (
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"),
            "locked.xlsx",
            r"locked\.xlsx: is encrypted \(protected with a password\)",
        ),
        (
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
            "old.xlsx",
            r"old\.xlsx: is an old-style Excel \(\.xls\) workbook",
        ),
    ],
)
def test_hostile_workbooks_are_refused_in_one_line(make, name, match):
    with pytest.raises(DataFileError, match=match) as caught:
        read_site_bytes(make(), name)
    assert "\n" not in str(caught.value)


def test_workbook_read_from_its_cells_not_its_dimension():
    from tests.hostile.corpus import (
        SITES_TABLE,
        sheet_xml,
        table_rows,
        xlsx,
    )

    data = xlsx([("Sites", "visible", sheet_xml(table_rows(SITES_TABLE), dimension="A1:XFD1"))])
    table = read_site_bytes(data, "dim.xlsx")
    assert list(table.frame.columns) == ["name", "lon", "lat", "geometry"]
    assert len(table.frame) == 2


def test_workbook_first_visible_sheet_and_formulas_without_values():
    from tests.hostile.corpus import (
        SITES_TABLE,
        sheet_xml,
        table_rows,
        xlsx,
    )

    secret = table_rows([["name", "lon", "lat"], ["Hidden", 0.5, 51.0]])
    rows = table_rows(SITES_TABLE)
    rows[2][2] = ("formula", "B3*1", None)  # B2, lon of the first site: never calculated
    rows[3][4] = ("formula", "1+1", None)
    rows[1][4] = "note"
    data = xlsx([("Secret", "hidden", sheet_xml(secret)), ("Sites", "visible", sheet_xml(rows))])
    table = read_site_bytes(data, "book.xlsx")
    assert table.notes[0] == (
        "read sheet 'Sites', the first visible of 2 (hidden: 'Secret'); choose another with --layer"
    )
    assert "2 formula cell(s) have no saved value" in table.notes[1] and "B2" in table.notes[1]
    assert table.problems.iloc[0] == (
        "'lon' (cell B2) is a formula with no saved value; open the file in Excel and save it,"
        " so that the values are saved"
    )
    assert table.problems.iloc[1] == "" and table.frame["note"].tolist() == [None, None]
    hidden = read_site_bytes(data, "book.xlsx", layer="Secret")  # asked for by name: read
    assert hidden.frame["name"].tolist() == ["Hidden"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x," * 600_000 + "lon,lat\n1,2\n", r"h\.csv: line 1 is 1\.2 MB long; a line may be at"),
        (",".join(["x"] * 1001) + ",lon,lat\n", r"h\.csv: the header has 1,003 columns; the limit"),
        (",,\n" * 400_000 + "lon,lat\n", r"h\.csv: has no header in its first 1 MB"),
        ("name,lon,lat\n" + "a," * 600_000 + "\n", r"h\.csv: line 2 is 1\.2 MB long"),
    ],
)
def test_csv_lines_and_columns_are_bounded(text, match):
    with pytest.raises(DataFileError, match=match):
        read_site_bytes(text.encode(), "h.csv")


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"crs": "EPSG:27700"}, r"its 'crs' member is \"EPSG:27700\", not a named CRS"),
        ({"crs": ["x"]}, r"its 'crs' member is \[\"x\"\]"),
        ({"crs": {"type": "name", "properties": {"name": "EPSG:99999999"}}}, r"names 'EPSG:99"),
        (
            {"crs": {"type": "name", "properties": {"name": "EPSG:27700"}}},
            r"says its CRS is EPSG:27700 .* look like longitude/latitude degrees",
        ),
    ],
)
def test_geojson_crs_member_is_checked(doc, match):
    data = geojson([point_feature(-1.47, 52.92)], **doc)
    with pytest.raises((DataFileError, CRSError), match=match):
        read_site_bytes(data, "s.geojson")


def test_geojson_nesting_and_properties():
    with pytest.raises(DataFileError, match=r"n\.geojson: its JSON is nested too deeply"):
        read_site_bytes(b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "n.geojson")
    data = geojson(
        [
            point_feature(-1.47, 52.92, name="ok"),
            {"type": "Feature", "properties": "str", "geometry": point_feature(0, 52)["geometry"]},
            {"type": "Feature", "properties": [1], "geometry": point_feature(0, 52)["geometry"]},
        ]
    )
    table = read_site_bytes(data, "p.geojson")
    assert table.problems.tolist() == [
        "",
        "'properties' is text, not an object of names and values",
        "'properties' is a list, not an object of names and values",
    ]


def test_zip_member_that_lies_is_named():
    from tests.hostile.corpus import _bad_crc_shapefile, _lying_shapefile

    for data in (_lying_shapefile(), _bad_crc_shapefile()):
        with pytest.raises(DataFileError, match=r"z\.zip: member 'sites\.\w+' is damaged"):
            read_site_bytes(data, "z.zip")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0, -1, True])
def test_max_mb_must_be_a_size(value):
    with pytest.raises(DataFileError, match="max_mb must be a number of megabytes above 0"):
        read_site_bytes(b"name,lon,lat\nA,-1.47,52.92\n", "s.csv", max_mb=value)


def test_read_layer_file_goes_by_content(tmp_path):
    from iszones.inputs.readers import read_layer_file

    vrt = tmp_path / "lads.geojson"
    vrt.write_text("<OGRVRTDataSource><OGRVRTLayer name='x'/></OGRVRTDataSource>")
    with pytest.raises(DataFileError, match=r"lads\.geojson: is not a GeoJSON, GeoPackage or"):
        read_layer_file(vrt, max_mb=10)
    good = tmp_path / "lads.data"
    good.write_bytes(geojson([point_feature(-1.47, 52.92, LAD24CD="E06000015")]))
    frame = read_layer_file(good, max_mb=10)
    assert frame.crs.to_epsg() == 4326 and frame["LAD24CD"].tolist() == ["E06000015"]


def test_max_cells_refuses_a_wide_table_before_it_becomes_python_values():
    """The dashboard's cap: 1,000 short columns would make a 50 MB CSV take about 1.9 GB."""
    header = ",".join(f"c{i}" for i in range(98)) + ",lon,lat\n"
    text = header + (",".join(["ab"] * 98) + ",-1.47,52.92\n") * 20
    with pytest.raises(DataFileError, match=r"w\.csv: has 20 rows of 100 columns \(2,000 cells\)"):
        read_site_bytes(text.encode(), "w.csv", max_cells=1000)
    assert len(read_site_bytes(text.encode(), "w.csv", max_cells=2000).frame) == 20
    from tests.hostile.corpus import (
        SITES_TABLE,
        sheet_xml,
        table_rows,
        xlsx,
    )

    book = xlsx([("Sites", "visible", sheet_xml(table_rows(SITES_TABLE)))])
    with pytest.raises(DataFileError, match=r"s\.xlsx: has 2 rows of 3 columns \(6 cells\)"):
        read_site_bytes(book, "s.xlsx", max_cells=5)


def test_a_csv_or_excel_file_is_read_without_loading_gdal(tmp_path):
    """GDAL (pyogrio: 41 MB resident) is for the spatial formats; a table does without it."""
    book = Workbook()
    book.active.append(["name", "easting", "northing"])
    book.active.append(["Derby", 435000, 335000])
    book.save(tmp_path / "sites.xlsx")
    code = (
        "import sys\n"
        "from iszones.inputs.readers import read_site_file\n"
        "for path in sys.argv[1:]:\n"
        "    assert len(read_site_file(path).frame) >= 1\n"
        "print('pyogrio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURES / "sites_bng.csv"), str(tmp_path / "sites.xlsx")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "False"
