"""check_sites on the hand-made fixtures in tests/fixtures/check (see its README) and the
bundled data."""

from __future__ import annotations

import weakref
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from iszones.check.frames import bundled_boundaries, check_sites, combine_boundaries
from iszones.check.summary import CheckSummary, summarise
from iszones.data.catalogue import read_admin_units, read_zones
from iszones.errors import CRSError, IszonesError, SchemaError
from iszones.inputs.readers import read_boundary_file, read_site_file
from iszones.render.format import plural
from tests.conftest import TESTS, X0, Y0

HERE = TESTS
FIXTURES = HERE / "fixtures" / "check"
ADMIN_UNITS = HERE.parent / "data" / "boundaries" / "uk_admin_units.geojson"
RESULT = [
    "zone_id",
    "zone_name",
    "programme",
    "in_zone",
    "nearest_zone_id",
    "nearest_zone_name",
    "nearest_zone_distance_m",
    "within_km",
    "local_authority",
    "boundary_source",
    "problem",
    "lad_code",
    "lad_note",
    "tax_site_id",
    "tax_site_name",
    "nearest_tax_site_id",
    "nearest_tax_site_name",
    "nearest_tax_site_distance_m",
    "nearest_tax_site_precision_m",
    "answer",
    "location_source",
    "customs_site_id",
    "customs_site_name",
    "nearest_customs_site_id",
    "nearest_customs_site_name",
    "nearest_customs_site_distance_m",
    "nearest_customs_site_precision_m",
]


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return bundled_boundaries(read_zones(FIXTURES / "zones.geojson"))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return read_admin_units(ADMIN_UNITS)


def run(path: Path, zones, units, **kwargs) -> gpd.GeoDataFrame:
    sites = read_site_file(path)
    return check_sites(sites.frame, zones, units, problems=sites.problems, **kwargs)


def by_ref(result: pd.DataFrame, column: str) -> dict:
    values = result[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # a result's text: NaN where empty
        values = values.astype(object).where(values.notna(), None)
    return dict(zip(result["ref"], values, strict=True))


def test_points_in_bng(zones, units):
    result = run(FIXTURES / "sites_bng.csv", zones, units, within_km=1)
    assert by_ref(result, "zone_id") == {
        "P1": "1",
        "P2": None,  # in the hole
        "P3": "1;2",  # on the shared border: both
        "P4": "2;4",  # where zones 2 and 4 overlap
        "P5": "3",  # second part of a MultiPolygon
        "P6": None,
        "P7": None,
        "P8": "1",
        "B1": None,
        "B2": None,
        "B3": None,
    }
    assert by_ref(result, "in_zone") == {
        **{ref: True for ref in ("P1", "P3", "P4", "P5", "P8")},
        **{ref: False for ref in ("P2", "P6", "P7")},
        **{ref: None for ref in ("B1", "B2", "B3")},  # not checked: unknown, not false
    }
    distance = by_ref(result, "nearest_zone_distance_m")
    assert [distance[r] for r in ("P1", "P2", "P6", "P7")] == [0, 100, 500, 11000]
    assert np.isnan(distance["B1"])
    assert by_ref(result, "nearest_zone_id")["P6"] == 4
    assert by_ref(result, "within_km") == {
        **{ref: True for ref in ("P1", "P2", "P3", "P4", "P5", "P6", "P8")},
        "P7": False,
        **{ref: None for ref in ("B1", "B2", "B3")},
    }
    assert by_ref(result, "local_authority")["P1"] == "Derby"


def test_overlapping_zones_list_every_zone(zones, units):
    result = run(FIXTURES / "sites_bng.csv", zones, units).set_index("ref")
    assert result.loc["P4", "zone_name"] == "East; Overlap"
    assert result.loc["P4", "programme"] == "Investment Zone; Freeport"
    assert result.loc["P4", "nearest_zone_id"] == 2  # inside: the first of its zones
    assert result.loc["P4", "boundary_source"] == (
        "bundled footprint (admin_area); bundled footprint (indicative)"
    )


def test_bad_rows_are_kept_with_a_problem(zones, units):
    result = run(FIXTURES / "sites_bng.csv", zones, units)
    problems = by_ref(result, "problem")
    assert problems["B1"] == "'Easting' '4351OO' is not a number"
    assert problems["B2"] == "no coordinates: 'Easting' and 'Northing' are empty"
    assert problems["B3"].startswith("'Easting' -5 is out of range")
    assert all(problems[f"P{i}"] == "" for i in range(1, 9))


def test_every_row_and_column_kept_in_order(zones, units):
    raw = pd.read_csv(FIXTURES / "sites_bng.csv", dtype=str, keep_default_na=False)
    result = run(FIXTURES / "sites_bng.csv", zones, units, within_km=2)
    assert list(result.columns) == [*raw.columns, "geometry", *RESULT]
    pd.testing.assert_frame_equal(
        pd.DataFrame(result[raw.columns]).astype(str), raw, check_dtype=False
    )


def test_wgs84_and_bng_give_identical_answers(zones, units):
    bng = run(FIXTURES / "sites_bng.csv", zones, units, within_km=1)
    wgs = run(FIXTURES / "sites_wgs84.csv", zones, units, within_km=1)
    good = bng["ref"].str.startswith("P").to_numpy()
    pd.testing.assert_frame_equal(  # the categories of `problem` hold every row's problems
        pd.DataFrame(bng.loc[good, RESULT]),
        pd.DataFrame(wgs.loc[good, RESULT]),
        check_categorical=False,
    )
    # and the same again with the zones given in the other CRS
    again = run(FIXTURES / "sites_wgs84.csv", zones.to_crs("EPSG:27700"), units, within_km=1)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.loc[good, RESULT]), pd.DataFrame(wgs.loc[good, RESULT])
    )


