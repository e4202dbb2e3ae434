"""Reading and writing: every broken file gives a message naming file, feature, field and value."""

import json
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iszones import (
    CRSError,
    DataFileError,
    SchemaError,
    read_sites,
    read_zones,
)
from iszones.data.atomic import write_text_atomic
from iszones.data.catalogue import load_json, write_geojson
from iszones.data.geojson import geojson_bytes
from iszones.schema import SECTORS

SQUARE = [[[-1.5, 52.9], [-1.4, 52.9], [-1.4, 53.0], [-1.5, 53.0], [-1.5, 52.9]]]


def zone_feature(**changes):
    props = {
        "zone_id": 1,
        "name": "Test zone",
        "programme": "freeport",
        "nation": "England",
        "status": "operational",
        "lead_body": "A council",
        "sectors": ["Advanced Manufacturing"],
        "sector_qualifiers": [],
        "funding": [
            {
                "amount_gbp": 25e6,
                "kind": "public_funding",
                "what": "seed",
                "period": None,
                "source": "AP",
            }
        ],
        "jobs": None,
        "tax_sites": [],
        "sources": [
            {"document": "Action Plan", "section": None, "url": None, "date": "2025-06-23"}
        ],
        "geometry_method": "test",
        "geometry_precision": "indicative",
        "last_checked": "2026-11-21",
    }
    props.update(changes)
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": SQUARE},
    }


def write(tmp_path, features, name="zones.geojson", **extra):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": features}))
    return path


def test_reads_a_valid_zone(tmp_path):
    zones = read_zones(write(tmp_path, [zone_feature()]))
    assert zones.crs.to_epsg() == 4326
    assert zones.loc[0, "sectors"] == ["Advanced Manufacturing"]  # lists stay lists


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"sectors": ["Widgets"]},
            r"feature 0 \(zone_id=1\), field 'sectors' is \['Widgets'\]; expected a list of sec",
        ),
        (
            {"programme": "enterprise_zone"},
            r"field 'programme' is 'enterprise_zone'; expected one of freeport",
        ),
        ({"last_checked": "21/11/2026"}, r"field 'last_checked' is '21/11/2026'; expected a date"),
        ({"sources": []}, r"field 'sources' is \[\]; expected a non-empty list"),
        (
            {
                "funding": [
                    {
                        "amount_gbp": "25m",
                        "kind": "public_funding",
                        "what": "x",
                        "period": None,
                        "source": "s",
                    }
                ]
            },
            r"field 'funding' .*expected a list of \{amount_gbp \(number or null\)",
        ),
    ],
)
def test_schema_errors_name_file_feature_field_and_value(tmp_path, change, message):
    path = write(tmp_path, [zone_feature(**change)])
    with pytest.raises(
        SchemaError,
        match=f"{tmp_path}/zones.geojson: {message}" if "feature 0" in message else message,
    ):
        read_zones(path)


def test_missing_field_is_named(tmp_path):
    feature = zone_feature()
    del feature["properties"]["status"]
    with pytest.raises(SchemaError, match=r"feature 0 \(zone_id=1\) has no field 'status'"):
        read_zones(write(tmp_path, [feature]))


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(SchemaError, match="repeats zone_id 1"):
        read_zones(write(tmp_path, [zone_feature(), zone_feature()]))


