"""`iszones check`, `iszones zones` and `iszones sites` through the real command line."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from iszones.cli import LARGE_CHECK_BYTES, main
from iszones.errors import DataFileError

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "check"
REPO = HERE.parent
ISZONES = Path(sys.executable).parent / "iszones"


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory) -> Path:
    """A data folder with the fixture zones and the bundled admin units."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "boundaries").mkdir()
    shutil.copy(FIXTURES / "zones.geojson", folder / "boundaries" / "zones.geojson")
    shutil.copy(
        REPO / "data" / "boundaries" / "uk_admin_units.geojson",
        folder / "boundaries" / "uk_admin_units.geojson",
    )
    return folder


def check(*args: str | Path, folder: Path) -> tuple[int, str, str]:
    runner = CliRunner()
    outcome = runner.invoke(main, ["check", *map(str, args), "--data-dir", str(folder)])
    return outcome.exit_code, outcome.stdout, outcome.stderr


def test_check_through_the_installed_command(data_folder, tmp_path):
    out = tmp_path / "checked.csv"
    done = subprocess.run(
        [
            ISZONES,
            "check",
            FIXTURES / "sites_bng.csv",
            "--out",
            out,
            "--within-km",
            "1",
            "--data-dir",
            data_folder,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "11 sites: 5 inside a zone's area, 3 outside (2 within 1 km), 3 with problems",
        f"Wrote {out}",
    ]
    assert "Checking sites" in done.stderr  # the progress bar goes to stderr
    assert "sites_bng.csv: row 9: 'Easting' '4351OO' is not a number" in done.stderr
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(table) == 11
    assert table.columns[:4].tolist() == ["ref", "name", "Easting", "Northing"]
    assert table.loc[2, "zone_id"] == "1;2" and table.loc[2, "in_zone"] == "true"


def test_a_bad_file_through_the_installed_command(data_folder, tmp_path):
    out = tmp_path / "checked.csv"
    done = subprocess.run(
        [ISZONES, "check", tmp_path / "missing.csv", "--out", out, "--data-dir", data_folder],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"Error: {tmp_path / 'missing.csv'}: file not found. Check the path.\n"
    assert "Traceback" not in done.stderr and not out.exists()


def zipped(member: str, payload: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, payload)
    return buffer.getvalue()


BAD_INPUTS = {
    "empty.csv": (b"", "empty.csv: the file is empty"),
    "latin1.csv": (b"name,lat,lon\n\xa3\x81,52.9,-1.4\n", "line 2 is not Windows-1252 text"),
    "nocoords.csv": (b"name,town\nA,Derby\n", "no coordinate columns"),
    "ambiguous.csv": (b"lat,latitude,lon\n1,1,1\n", "could each be the latitude"),
    "both.csv": (b"lat,lon,easting,northing\n52.9,-1.4,435000,335000\n", "Say which to use"),
    "range.csv": (b"name,lat,lon\nA,95,-1.4\n", "no row could be located"),
    "negative.csv": (b"name,easting,northing\nA,-5,335000\n", "'easting' -5 is out of range"),
    "notnumbers.csv": (b"name,lat,lon\nA,north,west\n", "'lon' 'west' is not a number"),
    "swapped.csv": (b"name,lat,lon\nA,-1.48,52.91\n", "look swapped"),
    "postcodes.csv": (b"name,postcode\nA,hello\nB,ZZ99 9ZZ\n", "Fix the postcodes"),
    "broken.geojson": (b'{"type": "FeatureCollection", "features": [', "broken JSON at line 1"),
    "noshp.zip": (zipped("readme.txt"), "has no .shp file inside"),
    "escape.zip": (zipped("../../etc/evil.shp"), "has a path outside the zip's folder"),
    "entity.kml": (b'<!DOCTYPE k [<!ENTITY e "x">]><kml>&e;</kml>', "entity declaration"),
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])  # a CSV streamed, and read whole
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_inputs_give_one_line_exit_1_and_write_nothing(name, suffix, data_folder, tmp_path):
    payload, message = BAD_INPUTS[name]
    source = tmp_path / name
    source.write_bytes(payload)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout, stderr = check(source, "--out", out_dir / f"checked{suffix}", folder=data_folder)
    assert code == 1
    assert stderr.startswith(f"Error: {name}: ") and message in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stdout == ""
    assert list(out_dir.iterdir()) == []  # no output, no temporary file left behind


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--max-mb", "0.0001"], "over the 0.0001 MB limit"),
        (["--crs", "EPSG:0"], "CRS 'EPSG:0' is not one pyproj knows"),
        (["--out", "checked.txt"], "cannot write a '.txt' file"),
        (["--boundaries", str(FIXTURES / "sites_bng.csv")], "cannot read boundaries from a '.csv'"),
    ],
)
def test_bad_options_are_clean_errors(extra, message, data_folder, tmp_path):
    args = [FIXTURES / "sites_bng.csv", *extra]
    if "--out" not in extra:
        args += ["--out", tmp_path / "checked.csv"]
    code, _, stderr = check(*args, folder=data_folder)
    assert code == 1 and message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "checked.csv").exists()


