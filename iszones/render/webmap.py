"""Pure map building: zones, sites and a light background as a folium.Map (with the cards of
render.cards in its popups), and a site check's map.

Nothing here reads files or imports streamlit. Every text that reaches HTML or script passes
`render.safe.esc` or `render.safe.js_literal` (inert to folium's Jinja pass too).
`simplify_for_web` makes the geometry light for the browser while keeping shared borders shared;
`build_map` draws what it is given.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement
from folium.map import Layer
from folium.plugins import MarkerCluster
from folium.template import Template

from iszones.inputs.places import Place
from iszones.render.cards import (
    site_card_html,
    site_popup_html,
    zone_card_html,
    zone_popup_html,
)
from iszones.render.safe import PlainText, esc, js_literal
from iszones.render.style import (
    ATTRIBUTION,
    DISTRICTS_CREDIT,
    DISTRICTS_SHORT,
    PLACES_CREDIT,
    PLACES_SHORT,
    PROGRAMME_COLOURS,
    SITE_KIND_STYLE,
)
from iszones.schema import (
    MEASURE_CRS,
    PROGRAMME_LABELS,
    SITE_KIND_LABELS,
    SITE_KINDS,
    STORAGE_CRS,
)

# Basemaps: "none" draws the bundled districts as land, so the map works with no tile server.
BASEMAPS: dict[str, str] = {
    "none": "None (offline: districts and towns)",
    "osm": "OpenStreetMap",
    "positron": "CartoDB Positron",
}
_TILES = {"osm": "OpenStreetMap", "positron": "CartoDB positron"}

# Each site falls in exactly one layer, checked in this order.
SITE_LAYERS: tuple[str, ...] = ("Tax sites", "D2N2 assets", "Other sites")
ZONE_LAYER = "Zones"
BACKGROUND_LAYER = "Council districts"
NEARBY_LAYER = "Sites near the zone"

# Zone outlines add a cue besides colour: Freeports solid, Investment Zones dashed, both thick.
_ZONE_LINE: dict[str, dict[str, Any]] = {
    "freeport": {"weight": 1.5, "dashArray": None},
    "investment_zone": {"weight": 1.5, "dashArray": "6 4"},
    "both": {"weight": 2.5, "dashArray": None},
}
_UK_BOUNDS = [[49.8, -8.7], [60.9, 1.8]]
WEB_TOLERANCE_M = 1500.0
ZONE_FILL_OPACITY = 0.6
LAND_COLOUR = "#fbfbf8"
_DIGITS = 4  # points: about 10 m, below a pixel up to zoom 13
# Polygon and line vertices: about 100 m, well inside the 1.5 km simplification; zones and
# district borders round alike, so an edge they share is still drawn in one place.
_LINE_DIGITS = 3
MIN_ISLAND_KM2 = 1.0  # smaller islets (a third of the coast's vertices) are a dot at most
BACKDROP_PAD_DEG = 1.5  # a zone-sized view carries the district borders this far round it

# Context by zoom: which zoom each feature appears from (Leaflet zooms; 6 shows Great Britain).
PLACE_ZOOMS: tuple[tuple[int, int], ...] = (
    (1_000_000, 5),
    (250_000, 6),
    (100_000, 7),
    (40_000, 8),
    (15_000, 9),
    (5_000, 10),
    (2_000, 11),
    (1_000, 12),
)
PLACE_LAST_ZOOM = 13  # villages (and places with no population recorded)
DISTRICT_OUTLINE_ZOOM = 8
DISTRICT_LABEL_ZOOM = 9
ZONE_OUTLINE_ZOOM = 10  # zoomed in further, zones are outlines with a light tint
ZONE_TINT_OPACITY = 0.12
CIRCLE_ZOOM = 11  # tax sites drawn as their precision circles
NARROW_MAP_PX = 600  # maps narrower (or lower than 480 px) open with the legend folded
CHECK_MAP_MAX_SITES = 5000  # beyond this the browser slows down; the table and downloads have all
CHECK_INSIDE_COLOUR = "#1b7837"  # ColorBrewer PRGn ends: apart for colour-blind readers too
CHECK_OUTSIDE_COLOUR = "#762a83"
CHECK_BOUNDARY_COLOUR = "#555555"

CSS = """
.leaflet-container.isz-map{background:#dce8f0;font:13px/1.35 system-ui,sans-serif}
.isz-legend{background:#fff;padding:4px 8px;border-radius:4px;box-shadow:0 1px 4px #0005;
  max-width:min(270px,calc(100vw - 90px));max-height:calc(100vh - 130px);overflow:auto;
  color:#222;font-size:12px}
.isz-legend .isz-mini{display:inline-flex;gap:3px;vertical-align:middle;margin-left:4px}
.isz-legend .isz-mini .isz-swatch{width:12px;height:9px}
.isz-legend details[open] .isz-mini{display:none}
.isz-place,.isz-district{background:none;border:none;white-space:nowrap;text-align:center;
  color:#1d2a33;font:600 12px/16px system-ui,sans-serif;
  text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}
.isz-district{color:#5a6670;font-weight:500;font-size:11px;letter-spacing:.06em;
  text-transform:uppercase}
.isz-legend h2{font-size:14px;margin:0 0 2px}.isz-legend p{margin:2px 0}
.isz-legend summary{cursor:pointer}.isz-legend .isz-title{font-weight:600;font-size:13px}
.isz-legend .isz-grid{display:grid;grid-template-columns:auto auto;column-gap:8px}
.isz-legend ul{list-style:none;margin:3px 0;padding:0}.isz-legend li{margin:2px 0;display:flex;
  align-items:center;gap:6px}
.isz-swatch{display:inline-block;width:18px;height:12px;border:1.5px solid #222}
.isz-legend .isz-small{font-size:11px;color:#444}
.isz-icon{background:none;border:none}
.isz-card{font:13px/1.4 system-ui,sans-serif;max-width:340px;color:#222}
.isz-card h3{font-size:15px;margin:0 0 4px}.isz-card h4{font-size:12px;margin:8px 0 2px;
  text-transform:uppercase;letter-spacing:.03em;color:#555}
.isz-card ul{margin:0;padding-left:16px}.isz-card p{margin:2px 0}
.isz-card .isz-small{font-size:11px;color:#555}
"""


def place_min_zoom(population: int) -> int:
    """The zoom a place's label appears from: cities early, villages only close in."""
    for floor, zoom in PLACE_ZOOMS:
        if population >= floor:
            return zoom
    return PLACE_LAST_ZOOM


def small_view(bounds: Sequence[Sequence[float]]) -> bool:
    """Whether `bounds` ([[south, west], [north, east]]) is zone-sized (under 3 degrees)."""
    (south, west), (north, east) = bounds
    return max(north - south, (east - west) * 0.6) < 3


def context_labels(
    places: Iterable[Place],
    backdrop: Backdrop | None,
    bounds: Sequence[Sequence[float]],
) -> list[list[Any]]:
    """Label rows [escaped name, lon, lat, min zoom, 0 town / 1 district], most important first.

    A view of the whole country carries the towns of 5,000 people or more; a zone-sized view
    (`small_view`) every place within it and 0.3 degrees round it too. District names (the
    backdrop's `labels`) come from DISTRICT_LABEL_ZOOM, ranked between towns of 15,000 and
    smaller ones.
    """
    (south, west), (north, east) = bounds
    small = small_view(bounds)
    pad = 0.3

    def near(lon: float, lat: float) -> bool:
        return west - pad <= lon <= east + pad and south - pad <= lat <= north + pad

    ranked: list[tuple[float, list[Any]]] = []
    for place in places:
        if place.population >= 5_000 or (small and near(place.lon, place.lat)):
            zoom = place_min_zoom(place.population)
            row = [esc(place.name), round(place.lon, 4), round(place.lat, 4), zoom, 0]
            ranked.append((-place.population, row))
    for name, lon, lat in backdrop.labels if backdrop is not None else ():
        ranked.append((-14_999.5, [esc(name), lon, lat, DISTRICT_LABEL_ZOOM, 1]))
    ranked.sort(key=lambda item: item[0])
    return [row for _, row in ranked]


def precision_circles(
    sites: gpd.GeoDataFrame, radius_column: str = "location_precision_m"
) -> list[list[float]]:
    """[lon, lat, radius m] for each located tax site with a location precision: a catalogue's
    sites of kind tax_site, or a check reference's tax sites (`precision_m`, no kind)."""
    rows = []
    for record in sites.to_dict("records"):
        geom, radius = record.get("geometry"), record.get(radius_column)
        if record.get("kind", "tax_site") != "tax_site" or geom is None or geom.is_empty:
            continue
        if radius is None or (isinstance(radius, float) and math.isnan(radius)) or radius <= 0:
            continue
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        rows.append([round(point.x, 5), round(point.y, 5), float(radius)])
    return rows


def site_layer(site: Mapping[str, Any]) -> str:
    """Which of SITE_LAYERS a site is drawn in."""
    if site.get("kind") == "tax_site":
        return SITE_LAYERS[0]
    if bool(site.get("d2n2_asset")):
        return SITE_LAYERS[1]
    return SITE_LAYERS[2]


# ---------------------------------------------------------------- geometry for the browser


def simplify_for_web(
    zones: gpd.GeoDataFrame,
    background: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = WEB_TOLERANCE_M,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Copies of zones (and background units) with light geometry and their topology kept.

    Every boundary of both frames is noded into one set of faces, the faces are simplified
    together as a coverage (shapely.coverage_simplify, in EPSG:27700), and each zone or unit is
    rebuilt from the faces it covers. A border shared by two zones, or by a zone and a council
    area, is simplified once, so no gaps or slivers open between them. Attributes are unchanged.
    """
    frames = [f for f in (zones, background) if f is not None]
    projected = [f.to_crs(MEASURE_CRS).geometry.array for f in frames]
    everything = np.concatenate([np.asarray(p) for p in projected])
    if not len(everything):
        return zones.copy(), (background.copy() if background is not None else None)
    lines = shapely.union_all(shapely.boundary(everything))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    simple = shapely.coverage_simplify(faces, tolerance_m)
    tree = shapely.STRtree(shapely.point_on_surface(faces))
    rebuilt = []
    for frame, geoms in zip(frames, projected, strict=True):
        out = []
        for geom in geoms:
            hits = tree.query(geom, predicate="contains")
            piece = shapely.union_all(simple[hits]) if len(hits) else geom
            out.append(piece if not piece.is_empty else geom)
        series = gpd.GeoSeries(out, crs=MEASURE_CRS, index=frame.index).to_crs(STORAGE_CRS)
        series = shapely.set_precision(series.array, 10**-_DIGITS)
        copy = frame.copy()
        copy[frame.geometry.name] = series
        rebuilt.append(copy)
    return rebuilt[0], (rebuilt[1] if background is not None else None)


@dataclass(frozen=True)
class Backdrop:
    """The map's offline context, light for the browser (WGS84): the land, the borders between
    council districts (each drawn once, not twice as two polygons' edges would be), and a
    (name, lon, lat) label point inside each district."""

    land: Any
    borders: Any
    labels: tuple[tuple[str, float, float], ...]

    def near(self, bounds: Sequence[Sequence[float]], pad: float = BACKDROP_PAD_DEG) -> Backdrop:
        """The same land, with only the borders and labels within `pad` degrees of `bounds`."""
        (south, west), (north, east) = bounds
        box = (west - pad, south - pad, east + pad, north + pad)
        borders = shapely.clip_by_rect(self.borders, *box)
        labels = tuple(
            row for row in self.labels if box[0] <= row[1] <= box[2] and box[1] <= row[2] <= box[3]
        )
        return Backdrop(self.land, borders, labels)

    @functools.cached_property
    def land_payload(self) -> str:
        """The land as the map's compact script text (`_encode`), made once per backdrop."""
        return _encode([({}, self.land)])

    @functools.cached_property
    def border_rows(self) -> list[Any]:
        """The borders as `_encode` rows, for the map to draw when zoomed in; made once."""
        return [[{}, _encode_geometry(self.borders)]] if not self.borders.is_empty else []


def web_backdrop(districts: gpd.GeoDataFrame) -> Backdrop:
    """The Backdrop of council districts (`name` and polygons) that tile the land, such as
    `simplify_for_web` returns them: their union is the land (without islets under
    MIN_ISLAND_KM2), and the edges they share (not the coast) are the borders."""
    geoms = districts.to_crs(STORAGE_CRS).geometry.array
    land = shapely.coverage_union_all(geoms)
    parts = gpd.GeoSeries(shapely.get_parts(land), crs=STORAGE_CRS)
    big = parts.to_crs(MEASURE_CRS).area.to_numpy() >= MIN_ISLAND_KM2 * 1e6
    land = shapely.multipolygons(parts.array[big])
    pieces = np.asarray(shapely.get_parts(shapely.union_all(shapely.boundary(geoms))))
    middles = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    inner = ~shapely.dwithin(middles, shapely.boundary(land), 1e-9)
    borders = shapely.line_merge(shapely.multilinestrings(pieces[inner]))
    labels = []
    names = districts["name"] if "name" in districts else [None] * len(districts)
    for name, point in zip(names, shapely.point_on_surface(geoms), strict=True):
        if name and point is not None and not point.is_empty:
            labels.append((str(name), round(point.x, _DIGITS), round(point.y, _DIGITS)))
    return Backdrop(land, borders, tuple(labels))


# ---------------------------------------------------------------- folium pieces

# The found place's pin: a red drop with a white dot (not a site kind's shape).
PIN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="26" height="34" viewBox="0 0 26 34"'
    ' aria-hidden="true"><path d="M13 33C13 33 2 19.5 2 12a11 11 0 0 1 22 0c0 7.5-11 21-11 21z"'
    ' fill="#d7191c" stroke="#fff" stroke-width="2"/><circle cx="13" cy="12" r="4"'
    ' fill="#fff"/></svg>'
)


def _zone_style(programme: str, selected: bool) -> dict[str, Any]:
    line = _ZONE_LINE.get(programme, _ZONE_LINE["freeport"])
    style: dict[str, Any] = {
        "color": "#222",
        "weight": line["weight"] + (1 if selected else 0),
        "fillColor": PROGRAMME_COLOURS.get(programme, "#999999"),
        "fillOpacity": ZONE_FILL_OPACITY,
        "opacity": 0.9,
    }
    if line["dashArray"]:
        style["dashArray"] = line["dashArray"]
    return style


def _blend(colour: str, under: str, alpha: float) -> str:
    """`colour` drawn at `alpha` over `under`, as the map shows a zone's fill over the land."""
    top = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    bottom = [int(under[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(alpha * t + (1 - alpha) * b) for t, b in zip(top, bottom, strict=True)]
    return "#" + "".join(f"{v:02x}" for v in mixed)


def _text_colour(background: str) -> str:
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#fff"


# SVG shapes per marker letter in SITE_KIND_STYLE (matplotlib marker codes there).
_SHAPES = {
    "s": '<rect x="3" y="3" width="18" height="18"/>',
    "D": '<polygon points="12,1 23,12 12,23 1,12"/>',
    "^": '<polygon points="12,1 23,22 1,22"/>',
    "o": '<circle cx="12" cy="12" r="10"/>',
    "p": '<polygon points="12,1 23,9.5 19,22 5,22 1,9.5"/>',
    "h": '<polygon points="6,2 18,2 23,12 18,22 6,22 1,12"/>',
    "v": '<polygon points="1,2 23,2 12,23"/>',
    "x": '<polygon points="12,1 23,12 12,23 1,12"/>',
}
_TEXT_Y = {"^": 18, "v": 12}


def marker_svg(kind: str, *, size: int = 22, dashed: bool = False) -> str:
    """The SVG marker of a site kind: a distinct shape, colour and letter."""
    style = SITE_KIND_STYLE[kind]
    shape = _SHAPES.get(style["marker"], _SHAPES["o"])
    stroke = 'stroke="#fff" stroke-width="1.5"'
    if dashed:
        stroke = 'stroke="#000" stroke-width="1.5" stroke-dasharray="3 2"'
    y = _TEXT_Y.get(style["marker"], 16)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}"'
        f' viewBox="0 0 24 24" aria-hidden="true"><g fill="{style["colour"]}" {stroke}>{shape}</g>'
        f'<text x="12" y="{y}" text-anchor="middle" font-size="11" font-weight="700"'
        f' font-family="system-ui,sans-serif" fill="{_text_colour(style["colour"])}">'
        f"{esc(style['symbol'])}</text></svg>"
    )


class _Script(MacroElement):
    """A piece of map script; `code` may name the map as {map}."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.code.replace('{map}', this._parent.get_name()) }}"
        "{% endmacro %}"
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "IszonesScript"
        self.code = code


class _GeoLayer(Layer):
    """A Leaflet GeoJSON layer whose features arrive compactly encoded (see `_encode`)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = L.geoJson(null, {{ this.options_js }});"
        "{{ this.get_name() }}.addData(window.iszDecode({{ this.payload }}));"
        "(window.iszLayers = window.iszLayers || {})['{{ this.get_name() }}'] ="
        " {{ this.get_name() }};"
        "{% endmacro %}"
    )

    def __init__(self, payload: str, *, name: str, options_js: str, control: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "GeoLayer"
        self.payload = payload
        self.options_js = options_js


_SCALE = 10**_LINE_DIGITS


def _rings(parts: Sequence[Any]) -> list[list[int]]:
    """Rings or lines as lists of 1e-3 degree steps, each from the last point of the one
    before (the first from 0, 0); repeated points after rounding are dropped."""
    out, last = [], np.zeros((1, 2), dtype=np.int64)
    for part in parts:
        ints = np.round(shapely.get_coordinates(part) * _SCALE).astype(np.int64)
        deltas = np.diff(ints, axis=0, prepend=last)
        moved = deltas.any(axis=1)
        moved[0] = True
        out.append([int(v) for v in deltas[moved].ravel()])
        last = ints[-1:]
    return out


def _encode_geometry(geom: Any) -> Any:
    """Points as [lon, lat]; polygons as lists of rings, lines as lists of lines (`_rings`)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Point":
        return [round(geom.x, _DIGITS), round(geom.y, _DIGITS)]
    if geom.geom_type in ("LineString", "MultiLineString"):
        return _rings(shapely.get_parts(geom))
    polygons = shapely.get_parts(geom)
    rings = _rings([r for p in polygons for r in (p.exterior, *p.interiors)])
    out = []
    for p in polygons:
        count = 1 + len(p.interiors)
        out.append(rings[:count])
        rings = rings[count:]
    return out


def _encode(features: Iterable[tuple[dict[str, Any], Any]]) -> str:
    return js_literal([[props, _encode_geometry(geom)] for props, geom in features])


# Decodes `_encode` back to GeoJSON, binds tooltips and popups (HTML escaped in Python), and
# draws site markers as SVG icons by kind.
_HELPERS = (
    """
window.iszDecode = function (rows) {
  var x = 0, y = 0;  // each ring or line goes on from the last point of the one before
  function ring(a) {
    var out = [];
    for (var i = 0; i < a.length; i += 2) {
      x += a[i]; y += a[i + 1]; out.push([x / SCALE, y / SCALE]);
    }
    return out;
  }
  return {type: 'FeatureCollection', features: rows.map(function (row) {
    var g = row[1], geometry = null;
    x = 0; y = 0;
    if (g && typeof g[0] === 'number') { geometry = {type: 'Point', coordinates: g}; }
    else if (g && g.length && typeof g[0][0] === 'number') {
      geometry = {type: 'MultiLineString', coordinates: g.map(ring)}; }
    else if (g) { geometry = {type: 'MultiPolygon', coordinates: g.map(function (p) {
      return p.map(ring); })}; }
    return {type: 'Feature', properties: row[0], geometry: geometry};
  })};
};
window.iszBind = function (feature, layer) {
  var p = feature.properties;
  if (p.tip) { layer.bindTooltip(p.tip, {sticky: !layer.getLatLng}); }
  if (p.card) {
    var w = Math.max(160, Math.min(340, window.innerWidth - 70));
    layer.bindPopup(p.card, {maxWidth: w, minWidth: Math.min(220, w), autoPan: true,
      autoPanPaddingTopLeft: [10, 10], autoPanPadding: [10, 10]});
  }
};
window.iszPoint = function (feature, latlng) {
  return L.marker(latlng, {riseOnHover: true, icon: L.divIcon({className: 'isz-icon',
    html: window.iszIcons[feature.properties.icon], iconSize: [22, 22], iconAnchor: [11, 11],
    popupAnchor: [0, -10], tooltipAnchor: [10, 0]})});
};
// Fit bounds `pad` px from the edges (more at the bottom, for the attribution), with an open
// legend beside them on the left (folded where that leaves them under 60% of the width). On a
// map narrower than NARROW px the buttons, folded legend, scale bar and attribution take much
// of it: there the bounds fit in what those leave free (never more than half the height).
window.iszFit = function (map, bounds, pad) {
  var c = map.getContainer(), box = c.getBoundingClientRect();
  var d = c.querySelector('.isz-legend details');
  var legend = d ? d.closest('.leaflet-control') : null;
  var left = d && d.open ? legend.offsetWidth + 20 : pad;
  if (left > 0.4 * box.width) { left = pad; if (d) d.open = false; }
  var top = pad, bottom = pad + 14;
  if (box.width < NARROW) {  // the corners' heights (their controls with margins)
    var over = 0, under = 0;
    c.querySelectorAll('.leaflet-top').forEach(function (e) {
      over = Math.max(over, e.offsetHeight);
    });
    c.querySelectorAll('.leaflet-bottom').forEach(function (e) { under += e.offsetHeight; });
    var cut = Math.min(1, 0.5 * box.height / Math.max(over + under, 1));
    top = Math.max(top, cut * over + 8); bottom = Math.max(bottom, cut * under + 8);
  }
  map.fitBounds(bounds, {paddingTopLeft: [left, top], paddingBottomRight: [pad, bottom],
    animate: false});
};
window.iszStyle = function (feature) {
  var s = Object.assign({}, feature.properties.style);
  if (window.iszZoom >= ZONE_OUTLINE_ZOOM) { s.fillOpacity = ZONE_TINT; s.weight += 1; }
  return s;
};
""".replace("SCALE", str(_SCALE))
    .replace("ZONE_OUTLINE_ZOOM", str(ZONE_OUTLINE_ZOOM))
    .replace("ZONE_TINT", str(ZONE_TINT_OPACITY))
    .replace("NARROW", str(NARROW_MAP_PX))
)

# Context that follows the zoom: zone fills turn to outlines, district outlines and precision
# circles come and go, and town and district labels are placed biggest first, skipping any that
# would overlap one already placed. Also: the legend folds on narrow maps and when a popup
# opens under it. DATA is a JSON object from `_context_script`.
_CONTEXT = """
(function () {
  var map = {map}, data = DATA, labels = L.layerGroup().addTo(map);
  if (data.fillWindow) {
    // Embedded: the map takes the whole height of its frame, whatever size the host gives it.
    var fill = function () {
      var el = map.getContainer(), h = window.innerHeight;
      if (h > 100 && Math.abs(el.offsetHeight - h) > 1) {
        el.style.height = h + 'px';
        map.invalidateSize({animate: false});
      }
    };
    fill();
    window.addEventListener('resize', fill);
  }
  var circles = L.layerGroup(), borders = null;
  map.createPane('iszLabels').style.zIndex = 450;
  map.getPane('iszLabels').style.pointerEvents = 'none';
  data.circles.forEach(function (c) {
    L.circle([c[1], c[0]], {radius: c[2], color: '#000', weight: 1.5, dashArray: '4 3',
      fillColor: '#000', fillOpacity: 0.06, interactive: false}).addTo(circles);
  });
  function overlaps(a, boxes) {
    for (var i = 0; i < boxes.length; i++) {
      var o = boxes[i];
      if (a[0] < o[2] && a[2] > o[0] && a[1] < o[3] && a[3] > o[1]) return true;
    }
    return false;
  }
  function place() {
    labels.clearLayers();
    var z = map.getZoom(), view = map.getBounds().pad(0.05), boxes = [], shown = 0;
    for (var i = 0; i < data.labels.length && shown < 150; i++) {
      var p = data.labels[i];
      if (p[3] > z) continue;
      var at = L.latLng(p[2], p[1]);
      if (!view.contains(at)) continue;
      var pt = map.latLngToContainerPoint(at);
      var w = Math.round(p[0].length * (p[4] ? 7.5 : 7)) + 6, h = 16;
      var box = [pt.x - w / 2, pt.y - h / 2, pt.x + w / 2, pt.y + h / 2];
      if (overlaps(box, boxes)) continue;
      boxes.push(box); shown += 1;
      L.marker(at, {pane: 'iszLabels', interactive: false, keyboard: false,
        icon: L.divIcon({className: p[4] ? 'isz-district' : 'isz-place', html: p[0],
          iconSize: [w, h], iconAnchor: [w / 2, h / 2]})}).addTo(labels);
    }
  }
  function zoomed() {
    var z = map.getZoom();
    window.iszZoom = z;
    data.zones.forEach(function (name) {
      var layer = (window.iszLayers || {})[name];
      if (layer) layer.setStyle(window.iszStyle);
    });
    var land = (window.iszLayers || {})[data.land];
    if (land && data.borders.length && z >= data.outlineZoom && !borders) {
      // Decoded and drawn only once the map first zooms in far enough to show them.
      borders = L.geoJson(window.iszDecode(data.borders),
        {interactive: false, style: data.borderStyle});
    }
    if (land && borders) {
      // Inside the land's group, so the layer control shows and hides both.
      z >= data.outlineZoom ? land.addLayer(borders) : land.removeLayer(borders);
    }
    z >= data.circleZoom ? map.addLayer(circles) : map.removeLayer(circles);
  }
  map.on('zoomend', zoomed);
  // In the dashboard the map sits in a frame of the page: keep its position in the page's
  // address (lat, lon, z; iszones.web.urlstate), so a copied link opens the same view.
  map.on('moveend', function () {
    if (!data.shareView || window.parent === window) return;
    try {
      var loc = window.parent.location, q = new URLSearchParams(loc.search), c = map.getCenter();
      q.set('lat', c.lat.toFixed(4)); q.set('lon', c.lng.toFixed(4)); q.set('z', map.getZoom());
      window.parent.history.replaceState(window.parent.history.state, '',
        loc.pathname + '?' + q.toString() + loc.hash);
    } catch (e) { /* a page of another origin: the link keeps the filters only */ }
  });
  map.on('moveend', place);
  map.whenReady(function () { zoomed(); place(); });
  map.on('popupopen', function (e) {
    var legend = map.getContainer().querySelector('.isz-legend details');
    if (!legend || !legend.open) return;
    var a = e.popup.getElement().getBoundingClientRect();
    var b = legend.parentNode.getBoundingClientRect();
    if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) {
      legend.open = false;
      if (e.popup._adjustPan) e.popup._adjustPan();
    }
  });
})();
"""


def _swatch(programme: str) -> str:
    return (
        f'<span class="isz-swatch" style="background:'
        f"{_blend(PROGRAMME_COLOURS[programme], LAND_COLOUR, ZONE_FILL_OPACITY)};"
        f"border-style:{'dashed' if programme == 'investment_zone' else 'solid'};"
        f'border-width:{"3px" if programme == "both" else "1.5px"}"></span>'
    )


def _legend_html(
    title: str,
    summary: str,
    kinds: Iterable[str],
    attribution: str,
    vintage: str | None,
    nearby: bool,
    circles: bool = False,
) -> str:
    order = ("freeport", "investment_zone", "both")
    programmes = "".join(f"<li>{_swatch(p)}{esc(PROGRAMME_LABELS[p])}</li>" for p in order)
    mini = "".join(_swatch(p) for p in order)
    sites = "".join(f"<li>{marker_svg(k, size=16)}{esc(SITE_KIND_LABELS[k])}</li>" for k in kinds)
    if nearby:
        sites += f"<li>{marker_svg('place', size=16, dashed=True)}Near the zone</li>"
    if circles:
        sites += (
            '<li><span class="isz-swatch" style="border-radius:50%;border-style:dashed;'
            'background:#0001"></span>Tax site, ± location precision (zoomed in)</li>'
        )
    vintage_html = f"{esc(vintage)}. " if vintage else ""
    return (
        f'<details open><summary class="isz-title">{esc(title)}'
        f'<span class="isz-mini" aria-hidden="true">{mini}</span></summary>'
        f'<p class="isz-small">{esc(summary)}</p>'
        f"<ul>{programmes}</ul>"
        f'<ul class="isz-grid">{sites}</ul>'
        f'<p class="isz-small">{vintage_html}Zone boundaries are indicative. Zoomed in, zones'
        " are outlines with a light tint; towns and districts are named.</p>"
        f'<details><summary class="isz-small">Sources</summary>'
        f'<p class="isz-small">{esc(attribution)}</p></details>'
        "</details>"
    )


def _site_features(
    sites: gpd.GeoDataFrame, nearby: bool = False, card: Any = site_card_html
) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    layers: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for record in sites.to_dict("records"):
        geom = record.get("geometry")
        if geom is None or geom.is_empty:
            continue  # region-wide records have no place on the map; the tables list them
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        tip = esc(record.get("name"))
        if nearby:
            tip += f" ({esc(record.get('distance_km'))} km outside)"
        props = {
            "site_id": record.get("site_id"),
            "icon": f"{record.get('kind')}{'-near' if nearby else ''}",
            "tip": tip,
            "card": card(record),
        }
        layer = NEARBY_LAYER if nearby else site_layer(record)
        layers.setdefault(layer, []).append((props, point))
    return {name: layers[name] for name in (*SITE_LAYERS, NEARBY_LAYER) if name in layers}


def _bounds(frames: Iterable[gpd.GeoDataFrame | None]) -> list[list[float]]:
    boxes = []
    for frame in frames:
        if frame is None or frame.empty:
            continue
        geoms = frame.geometry.dropna()
        geoms = geoms[~geoms.is_empty]
        if len(geoms):
            boxes.append(geoms.total_bounds)
    if not boxes:
        return _UK_BOUNDS
    stacked = np.vstack(boxes)
    west, south = stacked[:, 0].min(), stacked[:, 1].min()
    east, north = stacked[:, 2].max(), stacked[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def leaflet_map(**options: Any) -> folium.Map:
    """A folium.Map with no tiles, iszones' styles and script helpers, that links Leaflet only:
    no element iszones draws uses folium's jQuery, Bootstrap or icon fonts, and assets.localise
    serves every file it does link."""
    fmap = folium.Map(tiles=None, control_scale=True, **options)
    fmap.default_js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]
    fmap.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    root = fmap.get_root()
    assert isinstance(root, Figure)  # folium.Map always sits in a Figure
    root.header.add_child(PlainText(f"<style>{CSS}</style>"), name="isz_css")
    fmap.add_child(
        _Script(_HELPERS + "{map}.getContainer().classList.add('isz-map');" + _LIFT_SCALE)
    )
    return fmap


# The scale bar (bottom left) sits above the attribution (bottom right), which on a narrow map
# wraps to several lines across the whole width. Measuring the attribution makes the browser lay
# out the page, so it is measured once after a burst of layers is added, not once per layer:
# 5,000 checked sites, each a layer, froze the page for over 20 s.
_LIFT_SCALE = (
    "(function(m){var c=m.getContainer(),queued=false;function lift(){queued=false;"
    "var a=c.querySelector('.leaflet-control-attribution'),"
    "b=c.querySelector('.leaflet-bottom.leaflet-left');"
    "if(a&&b)b.style.bottom=a.offsetHeight+'px';}"
    "function soon(){if(!queued){queued=true;setTimeout(lift,0);}}"
    "m.whenReady(soon);m.on('resize layeradd',soon);})({map});"
)


BORDER_STYLE = {"color": "#7d8a96", "weight": 1.1, "opacity": 0.9}


def _land_layer(backdrop: Backdrop, *, as_land: bool) -> _GeoLayer:
    """The land under everything else, never interactive: filled where there are no tiles,
    else only its coast."""
    style = {"color": "#9aa4ad", "weight": 0.6, "fillColor": LAND_COLOUR}
    style["fillOpacity"] = 1.0 if as_land else 0.0
    return _GeoLayer(
        backdrop.land_payload,
        name=BACKGROUND_LAYER,
        options_js=f"{{interactive: false, style: {js_literal(style)}}}",
    )


def _add_land(
    fmap: folium.Map,
    background: Backdrop | gpd.GeoDataFrame | None,
    bounds: Sequence[Sequence[float]],
    *,
    as_land: bool,
) -> tuple[Backdrop | None, str | None]:
    """The backdrop (only the borders near a zone-sized view) and its land layer's name, the
    layer added to `fmap`; (None, None) without a background."""
    backdrop = as_backdrop(background)
    if backdrop is None:
        return None, None
    if small_view(bounds):
        backdrop = backdrop.near(bounds)
    land = _land_layer(backdrop, as_land=as_land)
    land.add_to(fmap)
    return backdrop, land.get_name()


def _add_context(
    fmap: folium.Map,
    backdrop: Backdrop | None,
    land_name: str | None,
    *,
    labels: list[list[Any]],
    circles: list[list[float]],
    zones: Sequence[str] = (),
    fill_window: bool = False,
    share_view: bool = False,
) -> None:
    """What the map shows by zoom (_CONTEXT): place and district labels, district borders in
    the land layer, tax-site circles, the zone layers restyled; with `share_view`, its view
    kept in the page's address (the dashboard's map, not the Check page's)."""
    context = {
        "labels": labels,
        "zones": list(zones),
        "circles": circles,
        "circleZoom": CIRCLE_ZOOM,
        "outlineZoom": DISTRICT_OUTLINE_ZOOM,
        "fillWindow": fill_window,
        "land": land_name,
        "borders": backdrop.border_rows if backdrop is not None else [],
        "borderStyle": BORDER_STYLE,
        "shareView": share_view,
    }
    fmap.add_child(_Script(_CONTEXT.replace("DATA", js_literal(context))))


def as_backdrop(background: Backdrop | gpd.GeoDataFrame | None) -> Backdrop | None:
    """A Backdrop from districts (`web_backdrop`), or the one given."""
    if background is None or isinstance(background, Backdrop):
        return background
    return web_backdrop(background) if not background.empty else None


def _credits(
    attribution: str, backdrop: Backdrop | None, labels: Sequence[Sequence[Any]]
) -> tuple[list[str], list[str]]:
    """(full credits, short credits for the attribution line) of what a map draws: the
    districts when it has a backdrop, GeoNames when it names towns."""
    credits, short = [attribution], ["iszones"]
    if backdrop is not None:
        credits.append(DISTRICTS_CREDIT)
        short.append(DISTRICTS_SHORT)
    if any(row[4] == 0 for row in labels):
        credits.append(PLACES_CREDIT)
        short.append(PLACES_SHORT)
    return credits, short


def build_map(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    selection_summary: str,
    basemap: str = "none",
    background: Backdrop | gpd.GeoDataFrame | None = None,
    nearby: gpd.GeoDataFrame | None = None,
    title: str = "Industrial Strategy Zones",
    attribution: str = ATTRIBUTION,
    vintage: str | None = None,
    selected_zone_id: int | None = None,
    cluster: bool = True,
    places: Iterable[Place] = (),
    popups: str = "full",
    fill_window: bool = False,
    pin: tuple[float, float, str] | None = None,
) -> folium.Map:
    """A folium.Map of zones coloured by programme and sites marked by kind, with legend.

    Parameters
    ----------
    zones, sites:
        WGS84 frames as `iszones.data.catalogue.load_catalogue` gives them (sites joined:
        `zone_names`, `local_authority`, `nation`), usually already narrowed by
        `selection.apply_selection`
        and lightened by `simplify_for_web`. Sites with no geometry are left off the map.
    selection_summary:
        The count line shown in the legend, e.g. `filters.summary(...)`.
    basemap:
        A key of BASEMAPS; "none" (the default) needs no tile server.
    background:
        The land and council districts (`web_backdrop`, or districts with a `name` from
        `simplify_for_web`): the land under the zones, district borders from zoom
        DISTRICT_OUTLINE_ZOOM and their names from DISTRICT_LABEL_ZOOM; a zone-sized view
        carries only the borders near it (`Backdrop.near`).
    nearby:
        Sites outside a zone but near it (`spatial.sites_near_zone`, with `distance_km`).
    title, attribution, vintage:
        Shown in the legend; the attribution and vintage also in the map's attribution line.
    selected_zone_id:
        Drawn with a heavier outline.
    cluster:
        Cluster dense markers (Leaflet.markercluster); False draws every marker.
    places:
        Towns and villages (`inputs.places.uk_places`), labelled as the zoom allows
        (`place_min_zoom`).
    popups:
        "full" puts each card in its popup (a standalone file); "short" a name and one line,
        for a page that shows the full card beside the map.
    fill_window:
        Size the map to the height of its window (an embed whose frame the host sizes).
    pin:
        (lat, lon, label) of a found place (`web.search`), marked with a pin and its label.

    The map links Leaflet and Leaflet.markercluster only (no jQuery, Bootstrap or icon fonts);
    serve them locally with `assets.localise` or inline them with `assets.standalone_html`.
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"Unknown basemap {basemap!r}; choose one of {', '.join(BASEMAPS)}.")
    # folium passes min_zoom/max_zoom only to tiles; the map itself needs them for clustering.
    zoom_range: dict[str, Any] = {"minZoom": 4, "maxZoom": 18}
    fmap = leaflet_map(location=[54.5, -3.0], zoom_start=6, **zoom_range)
    root = fmap.get_root()
    assert isinstance(root, Figure)  # folium.Map always sits in a Figure
    root.header.add_child(PlainText(f"<title>{esc(title)}</title>"), name="isz_title")
    icons = {kind: marker_svg(kind) for kind in SITE_KINDS}
    icons.update({f"{kind}-near": marker_svg(kind, dashed=True) for kind in SITE_KINDS})
    fmap.add_child(_Script(f"window.iszIcons = {js_literal(icons)};"))

    if basemap != "none":
        folium.TileLayer(_TILES[basemap], name=BASEMAPS[basemap], control=False).add_to(fmap)

    bounds = _bounds([zones, sites, nearby])
    backdrop, land_name = _add_land(fmap, background, bounds, as_land=basemap == "none")
    zone_card, site_card = (
        (zone_card_html, site_card_html) if popups == "full" else (zone_popup_html, site_popup_html)
    )

    zone_rows = [
        (
            {
                "zone_id": int(z["zone_id"]),
                "tip": esc(z["name"]),
                "card": zone_card(z),
                "style": _zone_style(z["programme"], z["zone_id"] == selected_zone_id),
            },
            z["geometry"],
        )
        for z in zones.to_dict("records")
    ]
    zone_layer = _GeoLayer(
        _encode(zone_rows),
        name=ZONE_LAYER,
        options_js="{onEachFeature: window.iszBind, style: window.iszStyle}",
    )
    zone_layer.add_to(fmap)

    layers = _site_features(sites, card=site_card)
    drawn = {props["icon"] for rows in layers.values() for props, _ in rows}
    if nearby is not None and not nearby.empty:
        layers.update(_site_features(nearby, nearby=True, card=site_card))
    point_options = "{onEachFeature: window.iszBind, pointToLayer: window.iszPoint}"
    for name, features in layers.items():
        points = _GeoLayer(
            _encode(features), name=name, options_js=point_options, control=not cluster
        )
        if cluster:
            group = MarkerCluster(
                name=name,
                control=True,
                options={"maxClusterRadius": 40, "disableClusteringAtZoom": 11},
            )
            points.add_to(group)
            group.add_to(fmap)
        else:
            points.add_to(fmap)

    kinds = [k for k in SITE_KINDS if k in drawn]
    has_nearby = nearby is not None and not nearby.empty
    circles = precision_circles(sites)
    labels = context_labels(places, backdrop, bounds)
    _add_context(
        fmap,
        backdrop,
        land_name,
        labels=labels,
        circles=circles,
        zones=[zone_layer.get_name()],
        fill_window=fill_window,
        share_view=True,
    )
    credits, short = _credits(attribution, backdrop, labels)
    legend = _legend_html(
        title, selection_summary, kinds, ". ".join(credits), vintage, has_nearby, bool(circles)
    )
    # Short, so it stays one line on a phone; the legend's Sources has the full attribution.
    credit = esc(" · ".join(short))
    fmap.add_child(
        _Script(
            "(function(){var c=L.control({position:'topleft'});"
            "c.onAdd=function(){var d=L.DomUtil.create('div','isz-legend');"
            "d.setAttribute('role','region');d.setAttribute('aria-label','Legend');"
            f"d.innerHTML={js_literal(legend)};L.DomEvent.disableClickPropagation(d);"
            f"var s={{map}}.getSize();if(s.x<{NARROW_MAP_PX}||s.y<480)"
            "d.querySelector('details').open=false;"
            "L.DomEvent.disableScrollPropagation(d);return d;};c.addTo({map});"
            f"{{map}}.attributionControl.addAttribution({js_literal(credit)});}})();"
        )
    )
    if pin is not None:
        lat, lon, label = pin
        fmap.add_child(
            _Script(
                f"L.marker([{float(lat):.5f}, {float(lon):.5f}], {{zIndexOffset: 1000,"
                " keyboard: false, icon: L.divIcon({className: 'isz-icon',"
                f" html: {js_literal(PIN_SVG)},"
                " iconSize: [26, 34], iconAnchor: [13, 33], tooltipAnchor: [12, -20]})})"
                f".bindTooltip({js_literal(esc(label))}, {{permanent: true, direction: 'right'}})"
                ".addTo({map});"
            )
        )
    # Folded to its icon, so it never covers the legend or the data on any screen.
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    # Fit at once, without folium's animated zoom from the whole-UK start.
    fmap.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    fmap.add_child(_Script(f"window.iszFit({{map}}, {js_literal(bounds)}, 10);"))  # see iszFit
    return fmap


def _site_labels(result: gpd.GeoDataFrame) -> np.ndarray:
    """A name for each site: the first text column that looks like a name, else the row number."""
    for column in result.columns:
        if str(column).strip().lower() in ("name", "site name", "site_name", "sitename", "title"):
            return result[column].fillna("").astype(str).to_numpy()
    return np.array([f"row {i}" for i in range(1, len(result) + 1)], dtype=object)


# The check map's site markers: each level a shape as well as a colour (ColorBrewer PRGn ends).
CHECK_LEVELS: dict[str, tuple[str, str, str]] = {
    "tax": ("In or possibly in a tax site", CHECK_INSIDE_COLOUR, "diamond"),
    "inside": ("Inside a zone's area", CHECK_INSIDE_COLOUR, "circle"),
    "outside": ("Outside every zone", CHECK_OUTSIDE_COLOUR, "square"),
}
_CHECK_SHAPES = {
    "diamond": '<path d="M8 1 15 8 8 15 1 8Z"/>',
    "circle": '<circle cx="8" cy="8" r="6"/>',
    "square": '<rect x="2" y="2" width="12" height="12"/>',
}


def _check_icon(level: str, size: int = 16) -> str:
    _, colour, shape = CHECK_LEVELS[level]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}"'
        f' viewBox="0 0 16 16" aria-hidden="true"><g fill="{colour}" stroke="#fff"'
        f' stroke-width="1.5">{_CHECK_SHAPES[shape]}</g></svg>'
    )


def check_levels(result: pd.DataFrame) -> np.ndarray:
    """Per located row of a check result: 'tax', 'inside' or 'outside' (as on the map)."""
    from iszones.check.summary import possibly_in_tax_site

    in_tax = possibly_in_tax_site(
        result["tax_site_id"].notna().to_numpy(),
        result["nearest_tax_site_distance_m"].to_numpy(dtype=float),
        result["nearest_tax_site_precision_m"].to_numpy(dtype=float),
    )
    inside = result["in_zone"].to_numpy(dtype=bool)
    return np.where(in_tax, "tax", np.where(inside, "inside", "outside"))


TAX_SITE_STYLE = {  # as the precision circles of tax sites known as points
    "color": "#000000",
    "weight": 1.5,
    "dashArray": "4 3",
    "fillColor": "#000000",
    "fillOpacity": 0.06,
}


def _tax_site_shapes(tax_sites: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """A check's tax sites given as areas (an uploaded official boundary, say), light for the
    browser (simplified by 5 m), with their name and source escaped for the tooltip."""
    if tax_sites is None:
        return gpd.GeoDataFrame({"tax_site": [], "source": []}, geometry=[], crs=STORAGE_CRS)
    areas = tax_sites[tax_sites.geom_type.isin(["Polygon", "MultiPolygon"])]
    return gpd.GeoDataFrame(
        {
            "tax_site": [esc(name) for name in areas["name"]],
            "source": [esc(source) for source in areas["decided_by"]],
        },
        geometry=areas.geometry.to_crs(MEASURE_CRS).simplify(5).to_crs(STORAGE_CRS).array,
        crs=STORAGE_CRS,
    )


def check_map(
    result: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    background: Backdrop | gpd.GeoDataFrame | None = None,
    *,
    places: Iterable[Place] = (),
    tax_sites: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """A site check's results (check.check_sites): the first CHECK_MAP_MAX_SITES located
    sites marked by level (in or possibly in a tax site, inside a zone's area, outside; shape
    and colour), over the zones they are in or nearest to, on the council areas `background`
    (EPSG:4326, light: see simplify_for_web) as land, with a legend; all text escaped. Links
    Leaflet only, like build_map.

    Zoomed in, it shows what the main map does (build_map): district borders and names, the
    towns of `places`, and the check's `tax_sites` (a Reference's, EPSG:4326): the precision
    circles of those given as points, the outlines of those given as areas (drawn at every
    zoom), so that a site's place and its nearest tax site can be seen."""
    from iszones.check.summary import problem_texts

    located = result[result["in_zone"].notna()]
    shown = located.head(CHECK_MAP_MAX_SITES)
    labels = _site_labels(result)[np.flatnonzero(result["in_zone"].notna())][:CHECK_MAP_MAX_SITES]
    points = shown.geometry.to_crs(STORAGE_CRS)
    points = gpd.GeoSeries(shapely.point_on_surface(points.array), crs=STORAGE_CRS)
    levels = check_levels(shown) if len(shown) else np.empty(0, dtype=object)
    answers = shown["answer"] if "answer" in shown else shown["zone_name"]
    rows = [
        (
            {
                "icon": level,
                "tip": f"<b>{esc(label)}</b><br>{esc(answer)}",
            },
            point,
        )
        for label, answer, level, point in zip(
            labels, answers.fillna(""), levels, points.array, strict=True
        )
    ]
    wanted = set(located["nearest_zone_id"].astype(str))
    for ids in located["zone_id"].dropna():
        wanted.update(ids.split(";"))
    near = zones[zones["zone_id"].astype(str).isin(wanted)]
    outlines = gpd.GeoDataFrame(
        {
            "zone": [esc(f"{i}: {n}") for i, n in zip(near["zone_id"], near["name"], strict=True)],
            "source": [esc(str(s)) for s in near["boundary_source"]],
        },
        geometry=near.geometry.to_crs(MEASURE_CRS).simplify(25).to_crs(STORAGE_CRS).array,
        crs=STORAGE_CRS,
    )
    fmap = leaflet_map()
    if rows:
        minx, miny, maxx, maxy = points.total_bounds
        bounds = [[float(miny), float(minx)], [float(maxy), float(maxx)]]
    else:
        bounds = _bounds([outlines])
    backdrop, land_name = _add_land(fmap, background, bounds, as_land=True)
    if len(outlines):
        folium.GeoJson(
            outlines,
            name="Zones",
            style_function=lambda _: {
                "color": CHECK_BOUNDARY_COLOUR,
                "weight": 1,
                "fillColor": "#999999",
                "fillOpacity": 0.25,
            },
            tooltip=folium.GeoJsonTooltip(["zone", "source"], aliases=["Zone", "Boundary"]),
        ).add_to(fmap)
    shapes = _tax_site_shapes(tax_sites)
    if len(shapes):
        folium.GeoJson(
            shapes,
            name="Tax sites",
            style_function=lambda _: TAX_SITE_STYLE,
            tooltip=folium.GeoJsonTooltip(["tax_site", "source"], aliases=["Tax site", "Boundary"]),
        ).add_to(fmap)
    icons = {level: _check_icon(level) for level in CHECK_LEVELS}
    fmap.add_child(_Script(f"window.iszIcons = {js_literal(icons)};"))
    if rows:
        _GeoLayer(
            _encode(rows),
            name="Sites",
            options_js="{onEachFeature: window.iszBind, pointToLayer: window.iszPoint}",
        ).add_to(fmap)
    names = context_labels(places, backdrop, bounds)
    circles = precision_circles(tax_sites, "precision_m") if tax_sites is not None else []
    _add_context(fmap, backdrop, land_name, labels=names, circles=circles)  # keeps no view
    credit = esc(" · ".join(_credits(ATTRIBUTION, backdrop, names)[1]))
    counts = {level: int((levels == level).sum()) for level in CHECK_LEVELS}
    items = "".join(
        f"<li>{_check_icon(level)}{esc(label)} ({counts[level]:,})</li>"
        for level, (label, _, _) in CHECK_LEVELS.items()
    )
    problems = int((problem_texts(result) != "").sum())
    items += f'<li class="isz-small">With a problem, not on the map ({problems:,})</li>'
    legend = (
        f'<details open><summary class="isz-title">Your sites</summary><ul>{items}</ul></details>'
    )
    fmap.add_child(
        _Script(  # folded to its title on a phone, as the main map's, to cover none of the sites
            "(function(){var c=L.control({position:'bottomleft'});"
            "c.onAdd=function(){var d=L.DomUtil.create('div','isz-legend');"
            "d.setAttribute('role','region');d.setAttribute('aria-label','Legend');"
            f"d.innerHTML={js_literal(legend)};L.DomEvent.disableClickPropagation(d);"
            f"var s={{map}}.getSize();if(s.x<{NARROW_MAP_PX}||s.y<480)"
            "d.querySelector('details').open=false;return d;};"
            "c.addTo({map});"
            f"{{map}}.attributionControl.addAttribution({js_literal(credit)});}})();"
        )
    )
    if rows:  # no site on the edge, nor under the controls
        fmap.add_child(_Script(f"window.iszFit({{map}}, {js_literal(bounds)}, 40);"))
    return fmap
