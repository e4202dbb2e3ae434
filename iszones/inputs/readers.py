"""Reading the files users bring to a site check (results are written by results.py).

Sites come as CSV or XLSX (coordinate columns) or as GeoJSON, GeoPackage, zipped Shapefile,
KML or KMZ; boundaries in the spatial formats. Files are size-limited, zips are checked member by
member before anything is unpacked, and XML is screened with defusedxml. Rows that cannot be
located keep their place with a `problem` note; only whole-file problems raise.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml_safely
from pyproj import CRS

from iszones.errors import CRSError, DataFileError
from iszones.geo.spatial import repair_geometries
from iszones.inputs import xlsx
from iszones.inputs.coordinates import (
    CRS_FIX,
    feature_crs,
    find_coordinate_columns,
    first_problem,
    matching_columns,
    outside_uk,
    parse_crs,
    unlocated_fix,
)
from iszones.inputs.csvparse import csv_layout, parse_csv_rows, unique_names
from iszones.inputs.limits import (
    MAX_INPUT_MB,
    MAX_ZIP_MEMBERS,
    check_max_mb,
)
from iszones.inputs.placing import find_postcode_column, locate_rows
from iszones.inputs.text import decoded
from iszones.schema import PROGRAMME_LABELS, PROGRAMMES, STORAGE_CRS

SITE_FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile",
    ".kml": "kml",
    ".kmz": "kmz",
}
BOUNDARY_FORMATS = {k: v for k, v in SITE_FORMATS.items() if v not in ("csv", "xlsx")}
BOUNDARY_ZONE_ID_NAMES = ("zoneid",)
BOUNDARY_NAME_NAMES = ("name", "zonename", "sitename", "taxsitename", "title", "label")
BOUNDARY_ID_NAMES = ("id", "siteid", "code", "ref", "reference", "taxsiteid")

# Structural columns GDAL's LIBKML driver adds to every KML layer; dropped when they say nothing.
_KML_STRUCTURE = (
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
)
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@dataclass(frozen=True)
class SiteTable:
    """Sites read from a user's file: every row, located or not, and how it was read."""

    frame: gpd.GeoDataFrame  # original columns, then geometry (None where not located)
    problems: pd.Series  # per row: "" or why the row cannot be checked
    name: str  # the file name, for messages and boundary_source
    crs_note: str  # how the coordinates were read, for the report
    tabular: bool  # True for CSV/XLSX (coordinates are in the columns already)
    notes: tuple[str, ...] = ()  # anything repaired or assumed on the way
    sources: np.ndarray | None = None  # per row, inputs.placing.LOCATION_SOURCES codes


@dataclass(frozen=True)
class BoundaryFile:
    """Official (or any) boundaries a user supplies: zone_id, name, programme, boundary_source."""

    frame: gpd.GeoDataFrame
    name: str
    notes: tuple[str, ...] = ()
    linked_by_zone_id: bool = False  # a `zone_id` column ties features to bundled zones


# ---------------------------------------------------------------- entry points


def read_site_file(
    path: str | os.PathLike[str],
    *,
    crs: str | None = None,
    layer: str | None = None,
    max_mb: float = MAX_INPUT_MB,
) -> SiteTable:
    """Read a sites file from disk (any of SITE_FORMATS); see read_site_bytes."""
    return read_site_bytes(
        _read_limited(path, max_mb), Path(path).name, crs=crs, layer=layer, max_mb=max_mb
    )


def read_site_bytes(
    data: bytes,
    name: str,
    *,
    crs: str | None = None,
    layer: str | None = None,
    max_mb: float = MAX_INPUT_MB,
    max_cells: int | None = None,
) -> SiteTable:
    """Read sites from the bytes of an uploaded file whose format is given by `name`'s extension.

    Every row is kept. Rows that cannot be located get a problem note and no geometry; a file
    that cannot be read at all, or in which no row can be located, raises DataFileError or
    CRSError naming the file, the row, what is wrong and how to fix it.
    `crs` overrides any CRS in the file; `layer` picks a GeoPackage layer, a shapefile in a zip
    with several, or an XLSX sheet. `max_cells` refuses a CSV or XLSX table with more cells
    (rows times columns) before they become Python values: a 50 MB CSV of 1,000 short columns
    would otherwise take 1.9 GB (the dashboard sets it).
    """
    _check_size(data, name, max_mb)
    fmt = _format(name, SITE_FORMATS, "sites")
    user_crs = parse_crs(crs) if crs else None
    if fmt in ("csv", "xlsx"):
        table = (
            _read_csv(data, name, max_cells)
            if fmt == "csv"
            else _read_xlsx(data, name, layer, max_mb, max_cells)
        )
        sites = _locate_table(table, name, user_crs, decimal_comma=table.attrs.get("sep") == ";")
    else:
        frame, declared, notes = _read_spatial(data, name, fmt, layer, max_mb)
        sites = _locate_features(frame, name, declared, user_crs, notes)
        _require_some_located(sites)
    return sites


