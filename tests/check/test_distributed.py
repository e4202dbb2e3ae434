"""`--engine dask`: the same answers as one machine, on a small LocalCluster (two worker
processes, started once for the module and closed after it)."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from benchmarks.bulk_check import write_sites_csv
from iszones.check.distributed import DistributedError, check_distributed
from iszones.check.frames import bundled_boundaries, check_sites, prepare_check
from iszones.check.stream import CsvCheck
from iszones.cli import main
from iszones.data.catalogue import read_admin_units, read_zones
from iszones.errors import DataFileError
from tests.conftest import TESTS

distributed = pytest.importorskip("distributed")

HERE = TESTS
DATA = HERE.parent / "data" / "boundaries"


@pytest.fixture(scope="module")
def client():
    # Streamlit's AppTest (test_app, test_page_check) leaves its script as __main__, which
    # spawned workers would run again on start-up: they start from a clean interpreter instead.
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(sys.modules["__main__"], "__file__", raising=False)
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as dask_client,
        ):
            yield dask_client


@pytest.fixture(scope="module")
def frames():
    zones = bundled_boundaries(read_zones(DATA / "zones.geojson"))
    units = read_admin_units(DATA / "uk_admin_units.geojson")
    return zones, units


@pytest.fixture(scope="module")
def index(frames):
    return prepare_check(*frames)


@pytest.fixture(scope="module")
def sites_csv(tmp_path_factory) -> Path:
    return write_sites_csv(
        tmp_path_factory.mktemp("in") / "sites.csv", 4000, seed=5, variant="wgs84"
    )


def single_machine(source: Path, index, out: Path, **kwargs) -> bytes:
    CsvCheck(source).run(out, index, **kwargs)
    return out.read_bytes()


def test_csv_parts_hold_the_single_machine_rows(client, index, sites_csv, tmp_path):
    out = tmp_path / "checked.csv"
    outcome = check_distributed(
        str(sites_csv), str(out), index, client=client, part_bytes=40_000, within_km=2
    )
    parts = sorted(out.glob("part-*.csv"))
    assert outcome.parts == len(parts) > 3
    expected_header, expected_rows = single_machine(
        sites_csv, index, tmp_path / "one.csv", within_km=2
    ).split(b"\n", 1)
    headers = {p.read_bytes().split(b"\n", 1)[0] for p in parts}
    assert headers == {expected_header}  # every part a complete CSV, byte-order mark and all
    assert b"".join(p.read_bytes().split(b"\n", 1)[1] for p in parts) == expected_rows
    assert outcome.summary.rows == 4000
    assert "EPSG:4326" in outcome.notes[0]
    assert not list(tmp_path.glob("*.tmp-*"))


def test_a_windows_1252_csv_on_the_cluster_equals_one_machine(client, index, tmp_path):
    rows = "".join(f"Caf\u00e9 {i} \u00a3{i},-1.{i % 90:02d},52.9\n" for i in range(300))
    source = tmp_path / "council.csv"
    source.write_bytes(("name,lon,lat\n" + rows).encode("cp1252"))
    out = tmp_path / "checked.csv"
    outcome = check_distributed(str(source), str(out), index, client=client, part_bytes=3_000)
    parts = sorted(out.glob("part-*.csv"))
    assert len(parts) >= 2
    expected = single_machine(source, index, tmp_path / "one.csv").split(b"\n", 1)[1]
    assert b"".join(p.read_bytes().split(b"\n", 1)[1] for p in parts) == expected
    assert "council.csv: read as Windows-1252 text" in " ".join(outcome.notes)


def test_parquet_parts_hold_typed_results(client, index, sites_csv, tmp_path):
    out = tmp_path / "checked.parquet"
    check_distributed(str(sites_csv), str(out), index, client=client, part_bytes=60_000)
    got = pd.read_parquet(out)
    one = pd.read_csv(
        tmp_path / "one.csv"
        if (tmp_path / "one.csv").exists()
        else _one(sites_csv, index, tmp_path),
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    assert len(got) == len(one) == 4000
    assert got["zone_id"].astype(object).fillna("").tolist() == one["zone_id"].tolist()
    assert (
        got["local_authority"].astype(object).fillna("").tolist() == one["local_authority"].tolist()
    )
    assert got["in_zone"].dtype == "boolean" or got["in_zone"].dtype == object
    checked = one["problem"] == ""
    distance = got.loc[checked, "nearest_zone_distance_m"].to_numpy()
    assert (distance == one.loc[checked, "nearest_zone_distance_m"].astype(float)).all()


def _one(source: Path, index, tmp_path: Path) -> Path:
    out = tmp_path / "one.csv"
    CsvCheck(source).run(out, index)
    return out


def test_parquet_input_with_coordinates(client, index, sites_csv, tmp_path):
    table = pd.read_csv(sites_csv, dtype=str, keep_default_na=False)
    table["latitude"] = pd.to_numeric(table["latitude"], errors="coerce")
    table["longitude"] = pd.to_numeric(table["longitude"], errors="coerce")
    folder = tmp_path / "sites.parquet"
    folder.mkdir()
    for i, part in enumerate((table.iloc[:1500], table.iloc[1500:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"p{i}.parquet")
    out = tmp_path / "checked.parquet"
    outcome = check_distributed(str(folder), str(out), index, client=client)
    got = pd.read_parquet(out)
    one = pd.read_csv(_one(sites_csv, index, tmp_path), dtype=str, keep_default_na=False)
    assert outcome.parts == 2 and len(got) == 4000
    good = (one["problem"] == "").to_numpy() & got["latitude"].notna().to_numpy()
    assert (
        got.loc[good, "zone_id"].astype(object).fillna("").tolist()
        == one.loc[good, "zone_id"].tolist()
    )
    assert got["latitude"].dtype.kind == "f"  # the input columns keep their types


def test_geoparquet_goes_through_check_sites(client, frames, index, tmp_path):
    zones, units = frames
    sites = gpd.GeoDataFrame(
        {"name": ["point", "square", "none"]},
        geometry=[Point(-1.48, 52.91), box(-1.49, 52.90, -1.47, 52.92), None],
        crs="EPSG:4326",
    )
    source = tmp_path / "sites.parquet"
    sites.to_parquet(source)
    out = tmp_path / "checked.parquet"
    outcome = check_distributed(str(source), str(out), index, client=client)
    got = gpd.read_parquet(out)
    expected = check_sites(sites, zones, units)
    assert (
        got["zone_id"].astype(object).fillna("").tolist()
        == expected["zone_id"].astype(object).fillna("").tolist()
    )
    assert got["area_share_in_zone"].iloc[1] == pytest.approx(
        expected["area_share_in_zone"].iloc[1]
    )
    assert outcome.summary.problems == 1 and got.crs.to_epsg() == 4326


def test_a_failed_check_writes_nothing(client, index, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("name,lat,lon\n" + "".join(f"{i},95,1\n" for i in range(50)))
    out = tmp_path / "checked.csv"
    with pytest.raises(DataFileError, match=r"no row could be located \(50 in all\)"):
        check_distributed(str(source), str(out), index, client=client)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.parametrize(
    ("source", "output", "match"),
    [
        ("sites.txt", "out.csv", r"sites\.txt: cannot use it as the input"),
        ("sites.csv", "out.xlsx", r"out\.xlsx: cannot use it as the output"),
    ],
)
def test_bad_paths_say_what_would_do(client, index, source, output, match):
    with pytest.raises(DistributedError, match=match):
        check_distributed(source, output, index, client=client)


def test_cli_on_the_cluster(client, sites_csv, tmp_path):
    out = tmp_path / "checked.parquet"
    address = client.scheduler.address
    result = CliRunner().invoke(
        main,
        ["check", str(sites_csv), "--out", str(out), "--engine", "dask", "--scheduler", address],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("4,000 sites: ")
    assert len(pd.read_parquet(out)) == 4000


def test_cli_unreachable_scheduler_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr("iszones.check.distributed.CONNECT_TIMEOUT", "1s")
    result = CliRunner().invoke(
        main,
        [
            "check",
            str(HERE / "fixtures" / "check" / "sites_bng.csv"),
            "--out",
            str(tmp_path / "o.csv"),
            "--engine",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 1
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.stderr
