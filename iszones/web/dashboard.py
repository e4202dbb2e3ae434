"""iszones dashboard: browse, filter, inspect, share and embed the UK's Industrial Strategy Zones.

A thin Streamlit shell: widgets -> iszones calls -> map and tables. Loading, joins and the
browser geometry are cached; the URL query string holds the view (iszones.web.urlstate), and
`?view=embed` shows the map alone. The map's scripts are served by this app (iszones.render.assets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from iszones.data.catalogue import (
    Catalogue,
    admin_units_path,
    data_dir,
    districts_path,
    sites_path,
    zones_path,
)
from iszones.data.geojson import geojson_bytes
from iszones.data.selection import Selection, apply_selection, largest_amount
from iszones.errors import IszonesError
from iszones.geo.spatial import sites_near_zone
from iszones.inputs.places import Place
from iszones.inputs.text import safe_cell as _safe_cell  # the one CSV/XLSX choke point
from iszones.render import assets
from iszones.render import webmap as maps
from iszones.render.cards import site_card_html, zone_card_html
from iszones.render.format import count_line, data_date, format_gbp, vintage_line
from iszones.render.safe import md
from iszones.render.style import ATTRIBUTION, DISTRICTS_CREDIT, PLACES_CREDIT
from iszones.schema import (
    NATIONS,
    PROGRAMME_LABELS,
    PROGRAMMES,
    SECTORS,
    SITE_KIND_LABELS,
    SITE_KINDS,
)
from iszones.web import urlstate
from iszones.web.geometry import cached_catalogue, cached_places, web_layers
from iszones.web.search import Found, Named, answer_locations, names_in

TITLE = "Industrial Strategy Zones"
BUNDLED_BOUNDARIES = "bundled indicative footprints (LAD 2025 districts from postcodes)"
MAP_HEIGHT = 680
EMBED_HEIGHT = 560
SITE_ZOOM = 12
# The panels under the map, opened one at a time from a row of buttons. None is open when the
# page opens (a zone's link opens its sheet): a table costs the browser about 0.25 s to set up,
# and the map, the card and the count answer first.
PANELS = ("Sites table", "Zones table", "Zone sheet", "Share and download")
SHEET = PANELS[2]

mode = "embed" if st.query_params.get("view", "").strip().casefold() == "embed" else "full"
st.set_page_config(
    page_title=f"iszones: {TITLE}",
    layout="wide",
    initial_sidebar_state="collapsed" if mode == "embed" else "auto",
)

ASSET_URL = assets.serve_in_streamlit()  # Leaflet from this app, no CDN


# ---------------------------------------------------------------- cached data


def _data_key(folder: Path) -> tuple[str, tuple[float, ...]]:
    """The folder and its files' modification times: a refreshed file is reloaded."""
    files = (
        zones_path(folder),
        sites_path(folder),
        admin_units_path(folder),
        districts_path(folder),
    )
    return str(folder), tuple(f.stat().st_mtime if f.exists() else 0.0 for f in files)


@st.cache_resource(show_spinner="Loading zones and sites…", max_entries=4)
def load(key: tuple[str, tuple[float, ...]]) -> Catalogue:
    """The folder's catalogue, kept on disk between server starts (iszones.data.diskcache)."""
    return cached_catalogue(Path(key[0]))


@st.cache_resource(show_spinner=False)
def places() -> tuple[Place, ...]:
    """The gazetteer's UK places the map names, kept on disk between server starts."""
    return cached_places()


@st.cache_resource(show_spinner="Preparing the map…", max_entries=4)
def web_geometry(key: tuple[str, tuple[float, ...]]) -> tuple[gpd.GeoDataFrame, maps.Backdrop]:
    """The zones and district backdrop, light for the browser (shared with the Check page)."""
    return web_layers(Path(key[0]))


@st.cache_resource(max_entries=4)
def search_reference(key: tuple[str, tuple[float, ...]]) -> Any:
    """What a found place is checked against: the folder's zones, councils and tax sites."""
    from iszones.check.reference import cached_reference

    return cached_reference(Path(key[0]))


