"""Bulk checks: the grid index answers as shapely does, the streamed CSV check writes what the
whole-file path writes (byte for byte), and both agree with a plain geopandas pipeline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from benchmarks.bulk_check import plain_pipeline, write_sites_csv
from iszones.check import columns
from iszones.check import outputs as results
from iszones.check.core import check_points
from iszones.check.frames import bundled_boundaries, bundled_tax_sites, check_sites, prepare_check
from iszones.check.outputs import result_bytes
from iszones.check.reference import bundled_reference
from iszones.check.stream import CsvCheck
from iszones.cli import main
from iszones.data.catalogue import (
    read_admin_units,
    read_councils,
    read_far_land,
    read_sites,
    read_zones,
)
from iszones.errors import CRSError, DataFileError, IszonesError
from iszones.inputs import readers
from iszones.inputs.readers import read_site_file
from tests.conftest import TESTS, X0, Y0

HERE = TESTS
FIXTURES = HERE / "fixtures" / "check"
DATA = HERE.parent / "data" / "boundaries"


@pytest.fixture(scope="module")
def fixture_zones() -> gpd.GeoDataFrame:
    return bundled_boundaries(read_zones(FIXTURES / "zones.geojson"))


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return bundled_boundaries(read_zones(DATA / "zones.geojson"))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return read_admin_units(DATA / "uk_admin_units.geojson")


def whole_file(path: Path, zones, units, **kwargs) -> bytes:
    """What `iszones check` wrote before streaming: read whole, check_sites, result_bytes."""
    sites = read_site_file(path, max_mb=1e6)
    result = check_sites(
        sites.frame, zones, units, problems=sites.problems, sources=sites.sources, **kwargs
    )
    return result_bytes(result, ".csv")


def streamed(path: Path, out: Path, zones, units, *, block_bytes=1 << 10, **kwargs) -> bytes:
    CsvCheck(path, block_bytes=block_bytes).run(out, prepare_check(zones, units), **kwargs)
    return out.read_bytes()


# ---------------------------------------------------------------- streamed = whole file


@pytest.mark.parametrize("name", ["sites_bng.csv", "sites_wgs84.csv"])
@pytest.mark.parametrize("within_km", [None, 1.0])
def test_streamed_csv_equals_the_whole_file_path(name, within_km, fixture_zones, units, tmp_path):
    expected = whole_file(FIXTURES / name, fixture_zones, units, within_km=within_km)
    got = streamed(FIXTURES / name, tmp_path / "out.csv", fixture_zones, units, within_km=within_km)
    assert got == expected


TRICKY = {
    "quotes.csv": (
        'ref,name,lat,lon\r\n1,"Unit 5, Riverside",52.91,-1.48\r\n'
        '2,"He said ""hi""",52.92,-1.47\r\n3,"two\nlines",52.93,-1.46\r\n'
        '4,5" pipe works,52.94,-1.45\r\n'
    ),
    "semicolons.csv": "nom;lat;lon;note\nA;52,91;-1,48;x,y\nB;52,92;-1,47;\n",
    "ragged_and_blank.csv": (
        "\n\nname,easting,northing,notes\nA,435100,335100\n,,,\nB,435200,335200,x,extra\n"
        "C,435,100,335100\n\nD,\u00a0,335000,z\n"
    ),
    "clashes.csv": (
        "zone_id,geometry,problem,easting,northing,geometry_input\n"
        "mine,POINT (1 2),none,435100,335100,kept\n"
    ),
    "bom_tabs.csv": "\ufeffname\tx\ty\nA\t435100\t335100\nB\t435500.5\t335500.25\n",
    "control_bytes.csv": "name,lat,lon\nA\x01B,52.91,-1.48\nC\x05,52.92,-1.47\n",
    "unclosed_quote.csv": 'name,easting,northing\nA,435100,335100\n"B,435200,335200\nC,1,2\n',
    "not_utf8_later.csv": None,
}