def read_boundary_file(
    path: str | os.PathLike[str], *, max_mb: float = MAX_INPUT_MB
) -> BoundaryFile:
    """Read a boundaries file from disk; see read_boundary_bytes."""
    return read_boundary_bytes(_read_limited(path, max_mb), Path(path).name, max_mb=max_mb)


def read_boundary_bytes(data: bytes, name: str, *, max_mb: float = MAX_INPUT_MB) -> BoundaryFile:
    """Read, validate and repair boundary polygons with a name or id for each.

    Returns zone_id (the `zone_id` column, else the name, else the id), name, programme (from a
    `programme` column when there is one), boundary_source and the geometry in its own CRS.
    Features sharing an id are merged. Invalid polygons are repaired with make_valid and said so.
    """
    _check_size(data, name, max_mb)
    fmt = _format(name, BOUNDARY_FORMATS, "boundaries")
    frame, declared, notes = _read_spatial(data, name, fmt, None, max_mb)
    return _boundaries(frame, name, declared, list(notes))


LAYER_FORMATS = "GeoJSON, GeoPackage or zipped Shapefile"
_GPKG_MAGIC = b"SQLite format 3\x00"
_ZIP_MAGIC = b"PK\x03\x04"


def read_layer_file(path: str | os.PathLike[str], *, max_mb: float) -> gpd.GeoDataFrame:
    """A GeoJSON, GeoPackage or zipped Shapefile told by its content (not its name), with every
    attribute, in its own CRS (GeoJSON without a `crs` member: WGS84).

    Anything else is refused before GDAL sees it: a VRT, a CSV, a KML or an XML document could
    make GDAL open other local files or URLs. GeoJSON is parsed here, not by GDAL; a zip is
    checked member by member and its shapefile unpacked under fixed names; a GeoPackage is read
    from memory. Raises DataFileError naming the file.
    """
    data = _read_limited(path, max_mb)
    name = Path(path).name
    _check_size(data, name, max_mb)
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(_GPKG_MAGIC):
        return _gpkg(data, name, None)
    if data.startswith(_ZIP_MAGIC):
        return _shapefile(data, name, None, max_mb)
    if head.startswith(b"{"):
        frame, declared, _ = _geojson(data, name)
        for pos, text in frame.attrs.get("bad", {}).items():
            raise DataFileError(f"{name}: feature {pos + 1}: {text}. Fix or remove it.")
        return frame if declared else frame.set_crs(STORAGE_CRS)
    raise DataFileError(
        f"{name}: is not a {LAYER_FORMATS} (judged by its content, not its name). Download the"
        " layer in one of those formats."
    )


# ---------------------------------------------------------------- bytes, sizes, formats


def _read_limited(path: str | os.PathLike[str], max_mb: float) -> bytes:
    name = str(path)
    check_max_mb(max_mb)
    try:
        size = os.stat(path).st_size
        if size > max_mb * 1e6:
            raise DataFileError(_too_big(name, size, max_mb))
        if not Path(path).is_file():
            raise DataFileError(f"{name}: is not a file. Give the path of a file.")
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as err:
        raise DataFileError(f"{name}: file not found. Check the path.") from err
    except OSError as err:
        raise DataFileError(f"{name}: cannot read ({err.strerror}).") from err


def _too_big(name: str, size: int, max_mb: float) -> str:
    return (
        f"{name}: the file is {size / 1e6:.1f} MB, over the {max_mb:g} MB limit."
        " Split it into smaller files, or raise the limit (--max-mb on the command line)."
    )


def _check_size(data: bytes, name: str, max_mb: float) -> None:
    check_max_mb(max_mb)
    if len(data) > max_mb * 1e6:
        raise DataFileError(_too_big(name, len(data), max_mb))
    if not data.strip():
        raise DataFileError(f"{name}: the file is empty. Choose the file with your sites in it.")