def test_polygon_sites_count_where_they_share_area(zones, units):
    result = run(FIXTURES / "polygons.geojson", zones, units).set_index("site")
    assert result.loc["Straddle", "zone_id"] == "3"
    assert result.loc["Straddle", "area_share_in_zone"] == pytest.approx(0.5, abs=1e-3)
    assert result.loc["Within", "area_share_in_zone"] == 1.0
    # only an edge in common: outside, at 0 m
    assert result.loc["Adjacent", "in_zone"] is False
    assert result.loc["Adjacent", "nearest_zone_distance_m"] == 0
    assert result.loc["Adjacent", "area_share_in_zone"] == 0
    assert result.loc["Bow tie", "zone_id"] == "2"  # repaired on reading, then checked
    assert np.isnan(result.loc["Point", "area_share_in_zone"])  # points have no area
    assert result.loc["Nowhere", "problem"].startswith("no geometry")


def test_area_share_column_only_for_polygon_inputs(zones, units):
    assert "area_share_in_zone" not in run(FIXTURES / "sites_bng.csv", zones, units)


def test_uploaded_boundaries_replace_the_bundled_ones(zones, units):
    official = read_boundary_file(FIXTURES / "official_boundary.geojson")
    only, _ = combine_boundaries(zones, official.frame, replace=True)
    result = run(FIXTURES / "sites_bng.csv", only, units).set_index("ref")
    # P1 (100, 100) is in the official 300 m square; P8 (200, 800) was in bundled zone 1 only
    assert result.loc["P1", "zone_id"] == "1"
    assert result.loc["P1", "zone_name"] == "Official tax site"
    assert result.loc["P1", "boundary_source"] == (
        "uploaded official_boundary.geojson (as supplied)"
    )
    assert result.loc["P8", "in_zone"] is False
    assert result.loc["P8", "nearest_zone_distance_m"] == pytest.approx(500, abs=0.01)
    assert result.loc["P5", "in_zone"] is False  # zone 3 is gone


def test_added_boundary_with_a_bundled_zone_id_replaces_that_footprint(zones, units):
    official = read_boundary_file(FIXTURES / "official_boundary.geojson")
    both, notes = combine_boundaries(zones, official.frame, replace=False, linked=True)
    assert notes == ["zone 1: the bundled footprint is replaced by the uploaded boundary"]
    assert sorted(both["zone_id"]) == [1, 2, 3, 4]
    result = run(FIXTURES / "sites_bng.csv", both, units).set_index("ref")
    assert result.loc["P8", "in_zone"] is False  # outside the official zone-1 square
    assert result.loc["P5", "zone_id"] == "3"  # other zones still bundled
    assert result.loc["P1", "programme"] == "Freeport"  # taken from bundled zone 1