@st.cache_data(max_entries=256, show_spinner=False)
def find_place(key: tuple[str, tuple[float, ...]], query: str) -> Found | str:
    """The answer for a typed place, or the one-line reason it could not be found."""
    from iszones.inputs.locate import LocateError, locate

    try:
        location = locate(query)
    except LocateError as err:
        return str(err)
    return answer_locations([location], search_reference(key))[0]


@st.cache_data(max_entries=256, show_spinner=False)
def named_by(key: tuple[str, tuple[float, ...]], query: str, placed: bool) -> Named:
    """The zones, sites and council districts a query names (search.names_in)."""
    sites = load(key).sites
    site_names = dict(zip(sites["site_id"], sites["name"], strict=True))
    return names_in(query, search_reference(key), site_names, placed=placed)


def found_card(found: Found) -> None:
    """Where a found place is: council, zone or nearest zone, nearest tax site; and the other
    places of that name to pick from."""
    st.markdown(f"**{md(found.location.label)}**")
    st.markdown(md(found.where))
    st.markdown(md(f"Council: {found.council}"))
    st.markdown(md(found.answer + "."))
    for note in found.location.notes:  # credits for what placed it (postcodes, GeoNames)
        st.caption(md(note))


@st.cache_data(max_entries=64)
def near_zone(key: tuple[str, tuple[float, ...]], zone_id: int, km: float) -> pd.DataFrame:
    cat = load(key)
    zone = cat.zones.loc[cat.zones["zone_id"] == zone_id].geometry.iloc[0]
    located = cat.sites[cat.sites.geometry.notna()]
    return pd.DataFrame(sites_near_zone(located, zone, km))


def boundary_vintage(folder: Path) -> str:
    """One line on where the zone boundaries come from (iszones.data.refresh, when installed)."""
    try:
        from iszones.data.refresh import boundary_vintage as vintage_of
    except ImportError:
        return BUNDLED_BOUNDARIES
    try:
        info = vintage_of(folder)
    except Exception:  # a broken manifest must never take the dashboard down; fall back
        return BUNDLED_BOUNDARIES
    return str(info.get("label") or BUNDLED_BOUNDARIES)


def data_vintage(cat: Catalogue) -> str:
    return vintage_line(data_date(cat.zones, cat.sites))


# ---------------------------------------------------------------- tables and downloads


def _text_list(value: Any) -> str:
    return "; ".join(str(v) for v in value) if isinstance(value, list | tuple) else ""


def _jobs(value: Any) -> float | None:
    numbers = [j["number"] for j in value or () if j.get("number") is not None]
    return max(numbers) if numbers else None