@pytest.mark.parametrize("name", sorted(k for k, v in TRICKY.items() if v is not None))
@pytest.mark.parametrize("block_bytes", [1 << 10, 1 << 22])
def test_tricky_csvs_stream_byte_for_byte(name, block_bytes, fixture_zones, units, tmp_path):
    source = tmp_path / name
    text = TRICKY[name]
    assert text is not None
    source.write_bytes(text.encode("utf-8"))
    expected = whole_file(source, fixture_zones, units)
    got = streamed(source, tmp_path / "out.csv", fixture_zones, units, block_bytes=block_bytes)
    assert got == expected


def test_synthetic_rows_across_many_blocks(fixture_zones, zones, units, tmp_path):
    source = write_sites_csv(tmp_path / "sites.csv", 3000, seed=3, variant="wgs84")
    expected = whole_file(source, zones, units, within_km=2)
    got = streamed(source, tmp_path / "out.csv", zones, units, block_bytes=4096, within_km=2)
    assert got == expected


def test_a_windows_1252_csv_streams_as_the_whole_file_path_reads_it(fixture_zones, units, tmp_path):
    """A Windows-1252 file (Excel's 'CSV (Comma delimited)'), its non-UTF-8 bytes in the first
    block and in later ones: streamed in 1 KB blocks it writes the whole-file path's UTF-8
    bytes, and the notes say how it was read."""
    rows = "".join(f"St John’s {i} – £{i},435{i % 900:03d},335100\n" for i in range(400))
    source = tmp_path / "council.csv"
    source.write_bytes(("name,easting,northing\n" + rows).encode("cp1252"))
    expected = whole_file(source, fixture_zones, units)
    job = CsvCheck(source, block_bytes=1 << 10)
    assert job.notes[1].startswith("council.csv: read as Windows-1252 text")
    job.run(tmp_path / "out.csv", prepare_check(fixture_zones, units))
    got = (tmp_path / "out.csv").read_bytes()
    assert got == expected
    assert "St John’s 399 – £399" in got.decode("utf-8")


def test_a_part_of_a_file_reads_its_text_as_the_whole_file_was_judged(
    fixture_zones, units, tmp_path
):
    """A part of a Windows-1252 file (a Dask task's) whose first block is plain ASCII is read
    in the encoding judged for the whole file; judged on its own, its later £ is refused."""
    ascii_rows = "".join(f"Unit {i},435100,335100\n" for i in range(100))
    data = ("name,easting,northing\n" + ascii_rows + "Café £5,435200,335200\n").encode("cp1252")
    index = prepare_check(fixture_zones, units)
    whole = CsvCheck(data=data, name="p.csv", block_bytes=1 << 10, part=True, encoding="cp1252")
    out = io.BytesIO()
    whole.write(out, index)
    assert "Café £5" in out.getvalue().decode("utf-8")
    alone = CsvCheck(data=data, name="p.csv", block_bytes=1 << 10, part=True)
    with pytest.raises(DataFileError, match=r"p\.csv: line 102 is not UTF-8 text \(byte 0xe9\)"):
        alone.write(io.BytesIO(), index)


def test_whole_file_problems_found_across_blocks(fixture_zones, units, tmp_path):
    rows = "".join(f"{i},-1.48,52.91\n" for i in range(200))  # degrees first ...
    later = "".join(f"{i},435100,335100\n" for i in range(200))  # ... metres later
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("id,x,y\n" + rows + later)
    out = tmp_path / "out.csv"
    job = CsvCheck(mixed, block_bytes=1 << 10)
    assert "EPSG:4326" in job.notes[0]
    with pytest.raises(CRSError, match=r"mix degrees \(row 1, row 2, row 3 \.\.\.\) and British"):
        job.run(out, prepare_check(fixture_zones, units))
    assert not out.exists() and list(tmp_path.iterdir()) == [mixed]

    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lon\n" + "".join(f"{i},95,1\n" for i in range(300)))
    job = CsvCheck(bad, block_bytes=1 << 10)
    with pytest.raises(DataFileError, match=r"no row could be located \(300 in all\)\. row 1:"):
        job.run(out, prepare_check(fixture_zones, units))
    assert not out.exists()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "the file is empty"),
        (b"\n \n", "the file is empty"),
        (b"name,lat,lon\n\n", "has a header but no rows"),
        (b"name,lat,lon\nA,95,1\n", r"no row could be located \(1 in all\)"),
        (b"name,town\nA,Derby\n", "no coordinate columns"),
    ],
)
def test_small_bad_files_are_refused_on_opening(payload, match, tmp_path):
    source = tmp_path / "sites.csv"
    source.write_bytes(payload)
    with pytest.raises(DataFileError, match=match):
        CsvCheck(source)