def test_a_failed_check_leaves_an_older_output_untouched(data_folder, tmp_path):
    out = tmp_path / "checked.csv"
    out.write_text("last week's results\n")
    source = tmp_path / "bad.csv"
    source.write_text("name,postcode\nA,DE1\n")
    code, _, _ = check(source, "--out", out, folder=data_folder)
    assert code == 1 and out.read_text() == "last week's results\n"


def test_boundaries_options_are_exclusive(data_folder, tmp_path):
    official = FIXTURES / "official_boundary.geojson"
    code, _, stderr = check(
        FIXTURES / "sites_bng.csv",
        "--out",
        tmp_path / "o.csv",
        "--boundaries",
        official,
        "--add-boundaries",
        official,
        folder=data_folder,
    )
    assert code == 2 and "Give --boundaries or --add-boundaries, not both" in stderr


@pytest.mark.parametrize(
    ("option", "p8_zone", "p5_zone"), [("--boundaries", "", ""), ("--add-boundaries", "", "3")]
)
def test_uploaded_boundaries(option, p8_zone, p5_zone, data_folder, tmp_path):
    out = tmp_path / "checked.csv"
    code, _, stderr = check(
        FIXTURES / "sites_bng.csv",
        "--out",
        out,
        option,
        FIXTURES / "official_boundary.geojson",
        folder=data_folder,
    )
    assert code == 0, stderr
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig").set_index(
        "ref"
    )
    assert table.loc["P1", "zone_name"] == "Official tax site"
    assert table.loc["P1", "boundary_source"] == "uploaded official_boundary.geojson (as supplied)"
    assert table.loc["P8", "zone_id"] == p8_zone
    assert table.loc["P5", "zone_id"] == p5_zone
    if option == "--add-boundaries":
        assert "zone 1: the bundled footprint is replaced by the uploaded boundary" in stderr