def test_added_boundary_without_link_is_an_extra_zone(zones, units):
    official = read_boundary_file(FIXTURES / "official_boundary.geojson")
    extra = official.frame.assign(zone_id="OTS")
    both, notes = combine_boundaries(zones, extra, replace=False)
    assert notes == []
    result = run(FIXTURES / "sites_bng.csv", both, units).set_index("ref")
    assert result.loc["P1", "zone_id"] == "1;OTS"


def test_columns_that_clash_are_kept_renamed(zones, units):
    sites = gpd.GeoDataFrame(
        {"zone_id": ["mine"], "problem": ["none"]},
        geometry=[Point(X0 + 100, Y0 + 100)],
        crs="EPSG:27700",
    )
    result = check_sites(sites, zones, units)
    assert result.loc[0, "zone_id_input"] == "mine"
    assert result.loc[0, "problem_input"] == "none"
    assert result.loc[0, "zone_id"] == "1"


def test_never_mutates_its_arguments(zones, units):
    sites = read_site_file(FIXTURES / "sites_bng.csv")
    before_sites, before_zones = sites.frame.copy(), zones.copy()
    check_sites(sites.frame, zones, units, problems=sites.problems)
    pd.testing.assert_frame_equal(sites.frame, before_sites)
    pd.testing.assert_frame_equal(zones, before_zones)


def test_progress_reports_each_chunk(zones, units):
    calls: list[tuple[int, int]] = []
    run(
        FIXTURES / "sites_bng.csv",
        zones,
        units,
        chunk_rows=3,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(3, 8), (6, 8), (8, 8)]  # 8 locatable rows of 11


def test_chunking_does_not_change_answers(zones, units):
    whole = run(FIXTURES / "sites_bng.csv", zones, units)
    pieces = run(FIXTURES / "sites_bng.csv", zones, units, chunk_rows=2)
    pd.testing.assert_frame_equal(whole, pieces)


def test_a_large_check_has_grids_of_its_own_and_lets_them_go(zones, units, monkeypatch):
    """Its grid cells (about 150 MB for a million sites) are not held by the process after it:
    the shared grids, which a long-lived dashboard keeps, are not touched; the answers are the
    same as a small check's."""
    from iszones.check import core, frames

    rng = np.random.default_rng(3)
    x, y = (
        rng.uniform(X0 - 20_000, X0 + 20_000, 3_000),
        rng.uniform(Y0 - 20_000, Y0 + 20_000, 3_000),
    )
    sites = gpd.GeoDataFrame(
        {"ref": np.arange(3_000)}, geometry=gpd.points_from_xy(x, y), crs="EPSG:27700"
    )
    core.clear_grids()
    small = check_sites(sites, zones, units)
    shared = list(core._GRIDS.values())
    assert shared and any(grid.built() for grid in shared)

    made: list[weakref.ref] = []

    class Recorded(frames.PolygonGrid):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    core.clear_grids()
    monkeypatch.setattr(frames, "PolygonGrid", Recorded)
    monkeypatch.setattr(frames, "LARGE_CHECK_ROWS", len(sites))
    large = check_sites(sites, zones, units)
    assert not core._GRIDS  # grids of its own,
    assert made and all(grid() is None for grid in made)  # gone with the check
    pd.testing.assert_frame_equal(small, large)


def test_summary_line(zones, units):
    result = run(FIXTURES / "sites_bng.csv", zones, units, within_km=1)
    summary = summarise(result, within_km=1)
    assert (summary.rows, summary.inside, summary.outside, summary.problems) == (11, 5, 3, 3)
    assert summary.outside_within == 2
    assert str(summary) == (
        "11 sites: 5 inside a zone's area, 3 outside (2 within 1 km), 3 with problems"
    )
    assert str(summarise(run(FIXTURES / "sites_bng.csv", zones, units))) == (
        "11 sites: 5 inside a zone's area, 3 outside, 3 with problems"
    )


def test_summary_counts_read_as_the_formatter_writes_them():
    """A big list's line reads '12,904 sites', as render.format.plural writes counts."""
    summary = CheckSummary(
        rows=12904, inside=1361, outside=1382, problems=10156, in_tax_site=5, tax_sites=True
    )
    summary.tax_inside_zone, summary.within_km, summary.outside_within = 5, 2.0, 1073
    assert str(summary) == (
        f"{plural(12904, 'site')}: 5 inside or possibly inside a tax site, 1,356 inside a zone's"
        " area only, 1,382 outside (1,073 within 2 km), 10,156 with problems"
    )