def test_a_bad_byte_in_a_later_block_names_its_line(fixture_zones, units, tmp_path):
    source = tmp_path / "sites.csv"
    good = "".join(f"{i},435100,335100\n" for i in range(500))
    source.write_bytes(b"id,easting,northing\n" + good.encode() + b"x\xa3,435100,335100\n")
    job = CsvCheck(source, block_bytes=1 << 10)
    with pytest.raises(DataFileError, match="line 502 is not UTF-8"):
        job.run(tmp_path / "out.csv", prepare_check(fixture_zones, units))


def test_progress_counts_bytes_to_the_end(fixture_zones, units, tmp_path):
    source = write_sites_csv(tmp_path / "sites.csv", 2000, seed=1, variant="bng")
    calls: list[tuple[int, int]] = []
    CsvCheck(source, block_bytes=8192).run(
        tmp_path / "o.csv",
        prepare_check(fixture_zones, units),
        progress=lambda done, total: calls.append((done, total)),
    )
    size = source.stat().st_size
    assert len(calls) > 3 and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_parquet_output_has_typed_results(fixture_zones, units, tmp_path):
    out = tmp_path / "out.parquet"
    CsvCheck(FIXTURES / "sites_bng.csv").run(out, prepare_check(fixture_zones, units))
    table = pd.read_parquet(out)
    assert table["in_zone"].tolist()[:3] == [True, False, True]
    assert pd.isna(table["in_zone"].iloc[8])  # not checked: unknown, not false
    assert table["nearest_zone_distance_m"].iloc[1] == 100.0
    assert table["zone_id"].iloc[2] == "1;2"


# ---------------------------------------------------------------- equal to plain geopandas