def sites_table(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per site, lists flattened to text; the sortable table under the map."""
    zones = sites["zone_names"].apply(lambda z: "; ".join(z) if z else "outside every zone")
    return pd.DataFrame(
        {
            "Site": sites["name"],
            "Kind": sites["kind"].map(SITE_KIND_LABELS),
            "Zone": zones,
            "Council (2025 district)": sites["local_authority"].fillna("(no single location)"),
            "Nation": sites["nation"],
            "Sectors": sites["sectors"].apply(_text_list),
            "Largest funding (£)": sites["funding"].apply(largest_amount).astype("Float64"),
            "Jobs": sites["jobs"].apply(_jobs).astype("Float64"),
            "D2N2 asset": sites["d2n2_asset"].astype(bool),
            "Location precision (m)": sites["location_precision_m"].astype("Float64"),
            "Site id": sites["site_id"],
        }
    ).reset_index(drop=True)


def zones_table(zones: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    counts = sites["zone_ids"].explode().value_counts()
    return pd.DataFrame(
        {
            "Zone": zones["zone_id"].astype(int),
            "Name": zones["name"],
            "Programme": zones["programme"].map(PROGRAMME_LABELS),
            "Nation": zones["nation"],
            "Status": zones["status"],
            "Sectors": zones["sectors"].apply(_text_list),
            "Largest funding (£)": zones["funding"].apply(largest_amount).astype("Float64"),
            "Sites shown": zones["zone_id"].map(counts).fillna(0).astype(int),
            "Boundary": zones["geometry_precision"],
        }
    ).reset_index(drop=True)


def sites_csv(sites: gpd.GeoDataFrame) -> bytes:
    table = sites_table(sites)
    geoms = sites.geometry.reset_index(drop=True)
    located = geoms.notna() & ~geoms.is_empty
    points = geoms[located].representative_point()
    table["Longitude"] = points.x.round(5).reindex(table.index)
    table["Latitude"] = points.y.round(5).reindex(table.index)
    table["Designation"] = sites["designation"].to_numpy()
    table["Funding lines"] = [
        " | ".join(
            f"{format_gbp(line.get('amount_gbp'))}: {line.get('what')} ({line.get('source')})"
            for line in funding
        )
        for funding in sites["funding"]
    ]
    table["Description"] = sites["description"].to_numpy()
    table["Location precision"] = sites["location_precision"].to_numpy()
    table["Sources"] = [
        " | ".join(
            f"{s.get('document')}" + (f" <{s['url']}>" if s.get("url") else "") for s in sources
        )
        for sources in sites["sources"]
    ]
    table["Last checked"] = sites["last_checked"].to_numpy()
    return table.map(_safe_cell).to_csv(index=False).encode("utf-8-sig")


def brief_button(where: Any, cat: Catalogue, zone_id: int) -> None:
    """A download button for the zone's briefing sheet (made only when clicked)."""

    def pdf() -> bytes:
        from iszones.render.brief import zone_brief_pdf  # matplotlib: loaded only when asked for

        return zone_brief_pdf(cat, zone_id)

    where.download_button(
        f"Zone {zone_id} briefing sheet (PDF)",
        pdf,
        f"iszones-zone-{zone_id}-brief.pdf",
        "application/pdf",
        key=f"brief-{zone_id}-{id(where)}",
        on_click="ignore",
    )


def card(html_text: str, *, wide: bool = False) -> None:
    """Show a card built (and escaped) by iszones.render.webmap with the map's own styles."""
    width = ".isz-card{max-width:none;columns:2 22rem;column-gap:2rem}" if wide else ""
    st.html(f"<style>{maps.CSS}{width}</style>{html_text}")


# ---------------------------------------------------------------- state


FILTER_DEFAULTS: dict[str, Any] = {
    "sectors": [],
    "programme": None,
    "nation": None,
    "zone": None,
    "kinds": [],
    "q": "",
    "min_funding": 0.0,
}


def url_state(cat: Catalogue) -> tuple[urlstate.UrlState, list[str]]:
    params = {name: st.query_params.get_all(name) for name in urlstate.PARAMS}
    return urlstate.parse_params(
        params, zone_ids=cat.zones["zone_id"].astype(int), site_ids=cat.sites["site_id"]
    )


def init_from_url(cat: Catalogue) -> None:
    """On a session's first run, set the widgets from the URL, so a shared link reproduces it."""
    if st.session_state.get("_url_loaded"):
        return
    state, problems = url_state(cat)
    s = state.selection
    st.session_state.update(
        sectors=list(s.sectors),
        programme=s.programme,
        nation=s.nation,
        zone=s.zone_id,
        kinds=list(s.kinds),
        q=s.query,
        min_funding=(s.min_funding_gbp or 0.0) / 1e6,
        site=state.site_id,
        km=state.km,
        basemap=state.basemap,
        at=state.at,
        _url_problems=problems,
        _url_loaded=True,
    )
    if s.zone_id is not None:  # a zone's link opens on its sheet
        st.session_state["panel"] = SHEET


def selection_from_widgets() -> Selection:
    ss = st.session_state
    funding = float(ss.get("min_funding") or 0.0)
    return Selection(
        sectors=tuple(ss.get("sectors") or ()),
        programme=ss.get("programme"),
        nation=ss.get("nation"),
        zone_id=ss.get("zone"),
        kinds=tuple(ss.get("kinds") or ()),
        query=str(ss.get("q") or "").strip(),
        min_funding_gbp=funding * 1e6 if funding > 0 else None,
    )


def clear_filters() -> None:
    st.session_state.update(
        {k: (list(v) if isinstance(v, list) else v) for k, v in FILTER_DEFAULTS.items()}
    )


def sync_url(state: urlstate.UrlState) -> None:
    """Write the state into the address bar (only when it changed)."""
    wanted = urlstate.to_params(state)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if current != as_lists:
        st.query_params.from_dict(wanted)


def picked_row_id(key: str) -> Any:
    """The id of the row selected in the table `key` (selectable_table), or None."""
    rows = st.session_state[key].selection.rows
    ids = st.session_state.get(f"_{key}_ids", [])
    return ids[rows[0]] if rows and rows[0] < len(ids) else None


def pick_site_from_table() -> None:
    site_id = picked_row_id("sites_table")
    if site_id is not None:
        st.session_state["site"] = site_id


def pick_zone_from_table() -> None:
    zone_id = picked_row_id("zones_table")
    if zone_id is not None:
        st.session_state["zone"] = zone_id
        st.session_state["panel"] = SHEET


def show_named_zone(zone_id: int) -> None:
    """The zone a search named ('Humber'), instead of the place of that name."""
    st.session_state["zone"] = zone_id
    st.session_state["at"] = ""


def show_named_site(site_id: str) -> None:
    """The site a search named ('Infinity Park'): its card, and the map on it."""
    st.session_state["site"] = site_id
    st.session_state["at"] = ""


def pick_site_from_map() -> None:
    clicked = (st.session_state.get("map") or {}).get("last_active_drawing") or {}
    site_id = (clicked.get("properties") or {}).get("site_id")
    if site_id:
        st.session_state["site"] = site_id


def site_centre(cat: Catalogue, site_id: str | None) -> tuple[float, float] | None:
    if not site_id:
        return None
    rows = cat.sites[cat.sites["site_id"] == site_id]
    if rows.empty or rows.geometry.iloc[0] is None:
        return None
    point = rows.geometry.iloc[0].representative_point()
    return (point.y, point.x)


@dataclass(frozen=True)
class View:
    """What the page shows: the data, the state from the widgets or the link, what the
    filters keep, the count line and the notes (data vintage, attribution)."""

    cat: Catalogue
    key: tuple[str, tuple[float, ...]]
    state: urlstate.UrlState
    kept_zones: gpd.GeoDataFrame
    kept_sites: gpd.GeoDataFrame
    count: str
    notes: tuple[str, str]


def make_map(
    view: View,
    popups: str = "short",
    fill_window: bool = False,
    pin: tuple[float, float, str] | None = None,
) -> Any:
    """The folium map of the view's selection."""
    cat, key, state, notes = view.cat, view.key, view.state, view.notes
    _, backdrop = web_geometry(key)
    zone_id = state.selection.zone_id
    nearby = None
    if zone_id is not None:
        near = near_zone(key, zone_id, state.km)
        nearby = gpd.GeoDataFrame(near, geometry="geometry", crs=cat.sites.crs)
    return maps.build_map(
        view.kept_zones,
        view.kept_sites,
        selection_summary=view.count,
        basemap=state.basemap,
        background=backdrop,
        nearby=nearby,
        title=TITLE,
        vintage=notes[0],
        attribution=notes[1],
        selected_zone_id=zone_id,
        places=places(),
        popups=popups,
        fill_window=fill_window,
        pin=pin,
    )


def map_view(
    cat: Catalogue, state: urlstate.UrlState
) -> tuple[tuple[float, float] | None, int | None]:
    """Where the map opens: the link's position, else the picked site, else fit the selection."""
    if state.centre is not None and state.zoom is not None:
        return state.centre, state.zoom
    centre = site_centre(cat, state.site_id)
    return centre, (SITE_ZOOM if centre else None)


def show_map(
    fmap: Any, *, height: int, view: tuple[tuple[float, float] | None, int | None], **kwargs: Any
) -> None:
    assets.localise(fmap, ASSET_URL)
    st_folium(fmap, height=height, use_container_width=True, center=view[0], zoom=view[1], **kwargs)


# ---------------------------------------------------------------- page

EMBED_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none !important}
.block-container {padding: 0.25rem 0.5rem 0 !important; max-width: none !important}
iframe[title="streamlit_folium.st_folium"] {height: calc(100vh - 4rem) !important;
  min-height: 200px}
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] {margin: 0}
[data-testid="stCaptionContainer"] p {margin: 0; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis}
</style>"""
# Long sector chips wrap instead of ending in "..."; a picked zone's full name is shown under the
# picker (a select box is one line of input and cannot wrap).
CHROME_CSS = """<style>
.stMultiSelect [data-tag] {max-width: 100%; height: auto}
.stMultiSelect [data-tag] span[title] {white-space: normal; overflow: visible; text-overflow: clip}
.stSelectbox input {font-size: 0.875rem}
</style>"""


def sidebar(zone_names: dict[int, str]) -> None:
    """The place search and the filters (their values are read from the session state, so the
    page draws the map before them)."""
    with st.sidebar:
        st.text_input(
            "Find a place",
            key="at",
            max_chars=urlstate.MAX_AT_CHARS,
            placeholder="DE74 2SA, Worksop, 52.83,-1.33, SK 45000 30000",
            help="A postcode, a place, lat,lon, easting,northing or an OS grid reference: the"
            " map drops a pin there and the card says its council, zone and nearest tax site."
            " A site's name (Infinity Park) opens its card; a council district's (Bassetlaw)"
            " says how much of it lies in each zone; a zone's (Humber) offers the zone.",
        )
        st.header("Filters")
        st.multiselect(
            "Sector",
            SECTORS,
            key="sectors",
            placeholder="Any sector",
            help="Several sectors keep the zones and sites in ANY of them (not only those in all).",
        )
        st.selectbox(
            "Programme",
            [None, *PROGRAMMES],
            key="programme",
            format_func=lambda p: "Any programme" if p is None else PROGRAMME_LABELS[p],
            placeholder="Any programme",
            help="Freeport and Investment Zone each include the three zones that are both.",
        )
        st.selectbox(
            "Nation",
            [None, *NATIONS],
            key="nation",
            format_func=lambda n: "Any nation" if n is None else n,
            placeholder="Any nation",
        )
        st.selectbox(
            "Zone",
            [None, *zone_names],
            key="zone",
            format_func=lambda z: "All zones" if z is None else f"{z}. {zone_names[z]}",
            placeholder="All zones",
        )
        if st.session_state.get("zone") in zone_names:
            st.caption(
                md(f"Zone {st.session_state['zone']}: {zone_names[st.session_state['zone']]}")
            )
        st.multiselect(
            "Site kind",
            SITE_KINDS,
            key="kinds",
            format_func=lambda k: SITE_KIND_LABELS[k],
            placeholder="Any kind",
        )
        st.number_input(
            "Minimum funding (£ million)",
            min_value=0.0,
            step=5.0,
            key="min_funding",
            help="Keeps zones and sites with a funding line of at least this amount.",
        )
        st.text_input("Search names and descriptions", key="q")
        st.button("Clear filters", on_click=clear_filters)
        st.divider()
        st.selectbox(
            "Basemap",
            list(maps.BASEMAPS),
            key="basemap",
            format_func=lambda b: maps.BASEMAPS[b],
            help="Tiles need the internet; 'None' shows districts and towns and works offline.",
        )


def selectable_table(
    table: pd.DataFrame, key: str, id_column: str, on_select: Any, caption: str, **formats: str
) -> None:
    """A sortable table whose selected row calls `on_select` (which reads it with
    picked_row_id); funding in compact numbers, other `formats` by column."""
    st.session_state[f"_{key}_ids"] = list(table[id_column])
    config = {"Largest funding (£)": "compact", **formats}
    st.dataframe(
        table,
        key=key,
        on_select=on_select,
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format=f) for c, f in config.items()},
    )
    st.caption(caption)


def sites_panel(kept_sites: gpd.GeoDataFrame) -> None:
    """The Sites panel: the kept sites; a selected row opens its card."""
    selectable_table(
        sites_table(kept_sites),
        "sites_table",
        "Site id",
        pick_site_from_table,
        "Sort by clicking a column heading; select a row to show its card and zoom to it.",
        Jobs="localized",
    )


def zones_panel(kept_zones: gpd.GeoDataFrame, kept_sites: gpd.GeoDataFrame) -> None:
    """The Zones panel: the kept zones; a selected row opens that zone's sheet."""
    selectable_table(
        zones_table(kept_zones, kept_sites),
        "zones_table",
        "Zone",
        pick_zone_from_table,
        "Select a row to open that zone's sheet (it becomes the Zone filter).",
    )


