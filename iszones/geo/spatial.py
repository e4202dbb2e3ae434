"""Pure spatial operations: CRS checks, which zone each site is in, distances and areas.

Everything is measured in British National Grid (EPSG:27700). Boundary rule: a site that
touches a zone, or lies within 1 cm of its boundary, counts as inside it; so a point on a
border shared by two zones is in both. The 1 cm allows for rounding when WGS84 coordinates
are projected, and is far below the precision of any footprint here.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from iszones.errors import CRSError
from iszones.schema import MEASURE_CRS

BOUNDARY_TOLERANCE_M = 0.01
ADMIN_NEAREST_M = 5000.0  # a site off the generalised coastline takes the unit this near


def require_crs(frame: gpd.GeoDataFrame, what: str) -> CRS:
    """Return the frame's CRS, or raise CRSError saying how to set one."""
    if frame.crs is None:
        raise CRSError(
            f"{what} has no coordinate reference system, so its coordinates cannot be placed."
            " Set one, e.g. frame.set_crs('EPSG:4326') for longitude/latitude or"
            " frame.set_crs('EPSG:27700') for British National Grid eastings/northings."
        )
    return CRS.from_user_input(frame.crs)


def to_measure_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """The frame in British National Grid (metres)."""
    crs = require_crs(frame, what)
    return frame if crs.equals(CRS.from_user_input(MEASURE_CRS)) else frame.to_crs(MEASURE_CRS)