@pytest.mark.parametrize("variant", ["bng", "wgs84"])
def test_fast_path_equals_plain_geopandas_on_10k_seeded_rows(variant, zones, units, tmp_path):
    source = write_sites_csv(tmp_path / "sites.csv", 10_000, seed=42, variant=variant)
    fast = tmp_path / "fast.csv"
    CsvCheck(source).run(fast, prepare_check(zones, units))
    plain = plain_pipeline(source, tmp_path / "plain.csv", zones, units, variant)
    got = pd.read_csv(fast, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    checked = (got["problem"] == "").to_numpy()
    assert checked.sum() > 9_900  # a few rows are broken on purpose
    assert (plain["in_zone"].notna().to_numpy() >= checked).all()
    want = plain[checked]
    assert got.loc[checked, "zone_id"].tolist() == want["zone_id"].fillna("").tolist()
    near = got.loc[checked, "nearest_zone_id"].astype(int).tolist()
    assert near == want["nearest_zone_id"].astype(int).tolist()
    distance = got.loc[checked, "nearest_zone_distance_m"].astype(float).to_numpy()
    np.testing.assert_allclose(distance, want["nearest_zone_distance_m"], rtol=0, atol=0.001)
    authority = got.loc[checked, "local_authority"].tolist()
    assert authority == want["local_authority"].fillna("").tolist()
    # and the seeded data covers what matters: inside, outside, at sea, beyond every council
    assert 0.05 < (got.loc[checked, "in_zone"] == "true").mean() < 0.6
    assert (got.loc[checked, "local_authority"] == "").sum() > 50


def test_check_points_on_the_fixture_zones(fixture_zones, units):
    index = prepare_check(fixture_zones, units)
    found = check_points(np.array([X0 + 1000.0, X0 + 500]), np.array([Y0 + 500.0, Y0 + 500]), index)
    assert [found.combos[c] for c in found.combo if c >= 0] == [(0, 1)]
    assert found.distance.tolist() == [0.0, 100.0]


# ---------------------------------------------------------------- through the CLI


def test_cli_streams_a_csv_into_a_csv(zones, units, tmp_path):
    source = write_sites_csv(tmp_path / "sites.csv", 5000, seed=9, variant="bng")
    out = tmp_path / "checked.csv"
    result = CliRunner().invoke(main, ["check", str(source), "--out", str(out), "--within-km", "2"])
    assert result.exit_code == 0, result.output
    assert "Checking sites" in result.stderr
    assert result.stdout.splitlines()[-1] == f"Wrote {out}"
    sites = read_sites(DATA.parent / "sites.geojson")
    tax, customs = bundled_tax_sites(sites), bundled_tax_sites(sites, kind="customs_site")
    councils = read_councils(DATA.parent)
    expected = whole_file(
        source,
        zones,
        councils,
        within_km=2,
        tax_sites=tax,
        customs_sites=customs,
        far_land=read_far_land(DATA.parent),
    )
    assert out.read_bytes() == expected
    summary = result.stdout.splitlines()[0]
    assert summary.startswith("5,000 sites: ") and "inside or possibly inside a tax site" in summary


def test_cli_max_mb_applies_to_a_streamed_file_only_when_given(tmp_path):
    source = write_sites_csv(tmp_path / "sites.csv", 3000, seed=2, variant="bng")
    out = tmp_path / "checked.csv"
    small = ["check", str(source), "--out", str(out), "--max-mb", "0.01"]
    result = CliRunner().invoke(main, small)
    assert result.exit_code == 1 and "over the 0.01 MB limit" in result.stderr
    assert not out.exists()


def test_cli_scheduler_needs_the_dask_engine(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "check",
            str(FIXTURES / "sites_bng.csv"),
            "--out",
            str(tmp_path / "o.csv"),
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    )
    assert result.exit_code == 2 and "--scheduler needs --engine dask" in result.stderr


def test_check_sites_points_and_polygons_together(fixture_zones, units):
    """check_sites sends points to the vectorised core and shapes to the geometric path; a
    point and the same place as a tiny square get the same answers."""
    square = box(X0 + 99, Y0 + 99, X0 + 101, Y0 + 101)
    sites = gpd.GeoDataFrame(
        {"kind": ["point", "square", "point far"]},
        geometry=[Point(X0 + 100, Y0 + 100), square, Point(X0 + 3000, Y0 + 500)],
        crs="EPSG:27700",
    )
    result = check_sites(sites, fixture_zones, units)
    assert result["zone_id"].tolist()[:2] == ["1", "1"]
    assert result["local_authority"].tolist()[0] == result["local_authority"].tolist()[1]
    assert result["nearest_zone_id"].tolist()[2] == 4  # P6 in sites_bng.csv
    assert result.loc[1, "area_share_in_zone"] == 1.0 and np.isnan(
        result.loc[0, "area_share_in_zone"]
    )


def test_readers_still_read_excel_numbers(tmp_path):
    """Excel columns of numbers (not text) take the old path, with empty cells named."""
    frame = pd.DataFrame({"name": ["A", "B"], "easting": [435100.0, None], "northing": [335100, 1]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    table = readers.read_site_bytes(buffer.getvalue(), "sites.xlsx")
    assert table.problems.tolist() == ["", "'easting' is empty"]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", None, "b"], dtype=object),
        pd.Series([True, False, None], dtype=object),
        pd.Series([1.5, np.nan, 0.0]),
        pd.Series([1, None, 3], dtype=object),
        pd.Series([np.int64(1), None], dtype=object),
        pd.Series([[1, 2], None], dtype=object),
        pd.Series([None, None], dtype=object),
        pd.Series([1, 2], dtype="Int64"),
        pd.Series([True, None], dtype="boolean"),
        pd.Series(["x", 1.5, None], dtype=object),
        pd.Series([np.float64(1.5), None, np.nan], dtype=object),
        pd.Series(pd.array(["a", None], dtype="string")),
        pd.Series([np.bool_(True), None], dtype=object),
    ],
)
@pytest.mark.parametrize("bool_text", [True, False])
def test_result_cells_made_in_bulk_equal_one_by_one(column, bool_text):
    """_plain_table's fast paths give exactly what _cell gives, value by value."""
    want = [results._cell(v) for v in column]
    if bool_text:
        want = [("true" if v else "false") if isinstance(v, bool) else v for v in want]
    got = list(results._plain_values(column, bool_text))
    assert [type(v) for v in got] == [type(v) for v in want] and got == want


# ---------------------------------------------------------------- streamed into a GeoPackage


def geopackage(path: Path) -> tuple[list[str], list[str], dict]:
    """A GeoPackage layer as GDAL reads it back: field names, field types and values."""
    import pyogrio

    info = pyogrio.read_info(path, layer="checked_sites")
    _, table = pyogrio.read_arrow(path, layer="checked_sites")
    return list(info["fields"]), list(info["dtypes"]), table.to_pydict()


def _fixture_checked(name: str, tmp_path: Path, zones, units, **kwargs):
    """(source, sites read, check_sites' frame) of a fixture CSV or a TRICKY one."""
    source = FIXTURES / name
    if name in TRICKY:
        source = tmp_path / name
        source.write_bytes(TRICKY[name].encode("utf-8"))
    sites = read_site_file(source, max_mb=1e6)
    frame = check_sites(
        sites.frame, zones, units, problems=sites.problems, sources=sites.sources, **kwargs
    )
    return source, sites, frame


@pytest.mark.parametrize("name", ["sites_bng.csv", "sites_wgs84.csv", "clashes.csv", "quotes.csv"])
def test_streamed_geopackage_equals_the_whole_file_path(name, fixture_zones, units, tmp_path):
    """A CSV checked into a GeoPackage block by block holds what check_sites' frame written
    as a GeoPackage holds: the same fields, types, values and points (none for problem rows)."""
    source, _, frame = _fixture_checked(name, tmp_path, fixture_zones, units)
    results.write_result(frame, tmp_path / "whole.gpkg")
    CsvCheck(source, block_bytes=1 << 10).run(
        tmp_path / "streamed.gpkg", prepare_check(fixture_zones, units)
    )
    whole, stream = geopackage(tmp_path / "whole.gpkg"), geopackage(tmp_path / "streamed.gpkg")
    assert stream == whole
    fields, kinds, values = stream
    assert kinds[fields.index("in_zone")] == "object" and "true" in values["in_zone"]
    assert kinds[fields.index("nearest_zone_distance_m")] == "float64"


@pytest.mark.parametrize(
    "name", ["sites_bng.csv", "sites_wgs84.csv", "clashes.csv", "quotes.csv", "control_bytes.csv"]
)
@pytest.mark.parametrize("within_km", [None, 1.0])
def test_streamed_geojson_equals_the_whole_file_path(
    name, within_km, fixture_zones, units, tmp_path
):
    """A CSV checked into GeoJSON block by block is the file check_sites' frame makes, byte for
    byte: the same properties and types, points in WGS84, null geometry for problem rows."""
    source, sites, frame = _fixture_checked(
        name, tmp_path, fixture_zones, units, within_km=within_km
    )
    results.write_result(frame, tmp_path / "whole.geojson")
    CsvCheck(source, block_bytes=1 << 10).run(
        tmp_path / "streamed.geojson", prepare_check(fixture_zones, units), within_km=within_km
    )
    whole = (tmp_path / "whole.geojson").read_bytes()
    assert (tmp_path / "streamed.geojson").read_bytes() == whole
    features = json.loads(whole)["features"]
    assert len(features) == len(sites.frame)
    first = features[0]["properties"]
    assert isinstance(first["nearest_zone_distance_m"], float)
    assert first["in_zone"] in (True, False) and isinstance(first["nearest_zone_id"], str)
    assert ("within_km" in first) == (within_km is not None)
    problems = [f for f in features if f["properties"]["problem"]]
    assert all(f["geometry"] is None for f in problems)
    points = [f["geometry"]["coordinates"] for f in features if f["geometry"]]
    assert points and all(-9 < x < 2 and 49 < y < 61 for x, y in points)


def _command_on_generated_rows(tmp_path: Path, rows: int, seed: int, suffix: str):
    """`iszones check` of `rows` generated BNG sites into checked<suffix>: (source, output);
    nothing else is left beside them."""
    source = write_sites_csv(tmp_path / "sites.csv", rows, seed=seed, variant="bng")
    out = tmp_path / f"checked{suffix}"
    done = CliRunner().invoke(main, ["check", str(source), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"{rows:,} sites:" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, "sites.csv"]
    return source, out


def test_the_command_streams_a_csv_into_geojson(zones, tmp_path):
    """Many blocks of generated rows: the command's file is check_sites' file, byte for byte."""
    source, out = _command_on_generated_rows(tmp_path, 6000, 6, ".geojson")
    sites = read_site_file(source, max_mb=1e6)
    against = bundled_reference(DATA.parent)
    expected = result_bytes(against.check_table(sites), ".geojson")
    assert out.read_bytes() == expected
    assert len(json.loads(expected)["features"]) == 6000


@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_answers_made_a_slice_at_a_time_read_the_same(suffix, tmp_path, monkeypatch):
    """Sites far apart have as many answer sentences as sites (half a million in a million), so
    they are made a slice at a time: slices of 7 give the same file and frame as one slice."""
    source = write_sites_csv(tmp_path / "sites.csv", 3000, seed=5, variant="wgs84")
    against = bundled_reference(DATA.parent)
    index = against.index()
    sites = read_site_file(source, max_mb=1e6)
    CsvCheck(source).run(one := tmp_path / f"one{suffix}", index, within_km=2)
    frame = against.check_table(sites, within_km=2)
    monkeypatch.setattr(columns, "SENTENCES_AT_ONCE", 7)
    CsvCheck(source).run(sliced := tmp_path / f"sliced{suffix}", index, within_km=2)
    assert sliced.read_bytes() == one.read_bytes()
    pd.testing.assert_frame_equal(against.check_table(sites, within_km=2), frame)
    assert frame["answer"].nunique() > 2000  # hundreds of slices, in blocks and whole


def test_the_command_streams_a_csv_into_a_geopackage(fixture_zones, tmp_path):
    _, out = _command_on_generated_rows(tmp_path, 2000, 5, ".gpkg")
    fields, _, values = geopackage(out)
    assert len(values["answer"]) == 2000 and fields[:2] == ["site_id", "name"]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_a_geopackage_or_geojson_stream_that_fails_keeps_nothing(
    suffix, fixture_zones, units, tmp_path
):
    """A bad line in a later block (found while GDAL is writing) and a CRS mix (found at the
    end) stop the check with their own message; no output or temporary file is left."""
    bad = tmp_path / "bad.csv"
    good = "".join(f"{i},435100,335100\n" for i in range(500))
    bad.write_bytes(b"id,easting,northing\n" + good.encode() + b"x\xa3,435100,335100\n")
    mixed = tmp_path / "mixed.csv"
    rows = "".join(f"{i},-1.48,52.91\n" for i in range(200))
    mixed.write_text("id,x,y\n" + rows + "".join(f"{i},435100,335100\n" for i in range(200)))
    index = prepare_check(fixture_zones, units)
    out = tmp_path / f"out{suffix}"
    with pytest.raises(DataFileError, match="line 502 is not UTF-8"):
        CsvCheck(bad, block_bytes=1 << 10).run(out, index)
    with pytest.raises(CRSError, match="mix degrees"):
        CsvCheck(mixed, block_bytes=1 << 10).run(out, index)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "mixed.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".gpkg", ".geojson"])
@pytest.mark.parametrize("within_km", [-1.0, float("nan")])
def test_a_bad_within_km_is_refused_before_any_output(
    suffix, within_km, fixture_zones, units, tmp_path
):
    out = tmp_path / f"out{suffix}"
    job = CsvCheck(FIXTURES / "sites_bng.csv")
    with pytest.raises(IszonesError, match="0 km or more"):
        job.run(out, prepare_check(fixture_zones, units), within_km=within_km)
    assert list(tmp_path.iterdir()) == []
