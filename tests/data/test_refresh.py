"""Tests for `iszones refresh`: the ArcGIS REST client, the checks, the safe write, the CLI.

No test touches the internet: a fake ArcGIS feature service runs on 127.0.0.1 in a thread and
serves tests/fixtures/refresh/lads.geojson (14 hand-made squares named after real councils), with
faults injected per request. The data folder is a temporary copy holding three real zones
(3 Freeport East, 13 South Yorkshire, 22 East Midlands) whose current footprints were built
from the bundled Natural Earth units, so every failure can be checked byte for byte.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import mapping, shape

from iszones.cli import main
from iszones.data import lads as lad_build
from iszones.data import refresh
from iszones.data.catalogue import read_sites, read_zones
from iszones.errors import CRSError, SchemaError
from tests.conftest import ROOT, TESTS

FIXTURES = TESTS / "fixtures" / "refresh"
ZONE_IDS = (3, 13, 22)
LAYER_PATH = "/arcgis/rest/services/LAD_TEST_BGC/FeatureServer/0"


def fixture_features() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "lads.geojson").read_text(encoding="utf-8"))["features"]


# --- the fake ArcGIS feature service -------------------------------------------------------


class FakeArcGIS:
    """A feature layer that answers /query like ArcGIS, with faults queued per request key.

    Keys are 'count' (returnCountOnly) and 'offset=N' (a page). Each request pops one fault
    from its key's queue: '500', '429:<Retry-After>', 'slow', 'truncate', 'malformed',
    'arcgis_error', 'wrong_crs' or 'html'.
    """

    def __init__(self, features: list[dict[str, Any]], max_record_count: int = 4) -> None:
        self.features = features
        self.max_record_count = max_record_count
        self.announce: int | None = None
        self.faults: dict[str, list[str]] = {}
        self.requests: list[dict[str, Any]] = []
        self.slow_s = 1.5
        self.url = ""

    def fail(self, key: str, fault: str, times: int = 1) -> None:
        self.faults.setdefault(key, []).extend([fault] * times)

    def answer(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("returnCountOnly") == "true":
            return {"count": len(self.features) if self.announce is None else self.announce}
        offset = int(params.get("resultOffset", 0))
        size = min(int(params.get("resultRecordCount", 1000)), self.max_record_count)
        page = self.features[offset : offset + size]
        doc: dict[str, Any] = {"type": "FeatureCollection", "features": page}
        if offset + len(page) < len(self.features):
            doc["properties"] = {"exceededTransferLimit": True}
        return doc


def _to_bng(feature: dict[str, Any]) -> dict[str, Any]:
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    geom = shapely.transform(
        shape(feature["geometry"]), lambda xy: np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))
    )
    return {**feature, "geometry": mapping(geom)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        return None

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake: FakeArcGIS = self.server.fake
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != LAYER_PATH + "/query":
            self._send(404, b'{"error": {"code": 404, "message": "not found"}}')
            return
        key = (
            "count"
            if params.get("returnCountOnly") == "true"
            else f"offset={params.get('resultOffset')}"
        )
        fake.requests.append(
            {"key": key, "params": params, "user_agent": self.headers.get("User-Agent")}
        )
        queue = fake.faults.get(key) or []
        fault = queue.pop(0) if queue else ""
        doc = fake.answer(params)
        try:
            if fault == "500":
                self._send(500, b'{"error": "Internal Server Error"}')
            elif fault.startswith("429:"):
                self._send(429, b"{}", {"Retry-After": fault.split(":", 1)[1]})
            elif fault == "slow":
                time.sleep(fake.slow_s)
                self._send(200, json.dumps(doc).encode())
            elif fault == "truncate":
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif fault == "malformed":
                self._send(200, json.dumps(doc).encode()[:-40])
            elif fault == "html":
                self._send(200, b"<html><body>Proxy login</body></html>")
            elif fault == "arcgis_error":
                error = {
                    "code": 400,
                    "message": "Unable to complete operation.",
                    "details": ["'outSR' parameter is invalid"],
                }
                self._send(200, json.dumps({"error": error}).encode())
            elif fault == "wrong_crs":
                doc["features"] = [_to_bng(f) for f in doc["features"]]
                self._send(200, json.dumps(doc).encode())
            else:
                self._send(200, json.dumps(doc).encode())
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


@pytest.fixture
def arcgis() -> Iterator[FakeArcGIS]:
    fake = FakeArcGIS(fixture_features())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{LAYER_PATH}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# --- the data folder -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def base_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder: real attributes of three zones, fixture tables, NE-built current zones."""
    root = tmp_path_factory.mktemp("refresh-base")
    bdir = root / "boundaries"
    bdir.mkdir()
    shutil.copy(ROOT / "data" / "boundaries" / "uk_admin_units.geojson", bdir)
    for name in ("membership.csv", "lad_membership.csv"):
        shutil.copy(FIXTURES / name, bdir)
    shutil.copy(FIXTURES / "sites.geojson", root)
    doc = json.loads((ROOT / "data/boundaries/zone_attributes.json").read_text(encoding="utf-8"))
    doc["zones"] = [z for z in doc["zones"] if z["zone_id"] in ZONE_IDS]
    (bdir / "zone_attributes.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    result = CliRunner().invoke(main, ["build-boundaries", "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def data(base_data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(base_data_dir, target)
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (temporary ones included), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fast(sleeps: list[float]) -> refresh.ClientOptions:
    """Short timeouts, two retries, no real waiting: the waits asked for are recorded."""
    return refresh.ClientOptions(
        timeout=(1.0, 0.5), retries=2, backoff_factor=0.25, page_size=5, sleep=sleeps.append
    )


def run(data: Path, arcgis: FakeArcGIS, fast: refresh.ClientOptions, **kwargs: Any) -> Any:
    return refresh.refresh_boundaries(
        data, source_url=arcgis.url, min_features=10, options=fast, **kwargs
    )


# --- successful runs -----------------------------------------------------------------------


def test_pages_across_several_pages_and_writes_safely(data, arcgis, fast, sleeps):
    old = snapshot(data)
    report = run(data, arcgis, fast)
    pages = [r["params"]["resultOffset"] for r in arcgis.requests if r["key"] != "count"]
    assert pages == ["0", "4", "8", "12"]  # the service caps pages at 4, below the 5 asked
    assert report.pages == 4 and report.feature_count == 14 and sleeps == []
    assert all(r["user_agent"].startswith("iszones/") for r in arcgis.requests)
    assert all(r["params"]["outSR"] == "4326" for r in arcgis.requests if r["key"] != "count")
    bdir = data / "boundaries"
    assert (bdir / "zones.previous.geojson").read_bytes() == old["boundaries/zones.geojson"]
    zones = read_zones(bdir / "zones.geojson")
    assert list(zones["zone_id"]) == list(ZONE_IDS)
    manifest = json.loads((bdir / "boundaries_manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"] == arcgis.url and manifest["feature_count"] == 14
    assert manifest["vintage"] == "LAD24" and manifest["pages"] == 4
    assert manifest["zones_sha256"] == refresh._sha256_file(bdir / "zones.geojson")
    assert manifest["previous"]["kind"] == "bundled"
    assert len(manifest["source_sha256"]) == 64 and manifest["date"].endswith("Z")
    untouched = {k: v for k, v in old.items() if k != "boundaries/zones.geojson"}
    assert {k: v for k, v in snapshot(data).items() if k in untouched} == untouched
    assert not list(bdir.glob(".*tmp"))


def test_zone_footprints_follow_the_councils(data, arcgis, fast):
    run(data, arcgis, fast)
    zones = read_zones(data / "boundaries" / "zones.geojson").set_index("zone_id")
    lads = gpd.GeoDataFrame.from_features(fixture_features(), crs="EPSG:4326").set_index("LAD24CD")
    south_yorkshire = shapely.union_all(lads.geometry.array[:4])
    # An Investment Zone is exactly its councils (to the 50 m simplification and 1 m rounding).
    gap = shapely.symmetric_difference(zones.geometry[13], south_yorkshire)
    assert gap.area < 1e-4 * south_yorkshire.area
    assert zones.loc[13, "lad_codes"] == ["E08000016", "E08000017", "E08000018", "E08000019"]
    assert "Sheffield (E08000019)" in zones.loc[13, "geometry_method"]
    assert "LAD24 codes" in zones.loc[13, "geometry_method"]
    # Zone 22: EMCCA councils plus the Freeport hull reaching the airport in NW Leicestershire,
    # but not all of NW Leicestershire (a host council, drawn by the outer-boundary method).
    nwl = lads.geometry["E07000134"]
    assert zones.geometry[22].covers(lads.geometry["E07000176"].buffer(-1e-3))
    assert 0 < zones.geometry[22].intersection(nwl).area < 0.5 * nwl.area
    # Freeport East stays on the fetched land apart from the discs kept round its anchors.
    land = shapely.union_all(lads.geometry.array)
    assert zones.geometry[3].difference(land).area < 0.02 * zones.geometry[3].area


def test_retries_a_500_then_succeeds(data, arcgis, fast, sleeps):
    arcgis.fail("count", "500")
    arcgis.fail("offset=4", "500")
    report = run(data, arcgis, fast)
    assert report.feature_count == 14
    assert sleeps == [0.25, 0.25]  # backoff_factor * 2**0 before each second attempt


def test_backoff_doubles(data, arcgis, fast, sleeps):
    arcgis.fail("offset=0", "500", times=2)
    run(data, arcgis, fast)
    assert sleeps == [0.25, 0.5]


def test_honours_retry_after_on_429(data, arcgis, fast, sleeps):
    arcgis.fail("offset=8", "429:3")
    report = run(data, arcgis, fast)
    assert report.feature_count == 14 and sleeps == [3.0]


def test_retries_a_timeout_then_succeeds(data, arcgis, fast, sleeps):
    arcgis.fail("offset=4", "slow")
    report = run(data, arcgis, fast)
    assert report.feature_count == 14 and len(sleeps) == 1


def test_dry_run_reports_and_writes_nothing(data, arcgis):
    old = snapshot(data)
    result = CliRunner().invoke(
        main,
        [
            "refresh",
            "--source-url",
            arcgis.url,
            "--data-dir",
            str(data),
            "--min-features",
            "10",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert snapshot(data) == old
    out = result.stdout
    assert "Districts: 14 in 4 page(s)" in out and "Dry run: nothing written." in out
    assert "zone  before km2   after km2" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("13 "))
    assert "1641.4" in line and "4/4" in line and "South Yorkshire" in line
    assert "14 districts read (LAD24 codes)" in result.stderr


def test_cli_refresh_writes_and_reports(data, arcgis):
    result = CliRunner().invoke(
        main,
        ["refresh", "--source-url", arcgis.url, "--data-dir", str(data), "--min-features", "10"],
    )
    assert result.exit_code == 0, result.output
    assert "zones.previous.geojson" in result.stdout and "boundaries_manifest.json" in result.stdout


def test_same_data_twice_keeps_the_older_previous(data, arcgis, fast):
    original = (data / "boundaries" / "zones.geojson").read_bytes()
    run(data, arcgis, fast)
    first = (data / "boundaries" / "zones.geojson").read_bytes()
    report = run(data, arcgis, fast)
    assert (data / "boundaries" / "zones.geojson").read_bytes() == first
    assert (data / "boundaries" / "zones.previous.geojson").read_bytes() == original
    assert "only the manifest changed" in "\n".join(refresh.format_report(report))


def test_second_refresh_keeps_first_as_previous(data, arcgis, fast):
    run(data, arcgis, fast)
    first = (data / "boundaries" / "zones.geojson").read_bytes()
    arcgis.features = [
        _grow(f, 0.01) if f["properties"]["LAD24CD"] == "E08000017" else f for f in arcgis.features
    ]
    run(data, arcgis, fast)
    assert (data / "boundaries" / "zones.previous.geojson").read_bytes() == first
    manifest = json.loads((data / "boundaries/boundaries_manifest.json").read_text("utf-8"))
    assert manifest["previous"]["kind"] == "refresh"
    assert manifest["previous"]["zones_file"] == "zones.previous.geojson"


def test_freeport_without_anchors_is_drawn_as_its_host_councils(data, arcgis, fast):
    members = data / "boundaries" / "membership.csv"
    lines = members.read_text(encoding="utf-8").splitlines(keepends=True)
    members.write_text("".join(x for x in lines if not x.startswith("3,")), encoding="utf-8")
    run(data, arcgis, fast)
    zone = read_zones(data / "boundaries" / "zones.geojson").set_index("zone_id").loc[3]
    lads = gpd.GeoDataFrame.from_features(fixture_features(), crs="EPSG:4326")
    hosts = lads[lads["LAD24NM"].isin(["East Suffolk", "Tendring", "Mid Suffolk"])]
    expected = shapely.union_all(hosts.geometry.array)
    assert shapely.symmetric_difference(zone.geometry, expected).area < 1e-4 * expected.area
    assert "union of 3 council district(s): East Suffolk (E07000244)" in zone["geometry_method"]


def _grow(feature: dict[str, Any], degrees: float) -> dict[str, Any]:
    geom = shape(feature["geometry"]).buffer(degrees, join_style="mitre")
    return {**feature, "geometry": mapping(geom)}


# --- failures: each leaves every file byte for byte as it was ------------------------------

FAILURES = [
    pytest.param(
        lambda s: s.fail("count", "500", times=3),
        r"gave up after 3 attempt\(s\).*HTTP 500",
        id="500-always",
    ),
    pytest.param(
        lambda s: s.fail("offset=4", "slow", times=3), r"gave up.*time limit", id="timeout-always"
    ),
    pytest.param(
        lambda s: s.fail("offset=8", "truncate", times=3),
        r"gave up.*cut short",
        id="truncated-body",
    ),
    pytest.param(lambda s: s.fail("offset=4", "malformed"), r"not valid JSON", id="malformed-json"),
    pytest.param(
        lambda s: s.fail("offset=0", "html"), r"not valid JSON.*Proxy login", id="html-page"
    ),
    pytest.param(
        lambda s: s.fail("offset=0", "arcgis_error"),
        r"ArcGIS error 400: Unable to complete operation\. \[\"'outSR' parameter is invalid\"\]",
        id="arcgis-error-in-200",
    ),
    pytest.param(
        lambda s: s.fail("offset=4", "wrong_crs"),
        r"page 2 \(resultOffset=4\), feature 0 .*projected metres",
        id="page-in-wrong-crs",
    ),
    pytest.param(
        lambda s: setattr(
            s, "features", [f for f in s.features if f["properties"]["LAD24CD"] != "E08000018"]
        ),
        r"not in the layer \(LAD24 codes\): zone 13: Rotherham \(E08000018\)",
        id="missing-council",
    ),
    pytest.param(
        lambda s: setattr(s, "announce", 20),
        r"announced 20 features but the pages held 14",
        id="count-mismatch",
    ),
    pytest.param(
        lambda s: s.fail("count", "429:3600"),
        r"asks to wait 3600 s \(Retry-After\)",
        id="retry-after-too-long",
    ),
    pytest.param(
        lambda s: s.features.__setitem__(0, {**s.features[0], "geometry": None}),
        r"feature 0: has no geometry",
        id="null-geometry",
    ),
    pytest.param(
        lambda s: s.features.append(
            {**s.features[1], "geometry": mapping(shape(s.features[1]["geometry"]).buffer(0.01))}
        ),
        r"appears twice with different shapes",
        id="duplicate-code",
    ),
]


@pytest.mark.parametrize(("setup", "message"), FAILURES)
def test_failure_changes_nothing(data, arcgis, fast, setup, message):
    before = snapshot(data)
    setup(arcgis)
    with pytest.raises(refresh.RefreshError, match=message) as caught:
        run(data, arcgis, fast)
    assert str(caught.value).endswith(refresh.UNCHANGED)
    assert snapshot(data) == before


def test_failure_in_dry_run_changes_nothing_either(data, arcgis, fast):
    before = snapshot(data)
    arcgis.fail("offset=0", "arcgis_error")
    with pytest.raises(refresh.RefreshError, match="ArcGIS error 400"):
        run(data, arcgis, fast, dry_run=True)
    assert snapshot(data) == before


def test_unreachable_service_says_so(data, fast, sleeps):
    before = snapshot(data)
    with pytest.raises(refresh.RefreshError, match=r"cannot be reached from here.*--from-file"):
        refresh.refresh_boundaries(
            data, source_url=f"http://127.0.0.1:9{LAYER_PATH}", min_features=10, options=fast
        )
    assert snapshot(data) == before and len(sleeps) == 2


def test_too_few_districts_is_refused(data, arcgis, fast):
    before = snapshot(data)
    with pytest.raises(refresh.RefreshError, match=r"only 14 districts.*at least 300"):
        refresh.refresh_boundaries(data, source_url=arcgis.url, options=fast)
    assert snapshot(data) == before


def test_tax_site_outside_its_zone_is_refused(data, arcgis, fast):
    sites = data / "sites.geojson"
    doc = json.loads(sites.read_text(encoding="utf-8"))
    doc["features"][0]["geometry"]["coordinates"] = [1.7, 52.5]  # Felixstowe moved to sea
    sites.write_text(json.dumps(doc), encoding="utf-8")
    before = snapshot(data)
    with pytest.raises(
        refresh.RefreshError, match=r"tax site 'port-of-felixstowe' is .* km outside .* zone 3"
    ) as caught:
        run(data, arcgis, fast)
    assert snapshot(data) == before
    assert caught.value.report is not None and caught.value.report.zones[0].after_km2


def test_cli_failure_prints_the_table_and_exits_1(data, arcgis):
    arcgis.features = [f for f in arcgis.features if f["properties"]["LAD24NM"] != "Rotherham"]
    before = snapshot(data)
    result = CliRunner().invoke(
        main,
        ["refresh", "--source-url", arcgis.url, "--data-dir", str(data), "--min-features", "10"],
    )
    assert result.exit_code == 1
    assert "not found: Rotherham (E08000018)" in result.stdout
    assert "Error: " in result.stderr and "Nothing was written" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(data) == before


def test_cli_refuses_both_sources(data, arcgis):
    result = CliRunner().invoke(
        main,
        [
            "refresh",
            "--source-url",
            arcgis.url,
            "--from-file",
            str(FIXTURES / "lads.geojson"),
            "--data-dir",
            str(data),
        ],
    )
    assert result.exit_code == 2 and "not both" in result.output


def test_cli_help_documents_every_option():
    result = CliRunner().invoke(main, ["refresh", "--help"])
    for option in ("--source-url", "--from-file", "--dry-run", "--data-dir", "--min-features"):
        assert option in result.output
    assert f"default: {lad_build.MIN_FEATURES}" in result.output


# --- --from-file ---------------------------------------------------------------------------


def _bng_frame() -> gpd.GeoDataFrame:
    return gpd.read_file(FIXTURES / "lads.geojson").to_crs("EPSG:27700")


def test_from_file_geopackage_in_british_national_grid(data, tmp_path):
    path = tmp_path / "lads.gpkg"
    _bng_frame().to_file(path, driver="GPKG")
    report = refresh.refresh_boundaries(data, from_file=path, min_features=10)
    manifest = json.loads((data / "boundaries/boundaries_manifest.json").read_text("utf-8"))
    assert report.pages is None and manifest["source_kind"] == "file"
    assert manifest["layer"] == "lads.gpkg" and manifest["source"] == "lads.gpkg"
    assert manifest["source_sha256"] == refresh._sha256_file(path)


def test_from_file_zipped_shapefile(data, tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    _bng_frame().to_file(shp / "LAD_DEC_2024_UK_BGC.shp")
    archive = tmp_path / "LAD_DEC_2024_UK_BGC.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shp.iterdir():
            z.write(part, part.name)
    result = CliRunner().invoke(
        main,
        ["refresh", "--from-file", str(archive), "--data-dir", str(data), "--min-features", "10"],
    )
    assert result.exit_code == 0, result.output
    zones = read_zones(data / "boundaries" / "zones.geojson")
    assert "LAD_DEC_2024_UK_BGC.zip (LAD24 codes), read" in zones["geometry_method"].iloc[1]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_from_file_without_crs_changes_nothing(data, tmp_path):
    path = tmp_path / "nocrs.gpkg"
    _bng_frame().set_crs(None, allow_override=True).to_file(path, driver="GPKG")
    before = snapshot(data)
    with pytest.raises(refresh.RefreshError, match="has no coordinate reference system"):
        refresh.refresh_boundaries(data, from_file=path, min_features=10)
    assert snapshot(data) == before


def test_from_file_that_is_not_a_boundary_file(data, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(refresh.RefreshError, match=r"notes\.txt: is not a GeoJSON, GeoPackage"):
        refresh.refresh_boundaries(data, from_file=path, min_features=10)


VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="passwd"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer>
  <OGRVRTLayer name="web">
    <SrcDataSource>/vsicurl/http://127.0.0.1:{port}/lads.geojson</SrcDataSource>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("lads.vrt", VRT),
        ("lads.geojson", VRT),  # the name does not decide: the content does
        ("lads.csv", "LAD24CD,LAD24NM,WKT\nE06000001,Hartlepool,POINT (0 0)\n"),
        ("lads.kml", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>'),
    ],
)
def test_from_file_refuses_other_formats_before_gdal_sees_them(data, tmp_path, name, text):
    """A VRT could make GDAL open /etc/passwd or a URL: only the three formats, by content."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = tmp_path / name
        path.write_text(text.replace("{port}", str(server.server_address[1])), encoding="utf-8")
        before = snapshot(data)
        result = CliRunner().invoke(
            main, ["refresh", "--from-file", str(path), "--data-dir", str(data)]
        )
    finally:
        server.shutdown()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and f"{name}: is not a GeoJSON, GeoPackage or zipped Shapefile" in lines[0]
    )
    assert "Traceback" not in result.output and not seen and snapshot(data) == before


def test_missing_lad_membership_is_explained(data, arcgis, fast):
    (data / "boundaries" / "lad_membership.csv").unlink()
    with pytest.raises(refresh.RefreshError, match=r"lad_membership.csv: file not found"):
        run(data, arcgis, fast)
    assert not arcgis.requests  # checked before any download


# --- boundary_vintage, for the dashboard ---------------------------------------------------


def test_boundary_vintage_falls_back_to_the_bundled_footprints(data, tmp_path):
    assert refresh.boundary_vintage(data) == refresh.BUNDLED_VINTAGE
    assert refresh.boundary_vintage(tmp_path / "nowhere")["kind"] == "bundled"


def test_boundary_vintage_after_refresh_and_after_rollback(data, arcgis, fast):
    run(data, arcgis, fast, now=dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    vintage = refresh.boundary_vintage(data)
    assert vintage["kind"] == "refresh" and vintage["date"] == "2027-01-02"
    assert vintage["label"] == "LAD TEST BGC (LAD24 codes), fetched 2027-01-02"
    assert vintage["source"] == arcgis.url and vintage["feature_count"] == 14
    assert refresh.boundary_vintage(data / "boundaries") == vintage
    bdir = data / "boundaries"
    shutil.copy(bdir / "zones.previous.geojson", bdir / "zones.geojson")  # roll back by hand
    assert refresh.boundary_vintage(data)["kind"] == "bundled"


# --- pure pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0", 0.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after(header, expected):
    assert refresh._retry_after(header) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/FeatureServer/0", "not an http"),
        ("https://example.org/FeatureServer/0/query?where=1=1", "has a query string"),
    ],
)
def test_query_url_rejects(url, message):
    with pytest.raises(refresh.FetchError, match=message):
        refresh.query_url(url)


def test_query_url_and_title():
    assert refresh.query_url(refresh.DEFAULT_SOURCE_URL + "/").endswith("/FeatureServer/0/query")
    assert refresh.layer_title(refresh.DEFAULT_SOURCE_URL) == (
        "Local Authority Districts December 2024 Boundaries UK BGC"
    )


def test_parse_page_rejects_a_declared_projected_crs():
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:27700"}},
        "features": [],
    }
    with pytest.raises(CRSError, match=r"declares CRS 'EPSG:27700'"):
        lad_build.parse_page(doc, where="page 1")


def test_lads_outside_the_uk_are_refused():
    feature = copy.deepcopy(fixture_features()[0])
    feature["geometry"]["coordinates"] = [
        [[y, x] for x, y in feature["geometry"]["coordinates"][0]]
    ]
    with pytest.raises(CRSError, match="outside the UK"):
        lad_build.lads_from_features([feature], where="swapped")


def test_invalid_district_geometry_is_repaired():
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[-1.5, 53.0], [-1.4, 53.1], [-1.4, 53.0], [-1.5, 53.1], [-1.5, 53.0]]],
    }
    feature = {
        "type": "Feature",
        "properties": {"LAD24CD": "E06000015", "LAD24NM": "Derby"},
        "geometry": bowtie,
    }
    lads, fields, notes = lad_build.lads_from_features([feature], where="bowtie")
    assert lads.geometry.iloc[0].is_valid and fields.vintage == "LAD24"
    assert notes and "Self-intersection" in notes[0]


@pytest.mark.parametrize(
    ("columns", "code", "name"),
    [
        (["FID", "LAD24CD", "LAD24NM", "LAD24NMW"], "LAD24CD", "LAD24NM"),
        (["lad23cd", "lad23nm"], "lad23cd", "lad23nm"),
        (["LAD21CD", "LAD21NM", "LAD24CD", "LAD24NM"], "LAD24CD", "LAD24NM"),
    ],
)
def test_find_lad_fields(columns, code, name):
    assert lad_build.find_lad_fields(columns, where="x") == lad_build.LadFields(code, name)


def test_find_lad_fields_names_the_fields_it_saw():
    with pytest.raises(SchemaError, match=r"no LAD code field .* \['WD24CD', 'WD24NM'\]"):
        lad_build.find_lad_fields(["WD24CD", "WD24NM"], where="wards")


def test_ward_codes_are_refused():
    feature = copy.deepcopy(fixture_features()[0])
    feature["properties"]["LAD24CD"] = "E05000001"
    with pytest.raises(SchemaError, match="not a local authority district code"):
        lad_build.lads_from_features([feature], where="wards")


HEADER = "zone_id,lad_code,lad_name,role,reason,source\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zone_id,lad_code\n", r"missing column\(s\) lad_name, role, reason, source"),
        (HEADER + "x,E06000015,Derby,area,r,s\n", r"line 2, zone_id 'x'"),
        (
            HEADER + "22,E10000007,Derbyshire,area,r,s\n",
            r"line 2, lad_code 'E10000007' is not an ONS LAD code",
        ),
        (
            HEADER + "22,E06000015,Derby,member,r,s\n",
            r"line 2, role 'member'; expected one of area, host",
        ),
        (HEADER + "22,E06000015,Derby,area,,s\n", r"line 2, reason is empty"),
        (
            HEADER + "22,E06000015,Derby,area,r,s\n22,E06000015,Derby,host,r,s\n",
            r"line 3 repeats zone 22 and E06000015",
        ),
    ],
)
def test_parse_lad_membership_errors(text, message):
    with pytest.raises(SchemaError, match=message):
        lad_build.parse_lad_membership(text, path="lad.csv")


def test_check_lad_membership_catches_wrong_nation_and_bare_zones():
    attributes = [{"zone_id": 17, "nation": "Scotland"}, {"zone_id": 18, "nation": "Scotland"}]
    wrong = lad_build.parse_lad_membership(HEADER + "17,W06000015,Cardiff,area,r,s\n", path="x")
    with pytest.raises(
        SchemaError, match=r"W06000015 \(Cardiff\) is a council in Wales, but zone 17"
    ):
        lad_build.check_lad_membership(wrong, attributes, path="x")
    one = lad_build.parse_lad_membership(HEADER + "17,S12000033,Aberdeen City,area,r,s\n", path="x")
    with pytest.raises(SchemaError, match=r"zone\(s\) \[18\] have no councils"):
        lad_build.check_lad_membership(one, attributes, path="x")


def test_council_warnings_name_renamed_councils_and_unlisted_hosts():
    lads, _, _ = lad_build.lads_from_features(fixture_features(), where="fixture")
    members = lad_build.parse_lad_membership(
        (FIXTURES / "lad_membership.csv").read_text(encoding="utf-8"), path="lad"
    )
    members = [m for m in members if m.lad_code != "E07000134"]  # forget NW Leicestershire
    members[0] = lad_build.LadMember(**{**members[0].__dict__, "lad_name": "Suffolk Coastal"})
    sites = read_sites(FIXTURES / "sites.geojson")
    warnings = lad_build.council_warnings(members, lads, sites)
    assert any("'East Suffolk' in the layer but 'Suffolk Coastal'" in w for w in warnings)
    assert any(
        "'east-midlands-airport-gateway-industrial-cluster' (zone 22) lies in North West"
        " Leicestershire (E07000134)" in w
        for w in warnings
    )


# --- the real table ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_lad_members() -> list[lad_build.LadMember]:
    path = ROOT / "data" / "boundaries" / "lad_membership.csv"
    return lad_build.parse_lad_membership(path.read_text(encoding="utf-8"), path=str(path))


def test_real_lad_membership_covers_every_zone(real_lad_members):
    doc = json.loads((ROOT / "data/boundaries/zone_attributes.json").read_text("utf-8"))
    lad_build.check_lad_membership(real_lad_members, doc["zones"], path="lad_membership.csv")
    by_zone: dict[int, set[str]] = {}
    for m in real_lad_members:
        by_zone.setdefault(m.zone_id, set()).add(m.lad_code)
    assert sorted(by_zone) == list(range(1, 23))
    # Combined authorities with a known number of councils (LAD 2025).
    sizes = {11: 11, 12: 10, 13: 4, 14: 5, 18: 8, 19: 7, 20: 6, 21: 5}
    assert {z: len(by_zone[z]) for z in sizes} == sizes
    area = {m.lad_code for m in real_lad_members if m.zone_id == 22 and m.role == "area"}
    assert len(area) == 17  # Derby, Nottingham, 8 Derbyshire and 7 Nottinghamshire districts


def test_real_lad_membership_uses_current_codes(real_lad_members):
    """Codes retired by mergers or recoding must not appear (the table uses LAD 2025 codes)."""
    retired = {
        "E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031",  # Cumbria
        "E07000163", "E07000164", "E07000165", "E07000166", "E07000167", "E07000168", "E07000169",
        "E07000187", "E07000188", "E07000189", "E07000246",  # Somerset
        "E07000205", "E07000206",  # Suffolk Coastal, Waveney
        "E08000020", "S12000015", "S12000024", "S12000044", "S12000046",  # recoded
        "E08000016", "E08000019",  # Barnsley, Sheffield: now E08000038, E08000039
    }  # fmt: skip
    assert not retired & {m.lad_code for m in real_lad_members}


def test_every_zone_with_tax_sites_lists_councils(real_lad_members):
    sites = read_sites(ROOT / "data" / "sites.geojson")
    taxed = sites[(sites["kind"] == "tax_site") & sites["designated_zone_id"].notna()]
    zones_with_councils = {m.zone_id for m in real_lad_members}
    assert set(taxed["designated_zone_id"].astype(int)) <= zones_with_councils


def test_real_inputs_rebuild_end_to_end(tmp_path):
    """All 22 zones, the real tables and sites, refreshed from a file of the bundled districts
    (as LAD25CD/LAD25NM): every council found, every tax site inside, and the footprints come
    out as the bundled ones, since build-boundaries draws them the same way."""
    if not (ROOT / "data" / "boundaries" / "zones.geojson").exists():
        pytest.skip("the bundled zones.geojson is not built yet")
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    districts = gpd.read_file(ROOT / "data" / "boundaries" / "districts.geojson")
    layer = tmp_path / "lad25.gpkg"
    districts.rename(columns={"code": "LAD25CD", "name": "LAD25NM"}).to_file(layer, driver="GPKG")
    before = snapshot(data)
    report = refresh.refresh_boundaries(data, from_file=layer, dry_run=True)
    assert snapshot(data) == before
    assert report.fields.vintage == "LAD25" and report.feature_count == 361
    assert [z.zone_id for z in report.zones] == list(range(1, 23))
    for zone in report.zones:
        assert not zone.unmatched, zone
        # refresh simplifies by 50 m; the bundled build keeps the districts' vertices
        assert zone.after_km2 == pytest.approx(zone.before_km2, rel=0.02), zone


# --- a silent server: the whole refresh has a deadline, and says what it is doing ----------


def test_each_retry_and_wait_is_told_as_it_happens(data, arcgis, fast, sleeps):
    arcgis.fail("count", "500", times=2)
    told: list[str] = []
    run(data, arcgis, fast, progress=told.append)
    retries = [line for line in told if "trying again" in line]
    assert len(retries) == 2 and sleeps == [0.25, 0.5]
    assert (
        "attempt 1 of 3 failed (HTTP 500" in retries[0] and "trying again in 0.25 s" in retries[0]
    )
    assert "attempt 2 of 3 failed" in retries[1] and "trying again in 0.5 s" in retries[1]


def test_the_whole_refresh_stops_at_its_deadline(data, arcgis, sleeps):
    """A server that accepts and then says nothing: no 5 x 120 s of silence."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    options = refresh.ClientOptions(
        timeout=(1.0, 0.5),
        retries=10,
        backoff_factor=4.0,
        page_size=5,
        deadline=10.0,
        sleep=sleep,
        clock=lambda: now[0],
    )
    arcgis.fail("count", "slow", times=20)
    before = snapshot(data)
    with pytest.raises(refresh.RefreshError, match=r"stopped at the 10 s deadline after 2 attempt"):
        refresh.refresh_boundaries(data, source_url=arcgis.url, min_features=10, options=options)
    assert sleeps == [4.0]  # the next wait (8 s) would pass the deadline: stop instead
    assert snapshot(data) == before


def test_refresh_defaults_are_short():
    options = refresh.ClientOptions()
    assert options.timeout[1] <= 30 and options.deadline <= 300