def sheet_panel(cat: Catalogue, key: tuple[str, tuple[float, ...]], selection: Selection) -> None:
    """The Zone sheet: the picked zone's facts, card, briefing, sites inside and nearby."""
    if selection.zone_id is None:
        st.info("Pick a zone in the sidebar, or select a row in the Zones table, to see its sheet.")
    else:
        zone = cat.zones[cat.zones["zone_id"] == selection.zone_id].iloc[0].to_dict()
        inside = cat.sites[cat.sites["zone_ids"].apply(lambda ids: selection.zone_id in ids)]
        # Plain text, not st.metric: a metric cuts long values ("Freeport an...").
        facts = {  # the values escaped, the labels bold (md of the whole line showed the **)
            "Programme": PROGRAMME_LABELS[zone["programme"]],
            "Footprint area": f"{zone['area_km2']:,.0f} km²",
            "Boundary": str(zone["geometry_precision"]).replace("_", " "),
            "Sites inside": len(inside),
        }
        st.markdown(" · ".join(f"**{label}:** {md(value)}" for label, value in facts.items()))
        card(zone_card_html(zone), wide=True)
        brief_button(st, cat, selection.zone_id)
        st.subheader(f"Sites inside ({len(inside)}, from the spatial join)")
        st.dataframe(sites_table(inside), hide_index=True, width="stretch")
        st.number_input(
            "Distance from the zone boundary (km, measured in British National Grid)",
            min_value=0.1,
            max_value=50.0,
            step=0.5,
            key="km",
        )
        near = near_zone(key, selection.zone_id, float(st.session_state["km"]))
        st.subheader(f"Sites outside it within {st.session_state['km']:g} km ({len(near)})")
        if near.empty:
            st.caption("None.")
        else:
            near_table = sites_table(gpd.GeoDataFrame(near, geometry="geometry", crs=cat.sites.crs))
            near_table.insert(1, "Distance (km)", near["distance_km"].to_numpy())
            st.dataframe(near_table, hide_index=True, width="stretch")