def test_broken_json_names_line_and_column(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [}')
    with pytest.raises(DataFileError, match=r"zones.geojson: broken JSON at line 2, column 15"):
        read_zones(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match=r"nope\.geojson: file not found"):
        read_zones(tmp_path / "nope.geojson")


def test_not_utf8(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_bytes(b'{"name": "\xff\xfe"}')
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_json(path)


def test_legacy_crs_member_other_than_wgs84_is_refused(tmp_path):
    path = write(
        tmp_path,
        [zone_feature()],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
    )
    with pytest.raises(CRSError, match=r"declares CRS 'urn:ogc:def:crs:EPSG::27700'.*ogr2ogr"):
        read_zones(path)


def test_a_crs_member_without_properties_reads_as_wgs84(tmp_path):
    """{"crs": {"properties": null}} names no CRS (it stopped with an AttributeError)."""
    path = write(tmp_path, [zone_feature()], crs={"type": "name", "properties": None})
    assert len(read_zones(path)) == 1


def test_not_a_feature_collection_says_what_it_is(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(
        SchemaError, match=r"zones.geojson: expected a GeoJSON FeatureCollection.*'Feature'"
    ):
        read_zones(path)


def test_projected_coordinates_in_geojson_are_refused(tmp_path):
    feature = zone_feature()
    feature["geometry"]["coordinates"] = [
        [[435000, 335000], [436000, 335000], [436000, 336000], [435000, 335000]]
    ]
    with pytest.raises(CRSError, match="not longitude/latitude in degrees"):
        read_zones(write(tmp_path, [feature]))


def test_invalid_polygon_is_refused_with_reason(tmp_path):
    feature = zone_feature()
    feature["geometry"]["coordinates"] = [
        [[-1.5, 52.9], [-1.4, 53.0], [-1.4, 52.9], [-1.5, 53.0], [-1.5, 52.9]]
    ]
    with pytest.raises(SchemaError, match=r"geometry is invalid \(Self-intersection"):
        read_zones(write(tmp_path, [feature]))


def test_point_where_a_polygon_is_expected(tmp_path):
    feature = zone_feature()
    feature["geometry"] = {"type": "Point", "coordinates": [-1.5, 52.9]}
    with pytest.raises(SchemaError, match="geometry is a Point; expected Polygon or MultiPolygon"):
        read_zones(write(tmp_path, [feature]))


def test_atomic_write_leaves_old_file_when_it_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.geojson"
    target.write_text("old")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("iszones.data.catalogue.os.replace", failing_replace)
    with pytest.raises(
        DataFileError, match=r"out\.geojson: cannot write \(No space left on device\)"
    ):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.geojson"]  # no temporary file left


def test_unwritable_target_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataFileError, match="cannot write"):
        write_text_atomic(blocker / "inside" / "out.geojson", "x")


@settings(max_examples=30, deadline=None)
@given(
    sectors=st.lists(st.sampled_from(SECTORS), unique=True),
    name=st.text(min_size=1).filter(str.strip),
    amount=st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
)
def test_geojson_round_trip_loses_nothing(tmp_path_factory, sectors, name, amount):
    feature = zone_feature(sectors=sectors, name=name)
    feature["properties"]["funding"][0]["amount_gbp"] = amount
    folder = tmp_path_factory.mktemp("rt")
    zones = read_zones(write(folder, [feature]))
    write_geojson(zones, folder / "again.geojson")
    again = read_zones(folder / "again.geojson")
    assert geojson_bytes(again) == geojson_bytes(zones)
    assert again.loc[0, "name"] == name and again.loc[0, "sectors"] == sectors
    assert again.loc[0, "funding"][0]["amount_gbp"] == amount


def test_sites_allow_null_geometry_but_not_other_types(tmp_path):
    props = {
        "site_id": "broadband",
        "name": "Broadband",
        "kind": "programme",
        "sectors": [],
        "d2n2_asset": True,
        "designation": None,
        "designated_zone_id": None,
        "funding": [],
        "jobs": None,
        "description": "Region-wide.",
        "location_precision": "region-wide",
        "location_precision_m": None,
        "last_checked": "2026-11-21",
        "sources": [{"document": "D2N2 LIS", "section": None, "url": None, "date": None}],
    }
    path = write(
        tmp_path, [{"type": "Feature", "properties": props, "geometry": None}], "sites.geojson"
    )
    sites = read_sites(path)
    assert sites.geometry.isna().all()
    bad = dict(props, site_id="Not A Slug")
    path = write(
        tmp_path, [{"type": "Feature", "properties": bad, "geometry": None}], "sites.geojson"
    )
    with pytest.raises(SchemaError, match="site_id' is 'Not A Slug'; expected a lower-case slug"):
        read_sites(path)


def test_atomic_output_removes_what_killed_runs_left(tmp_path):
    """Temporary files carry the writer's process id; a later run removes a dead one's."""
    from iszones.data.atomic import atomic_output

    target = tmp_path / "out.csv"
    dead = tmp_path / ".out.csv.999999.abcdefgh.tmp"  # no such process
    alive = tmp_path / f".out.csv.{os.getppid()}.abcdefgh.tmp"  # a live process: kept
    old = tmp_path / ".out.csv.k2j4h5g6.tmp"  # the old naming, an hour old
    other = tmp_path / ".other.csv.999999.abcdefgh.tmp"  # another output's: not ours to judge
    for path in (dead, alive, old, other):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    with atomic_output(target) as handle:
        names = sorted(p.name for p in tmp_path.iterdir())
        assert any(n.startswith(f".out.csv.{os.getpid()}.") for n in names)
        handle.write(b"done")
    assert target.read_bytes() == b"done"
    assert not dead.exists() and not old.exists() and alive.exists() and other.exists()


def test_what_a_killed_geopackage_write_left_is_removed_too(tmp_path):
    """GDAL puts a journal and an R-tree scratch file beside the temporary GeoPackage; a killed
    run leaves all three (seen with kill -9), and the next write to that name removes them."""
    from iszones.data.atomic import atomic_output

    base = ".out.gpkg.999999.abcdefgh.tmp"  # a dead process's
    left = [base, f"{base}-journal", f"{base}.tmp_rtree_checked_sites.db"]
    for name in left:
        (tmp_path / name).write_bytes(b"x")
    with atomic_output(tmp_path / "out.gpkg") as handle:
        handle.write(b"done")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]