def _pairs(sites_bng: gpd.GeoSeries, zones_bng: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """(site positions, zone positions) of every site within tolerance of a zone."""
    tree = shapely.STRtree(zones_bng.array)
    site_idx, zone_idx = tree.query(
        sites_bng.array, predicate="dwithin", distance=BOUNDARY_TOLERANCE_M
    )
    return site_idx, zone_idx


def assign_zones(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of `sites` with `zone_ids` (sorted list) and `zone_names` of the zones containing it.

    Both frames need a CRS (any); the test runs in EPSG:27700. Sites with no geometry get [].
    """
    sites_bng = to_measure_crs(sites, "The sites").geometry
    zones_bng = to_measure_crs(zones, "The zones")
    site_idx, zone_idx = _pairs(sites_bng, zones_bng.geometry)
    ids = zones_bng["zone_id"].to_numpy()[zone_idx]
    names = zones_bng["name"].to_numpy()[zone_idx]
    found = pd.DataFrame({"site": site_idx, "zone_id": ids, "name": names}).sort_values(
        ["site", "zone_id"]
    )
    by_site = found.groupby("site")
    zone_ids = by_site["zone_id"].apply(lambda s: [int(v) for v in s]).to_dict()
    zone_names = by_site["name"].apply(list).to_dict()
    out = sites.copy()
    out["zone_ids"] = [zone_ids.get(i, []) for i in range(len(sites))]
    out["zone_names"] = [zone_names.get(i, []) for i in range(len(sites))]
    return out


def nearest_zones(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per site (same index): `nearest_zone_id` and `nearest_zone_distance_m` (0 when inside)."""
    sites_bng = to_measure_crs(sites, "The sites").geometry
    zones_bng = to_measure_crs(zones, "The zones")
    tree = shapely.STRtree(zones_bng.geometry.array)
    has_geom = ~(sites_bng.isna() | sites_bng.is_empty).to_numpy()
    nearest = pd.array([None] * len(sites), dtype="Int64")
    distance = np.full(len(sites), np.nan)
    if has_geom.any():
        (site_pos, zone_pos), dist = _first_nearest(
            tree.query_nearest(sites_bng.array[has_geom], return_distance=True, all_matches=True)
        )
        rows = np.flatnonzero(has_geom)[site_pos]
        nearest[rows] = zones_bng["zone_id"].to_numpy()[zone_pos]
        distance[rows] = np.where(dist <= BOUNDARY_TOLERANCE_M, 0.0, dist)
    return pd.DataFrame(
        {
            "nearest_zone_id": nearest,
            "nearest_zone_distance_m": distance,
        },
        index=sites.index,
    )


def _first_nearest(
    found: tuple[np.ndarray, np.ndarray],
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """From STRtree.query_nearest(all_matches=True), one match per site: on a tie (a point on a
    shared border, or as far from two zones) the first in the frame, so answers never depend on
    the tree's order (bulk.py's grid breaks ties the same way)."""
    (site_pos, other_pos), dist = found
    order = np.lexsort((other_pos, dist, site_pos))
    site_pos, other_pos, dist = site_pos[order], other_pos[order], dist[order]
    first = np.r_[True, site_pos[1:] != site_pos[:-1]] if len(site_pos) else np.zeros(0, bool)
    return (site_pos[first], other_pos[first]), dist[first]


def sites_near_zone(
    sites: gpd.GeoDataFrame, zone_geometry_wgs84: shapely.Geometry, km: float
) -> gpd.GeoDataFrame:
    """Sites within `km` of a zone's boundary but outside it, with `distance_km`, nearest first."""
    sites_bng = to_measure_crs(sites, "The sites")
    zone = gpd.GeoSeries([zone_geometry_wgs84], crs="EPSG:4326").to_crs(MEASURE_CRS).iloc[0]
    distances = sites_bng.geometry.distance(zone)
    mask = (distances > BOUNDARY_TOLERANCE_M) & (distances <= km * 1000)
    out = sites[mask.to_numpy()].copy()
    out["distance_km"] = (distances[mask] / 1000).round(2).to_numpy()
    return out.sort_values("distance_km")


def areas_km2(frame: gpd.GeoDataFrame) -> pd.Series:
    """Area of each geometry in square kilometres, measured in EPSG:27700."""
    return to_measure_crs(frame, "The geometries").geometry.area / 1e6


def area_shares(area: gpd.GeoDataFrame, others: gpd.GeoDataFrame) -> pd.Series:
    """The share of the area of `area`'s one shape (measured in EPSG:27700) inside each shape
    of `others` it overlaps, by `others`' index; the ones it does not overlap left out."""
    shape = to_measure_crs(area, "The area").geometry.iloc[0]
    near = others.iloc[others.sindex.query(area.to_crs(others.crs).geometry.iloc[0], "intersects")]
    if near.empty or not shape.area:
        return pd.Series(dtype=float)
    shares = to_measure_crs(near, "The shapes").geometry.intersection(shape).area / shape.area
    return shares[shares > 0]


def make_valid_keeping_type(geom: shapely.Geometry) -> shapely.Geometry:
    """shapely.make_valid, dropping the stray points or lines it can leave beside polygons."""
    if geom is None or geom.is_valid:
        return geom
    fixed = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon") and fixed.geom_type == "GeometryCollection":
        fixed = shapely.union_all(
            [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        )
    return fixed


def repair_geometries(frame: gpd.GeoDataFrame, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Make every geometry valid with shapely.make_valid; return the copy and what was repaired."""
    notes: list[str] = []
    geoms = frame.geometry.array.copy()
    for pos, geom in enumerate(geoms):
        if geom is not None and not geom.is_valid:
            notes.append(f"{label} row {pos}: {shapely.is_valid_reason(geom)}; repaired")
            geoms[pos] = make_valid_keeping_type(geom)
    out = frame.copy()
    out[frame.geometry.name] = geoms
    return out, notes


def assign_admin_units(sites: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of `sites` with `local_authority` and `nation` of the admin unit containing each.

    A site outside every unit (offshore, or cut off by the generalised coastline) takes the
    nearest unit within 5 km; beyond that both are left empty. A site on a border between units
    takes the first of them in `units`.
    """
    sites_bng = to_measure_crs(sites, "The sites").geometry
    units_bng = to_measure_crs(units, "The admin units")
    tree = shapely.STRtree(units_bng.geometry.array)
    names = np.full(len(sites), None, dtype=object)
    nations = np.full(len(sites), None, dtype=object)
    has_geom = ~(sites_bng.isna() | sites_bng.is_empty).to_numpy()
    if has_geom.any():
        (site_pos, unit_pos), _ = _first_nearest(
            tree.query_nearest(
                sites_bng.array[has_geom],
                max_distance=ADMIN_NEAREST_M,
                return_distance=True,
                all_matches=True,
            )
        )
        rows = np.flatnonzero(has_geom)[site_pos]
        names[rows] = units_bng["name"].to_numpy()[unit_pos]
        nations[rows] = units_bng["nation"].to_numpy()[unit_pos]
    out = sites.copy()
    out["local_authority"] = names
    out["nation"] = nations
    return out