def share_panel(view: View, zone_names: dict[int, str]) -> None:
    """Share and download: the link, the iframe snippet and every download of this view."""
    cat, state, kept_zones, kept_sites = view.cat, view.state, view.kept_zones, view.kept_sites
    selection, count = state.selection, view.count
    base = str(getattr(st.context, "url", "") or "http://localhost:8501/").split("?")[0]
    query = urlstate.query_string(state)
    st.markdown("**Link to this view** (filters, zone, site and the map's position):")
    st.code(f"{base}?{query}" if query else base, language=None)
    st.markdown("**Embed the map** in a web page or briefing:")
    st.code(urlstate.iframe_snippet(base, state, title=f"{TITLE}: {count}"), language="html")
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button(
        "Sites (CSV)",
        lambda: sites_csv(kept_sites),
        "iszones-sites.csv",
        "text/csv",
        on_click="ignore",  # no rerun: the other buttons keep their files (a rerun made them anew)
    )
    c2.download_button(
        "Sites (GeoJSON)",
        lambda: geojson_bytes(kept_sites, name="iszones sites"),
        "iszones-sites.geojson",
        "application/geo+json",
        on_click="ignore",
    )
    full_zones = cat.zones[cat.zones["zone_id"].isin(kept_zones["zone_id"])]
    c3.download_button(
        "Zones (GeoJSON)",
        lambda: geojson_bytes(full_zones, name="iszones zones"),
        "iszones-zones.geojson",
        "application/geo+json",
        on_click="ignore",
    )

    def map_html() -> str:
        fresh = make_map(view, popups="full")
        return assets.standalone_html(fresh, offline=True)

    c4.download_button(
        "Map (HTML, works offline)", map_html, "iszones-map.html", "text/html", on_click="ignore"
    )

    st.markdown("**Static map for Word, slides and print** (drawn offline, no tiles):")

    def static_map(kind: str) -> bytes:
        from iszones.render import (
            static as export,  # matplotlib: loaded only when an export is asked for
        )

        subtitle = export.selection_subtitle(
            selection,
            zones_kept=len(kept_zones),
            zones_all=len(cat.zones),
            sites_kept=len(kept_sites),
            sites_all=len(cat.sites),
            zone_names=zone_names,
        )
        draw = export.static_map_png if kind == "png" else export.static_map_pdf
        return draw(
            full_zones,
            kept_sites,
            title=TITLE,
            subtitle=subtitle,
            background=cat.admin_units,
        )

    s1, s2, s3 = st.columns(3)
    s1.download_button(
        "Map (PNG, 2338 px)",
        lambda: static_map("png"),
        "iszones-map.png",
        "image/png",
        on_click="ignore",
    )
    s2.download_button(
        "Map (PDF, A4 landscape)",
        lambda: static_map("pdf"),
        "iszones-map.pdf",
        "application/pdf",
        on_click="ignore",
    )
    if selection.zone_id is not None:
        brief_button(s3, cat, selection.zone_id)
    else:
        s3.caption("Pick a zone for its one- or two-page briefing sheet (PDF).")