def test_rows_without_geometry_from_a_library_caller(zones):
    sites = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[None, Point(X0, Y0)], crs="EPSG:27700")
    result = check_sites(sites, zones)
    assert result["problem"].tolist() == ["no geometry: the row has no location", ""]
    assert result["local_authority"].isna().all()  # no admin units given


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s, z: check_sites(s.set_crs(None, allow_override=True), z), CRSError, "set_crs"),
        (lambda s, z: check_sites(s, z.iloc[0:0]), IszonesError, "no zones"),
        (lambda s, z: check_sites(s, z.drop(columns="name")), SchemaError, "'name'"),
        (lambda s, z: check_sites(s, z, within_km=-1), IszonesError, "0 km or more"),
        (lambda s, z: check_sites(s, z, problems=[""] * 3), IszonesError, "one per site"),
    ],
)
def test_bad_calls_raise_clear_errors(zones, call, error, match):
    sites = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(X0, Y0)], crs="EPSG:27700")
    with pytest.raises(error, match=match):
        call(sites, zones)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.floats(-2000, 11000), st.floats(-2000, 3000)), min_size=1, max_size=30),
    st.integers(1, 7),
)
def test_inside_means_distance_zero_and_chunks_agree(zones, points, chunk):
    sites = gpd.GeoDataFrame(geometry=[Point(X0 + x, Y0 + y) for x, y in points], crs="EPSG:27700")
    whole = check_sites(sites, zones)
    inside = whole["in_zone"].astype(bool).to_numpy()
    assert (whole.loc[inside, "nearest_zone_distance_m"] == 0).all()
    assert (whole.loc[~inside, "nearest_zone_distance_m"] > 0).all()
    assert whole["zone_id"].isna().to_numpy().tolist() == (~inside).tolist()
    pd.testing.assert_frame_equal(whole, check_sites(sites, zones, chunk_rows=chunk))


# ---------------------------------------------------------------- the bundled data


@pytest.fixture(scope="module")
def bundled_zones() -> gpd.GeoDataFrame:
    return bundled_boundaries(read_zones(HERE.parent / "data" / "boundaries" / "zones.geojson"))


def test_bundled_east_midlands_tax_sites_are_in_zone_22(catalogue, bundled_zones, units):
    sites = catalogue.sites
    tax = sites[(sites["kind"] == "tax_site") & sites["zone_ids"].map(lambda z: 22 in z)]
    assert len(tax) >= 5
    result = check_sites(tax.drop(columns=["zone_ids", "zone_names"]), bundled_zones, units)
    assert result["zone_id"].map(lambda z: "22" in z.split(";")).all()
    assert result["in_zone"].all()
    assert set(result["boundary_source"].str.split("; ").explode()) <= {
        "bundled footprint (indicative)",
        "bundled footprint (admin_area)",
    }


def test_bundled_millbrook_is_outside_every_zone(catalogue, bundled_zones, units):
    millbrook = catalogue.sites[catalogue.sites["site_id"] == "millbrook-proving-ground"]
    result = check_sites(millbrook[["site_id", "geometry"]], bundled_zones, units)
    row = result.iloc[0]
    assert row["in_zone"] is False and pd.isna(row["zone_id"])
    assert row["nearest_zone_distance_m"] > 10_000
    assert row["local_authority"] == "Central Bedfordshire"


def test_bundled_polygon_straddling_a_zone_edge(bundled_zones, units):
    zone22 = bundled_zones[bundled_zones["zone_id"] == 22].to_crs("EPSG:27700")
    edge = zone22.geometry.iloc[0].boundary.interpolate(0.25, normalized=True)
    site = gpd.GeoDataFrame(
        {"name": ["across the edge"]},
        geometry=[box(edge.x - 100, edge.y - 100, edge.x + 100, edge.y + 100)],
        crs="EPSG:27700",
    )
    row = check_sites(site, bundled_zones, units).iloc[0]
    assert "22" in row["zone_id"].split(";")
    assert 0 < row["area_share_in_zone"] < 1
