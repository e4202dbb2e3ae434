"""Check my sites: upload a list of sites and see which Industrial Strategy Zone each is in.

A thin shell over iszones.readers, iszones.check and iszones.maps (the same calls as `iszones
check`). Every piece of user text that reaches HTML (the map's tooltips, messages) is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from iszones import assets
from iszones.check import bundled_boundaries, check_sites, combine_boundaries
from iszones.errors import DataFileError, IszonesError
from iszones.inputs.limits import MAX_PAGE_ROWS, MAX_UPLOAD_MB
from iszones.io import admin_units_path, data_dir, read_admin_units, read_zones, zones_path
from iszones.maps import CHECK_MAP_MAX_SITES, check_map, simplify_for_web
from iszones.readers import BOUNDARY_FORMATS, SITE_FORMATS, read_boundary_bytes, read_site_bytes
from iszones.render.safe import md
from iszones.results import result_bytes
from iszones.summary import summarise

DOWNLOADS = (
    (".csv", "CSV", "text/csv"),
    (".xlsx", "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".geojson", "GeoJSON", "application/geo+json"),
    (".gpkg", "GeoPackage", "application/geopackage+sqlite3"),
)
REPLACE, ADD = "instead of the bundled footprints", "as well as the bundled footprints"

ASSET_URL = assets.serve_in_streamlit()  # Leaflet from this app: the map needs no CDN


@st.cache_resource
def bundled(folder: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The zone footprints (as check boundaries) and admin units of a data folder."""
    root = data_dir(folder)
    zones = bundled_boundaries(read_zones(zones_path(root)))
    return zones, read_admin_units(admin_units_path(root))


@st.cache_resource
def land(folder: str) -> gpd.GeoDataFrame:
    """The council areas made light for the browser: the land under the check's map."""
    return simplify_for_web(bundled(folder)[1])[0]


def run_check(
    sites_file: Any, boundary_file: Any, crs: str, layer: str, within_km: float, mode: str
) -> dict[str, Any]:
    """Read, check and serialise; the result is kept in the session until an input changes."""
    sites = read_site_bytes(
        sites_file.getvalue(),
        sites_file.name,
        crs=crs.strip() or None,
        layer=layer.strip() or None,
        max_mb=MAX_UPLOAD_MB,
    )
    if len(sites.frame) > MAX_PAGE_ROWS:  # bounded work per request: big lists go to the CLI
        raise DataFileError(
            f"{sites.name}: has {len(sites.frame):,} rows; this page checks up to"
            f" {MAX_PAGE_ROWS:,}. Check it with the command line (iszones check FILE --out"
            " checked.csv), which streams any size, or split it."
        )
    zones, units = bundled(str(data_dir()))
    notes = [f"{sites.name}: {sites.crs_note}", *sites.notes]
    if boundary_file is not None:
        upload = read_boundary_bytes(
            boundary_file.getvalue(), boundary_file.name, max_mb=MAX_UPLOAD_MB
        )
        zones, replaced = combine_boundaries(
            zones, upload.frame, replace=mode == REPLACE, linked=upload.linked_by_zone_id
        )
        notes.extend([*upload.notes, *replaced])
    bar = st.progress(0.0, text="Checking sites")
    result = check_sites(
        sites.frame,
        zones,
        units,
        problems=sites.problems,
        within_km=within_km,
        progress=lambda done, total: bar.progress(
            done / total if total else 1.0, text=f"Checked {done} of {total} sites"
        ),
    )
    bar.empty()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePath(sites.name).stem) or "sites"
    return {
        "result": result,
        "zones": zones,
        "notes": notes,
        "summary": summarise(result, within_km),
        "include_wkt": not sites.tabular,
        "stem": stem,
    }


def download_file(result: gpd.GeoDataFrame, suffix: str, include_wkt: bool) -> Callable[[], bytes]:
    """The results file, made only when its button is clicked (not on every rerun)."""
    return lambda: result_bytes(result, suffix, include_wkt=include_wkt)


st.set_page_config(page_title="Check my sites · iszones", layout="wide")
st.title("Check my sites")
st.markdown(
    "Upload your sites to see which Industrial Strategy Zone each is in, how far the nearest"
    " zone is, and which local authority it lies in. Every row comes back with all its"
    " columns; rows that cannot be checked say why in the **problem** column.\n\n"
    "Accepted: CSV or Excel with longitude/latitude or easting/northing (British National"
    " Grid) columns, GeoJSON, GeoPackage, zipped Shapefile, KML or KMZ, up to"
    f" {MAX_UPLOAD_MB} MB and {MAX_PAGE_ROWS:,} rows (the command line takes any size). The"
    " bundled zone footprints are **indicative**, not the statutory tax-site boundaries:"
    " upload official boundaries below to check against those."
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
        "Official boundaries (polygons with a name or zone_id column)",
        type=sorted({s.lstrip(".") for s in BOUNDARY_FORMATS}),
        key="boundaries_file",
        max_upload_size=MAX_UPLOAD_MB,
    )
    mode = st.radio("Use the uploaded boundaries", (REPLACE, ADD), key="boundary_mode")

if sites_file is None:
    st.info("Choose a file of sites to start.")
    st.stop()

inputs = (
    sites_file.file_id,
    getattr(boundary_file, "file_id", None),
    crs_text,
    layer_text,
    within_km,
    mode,
)
if st.session_state.get("check_inputs") != inputs:
    try:
        st.session_state["check"] = run_check(
            sites_file, boundary_file, crs_text, layer_text, within_km, mode
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
cols = st.columns(4)
for column, (label, value) in zip(
    cols,
    (
        ("Rows", summary.rows),
        ("Inside a zone", summary.inside),
        ("Outside", summary.outside),
        ("With problems", summary.problems),
    ),
    strict=True,
):
    column.metric(label, value)
for note in done["notes"]:
    st.caption(md(note))

st_folium(
    assets.localise(check_map(result, done["zones"], land(str(data_dir()))), ASSET_URL),
    height=520,
    use_container_width=True,
    returned_objects=[],
    key="check_map",
)
st.caption(
    "Dark green dots: inside a zone. Purple dots: outside. Grey: the zones the sites are in or"
    " nearest to (hover for the zone and how its boundary was drawn)."
)
if summary.inside + summary.outside > CHECK_MAP_MAX_SITES:
    st.caption(
        f"The map shows the first {CHECK_MAP_MAX_SITES} sites; the table and downloads have all."
    )

st.dataframe(result.drop(columns=result.geometry.name), width="stretch", hide_index=True)

buttons = st.columns(len(DOWNLOADS))
for button, (suffix, label, mime) in zip(buttons, DOWNLOADS, strict=True):
    button.download_button(
        f"Download {label}",
        data=download_file(result, suffix, done["include_wkt"]),
        file_name=f"{done['stem']}_checked{suffix}",
        mime=mime,
        key=f"download{suffix}",
    )