def map_page() -> None:
    """The Map page: filters, map, card, tables, sheet and share."""

    folder = data_dir()
    try:
        key = _data_key(folder)
        cat = load(key)
        web_zones, _units = web_geometry(key)
    except (IszonesError, OSError) as err:
        st.error(f"The data in {folder} could not be loaded: {err}")
        st.stop()

    vintage = data_vintage(cat)
    boundaries = boundary_vintage(folder)
    notes = (vintage, f"{ATTRIBUTION}. Zone boundaries: {boundaries}.")
    zone_names = {int(z): n for z, n in zip(cat.zones["zone_id"], cat.zones["name"], strict=True)}
    site_names = dict(zip(cat.sites["site_id"], cat.sites["name"], strict=True))

    if mode == "embed":
        # The other pages' navigation would open a sidebar; an embedded map has none.
        st.html(EMBED_CSS)
        state, _problems = url_state(cat)
        kept_zones, kept_sites = apply_selection(web_zones, cat.sites, state.selection)
        count = count_line(len(kept_zones), len(cat.zones), len(kept_sites), len(cat.sites))
        shown = View(cat, key, state, kept_zones, kept_sites, count, notes)
        fmap = make_map(shown, fill_window=True)
        show_map(
            fmap,
            height=EMBED_HEIGHT,
            view=map_view(cat, state),
            key="embed_map",
            returned_objects=[],
        )
        # One line under the map, which fills the rest of the frame; sources are in its legend.
        st.caption(md(f"{count} · {vintage} · sources: the map's legend"))
        st.stop()

    init_from_url(cat)
    st.html(CHROME_CSS)

    selection = selection_from_widgets()
    state = urlstate.UrlState(
        selection=selection,
        site_id=st.session_state.get("site"),
        km=float(st.session_state.get("km") or urlstate.DEFAULT_KM),
        basemap=st.session_state.get("basemap") or "none",
    )
    kept_zones, kept_sites = apply_selection(web_zones, cat.sites, selection)
    count = count_line(len(kept_zones), len(cat.zones), len(kept_sites), len(cat.sites))
    at = " ".join(str(st.session_state.get("at") or "").split())
    found = find_place(key, at) if at else None
    candidates: list[tuple[Any, str]] = []  # the places of an ambiguous name, with council
    if isinstance(found, Found) and found.others:
        first = str(found.row.get("local_authority") or "no council found")
        candidates = [(found.location, first), *found.others]
        if st.session_state.get("_at_query") != at:
            st.session_state["at_pick"] = 0
        st.session_state["_at_query"] = at
        pick = int(st.session_state.get("at_pick") or 0)
        if 0 < pick < len(candidates):
            found = answer_locations([candidates[pick][0]], search_reference(key))[0]

    st.title(TITLE)
    for problem in st.session_state.get("_url_problems", []):
        st.warning(f"From the link: {md(problem)}")
    st.markdown(f"**{count}**")

    # The map first, so it is sent first; the card beside it (wide) or below it (narrow).
    map_col, card_col = st.columns([3, 1], gap="medium")
    site_id = st.session_state.get("site")
    # The map's position comes from the address (the map writes it there as it moves) unless
    # the filters or the site changed since the last run: then the map fits the new selection.
    linked, _ = url_state(cat)
    signature = (selection, site_id, at, st.session_state.get("at_pick"))
    moved_on = st.session_state.get("_signature", signature) != signature
    st.session_state["_signature"] = signature
    state = urlstate.UrlState(
        selection=selection,
        site_id=site_id,
        km=state.km,
        basemap=state.basemap,
        centre=None if moved_on else linked.centre,
        zoom=None if moved_on else linked.zoom,
        at=at,
    )
    pin = None
    if isinstance(found, Found):
        place = found.location
        pin = (place.lat, place.lon, place.label)
        if state.centre is None:
            state = replace(state, centre=(place.lat, place.lon), zoom=SITE_ZOOM)
    shown = View(cat, key, state, kept_zones, kept_sites, count, notes)
    with map_col:
        fmap = make_map(shown, pin=pin)
        show_map(
            fmap,
            height=MAP_HEIGHT,
            view=map_view(cat, state),
            key="map",
            returned_objects=["last_active_drawing"],
            on_change=pick_site_from_map,
        )

    sidebar(zone_names)  # after the map, which the browser then starts on first

    with card_col:
        named = named_by(key, at, isinstance(found, Found)) if at else Named([], [], [])
        if isinstance(found, str) and named:
            st.info(md(f"{at!r} is not a postcode or a place; it names:"))
        elif isinstance(found, str):
            st.error(md(f"Not found: {found}"))
        elif found is not None:
            found_card(found)
            if candidates:
                st.radio(
                    f"Places called {at}",
                    range(len(candidates)),
                    key="at_pick",
                    format_func=lambda i: f"{candidates[i][0].label} ({candidates[i][1]})",
                )
        for named_site, name in named.sites:
            st.button(
                md(f"Show site: {name}"),
                key=f"named_site_{named_site}",
                on_click=show_named_site,
                args=(named_site,),
                help=md(f"{at!r} is in the name of this site"),
            )
        for council in named.councils:
            st.markdown(md(council.line() + "."))
            st.caption(md(council.note))
        for zone_id, name in named.zones_to_open:
            st.button(
                md(f"Show zone {zone_id}: {name}"),
                key=f"named_zone_{zone_id}",
                on_click=show_named_zone,
                args=(zone_id,),
                help=md(f"{at!r} names this zone, or a council district in it"),
            )
        if found is not None:
            st.divider()
        options = list(kept_sites["site_id"])
        if state.site_id and state.site_id not in options:
            options.append(state.site_id)
        st.selectbox(
            "Site card",
            [None, *options],
            key="site",
            format_func=lambda s: "(none)" if s is None else site_names.get(s, s),
            placeholder="Click a marker or a table row, or pick a site",
        )
        if site_id:
            record = cat.sites[cat.sites["site_id"] == site_id].iloc[0].to_dict()
            card(site_card_html(record))
        elif selection.zone_id is not None:
            zone = cat.zones[cat.zones["zone_id"] == selection.zone_id].iloc[0].to_dict()
            card(zone_card_html(zone))
        else:
            st.info(
                "Click a marker on the map or a row in the Sites table to see its card: sectors,"
                " funding, jobs, the zone it is in and the sources."
            )

    panel = st.segmented_control(
        "Open below the map", PANELS, key="panel", label_visibility="collapsed"
    )
    if panel == PANELS[0]:
        sites_panel(kept_sites)
    elif panel == PANELS[1]:
        zones_panel(kept_zones, kept_sites)
    elif panel == SHEET:
        sheet_panel(cat, key, selection)
    elif panel == PANELS[3]:
        share_panel(shown, zone_names)
    else:
        st.caption(
            "Open the sites or zones as sortable tables, a zone's sheet, or the link, embed code"
            " and downloads for this view."
        )

    st.divider()
    st.caption(
        md(
            f"{ATTRIBUTION}. {DISTRICTS_CREDIT}. {PLACES_CREDIT}. {vintage}."
            f" Zone boundaries: {boundaries}; they are indicative, not statutory red lines."
            f" Map: Leaflet {assets.package_version('leaflet')} and Leaflet.markercluster"
            f" {assets.package_version('leaflet_markercluster')}, served by this app."
            f" Data folder: {os.fspath(folder)}."
        )
    )
    sync_url(state)


map_page()
