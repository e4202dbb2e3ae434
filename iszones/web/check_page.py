"""Check my sites: upload a list of sites and see which Industrial Strategy Zone each is in.

A thin shell over iszones.inputs.readers, iszones.check.frames and iszones.render.webmap (the
same calls as `iszones check`). Every piece of user text that reaches HTML (the map's tooltips,
messages) is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from iszones.check.outputs import result_bytes
from iszones.check.reference import Reference, cached_reference, with_uploads
from iszones.check.summary import problem_texts, summarise
from iszones.data.catalogue import data_dir
from iszones.errors import DataFileError, IszonesError
from iszones.inputs.limits import MAX_PAGE_CELLS, MAX_PAGE_ROWS, MAX_UPLOAD_MB
from iszones.inputs.readers import (
    BOUNDARY_FORMATS,
    SITE_FORMATS,
    read_boundary_bytes,
    read_site_bytes,
)
from iszones.inputs.text import clean_text
from iszones.render import assets
from iszones.render.format import plural
from iszones.render.safe import md
from iszones.render.webmap import CHECK_MAP_MAX_SITES, check_map
from iszones.web.geometry import cached_places, web_layers

DOWNLOADS = (
    (".csv", "CSV", "text/csv"),
    (".xlsx", "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".geojson", "GeoJSON", "application/geo+json"),
    (".gpkg", "GeoPackage", "application/geopackage+sqlite3"),
)
REPLACE, ADD = "instead of the bundled footprints", "as well as the bundled footprints"

ASSET_URL = assets.serve_in_streamlit()  # Leaflet from this app: the map needs no CDN


# The answer first, then the user's own columns, then the rest of the results.
ANSWER_COLUMNS = (
    "answer",
    "problem",
    "tax_site_name",
    "nearest_tax_site_name",
    "nearest_tax_site_distance_m",
    "zone_name",
    "local_authority",
)
SHOW = {
    "All rows": None,
    "Only problems": "problem",
    "Only inside a zone": "inside",
    "Only in or near a tax site": "tax",
}
STYLED_ROWS = 10_000  # rows highlighted by colour; larger tables are shown plain
_TEXT = ("string", "empty", "categorical")  # pandas' kinds of text column (a result's: categorical)


@st.cache_resource
def bundled(folder: str) -> Reference:
    """The zones, councils and tax sites of a data folder (reference.cached_reference)."""
    return cached_reference(data_dir(folder))


def run_check(
    sites_file: Any,
    boundary_file: Any,
    tax_file: Any,
    crs: str,
    layer: str,
    within_km: float,
    mode: str,
) -> dict[str, Any]:
    """Read, check and serialise; the result is kept in the session until an input changes."""
    sites = read_site_bytes(
        sites_file.getvalue(),
        sites_file.name,
        crs=crs.strip() or None,
        layer=layer.strip() or None,
        max_mb=MAX_UPLOAD_MB,
        max_cells=MAX_PAGE_CELLS,
    )
    if len(sites.frame) > MAX_PAGE_ROWS:  # bounded work per request: big lists go to the CLI
        raise DataFileError(
            f"{sites.name}: has {len(sites.frame):,} rows; this page checks up to"
            f" {MAX_PAGE_ROWS:,}. Check it with the command line (iszones check FILE --out"
            " checked.csv), which streams any size, or split it."
        )
    uploads = [
        read_boundary_bytes(f.getvalue(), f.name, max_mb=MAX_UPLOAD_MB) if f else None
        for f in (boundary_file, tax_file)
    ]
    against = with_uploads(
        bundled(str(data_dir())), uploads[0], replace=mode == REPLACE, tax_sites=uploads[1]
    )
    notes = [f"{sites.name}: {sites.crs_note}", *sites.notes, *against.notes]
    bar = st.progress(0.0, text="Checking sites")

    def advance(done: int, total: int) -> None:
        bar.progress(
            done / total if total else 1.0, text=f"Checked {done:,} of {plural(total, 'site')}"
        )

    result = against.check_table(sites, within_km=within_km, progress=advance)
    bar.empty()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePath(sites.name).stem) or "sites"
    return {
        "result": result,
        "zones": against.zones,
        "notes": notes,
        "summary": summarise(result, within_km),
        "include_wkt": not sites.tabular,
        "stem": stem,
        "tax_sites": against.tax_sites,  # the map draws the precision of those given as points
    }


def shown_rows(result: pd.DataFrame, show: str | None, within_km: float) -> np.ndarray:
    """The rows the filter keeps."""
    problem = problem_texts(result) != ""
    if show == "problem":
        return problem
    if show == "inside":
        return (result["in_zone"] == True).to_numpy()  # noqa: E712 -- True/False/None
    if show == "tax":
        distance = result["nearest_tax_site_distance_m"].to_numpy(dtype=float)
        inside = result["tax_site_id"].notna().to_numpy()
        with np.errstate(invalid="ignore"):
            near = distance <= max(within_km * 1000, 0.0)
        return inside | near | result["answer"].str.contains("possibly inside").to_numpy()
    return np.ones(len(result), dtype=bool)


def results_table(result: gpd.GeoDataFrame) -> pd.DataFrame:
    """The table as shown: answer columns first, then the user's, then the other results;
    empty cells blank (not "None"); text without bidi controls (inputs.text.clean_text)."""
    table = pd.DataFrame(result.drop(columns=result.geometry.name))
    first = [c for c in ANSWER_COLUMNS if c in table]
    rest = [c for c in table if c not in first]
    table = table[first + rest]
    for column in table:
        if pd.api.types.infer_dtype(table[column], skipna=True) in _TEXT:
            table[column] = (
                table[column].astype(object).where(table[column].notna(), "").map(clean_text)
            )
    return table


def download_file(result: gpd.GeoDataFrame, suffix: str, include_wkt: bool) -> Callable[[], bytes]:
    """The results file, made only when its button is clicked (not on every rerun)."""
    return lambda: result_bytes(result, suffix, include_wkt=include_wkt)


st.set_page_config(page_title="Check my sites · iszones", layout="wide")
st.title("Check my sites")
st.markdown(
    "Upload your sites to see, for each: whether it is in or near a designated **tax site**"
    " (the level that decides the tax reliefs), which zone's area it is in or how far the"
    " nearest zone is, and which council (2025 district) it lies in, with a sentence you can"
    " paste into a report. Every row comes back with all its columns; rows that cannot be"
    " checked say why in the **problem** column.\n\n"
    "Accepted: CSV or Excel with longitude/latitude or easting/northing (British National"
    " Grid) columns, or a postcode column, GeoJSON, GeoPackage, zipped Shapefile, KML or KMZ,"
    f" up to {MAX_UPLOAD_MB} MB and {MAX_PAGE_ROWS:,} rows (the command line takes any size)."
    " The bundled zone footprints are **indicative** and the bundled tax sites are points with"
    " a stated precision: upload official boundaries below to check against those."
)

sites_file = st.file_uploader(
    "Your sites",
    type=sorted({s.lstrip(".") for s in SITE_FORMATS}),
    key="sites_file",
    max_upload_size=MAX_UPLOAD_MB,
)
with st.expander("Options: CRS, distance, official boundaries"):
    crs_text = st.text_input(
        "CRS of the coordinates (leave empty to read it from the file)",
        key="crs",
        placeholder="e.g. EPSG:27700 or EPSG:4326",
    )
    layer_text = st.text_input(
        "Layer or sheet (GeoPackage layer, shapefile in a zip, Excel sheet)", key="layer"
    )
    within_km = st.number_input(
        "Also flag sites within this many km of a zone", min_value=0.0, value=2.0, step=0.5
    )
    boundary_file = st.file_uploader(
        "Official zone boundaries (polygons with a name or zone_id column)",
        type=sorted({s.lstrip(".") for s in BOUNDARY_FORMATS}),
        key="boundaries_file",
        max_upload_size=MAX_UPLOAD_MB,
    )
    mode = st.radio("Use the uploaded boundaries", (REPLACE, ADD), key="boundary_mode")
    tax_file = st.file_uploader(
        "Official tax-site boundaries (polygons with a name column): they decide which tax"
        " site a site is in, instead of the bundled tax-site points",
        type=sorted({s.lstrip(".") for s in BOUNDARY_FORMATS}),
        key="tax_file",
        max_upload_size=MAX_UPLOAD_MB,
    )

if sites_file is None:
    st.info("Choose a file of sites to start.")
    st.stop()

inputs = (
    sites_file.file_id,
    getattr(boundary_file, "file_id", None),
    getattr(tax_file, "file_id", None),
    crs_text,
    layer_text,
    within_km,
    mode,
)
if st.session_state.get("check_inputs") != inputs:
    try:
        st.session_state["check"] = run_check(
            sites_file, boundary_file, tax_file, crs_text, layer_text, within_km, mode
        )
        st.session_state["check_inputs"] = inputs
    except IszonesError as err:
        st.session_state.pop("check_inputs", None)
        st.error(md(err))
        st.stop()

done = st.session_state["check"]
result: gpd.GeoDataFrame = done["result"]
summary = done["summary"]
st.subheader(str(summary))
levels = (
    (
        ("In or possibly in a tax site", summary.in_tax_site),
        ("In a zone's area only", summary.zone_only),
    )
    if summary.tax_sites
    else (("Inside a zone's area", summary.inside),)
)
cols = st.columns(len(levels) + 2)
for column, (label, value) in zip(
    cols,
    (*levels, ("Outside every zone", summary.outside), ("With problems", summary.problems)),
    strict=True,
):
    column.metric(label, f"{value:,}")  # as the summary line and render.format write counts
for note in done["notes"]:
    st.caption(md(note))

check_view = check_map(
    result,
    done["zones"],
    web_layers(data_dir())[1],
    places=cached_places(),
    tax_sites=done.get("tax_sites"),
)
st_folium(
    assets.localise(check_view, ASSET_URL),
    height=520,
    use_container_width=True,
    returned_objects=[],
    key="check_map",
)
st.caption(
    "Grey areas: the zones the sites are in or nearest to (hover for the zone and how its"
    " boundary was drawn). Dashed: the tax sites (an uploaded boundary; or, zoomed in, a circle"
    " as wide as a bundled point's precision). Rows with a problem have no place on the map;"
    " the table lists them."
    ' A tax site known only as a point is never called "inside": the answer says how far it'
    " is and how precisely it is placed."
)
if summary.inside + summary.outside > CHECK_MAP_MAX_SITES:
    st.caption(
        f"The map shows the first {plural(CHECK_MAP_MAX_SITES, 'site')}; the table and downloads"
        " have all."
    )

show = SHOW[st.radio("Show", list(SHOW), horizontal=True, key="show")]
table = results_table(result)
keep = shown_rows(result, show, within_km)
table = table[keep]
st.caption(f"{len(table):,} of {len(result):,} rows")
columns = {
    "answer": st.column_config.TextColumn("Answer", width="large", pinned=True),
    "problem": st.column_config.TextColumn("Problem", width="medium"),
    "tax_site_name": st.column_config.TextColumn("In tax site (by boundary)"),
    "nearest_tax_site_name": st.column_config.TextColumn("Nearest tax site"),
    "nearest_tax_site_distance_m": st.column_config.NumberColumn(
        "Nearest tax site (m)", format="%.0f"
    ),
    "zone_name": st.column_config.TextColumn("Zone"),
    "local_authority": st.column_config.TextColumn("Council"),
}
shown: Any = table
if 0 < len(table) <= STYLED_ROWS:
    problem_rows = table["problem"].astype(str) != ""
    shown = table.style.apply(
        lambda row: [
            "background-color: #fde0dd" if problem_rows.loc[row.name] else "" for _ in row
        ],
        axis=1,
    )
st.dataframe(shown, width="stretch", hide_index=True, column_config=columns)
if len(table) > STYLED_ROWS:
    st.caption("Rows with a problem are highlighted in tables of up to 10,000 rows.")

buttons = st.columns(len(DOWNLOADS))
for button, (suffix, label, mime) in zip(buttons, DOWNLOADS, strict=True):
    button.download_button(
        f"Download {label}",
        data=download_file(result, suffix, done["include_wkt"]),
        file_name=f"{done['stem']}_checked{suffix}",
        mime=mime,
        key=f"download{suffix}",
        on_click="ignore",  # no rerun: the other buttons keep their files (a rerun made them anew)
    )
