"""What sites are checked against: a data folder's zones, councils and tax sites, with a user's
official boundaries or tax-site polygons in their place. One implementation for the command
line, the Check page and `locate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from iszones.check.core import CheckIndex
from iszones.check.frames import (
    bundled_boundaries,
    bundled_tax_sites,
    check_sites,
    combine_boundaries,
    prepare_check,
    uploaded_tax_sites,
)
from iszones.data.catalogue import (
    read_councils,
    read_far_land,
    read_sites,
    read_zones,
    sites_path,
    zones_path,
)
from iszones.data.diskcache import cached, folder_files
from iszones.inputs.readers import BoundaryFile, SiteTable


@dataclass(frozen=True)
class Reference:
    """Zones (as check boundaries), councils and tax sites, and notes for the user."""

    zones: gpd.GeoDataFrame
    councils: gpd.GeoDataFrame
    tax_sites: gpd.GeoDataFrame | None
    notes: tuple[str, ...] = field(default=())
    customs_sites: gpd.GeoDataFrame | None = None  # the Freeport customs sites (points)
    far_land: gpd.GeoDataFrame | None = None  # land over 1 km from any postcode
    uploaded: bool = False  # holds a user's boundaries or tax sites (with_uploads)

    def check(self, sites: gpd.GeoDataFrame, **options: Any) -> gpd.GeoDataFrame:
        """frames.check_sites of `sites` against this reference; `options` as check_sites'
        (problems, sources, within_km, progress). A large check starts from the grid cells
        kept by earlier checks, as the streamed check does, and keeps the ones it builds; not
        against a user's uploads, whose cells would stay on disk, a set for each file ever
        checked against."""
        return check_sites(
            sites,
            self.zones,
            self.councils,
            tax_sites=self.tax_sites,
            customs_sites=self.customs_sites,
            far_land=self.far_land,
            keep_cells=not self.uploaded,
            **options,
        )

    def check_table(self, sites: SiteTable, **options: Any) -> gpd.GeoDataFrame:
        """`check` of a file's sites as the readers read them: every row, with its problem and
        where its location came from."""
        return self.check(sites.frame, problems=sites.problems, sources=sites.sources, **options)

    def index(self) -> CheckIndex:
        """This reference indexed for the stream and Dask paths (frames.prepare_check)."""
        return prepare_check(
            self.zones, self.councils, self.tax_sites, self.customs_sites, self.far_land
        )


def bundled_reference(folder: Path) -> Reference:
    """A data folder's zones, councils (2025 districts, else the older admin units) and tax
    sites (none when the folder has no sites.geojson, which the notes say)."""
    zones = bundled_boundaries(read_zones(zones_path(folder)))
    councils = read_councils(folder)
    far = read_far_land(folder)
    if sites_path(folder).is_file():
        sites = read_sites(sites_path(folder))
        customs = bundled_tax_sites(sites, kind="customs_site")
        tax = bundled_tax_sites(sites)
        return Reference(zones, councils, tax, customs_sites=customs, far_land=far)
    note = f"{folder}: no sites.geojson, so no tax sites to check against"
    return Reference(zones, councils, None, (note,), far_land=far)


def cached_reference(folder: Path) -> Reference:
    """bundled_reference, kept parsed on disk between runs (data.diskcache): the command line,
    the Check page and the dashboard's search share it (the streamed check keeps its index:
    prepared.cached_index)."""
    return cached("reference", folder_files(folder), lambda: bundled_reference(folder))


def with_uploads(
    bundled: Reference,
    boundaries: BoundaryFile | None = None,
    *,
    replace: bool = False,
    tax_sites: BoundaryFile | None = None,
) -> Reference:
    """`bundled` with a user's boundaries (instead of, or as well as, the zones) and official
    tax-site polygons (instead of the bundled tax-site points)."""
    zones, tax, notes = bundled.zones, bundled.tax_sites, list(bundled.notes)
    if boundaries is not None:
        zones, replaced = combine_boundaries(
            zones, boundaries.frame, replace=replace, linked=boundaries.linked_by_zone_id
        )
        notes.extend([*boundaries.notes, *replaced])
    if tax_sites is not None:
        tax = uploaded_tax_sites(tax_sites.frame, tax_sites.name)
        notes.extend(
            [*tax_sites.notes, f"{tax_sites.name}: its polygons answer the tax-site columns"]
        )
    return Reference(
        zones,
        bundled.councils,
        tax,
        tuple(notes),
        bundled.customs_sites,
        bundled.far_land,
        uploaded=boundaries is not None or tax_sites is not None,
    )
