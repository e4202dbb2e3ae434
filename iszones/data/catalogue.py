"""All file access for the bundled data: read and validate zones and sites (writes: atomic.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from iszones.data.atomic import write_bytes_atomic
from iszones.data.geojson import geojson_bytes, json_value
from iszones.data.paths import (
    admin_units_path,
    data_dir,
    districts_path,
    far_land_path,
    sites_path,
    zones_path,
)
from iszones.errors import CRSError, DataFileError, SchemaError
from iszones.geo.spatial import assign_admin_units, assign_zones
from iszones.schema import (
    SITE_FIELDS,
    STORAGE_CRS,
    ZONE_FIELDS,
    feature_list,
    validate_site_properties,
    validate_zone_properties,
)

# What to do with a data file in another CRS: GeoJSON (RFC 7946) is WGS84 longitude/latitude.
_REPROJECT = (
    "iszones stores GeoJSON in WGS84 (EPSG:4326). Reproject it, e.g."
    " `ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson`."
)


def load_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file, raising DataFileError that names the file, line and column."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except FileNotFoundError as err:
        raise DataFileError(f"{path}: file not found.") from err
    except UnicodeDecodeError as err:
        raise DataFileError(f"{path}: not UTF-8 text ({err.reason}). Save it as UTF-8.") from err
    except json.JSONDecodeError as err:
        raise DataFileError(
            f"{path}: broken JSON at line {err.lineno}, column {err.colno}: {err.msg}."
        ) from err
    except OSError as err:
        raise DataFileError(f"{path}: cannot read ({err.strerror}).") from err


def _geometry(feature: Mapping[str, Any], label: str, allowed: tuple[str, ...]) -> Any:
    raw = feature.get("geometry")
    if raw is None:
        return None
    try:  # GEOS parses the text; shapely.geometry.shape builds it in Python, ~10x slower
        geom = shapely.from_geojson(json.dumps(raw))
    except Exception as err:  # shapely raises several types for malformed GeoJSON geometry
        raise SchemaError(f"{label}: geometry cannot be read ({err}).") from err
    if geom.geom_type not in allowed:
        raise SchemaError(
            f"{label}: geometry is a {geom.geom_type}; expected {' or '.join(allowed)}."
        )
    if geom.is_empty:
        raise SchemaError(f"{label}: geometry is empty.")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CRSError(
            f"{label}: coordinates {geom.bounds!r} are not longitude/latitude in degrees;"
            " GeoJSON must be WGS84 (EPSG:4326), longitude first."
        )
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise SchemaError(
            f"{label}: geometry is invalid ({reason}). Repair it, e.g. with shapely.make_valid."
        )
    return geom


def _frame(
    path: str | os.PathLike[str],
    *,
    id_field: str,
    allowed: tuple[str, ...],
    allow_null: bool,
    columns: Iterable[str],
    validate: Callable[..., None] | None = None,
) -> gpd.GeoDataFrame:
    """Parse, validate the raw properties (before pandas retypes them), then build the frame."""
    name = str(path)
    features = feature_list(load_json(path), name, crs_fix=_REPROJECT)
    rows, geoms = [], []
    for index, feature in enumerate(features):
        props = feature["properties"]
        label = f"{name}: feature {index} ({id_field}={props.get(id_field)!r})"
        geom = _geometry(feature, label, allowed)
        if geom is None and not allow_null:
            raise SchemaError(f"{label}: has no geometry.")
        rows.append(props)
        geoms.append(geom)
    if validate is not None:
        validate(rows, path=name)
    if not rows:  # keep the schema's columns so an empty file still joins and filters
        return gpd.GeoDataFrame(
            columns=[*columns, "geometry"], geometry="geometry", crs=STORAGE_CRS
        )
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
    for column in frame.columns:  # whole numbers with gaps stay whole numbers, not floats
        values = [r.get(column) for r in rows]
        if any(isinstance(v, int) and not isinstance(v, bool) for v in values) and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values
        ):
            frame[column] = pd.array(values, dtype="Int64")
    return frame


def read_zones(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read and validate a zones GeoJSON file (polygons, WGS84, see schema.ZONE_FIELDS)."""
    frame = _frame(
        path,
        id_field="zone_id",
        allowed=("Polygon", "MultiPolygon"),
        allow_null=False,
        columns=ZONE_FIELDS,
        validate=validate_zone_properties,
    )
    return frame.sort_values("zone_id", ignore_index=True)


def read_sites(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read and validate a sites GeoJSON file (points or polygons; null for region-wide records)."""
    frame = _frame(
        path,
        id_field="site_id",
        allowed=("Point", "Polygon", "MultiPolygon"),
        allow_null=True,
        columns=SITE_FIELDS,
        validate=validate_site_properties,
    )
    return frame


def write_geojson(
    frame: gpd.GeoDataFrame, path: str | os.PathLike[str], *, name: str | None = None
) -> None:
    """Write a frame as WGS84 GeoJSON, atomically."""
    write_bytes_atomic(path, geojson_bytes(frame, name=name))


def records(frame: gpd.GeoDataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    """Plain dict rows of the given columns (for tables and CSV)."""
    return [
        {k: json_value(v) for k, v in row.items()}
        for row in frame[list(columns)].to_dict("records")
    ]


def read_admin_units(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read the bundled admin units (unit_id, name, nation, ...)."""
    frame = _frame(
        path,
        id_field="unit_id",
        allowed=("Polygon", "MultiPolygon"),
        allow_null=False,
        columns=("unit_id", "name", "nation"),
    )
    for column in ("unit_id", "name", "nation"):
        if column not in frame.columns:
            raise SchemaError(f"{path}: admin units need a {column!r} property.")
    return frame


def read_districts(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read the council districts (LAD 2025: code, name, nation), as `iszones build-geography`
    writes them."""
    frame = _frame(
        path,
        id_field="code",
        allowed=("Polygon", "MultiPolygon"),
        allow_null=False,
        columns=("code", "name", "nation"),
    )
    for column in ("code", "name"):
        if column not in frame.columns:
            raise SchemaError(f"{path}: districts need a {column!r} property.")
    return frame


def read_councils(folder: Path) -> gpd.GeoDataFrame:
    """The councils a check names: the 2025 districts when the folder has them, else the older
    admin units (with no codes)."""
    if districts_path(folder).is_file():
        return read_districts(districts_path(folder))
    return read_admin_units(admin_units_path(folder))


def read_far_land(folder: Path) -> gpd.GeoDataFrame | None:
    """The land over 1 km from any postcode (where districts are guesses), when the folder
    has it."""
    path = far_land_path(folder)
    if not path.is_file():
        return None
    return _frame(
        path,
        id_field="code",
        allowed=("Polygon", "MultiPolygon"),
        allow_null=False,
        columns=("code",),
    )


@dataclass(frozen=True)
class Catalogue:
    """Everything the app, CLI and exports show: zones, sites joined to zones and admin units."""

    zones: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    admin_units: gpd.GeoDataFrame
    folder: Path


def load_catalogue(folder: str | os.PathLike[str] | None = None) -> Catalogue:
    """Read and validate the data folder, then join every site to its zones and council (the
    2025 districts when the folder has them, see read_councils)."""
    root = data_dir(folder)
    zones = read_zones(zones_path(root))
    units = read_councils(root)
    sites = assign_admin_units(assign_zones(read_sites(sites_path(root)), zones), units)
    return Catalogue(zones=zones, sites=sites, admin_units=units, folder=root)
