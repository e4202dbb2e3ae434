"""iszones: maps and site checks for the UK's Industrial Strategy Zones.

The public API is imported on first use, so `import iszones` (and the command line, which
imports only what a command needs) does not pay for geopandas until it is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from iszones.errors import CRSError, DataFileError, IszonesError, SchemaError

_LAZY = {
    "assign_zones": "iszones.geo.spatial",
    "nearest_zones": "iszones.geo.spatial",
    "sites_near_zone": "iszones.geo.spatial",
    "data_dir": "iszones.data.catalogue",
    "read_sites": "iszones.data.catalogue",
    "read_zones": "iszones.data.catalogue",
    "write_geojson": "iszones.data.catalogue",
    "check_sites": "iszones.check.frames",
    "bundled_reference": "iszones.check.reference",
}

__all__ = ["CRSError", "DataFileError", "IszonesError", "SchemaError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'iszones' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