def test_output_formats_follow_the_extension(data_folder, tmp_path):
    for suffix in (".xlsx", ".geojson", ".gpkg"):
        out = tmp_path / f"checked{suffix}"
        code, _, stderr = check(FIXTURES / "polygons.geojson", "--out", out, folder=data_folder)
        assert code == 0, stderr
    rows = list(load_workbook(tmp_path / "checked.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:3] == ("site", "expect", "zone_id") and len(rows) == 7
    doc = json.loads((tmp_path / "checked.geojson").read_text())
    assert doc["features"][0]["properties"]["area_share_in_zone"] == 0.5
    back = gpd.read_file(tmp_path / "checked.gpkg")
    assert back.crs.to_epsg() == 4326 and len(back) == 6
    assert "feature 4: Self-intersection" in stderr  # the repaired bow tie is reported


def test_more_rows_than_an_excel_sheet_holds_are_refused_before_the_check(data_folder, tmp_path):
    """Excel holds 1,048,575 rows under the header: one more is refused once the file is read,
    before the check (which took 12 s of a 14 s refusal when it came at the writing)."""
    source = tmp_path / "many.csv"
    row = b"435100,335100\n"
    source.write_bytes(b"easting,northing\n" + row * 1_048_576)
    out = tmp_path / "many.xlsx"
    code, _, stderr = check(source, "--out", out, "--max-mb", "100", folder=data_folder)
    assert code == 1
    assert "1,048,576 rows do not fit in an Excel sheet (at most 1,048,575" in stderr
    assert "Checking sites" not in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.csv"]


def test_an_excel_sheet_holds_one_header_and_1048575_rows():
    from iszones.check.outputs import require_excel_rows

    require_excel_rows(1_048_575)
    with pytest.raises(DataFileError, match="1,048,576 rows do not fit"):
        require_excel_rows(1_048_576)


@pytest.mark.parametrize("command", ["check", "zones", "sites"])
def test_help_says_what_and_gives_an_example(command):
    outcome = CliRunner().invoke(main, [command, "--help"])
    assert outcome.exit_code == 0 and "Example: iszones " + command in outcome.output


# ---------------------------------------------------------------- zones and sites (bundled data)


def run(*args: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, list(args))
    return outcome.exit_code, outcome.stdout, outcome.stderr


def test_zones_table_and_filters():
    code, stdout, _ = run("zones")
    assert code == 0 and stdout.splitlines()[-1] == "22 zones"
    code, stdout, _ = run("zones", "--programme", "both")
    assert stdout.splitlines()[-1] == "3 zones" and "East Midlands Freeport" in stdout
    code, stdout, _ = run("zones", "--nation", "Wales", "--sector", "Clean Energy Industries")
    assert "Celtic Freeport" in stdout and "Thames" not in stdout


def test_zones_to_csv_and_geojson(tmp_path):
    code, stdout, _ = run(
        "zones", "--programme", "investment_zone", "--out", str(tmp_path / "z.csv")
    )
    assert code == 0 and stdout.startswith("Wrote ")
    table = pd.read_csv(tmp_path / "z.csv", encoding="utf-8-sig")
    assert table.columns.tolist()[:3] == ["zone_id", "name", "programme"]
    assert set(table["programme"]) == {"investment_zone", "both"}
    run("zones", "--zone", "22", "--out", str(tmp_path / "z.geojson"))
    doc = json.loads((tmp_path / "z.geojson").read_text())
    assert [f["properties"]["zone_id"] for f in doc["features"]] == [22]
    assert doc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_sites_table_filters_and_output(tmp_path):
    code, stdout, _ = run("sites", "--zone", "22", "--kind", "tax_site")
    assert code == 0 and "ratcliffe-on-soar" in stdout and "millbrook" not in stdout
    code, stdout, _ = run("sites", "--q", "Millbrook")
    assert stdout.splitlines()[-1] == "1 site" and "Central Bedfordshire" in stdout
    run("sites", "--zone", "22", "--out", str(tmp_path / "s.geojson"))
    doc = json.loads((tmp_path / "s.geojson").read_text())
    assert all(22 in f["properties"]["zone_ids"] for f in doc["features"])


def test_listing_errors_are_clean():
    code, _, stderr = run("zones", "--zone", "99")
    assert code == 1 and stderr.startswith("Error: unknown zone 99")
    code, _, stderr = run("sites", "--kind", "castle")
    assert code == 1 and stderr.startswith(
        "Error: unknown site kind 'castle' (choose from: tax_site"
    )
    # loosely spelt values are matched, as in the dashboard's links and export-map
    code, stdout, _ = run("zones", "--programme", "Investment Zone", "--nation", "england")
    assert code == 0 and stdout.splitlines()[-1] == "8 zones"  # 5 IZs + 3 both


@pytest.mark.parametrize("suffix", [".csv", ".geojson"])
def test_a_small_csv_into_a_csv_loads_neither_geopandas_nor_numba(suffix, tmp_path):
    """Issue 15's start-up target: a CSV into a CSV (or GeoJSON, streamed too) against the
    bundled data (its index read back from the disk cache) imports no geopandas, matplotlib or
    numba; pandas comes only with pyarrow, which imports it when it converts arrays."""
    source = tmp_path / "small.csv"
    rows = [f"s{i},{435000 + i * 100},{335000 + i * 50}" for i in range(10)]
    source.write_text("name,easting,northing\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from iszones.cli import main\n"
        "try:\n"
        "    main(['check', sys.argv[1], '--out', sys.argv[2]])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "print('modules:', *sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    loaded = []
    for run in ("first", "again"):  # the first run after a change makes the cached index
        out = tmp_path / f"{run}{suffix}"
        done = subprocess.run(
            [sys.executable, "-c", code, str(source), str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        loaded.append(set(done.stdout.split("modules:")[-1].split()))
        assert out.read_bytes() == (tmp_path / f"first{suffix}").read_bytes()
    assert "iszones" in loaded[1]
    assert not loaded[1] & {"geopandas", "matplotlib", "numba", "pyogrio", "dask"}


def test_a_large_check_keeps_its_grid_cells_for_the_next(data_folder, tmp_path, monkeypatch):
    """A streamed check of a large file keeps the grid cells it built (data.diskcache); the next
    one starts from them, builds none for the same places and writes the same bytes."""
    from iszones import cli
    from iszones.data.diskcache import CACHE_ENV
    from iszones.geo.grid import PolygonGrid

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "LARGE_CHECK_BYTES", 0)  # the 2,000 rows here count as large
    taken = []
    add_cells = PolygonGrid.add_cells
    monkeypatch.setattr(
        PolygonGrid, "add_cells", lambda grid, state: taken.append(add_cells(grid, state))
    )
    rng = np.random.default_rng(11)
    rows = [f"s{i},{x:.1f},{y:.1f}" for i, (x, y) in enumerate(rng.uniform(3e5, 5e5, (2000, 2)))]
    source = tmp_path / "sites.csv"
    source.write_text("name,easting,northing\n" + "\n".join(rows) + "\n", encoding="utf-8")
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.csv"
        assert check(source, "--out", out, folder=data_folder)[0] == 0
        outputs.append(out.read_bytes())
        kept = {p.name: p.read_bytes() for p in (tmp_path / "cache").glob("grid-cells-*")}
        if run == 0:
            assert taken == [] and kept  # nothing to start from; cells kept after
            first_kept = kept
    assert taken and all(taken)  # the second run took the kept cells
    assert kept == first_kept  # and built none: nothing new to keep
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".xlsx"])  # streamed, streamed, whole
def test_a_large_check_keeps_its_grid_cells_unless_against_a_users_files(
    suffix, data_folder, tmp_path, monkeypatch
):
    """Cells kept from a check against uploaded boundaries would stay on disk, a set for each
    file a user (or a dashboard's visitors) ever checked against: they are not kept."""
    from iszones.check import core, frames

    cache = tmp_path / "cache"
    monkeypatch.setenv("ISZONES_CACHE_DIR", str(cache))
    monkeypatch.setattr("iszones.cli.LARGE_CHECK_BYTES", 1)  # the fixture counts as large
    monkeypatch.setattr(frames, "LARGE_CHECK_ROWS", 1)
    rng = np.random.default_rng(2)  # enough points for the grid to build cells (over 1,000)
    x, y = rng.uniform(400_000, 480_000, 2_000), rng.uniform(300_000, 380_000, 2_000)
    sites = tmp_path / "sites.csv"
    pd.DataFrame({"ref": range(2_000), "easting": x, "northing": y}).to_csv(sites, index=False)

    def kept_after(*options: str | Path) -> list[Path]:
        core.clear_grids()  # as in a new process: every cell built again
        shutil.rmtree(cache, ignore_errors=True)
        out = tmp_path / f"checked{suffix}"
        code, _, stderr = check(sites, "--out", out, *options, folder=data_folder)
        assert code == 0, stderr
        return sorted(cache.glob("grid-cells-*"))

    assert kept_after()  # against the bundled data
    assert not kept_after("--boundaries", FIXTURES / "official_boundary.geojson")
    assert not kept_after("--add-boundaries", FIXTURES / "official_boundary.geojson")


def test_a_list_of_a_few_thousand_sites_keeps_its_grid_cells(data_folder, tmp_path, monkeypatch):
    """Reading the kept cells beats building them from a few thousand sites spread over the
    country (1.1 s against 1.8 s for 3,000), so a streamed file of 64 KB keeps them; a list of a
    few hundred builds its few cells faster than it would read them, and writes none."""
    from iszones.check import core

    cache = tmp_path / "cache"
    monkeypatch.setenv("ISZONES_CACHE_DIR", str(cache))
    rng = np.random.default_rng(4)

    def kept_after(rows: int) -> list[Path]:
        core.clear_grids()
        shutil.rmtree(cache, ignore_errors=True)
        x, y = rng.uniform(150_000, 650_000, rows), rng.uniform(50_000, 950_000, rows)
        sites = tmp_path / f"sites{rows}.csv"
        frame = pd.DataFrame({"ref": range(rows), "easting": x, "northing": y}).round(1)
        frame.to_csv(sites, index=False)
        code, _, stderr = check(sites, "--out", tmp_path / "out.csv", folder=data_folder)
        assert code == 0, stderr
        return sorted(cache.glob("grid-cells-*"))

    assert kept_after(4_000)  # about 90 KB
    assert (tmp_path / "sites4000.csv").stat().st_size >= LARGE_CHECK_BYTES
    assert not kept_after(300)
