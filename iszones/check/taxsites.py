"""Designated tax sites for the site check: the level that decides the tax reliefs.

A tax site whose extent is known (a polygon: an uploaded official file, or a sourced outline)
answers "inside?" by polygon; one known only as a point answers with a distance and the point's
precision, never with "inside". Everything here is in EPSG:27700.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iszones.geo.grid import PolygonGrid
from iszones.geo.spatial import BOUNDARY_TOLERANCE_M, to_measure_crs

TAX_SITE_COLUMNS = ("tax_site_id", "name", "precision_m", "designation", "decided_by")
_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_CHUNK = 50_000  # points per brute-force distance pass (points x point tax sites floats)


def bundled_tax_sites(sites: gpd.GeoDataFrame, kind: str = "tax_site") -> gpd.GeoDataFrame:
    """The bundled sites of `kind` (tax_site, or customs_site for the customs level) that have
    a location, as TAX_SITE_COLUMNS."""
    chosen = sites[(sites["kind"] == kind) & sites.geometry.notna()]
    chosen = chosen[~chosen.geometry.is_empty]
    precision = pd.to_numeric(chosen.get("location_precision_m"), errors="coerce")
    return gpd.GeoDataFrame(
        {
            "tax_site_id": chosen["site_id"].astype(str).to_numpy(),
            "name": chosen["name"].astype(str).to_numpy(),
            "precision_m": precision.to_numpy(dtype=float),
            "designation": chosen.get("designation", pd.Series("", index=chosen.index))
            .fillna("")
            .astype(str)
            .to_numpy(),
            "decided_by": np.where(
                np.isin(shapely.get_type_id(chosen.geometry.array), _POLYGONAL),
                "bundled outline",
                "bundled point",
            ),
        },
        geometry=chosen.geometry.to_numpy(),
        crs=sites.crs,
    )


def uploaded_tax_sites(boundaries: gpd.GeoDataFrame, file_name: str) -> gpd.GeoDataFrame:
    """A user's official tax-site polygons (readers' boundary frame: zone_id, name, ...) as
    TAX_SITE_COLUMNS, decided by `file_name`."""
    ids = boundaries["zone_id"].astype(str).to_numpy()
    names = boundaries["name"].fillna("").astype(str).to_numpy()
    return gpd.GeoDataFrame(
        {
            "tax_site_id": ids,
            "name": np.where(names == "", ids, names),
            "precision_m": np.zeros(len(boundaries)),
            "designation": np.full(len(boundaries), "", dtype=object),
            "decided_by": np.full(len(boundaries), f"uploaded file {file_name}", dtype=object),
        },
        geometry=boundaries.geometry.to_numpy(),
        crs=boundaries.crs,
    )


@dataclass(frozen=True)
class TaxSiteIndex:
    """Tax sites in EPSG:27700, indexed: polygons in a grid, points as coordinates."""

    sites: gpd.GeoDataFrame  # TAX_SITE_COLUMNS, positions are what answers refer to
    polygon_pos: np.ndarray  # positions of the polygons, in grid order
    grid: PolygonGrid | None
    point_pos: np.ndarray
    point_x: np.ndarray
    point_y: np.ndarray


def index_tax_sites(tax_sites: gpd.GeoDataFrame) -> TaxSiteIndex | None:
    """Index tax sites (TAX_SITE_COLUMNS, any CRS); None when there are none."""
    if tax_sites is None or tax_sites.empty:
        return None
    bng = to_measure_crs(tax_sites, "The tax sites").reset_index(drop=True)
    geoms = bng.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    polygon_pos = np.flatnonzero(polygonal)
    point_pos = np.flatnonzero(~polygonal)
    points = shapely.point_on_surface(geoms[point_pos])
    grid = (
        PolygonGrid(geoms[polygon_pos], tolerance=BOUNDARY_TOLERANCE_M, members=False)
        if len(polygon_pos)
        else None
    )
    return TaxSiteIndex(
        bng, polygon_pos, grid, point_pos, shapely.get_x(points), shapely.get_y(points)
    )


@dataclass(frozen=True)
class TaxAnswers:
    """Per site: the tax site it is inside by polygon (-1: none), the nearest tax site (-1:
    there are none) and metres to it (0 inside a polygon)."""

    inside: np.ndarray
    nearest: np.ndarray
    distance: np.ndarray

    def take(self, rows: np.ndarray) -> TaxAnswers:
        return TaxAnswers(self.inside[rows], self.nearest[rows], self.distance[rows])


def _nearest_points(x: np.ndarray, y: np.ndarray, tax: TaxSiteIndex) -> tuple[np.ndarray, ...]:
    nearest = np.empty(len(x), dtype=np.int64)
    distance = np.empty(len(x))
    for start in range(0, len(x), _CHUNK):
        part = slice(start, start + _CHUNK)
        d2 = (x[part, None] - tax.point_x) ** 2 + (y[part, None] - tax.point_y) ** 2
        best = np.argmin(d2, axis=1)
        nearest[part] = tax.point_pos[best]
        distance[part] = np.sqrt(d2[np.arange(len(best)), best])
    return nearest, distance


def locate_tax_sites(x: np.ndarray, y: np.ndarray, tax: TaxSiteIndex) -> TaxAnswers:
    """Tax-site answers for points in EPSG:27700."""
    n = len(x)
    inside = np.full(n, -1, dtype=np.int64)
    nearest = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.inf)
    if tax.grid is not None:
        found = tax.grid.locate(x, y, threads=1)
        hit = found.first >= 0
        inside[hit] = tax.polygon_pos[found.first[hit]]
        near = found.nearest >= 0
        nearest[near] = tax.polygon_pos[found.nearest[near]]
        distance[near] = found.distance[near]
        nearest[hit], distance[hit] = inside[hit], 0.0
    if len(tax.point_pos):
        pos, dist = _nearest_points(x, y, tax)
        closer = dist < distance
        nearest[closer], distance[closer] = pos[closer], dist[closer]
    distance[nearest < 0] = np.nan
    return TaxAnswers(inside, nearest, np.round(distance, 2))


def locate_tax_shapes(geoms: np.ndarray, tax: TaxSiteIndex) -> TaxAnswers:
    """Tax-site answers for lines and polygons in EPSG:27700 (few: pairwise distances)."""
    sites = tax.sites.geometry.to_numpy()
    n = len(geoms)
    pairs = shapely.distance(geoms[:, None], sites[None, :]).reshape(n, len(sites))
    nearest = np.argmin(pairs, axis=1) if len(sites) else np.full(n, -1)
    distance = pairs[np.arange(n), nearest]
    polygonal = np.zeros(len(sites), dtype=bool)
    polygonal[tax.polygon_pos] = True
    touching = (pairs <= BOUNDARY_TOLERANCE_M) & polygonal
    inside = np.where(touching.any(axis=1), np.argmax(touching, axis=1), -1)
    return TaxAnswers(inside.astype(np.int64), nearest.astype(np.int64), np.round(distance, 2))


def empty_tax_answers(n: int) -> TaxAnswers:
    return TaxAnswers(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, np.nan))
