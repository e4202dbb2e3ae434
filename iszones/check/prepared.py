"""The check index of a data folder (its zones, councils and tax sites, as reference.py reads
them), kept on disk between runs: what the command line's streamed check of a CSV runs against.

Read back, it needs numpy, shapely and pyproj only (core.CheckIndex holds no frames), so a short
check does not load pandas or geopandas; they load only when the index must be made again.
"""

from __future__ import annotations

from pathlib import Path

from iszones.check.core import CheckIndex
from iszones.data.diskcache import cached, folder_files


def cached_index(folder: Path) -> tuple[CheckIndex, tuple[str, ...]]:
    """reference.cached_reference(folder).index() and the reference's notes, kept parsed and
    indexed on disk (data.diskcache), keyed by the folder's files and the package source."""
    return cached("check-index", folder_files(folder), lambda: _made(folder))


def _made(folder: Path) -> tuple[CheckIndex, tuple[str, ...]]:
    from iszones.check.reference import (
        cached_reference,  # geopandas: only when the index is made again
    )

    reference = cached_reference(folder)
    return reference.index(), reference.notes
