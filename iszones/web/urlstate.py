"""The dashboard's state as URL query parameters, both ways; pure (no streamlit).

Names: `sector` and `kind` (repeatable), `programme`, `nation`, `zone` (zone_id), `q`,
`min_funding` (£ millions), `site` (site_id), `km` (zone view distance), `basemap`, `lat`,
`lon` and `z` (the map's centre and zoom, written by the map as it moves), `at` (a place to
find: postcode, place name, lat,lon, easting,northing or grid reference), and `view` (`embed`
for the map alone). Streamlit keeps `embed` and `embed_options` for itself.
Values are matched leniently (case, spaces, labels such as "Investment Zone"); anything
unknown is dropped with a message saying what was expected, so a mistyped link still opens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from urllib.parse import urlencode

from iszones.data.selection import Selection, check_selection, match_choice
from iszones.errors import IszonesError
from iszones.render.webmap import BASEMAPS
from iszones.schema import (
    NATIONS,
    PROGRAMME_LABELS,
    PROGRAMMES,
    SECTORS,
    SITE_KIND_LABELS,
    SITE_KINDS,
)

VIEWS: tuple[str, ...] = ("full", "embed")
DEFAULT_KM = 2.0
MAX_AT_CHARS = 200  # a place to find, in the address and in the search box alike
PARAMS: tuple[str, ...] = (
    "sector",
    "programme",
    "nation",
    "zone",
    "kind",
    "q",
    "min_funding",
    "site",
    "km",
    "basemap",
    "lat",
    "lon",
    "z",
    "at",
    "view",
)
ZOOMS = (4, 18)  # the dashboard map's zoom range


@dataclass(frozen=True)
class UrlState:
    """Everything a shared link reproduces."""

    selection: Selection = field(default_factory=Selection)
    site_id: str | None = None
    view: str = "full"
    km: float = DEFAULT_KM
    basemap: str = "none"
    centre: tuple[float, float] | None = None  # (lat, lon)
    zoom: int | None = None
    at: str = ""  # a place to find (iszones.inputs.locate reads it)


def _problem(selection: Selection, zone_ids: Iterable[int]) -> str | None:
    try:
        check_selection(selection, zone_ids)
    except IszonesError as err:
        return str(err)
    return None


def _number(name: str, raw: str, problems: list[str]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or math.isinf(value) or value < 0:
        problems.append(f"{name}={raw!r} is not a number >= 0; ignored.")
        return None
    return value


def parse_params(
    params: Mapping[str, Sequence[str]],
    *,
    zone_ids: Iterable[int],
    site_ids: Iterable[str],
) -> tuple[UrlState, list[str]]:
    """The state a URL asks for, and a message for each value that was dropped.

    `params` maps each name to all its values (Streamlit: `st.query_params.get_all(name)`).
    """
    zones = list(zone_ids)
    sites = set(site_ids)
    problems: list[str] = []

    def first(name: str) -> str | None:
        values = [v for v in params.get(name, ()) if v.strip()]
        if len(values) > 1:
            problems.append(f"{name} given {len(values)} times; the first, {values[0]!r}, is used.")
        return values[0].strip() if values else None

    def checked(candidate: Selection) -> bool:
        message = _problem(candidate, zones)
        if message:
            problems.append(message)
        return message is None

    sectors: list[str] = []
    for raw in params.get("sector", ()):
        sector = match_choice(raw, SECTORS)
        if raw.strip() and checked(Selection(sectors=(sector,))) and sector not in sectors:
            sectors.append(sector)
    kinds: list[str] = []
    for raw in params.get("kind", ()):
        kind = match_choice(raw, SITE_KINDS, SITE_KIND_LABELS)
        if raw.strip() and checked(Selection(kinds=(kind,))) and kind not in kinds:
            kinds.append(kind)
    programme = first("programme")
    if programme is not None:
        programme = match_choice(programme, PROGRAMMES, PROGRAMME_LABELS)
        programme = programme if checked(Selection(programme=programme)) else None
    nation = first("nation")
    if nation is not None:
        nation = match_choice(nation, NATIONS)
        nation = nation if checked(Selection(nation=nation)) else None
    zone_id: int | None = None
    raw_zone = first("zone")
    if raw_zone is not None:
        if raw_zone.isdigit() and checked(Selection(zone_id=int(raw_zone))):
            zone_id = int(raw_zone)
        elif not raw_zone.isdigit():
            problems.append(f"zone={raw_zone!r} is not a zone number (1-{max(zones, default=0)}).")
    min_funding = None
    raw_funding = first("min_funding")
    if raw_funding is not None:
        millions = _number("min_funding", raw_funding, problems)
        min_funding = millions * 1e6 if millions else None
    site_id = first("site")
    if site_id is not None and site_id not in sites:
        problems.append(f"site={site_id!r} is not a site id in this data; ignored.")
        site_id = None
    km = DEFAULT_KM
    raw_km = first("km")
    if raw_km is not None:
        km = _number("km", raw_km, problems) or DEFAULT_KM
    basemap = match_choice(first("basemap") or "none", BASEMAPS, BASEMAPS)
    if basemap not in BASEMAPS:
        problems.append(f"basemap={basemap!r} is not one of {', '.join(BASEMAPS)}; using none.")
        basemap = "none"
    centre, zoom = _view(first("lat"), first("lon"), first("z"), problems)
    view = match_choice(first("view") or "full", VIEWS)
    if view not in VIEWS:
        problems.append(f"view={view!r} is not one of {', '.join(VIEWS)}; showing the full app.")
        view = "full"
    selection = Selection(
        sectors=tuple(sectors),
        programme=programme,
        nation=nation,
        zone_id=zone_id,
        kinds=tuple(kinds),
        query=(first("q") or ""),
        min_funding_gbp=min_funding,
    )
    state = UrlState(
        selection=selection,
        site_id=site_id,
        view=view,
        km=km,
        basemap=basemap,
        centre=centre,
        zoom=zoom,
        at=" ".join((first("at") or "").split())[:MAX_AT_CHARS],
    )
    return state, problems


def _view(
    lat: str | None, lon: str | None, z: str | None, problems: list[str]
) -> tuple[tuple[float, float] | None, int | None]:
    """The map position a link gives: both lat and lon, and a zoom in ZOOMS; else none."""
    if lat is None and lon is None and z is None:
        return None, None
    try:
        y, x, level = float(lat or "nan"), float(lon or "nan"), int(z or "-1")
    except ValueError:
        y, x, level = math.nan, math.nan, -1
    if not (-90 <= y <= 90 and -180 <= x <= 180 and ZOOMS[0] <= level <= ZOOMS[1]):
        problems.append(
            f"lat={lat!r}, lon={lon!r}, z={z!r} is not a map position (lat -90 to 90, lon -180"
            f" to 180, z {ZOOMS[0]}-{ZOOMS[1]}, all three); the map fits the selection instead."
        )
        return None, None
    return (y, x), level


def _plain_number(value: float) -> str:
    return f"{value:g}"


def to_params(state: UrlState) -> dict[str, str | list[str]]:
    """Query parameters for a state: only what differs from the defaults, in a fixed order."""
    s = state.selection
    out: dict[str, str | list[str]] = {}
    if s.sectors:
        out["sector"] = list(s.sectors)
    if s.programme:
        out["programme"] = s.programme
    if s.nation:
        out["nation"] = s.nation
    if s.zone_id is not None:
        out["zone"] = str(s.zone_id)
    if s.kinds:
        out["kind"] = list(s.kinds)
    if s.query:
        out["q"] = s.query
    if s.min_funding_gbp:
        out["min_funding"] = _plain_number(s.min_funding_gbp / 1e6)
    if state.site_id:
        out["site"] = state.site_id
    if state.km != DEFAULT_KM:
        out["km"] = _plain_number(state.km)
    if state.basemap != "none":
        out["basemap"] = state.basemap
    if state.centre is not None and state.zoom is not None:
        out["lat"] = f"{state.centre[0]:.4f}"
        out["lon"] = f"{state.centre[1]:.4f}"
        out["z"] = str(state.zoom)
    if state.at:
        out["at"] = state.at
    if state.view != "full":
        out["view"] = state.view
    return out


def query_string(state: UrlState) -> str:
    """The URL query string (without '?') for a state."""
    return urlencode(to_params(state), doseq=True)


def embed_state(state: UrlState) -> UrlState:
    """The same view as a map-only embed."""
    return replace(state, view="embed")


def iframe_snippet(base_url: str, state: UrlState, *, title: str, height: int = 600) -> str:
    """An <iframe> that embeds the map of `state` (with Streamlit's own chrome hidden too)."""
    query = query_string(embed_state(state))
    url = f"{base_url.split('?')[0]}?{query}&embed=true"
    return (
        f'<iframe src="{escape(url)}" title="{escape(title)}" width="100%" height="{height}"'
        ' style="border:0" loading="lazy"></iframe>'
    )
