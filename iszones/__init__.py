"""iszones: maps and site checks for the UK's Industrial Strategy Zones."""

from iszones.data.catalogue import data_dir, read_sites, read_zones, write_geojson
from iszones.errors import (
    CRSError,
    DataFileError,
    IszonesError,
    SchemaError,
)
from iszones.geo.spatial import assign_zones, nearest_zones, sites_near_zone

__all__ = [
    "CRSError",
    "DataFileError",
    "IszonesError",
    "SchemaError",
    "assign_zones",
    "data_dir",
    "nearest_zones",
    "read_sites",
    "read_zones",
    "sites_near_zone",
    "write_geojson",
]