def _format(name: str, formats: dict[str, str], what: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in formats:
        accepted = ", ".join(sorted(formats))
        raise DataFileError(
            f"{name}: cannot read {what} from a {suffix or 'extensionless'!r} file."
            f" Save them as one of: {accepted}."
        )
    return formats[suffix]


# ---------------------------------------------------------------- tables (CSV, XLSX)


def _check_cells(rows: int, columns: int, name: str, max_cells: int | None) -> None:
    if max_cells is not None and rows * columns > max_cells:
        raise DataFileError(
            f"{name}: has {rows:,} rows of {columns:,} columns ({rows * columns:,} cells); this"
            f" page reads up to {max_cells:,}. Keep only the columns you need, or check it with"
            " the command line (iszones check FILE --out checked.csv), which streams any size."
        )


def _read_csv(data: bytes, name: str, max_cells: int | None = None) -> pd.DataFrame:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    layout = csv_layout(data, name)
    table, ragged = parse_csv_rows(
        data[layout.body_start :], layout, name, first_line=layout.body_line
    )
    if not table.num_rows:
        raise DataFileError(f"{name}: has a header but no rows of sites under it.")
    _check_cells(table.num_rows, table.num_columns, name, max_cells)
    frame = pd.DataFrame(  # Arrow-backed text: a few bytes a cell, not a Python str each
        {n: pd.Series(table.column(i).to_pandas(), dtype="str") for i, n in enumerate(layout.names)}
    )
    frame.attrs["sep"] = layout.sep
    if layout.note:
        frame.attrs["note"] = f"{name}: {layout.note}"
    # only the ragged rows, by position: pandas deep-copies attrs on every operation
    frame.attrs["ragged"] = {i: text for i, text in enumerate(ragged or ()) if text}
    return frame


def _read_xlsx(
    data: bytes, name: str, sheet: str | None, max_mb: float, max_cells: int | None = None
) -> pd.DataFrame:
    """The chosen sheet (else the first visible one) as a table, from the cells it holds.

    See inputs/xlsx.py: cells are streamed, empty ones never made, and a value beyond
    MAX_COLUMNS or MAX_XLSX_ROWS is refused. Columns with no value at all are dropped.
    """
    if data.startswith(xlsx.OLE_MAGIC):
        if xlsx.is_encrypted(data):
            raise DataFileError(
                f"{name}: is encrypted (protected with a password). Save an unprotected copy:"
                " in Excel, File > Info > Protect Workbook > Encrypt with Password, and clear it."
            )
        raise DataFileError(
            f"{name}: is an old-style Excel (.xls) workbook, not .xlsx. Open it in Excel and"
            " 'Save as' Excel Workbook (.xlsx), or as CSV UTF-8."
        )
    _safe_zip(data, name, max_mb)  # an XLSX is a zip: refuse bombs before openpyxl sees it
    try:
        book = xlsx.open_book(data)
    except Exception as err:  # openpyxl raises many types for damaged workbooks
        raise _unreadable_xlsx(name, err) from err
    try:
        sheets = book.sheets
        if not sheets:
            raise DataFileError(f"{name}: has no worksheet. Save it again with the sites on one.")
        titles = [s.title for s in sheets]
        if sheet is not None:
            if sheet not in titles:
                listed = ", ".join(map(repr, titles))
                raise DataFileError(f"{name}: has no sheet {sheet!r}; its sheets are {listed}.")
            chosen = sheets[titles.index(sheet)]
        else:
            chosen = ([s for s in sheets if s.state == "visible"] or sheets)[0]
        cells, formulas = xlsx.read_cells(book, chosen, name)
    except DataFileError:
        raise
    except Exception as err:  # a lying zip member, a damaged part
        raise _unreadable_xlsx(name, err) from err
    finally:
        book.archive.close()
    table = _sheet_table(cells, formulas, name, chosen.title, max_cells)
    if sheet is None and len(sheets) > 1:
        hidden = [s.title for s in sheets if s.state != "visible"]
        which = "first visible" if hidden else "first"
        note = f"read sheet {chosen.title!r}, the {which} of {len(sheets)}"
        if hidden:
            note += f" (hidden: {', '.join(map(repr, hidden))})"
        table.attrs["note"] = note + "; choose another with --layer"
    return table


def _unreadable_xlsx(name: str, err: BaseException) -> DataFileError:
    cause: BaseException | None = err
    while cause is not None:  # openpyxl wraps defusedxml's refusal in a three-line ValueError
        if isinstance(cause, DefusedXmlException):
            return _xml_refused(name, cause, "Excel")
        cause = cause.__cause__ or cause.__context__
    if isinstance(err, zipfile.BadZipFile):
        why = f"a damaged zip member: {first_line(str(err))}"
    else:
        why = first_line(str(err)) or type(err).__name__
    return DataFileError(
        f"{name}: cannot be read as an Excel workbook ({why}). Save it again as .xlsx."
    )


def first_line(text: str, width: int = 120) -> str:
    """The first line of a library's message, cut to `width` characters, with no temp paths."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = _TEMP_PATH.sub("<file>", line)
    return line if len(line) <= width else line[: width - 3] + "..."


_TEMP_PATH = re.compile("(?:" + re.escape(tempfile.gettempdir()) + r"|/vsimem)/[^\s'\"):,]*")


def _saved(value: Any) -> Any:
    return None if value is xlsx.NO_SAVED_VALUE else value


def _sheet_table(
    cells: dict[int, dict[int, Any]],
    formulas: dict[tuple[int, int], str],
    name: str,
    title: str,
    max_cells: int | None = None,
) -> pd.DataFrame:
    """The header (the first row with a value) and the rows under it, in the columns used."""
    if not cells:
        raise DataFileError(f"{name}: sheet {title!r} is empty.")
    rows = sorted(cells)
    columns = sorted({c for row in cells.values() for c in row})
    head = cells[rows[0]]
    header = unique_names([head.get(c) for c in columns], positions=columns)
    header = [
        f"column_{c}" if head.get(c) is xlsx.NO_SAVED_VALUE else h
        for c, h in zip(columns, header, strict=True)
    ]
    body = rows[1:]
    if not body:
        raise DataFileError(f"{name}: sheet {title!r} has a header but no rows of sites.")
    _check_cells(len(body), len(columns), name, max_cells)
    table = pd.DataFrame(
        [[_saved(cells[r].get(c)) for c in columns] for r in body], columns=header, dtype=object
    )
    table.attrs["sep"] = ","
    table.attrs["ragged"] = {}
    if formulas:
        # Row positions (0 = the first row under the header) and column names of such cells.
        position = {r: i for i, r in enumerate(body)}
        named = dict(zip(columns, header, strict=True))
        table.attrs["formulas"] = {
            (position[r], named[c]): ref for (r, c), ref in formulas.items() if r in position
        }
    return table


def _locate_table(
    table: pd.DataFrame, name: str, user_crs: CRS | None, *, decimal_comma: bool
) -> SiteTable:
    cols = find_coordinate_columns(list(table.columns), name, user_crs)
    ragged = None
    if table.attrs.get("ragged"):
        ragged = [""] * len(table)
        for pos, text in table.attrs["ragged"].items():
            ragged[pos] = text
    found = locate_rows(
        table.__getitem__,
        cols,
        name,
        user_crs,
        find_postcode_column(list(table.columns), name),
        decimal_comma=decimal_comma,
        ragged=ragged,
    )
    n = len(table)
    problems = found.problems.copy()
    formulas = table.attrs.get("formulas") or {}
    for (pos, column), ref in formulas.items():
        if column in cols[:2]:
            problems[pos] = (
                f"{column!r} (cell {ref}) is a formula with no saved value; open the file in"
                " Excel and save it, so that the values are saved"
            )
    ok = found.ok & (problems == "")
    points = np.full(n, None, dtype=object)
    points[ok] = shapely.points(found.x[ok], found.y[ok])

    kept = table.drop(columns=[c for c in ("geometry",) if c in table.columns])
    kept.attrs = {}  # how the file was read is in the SiteTable, not on every copy of the rows
    if "geometry" in table.columns:
        kept["geometry_input"] = table["geometry"]
    frame = gpd.GeoDataFrame(kept.reset_index(drop=True), geometry=points, crs=found.crs)
    notes = [t for t in (table.attrs.get("note"),) if t] + list(found.notes)
    if formulas:
        first = min(formulas.items())[1]
        notes.append(
            f"{len(formulas)} formula cell(s) have no saved value and are read as empty (the"
            f" first in cell {first}); open the file in Excel and save it to keep their values"
        )
    sites = SiteTable(
        frame=frame,
        problems=pd.Series(problems, dtype=object, name="problem"),
        name=name,
        crs_note=found.note,
        tabular=True,
        notes=tuple(notes),
        sources=np.where(ok, found.source, 0) if found.source is not None else None,
    )
    _require_some_located(sites, by_postcode=found.by_postcode)
    return sites


def _require_some_located(sites: SiteTable, *, by_postcode: bool = False) -> None:
    bad = (sites.problems != "").to_numpy()
    if len(bad) and bad.all():
        word = "row" if sites.tabular else "feature"
        first = "; ".join(
            f"{word} {pos + 1}: {sites.problems.iloc[pos]}" for pos in range(min(3, len(bad)))
        )
        swapped = bool(sites.problems.str.contains("look swapped").all())
        fix = unlocated_fix(swapped=swapped, by_postcode=by_postcode)
        raise DataFileError(
            f"{sites.name}: no {word} could be located ({len(bad)} in all). {first}. {fix}"
        )


# ---------------------------------------------------------------- spatial formats


def _safe_zip(data: bytes, name: str, max_mb: float) -> zipfile.ZipFile:
    """Open a zip after checking every member: no escaping paths, links, encryption or bombs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise DataFileError(
            f"{name}: is not a readable zip file ({first_line(str(err))})."
        ) from err
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise DataFileError(
            f"{name}: holds {len(members):,} files; the limit is {MAX_ZIP_MEMBERS:,}."
        )
    total = 0
    for info in members:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", info.filename):
            raise DataFileError(
                f"{name}: member {info.filename!r} has a path outside the zip's folder;"
                " refusing to unpack it. Zip the files again from their own folder."
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DataFileError(
                f"{name}: member {info.filename!r} is a symbolic link; zip the real files."
            )
        if info.flag_bits & 0x1:
            raise DataFileError(
                f"{name}: member {info.filename!r} is encrypted; zip it without a password."
            )
        total += info.file_size
    if total > max_mb * 1e6:
        raise DataFileError(
            f"{name}: unpacks to {total / 1e6:.1f} MB, over the {max_mb:g} MB limit."
            " Split it, or raise the limit (--max-mb on the command line)."
        )
    return archive


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    try:
        with archive.open(info) as handle:
            payload = handle.read(info.file_size + 1)  # never more than the header declared
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        raise DataFileError(
            f"{name}: member {info.filename!r} is damaged ({first_line(str(err))}): its size or"
            " checksum does not match its contents. Zip the files again."
        ) from err
    if len(payload) > info.file_size:
        raise DataFileError(f"{name}: member {info.filename!r} is larger than it says.")
    return payload


def _visible(info: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    return not info.is_dir() and "__MACOSX" not in parts and not parts[-1].startswith("._")


def _shapefile(data: bytes, name: str, layer: str | None, max_mb: float) -> gpd.GeoDataFrame:
    archive = _safe_zip(data, name, max_mb)
    members = [i for i in archive.infolist() if _visible(i)]
    shps = [i for i in members if i.filename.lower().endswith(".shp")]
    if not shps:
        listed = ", ".join(i.filename for i in members[:10]) or "nothing"
        raise DataFileError(
            f"{name}: has no .shp file inside (it holds {listed}). Zip the shapefile's .shp,"
            " .shx, .dbf and .prj files together."
        )
    if layer is not None:
        shps = [
            i
            for i in shps
            if layer in (i.filename, PurePosixPath(i.filename).stem, Path(i.filename).name)
        ]
        if not shps:
            raise DataFileError(f"{name}: has no shapefile named {layer!r}.")
    if len(shps) > 1:
        names = ", ".join(PurePosixPath(i.filename).stem for i in shps)
        raise DataFileError(
            f"{name}: holds several shapefiles ({names}). Choose one with --layer NAME."
        )
    stem = shps[0].filename[:-4]
    parts = {
        i.filename[len(stem) :].lower(): i
        for i in members
        if i.filename[: len(stem)] == stem and i.filename[len(stem) :].lower() in _SHAPEFILE_PARTS
    }
    for needed in (".shx", ".dbf"):
        if needed not in parts:
            raise DataFileError(
                f"{name}: {PurePosixPath(stem).name}.shp has no {needed} beside it."
                " Zip all of the shapefile's files (.shp, .shx, .dbf, .prj) together."
            )
    with tempfile.TemporaryDirectory(prefix="iszones-") as tmp:
        for suffix, info in parts.items():  # fixed names: nothing from the zip names a path
            Path(tmp, "layer" + suffix).write_bytes(_member_bytes(archive, info, name))
        frame = _ogr_read(Path(tmp, "layer.shp"), name, None)
    if ".prj" not in parts:
        frame = frame.set_crs(None, allow_override=True)
    return frame


def _xml_refused(name: str, err: DefusedXmlException, what: str) -> DataFileError:
    return DataFileError(
        f"{name}: contains an XML document type or entity declaration ({type(err).__name__}),"
        f" which {what} files never need; refusing it for safety. Export the file again."
    )


def _screen_xml(data: bytes, name: str) -> None:
    """Refuse XML with DTDs or entities (XXE, billion laughs) and say where broken XML breaks."""
    try:
        parse_xml_safely(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise _xml_refused(name, err, "KML") from err
    except ParseError as err:
        line, column = err.position
        raise DataFileError(
            f"{name}: broken XML at line {line}, column {column + 1} ({err.msg})."
            " Export the KML again, or open it in a text editor at that line."
        ) from err


def _gdal() -> Any:
    """pyogrio (GDAL), loaded only for the formats that need it: its library is 41 MB resident,
    which a CSV or Excel file does without."""
    import pyogrio

    return pyogrio


def _kml(data: bytes, name: str) -> gpd.GeoDataFrame:
    _screen_xml(data, name)
    # A KML without folders names its one layer after the file, so list and read one fixed file.
    with tempfile.TemporaryDirectory(prefix="iszones-") as tmp:
        path = Path(tmp, "sites.kml")
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                layers = [str(row[0]) for row in _gdal().list_layers(path)]
            except Exception as err:  # GDAL errors for unreadable KML
                raise DataFileError(
                    f"{name}: cannot be read as KML ({first_line(str(err))})."
                ) from err
        frames = [_ogr_read(path, name, layer) for layer in layers]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise DataFileError(f"{name}: has no placemarks. Add the sites as placemarks.")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dull = [c for c in _KML_STRUCTURE if c in frame.columns and _says_nothing(frame[c])]
    frame = frame.drop(columns=dull)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS)
    out["geometry"] = shapely.force_2d(out.geometry.array)
    return out


def _says_nothing(column: pd.Series) -> bool:
    return bool(column.isna().all() or column.isin([-1, 0, ""]).all())


def _kmz(data: bytes, name: str, max_mb: float) -> gpd.GeoDataFrame:
    archive = _safe_zip(data, name, max_mb)
    kmls = [i for i in archive.infolist() if _visible(i) and i.filename.lower().endswith(".kml")]
    if not kmls:
        raise DataFileError(f"{name}: has no .kml file inside; a KMZ must hold doc.kml.")
    main = next((i for i in kmls if i.filename.lower() == "doc.kml"), kmls[0])
    return _kml(_member_bytes(archive, main, name), name)


def _ogr_read(source: Path | io.BytesIO, name: str, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's notes on in-memory file names
            frame = _gdal().read_dataframe(source, layer=layer)
    except Exception as err:  # pyogrio raises DataSourceError, DataLayerError, FieldError ...
        raise DataFileError(f"{name}: cannot be read ({first_line(str(err))}).") from err
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs)


def _gpkg(data: bytes, name: str, layer: str | None) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            listed = _gdal().list_layers(io.BytesIO(data))
        except Exception as err:  # GDAL errors for files that are not GeoPackages
            raise DataFileError(
                f"{name}: cannot be read as a GeoPackage ({first_line(str(err))})."
            ) from err
    spatial = [str(row[0]) for row in listed if row[1] is not None]
    if layer is None:
        if not spatial:
            raise DataFileError(f"{name}: has no layer with geometry.")
        if len(spatial) > 1:
            raise DataFileError(
                f"{name}: has several layers ({', '.join(spatial)}). Choose one with --layer NAME."
            )
        layer = spatial[0]
    elif layer not in spatial:
        raise DataFileError(
            f"{name}: has no layer {layer!r} with geometry; its layers are {', '.join(spatial)}."
        )
    return _ogr_read(io.BytesIO(data), name, layer)


def _geojson(data: bytes, name: str) -> tuple[gpd.GeoDataFrame, bool, list[str]]:
    """Parse GeoJSON ourselves: exact error positions, and one bad feature does not sink all."""
    try:
        doc = json.loads(
            decoded(data, name, "GeoJSON is UTF-8 text: save it as UTF-8.", encoding="utf-8-sig")
        )
    except json.JSONDecodeError as err:
        raise DataFileError(
            f"{name}: broken JSON at line {err.lineno}, column {err.colno}: {err.msg}."
            " Fix it there, or export the file again."
        ) from err
    except RecursionError as err:
        raise DataFileError(
            f"{name}: its JSON is nested too deeply (lists or objects inside each other"
            " thousands of times), which GeoJSON never needs. Export the file again."
        ) from err
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise DataFileError(
            f"{name}: is JSON but not a GeoJSON FeatureCollection (its top level is"
            f" {type(doc).__name__} {str(doc.get('type') if isinstance(doc, dict) else '')!r})."
        )
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise DataFileError(f"{name}: has no features. Add the sites as GeoJSON Features.")
    props: list[dict[str, Any]] = []
    geoms: list[Any] = []
    bad: dict[int, str] = {}  # position -> why the feature cannot be used
    for pos, feature in enumerate(features):
        if not isinstance(feature, dict):
            feature = {}
            bad[pos] = "not a GeoJSON Feature"
        properties = feature.get("properties")
        if properties is not None and not isinstance(properties, dict):
            bad[pos] = (
                f"'properties' is {_json_kind(properties)}, not an object of names and values"
            )
            properties = None
        props.append(properties or {})
        raw = feature.get("geometry")
        try:
            geoms.append(None if raw is None else shapely.from_geojson(json.dumps(raw)))
        except Exception:  # shapely raises GEOSException or ValueError on malformed geometry
            geoms.append(None)
            bad[pos] = f"geometry cannot be read: {json.dumps(raw)[:80]}"
    declared = _geojson_crs(doc.get("crs"), name)
    frame = gpd.GeoDataFrame(pd.DataFrame(props), geometry=geoms, crs=declared)
    frame.attrs["bad"] = bad
    return frame, declared is not None, []


def _json_kind(value: Any) -> str:
    kinds = {str: "text", list: "a list", bool: "true/false", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


_CRS_MEMBER = '{"type": "name", "properties": {"name": "EPSG:27700"}}'


def _geojson_crs(member: Any, name: str) -> CRS | None:
    """The CRS a legacy GeoJSON `crs` member names (None when there is none)."""
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    crs_name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(crs_name, str) or not crs_name.strip():
        shown = json.dumps(member)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise DataFileError(
            f"{name}: its 'crs' member is {shown}, not a named CRS such as {_CRS_MEMBER}."
            " Fix it, or remove it (GeoJSON is longitude/latitude) and " + CRS_FIX + "."
        )
    try:
        return parse_crs(crs_name)
    except CRSError as err:
        raise CRSError(f"{name}: its 'crs' member names {crs_name[:60]!r}: {err}") from err


def _read_spatial(
    data: bytes, name: str, fmt: str, layer: str | None, max_mb: float
) -> tuple[gpd.GeoDataFrame, bool, list[str]]:
    """(frame in its own CRS, whether the file declared a CRS, notes)."""
    if fmt == "geojson":
        return _geojson(data, name)
    if fmt == "gpkg":
        frame = _gpkg(data, name, layer)
    elif fmt == "shapefile":
        frame = _shapefile(data, name, layer, max_mb)
    elif fmt == "kml":
        frame = _kml(data, name)
    else:
        frame = _kmz(data, name, max_mb)
    if frame.empty:
        raise DataFileError(f"{name}: has no features.")
    return frame, frame.crs is not None, []


def _locate_features(
    frame: gpd.GeoDataFrame,
    name: str,
    declared: bool,
    user_crs: CRS | None,
    notes: list[str],
) -> SiteTable:
    crs, crs_note = feature_crs(frame, name, declared, user_crs)
    frame = frame.set_crs(crs, allow_override=True)
    geoms = frame.geometry.array
    n = len(frame)
    problems = np.full(n, "", dtype=object)
    for pos, text in frame.attrs.get("bad", {}).items():
        problems[pos] = text
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    first_problem(problems, np.asarray(missing), "no geometry: the feature has no location")
    repairs: list[str] = []
    invalid = np.asarray(~missing) & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed, reasons = repair_geometries(frame[invalid], name)
        frame = frame.copy()
        frame.loc[invalid, frame.geometry.name] = fixed.geometry.to_numpy()
        rows = np.flatnonzero(invalid) + 1
        repairs = [
            f"{name}: feature {row}: {why.split(': ', 1)[-1]}"
            for row, why in zip(rows, reasons, strict=True)
        ]
    kept = np.array(frame.geometry.array, dtype=object)
    kept[problems != ""] = None
    problems = outside_uk(kept, crs, problems, ("longitude", "latitude"), "features")
    kept[problems != ""] = None
    out = frame.copy()
    out[frame.geometry.name] = kept
    out = out.set_geometry(frame.geometry.name).set_crs(crs, allow_override=True)
    if out.geometry.name != "geometry":
        out = out.rename_geometry("geometry")
    return SiteTable(
        frame=out.reset_index(drop=True),
        problems=pd.Series(problems, dtype=object, name="problem"),
        name=name,
        crs_note=crs_note,
        tabular=False,
        notes=tuple(notes + repairs),
    )


# ---------------------------------------------------------------- boundaries


def _boundaries(
    frame: gpd.GeoDataFrame, name: str, declared: bool, notes: list[str]
) -> BoundaryFile:
    for pos, text in frame.attrs.get("bad", {}).items():
        raise DataFileError(f"{name}: feature {pos + 1}: {text}. Fix or remove it.")
    geoms = frame.geometry.array
    empty = np.flatnonzero(pd.isna(geoms) | shapely.is_empty(geoms))
    if len(empty):
        raise DataFileError(f"{name}: feature {empty[0] + 1} has no geometry. Fix or remove it.")
    crs, crs_note = feature_crs(frame, name, declared, None)
    frame = frame.set_crs(crs, allow_override=True)
    notes.append(f"{name}: {crs_note}")
    kinds = shapely.get_type_id(geoms)
    not_polygon = ~np.isin(kinds, (3, 6))
    if not_polygon.any():
        pos = int(np.flatnonzero(not_polygon)[0])
        raise DataFileError(
            f"{name}: feature {pos + 1} is a {geoms[pos].geom_type}; boundaries must be"
            " polygons. Remove the other shapes, or supply the polygon layer."
        )
    columns = [c for c in frame.columns if c != frame.geometry.name]
    zone_col = next(iter(matching_columns(columns, BOUNDARY_ZONE_ID_NAMES)), None)
    name_col = next(iter(matching_columns(columns, BOUNDARY_NAME_NAMES)), None)
    id_col = next(iter(matching_columns(columns, BOUNDARY_ID_NAMES)), None)
    if not (zone_col or name_col or id_col):
        raise DataFileError(
            f"{name}: no name or id column for the boundaries (its columns are"
            f" {', '.join(map(repr, columns)) or 'none'}). Add a column named 'name'"
            " (or 'zone_id' to tie each boundary to a bundled zone)."
        )
    key_col = zone_col or name_col or id_col
    assert key_col is not None
    ids = [_id_value(v) for v in frame[key_col]]
    for pos, value in enumerate(ids, start=1):
        if value in (None, ""):
            raise DataFileError(
                f"{name}: feature {pos} has no {key_col!r}. Give every boundary a value there."
            )
    label_col = name_col or key_col
    labels = [str(v).strip() if v is not None else "" for v in frame[label_col]]
    programmes = [""] * len(frame)
    prog_col = next(iter(matching_columns(columns, ("programme", "program"))), None)
    if prog_col:
        programmes = [_programme(v) for v in frame[prog_col]]
    fixed, repaired = repair_geometries(frame, name)
    was_repaired = ~shapely.is_valid(geoms)
    notes.extend(
        f"{name}: feature {int(pos) + 1}: {text.split(': ', 1)[-1]}"
        for pos, text in zip(np.flatnonzero(was_repaired), repaired, strict=True)
    )
    source = f"uploaded {name} (as supplied)"
    table = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": labels,
            "programme": programmes,
            "boundary_source": [
                source[:-1] + "; geometry repaired)" if r else source for r in was_repaired
            ],
        },
        geometry=fixed.geometry.to_numpy(),
        crs=crs,
    )
    keys = pd.Series([str(v) for v in ids])
    if keys.duplicated().any():
        dupes = sorted(set(keys[keys.duplicated()]))
        notes.append(
            f"{name}: features sharing {key_col!r} {', '.join(map(repr, dupes))} were merged"
        )
        table["_key"] = keys.to_numpy()
        table = table.dissolve(
            by="_key",
            aggfunc={
                "zone_id": "first",
                "name": "first",
                "programme": "first",
                "boundary_source": "first",
            },
            sort=False,
        ).reset_index(drop=True)
    return BoundaryFile(
        frame=table[["zone_id", "name", "programme", "boundary_source", "geometry"]],
        name=name,
        notes=tuple(notes),
        linked_by_zone_id=zone_col is not None,
    )


def _id_value(value: Any) -> Any:
    """Whole numbers as int (1.0 -> 1, '22' -> 22), other text stripped, NaN as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _programme(value: Any) -> str:
    text = str(value or "").strip()
    key = text.lower().replace(" ", "_")
    if key in PROGRAMMES:
        return PROGRAMME_LABELS[key]
    return text
