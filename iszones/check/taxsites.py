"""Designated tax sites for the site check: the level that decides the tax reliefs.

A tax site whose extent is known (a polygon: an uploaded official file, or a sourced outline)
answers "inside?" by polygon; one known only as a point answers with a distance and the point's
precision, never with "inside". Everything here is in EPSG:27700; the index is built from
frames by frames.index_tax_sites and holds arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iszones.geo.grid import FEW_POINTS, PolygonGrid

TAX_SITE_COLUMNS = ("tax_site_id", "name", "precision_m", "designation", "decided_by")


@dataclass(frozen=True)
class TaxSiteIndex:
    """Tax sites in EPSG:27700, indexed: polygons in a grid, points as coordinates."""

    sites: dict[str, np.ndarray]  # TAX_SITE_COLUMNS; positions are what answers refer to
    geoms: np.ndarray  # their points and polygons, EPSG:27700
    polygon_pos: np.ndarray  # positions of the polygons, in grid order
    grid: PolygonGrid | None
    point_pos: np.ndarray
    point_x: np.ndarray
    point_y: np.ndarray


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
    """(position, metres) of the nearest point tax site for each point, the first on a tie."""
    if len(x) < FEW_POINTS:  # as the grids do: a short check does not load the compiled loops
        d2 = (x[:, None] - tax.point_x) ** 2 + (y[:, None] - tax.point_y) ** 2
        best = np.argmin(d2, axis=1)
        return tax.point_pos[best], np.sqrt(d2[np.arange(len(best)), best])
    from iszones.geo.kernels import nearest_points

    best, distance = nearest_points(
        np.ascontiguousarray(x, dtype=float),
        np.ascontiguousarray(y, dtype=float),
        tax.point_x.astype(float),
        tax.point_y.astype(float),
    )
    return tax.point_pos[best], distance


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


def empty_tax_answers(n: int) -> TaxAnswers:
    return TaxAnswers(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, np.nan))
