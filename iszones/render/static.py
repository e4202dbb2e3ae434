"""Maps of a selection for briefings: PNG and PDF bytes (matplotlib, EPSG:27700) and HTML text.

Pure serialisers: frames in, bytes or text out; no file or network access. The static drawing
(background, zones, sites, collision-free numbered labels, scale bar, north arrow) is shared
with brief.py; the HTML is the dashboard's own map (maps.py, assets.py) as one file.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import Any

import geopandas as gpd
import matplotlib
import shapely
import shapely.ops
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ft2font import LoadFlags
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.patches import Rectangle

from iszones.errors import IszonesError
from iszones.geo.spatial import to_measure_crs
from iszones.inputs.places import uk_places
from iszones.render.format import (  # data_date and selection_subtitle: the CLI imports them here
    data_date,
    plural,
    selection_subtitle,
    vintage_line,
)
from iszones.render.style import (
    ATTRIBUTION,
    DISTRICTS_CREDIT,
    PLACES_CREDIT,
    PROGRAMME_COLOURS,
    SITE_KIND_STYLE,
)
from iszones.schema import (
    PROGRAMME_LABELS,
    PROGRAMMES,
    SITE_KIND_LABELS,
    SITE_KINDS,
)

MM = 72 / 25.4  # points per millimetre
A4_LANDSCAPE_IN = (297 / 25.4, 210 / 25.4)
A4_PORTRAIT_IN = (210 / 25.4, 297 / 25.4)
DEFAULT_DPI = 200  # A4 landscape at 200 dpi is 2338 x 1653 px
MIN_TOWN_POPULATION = 5_000
MIN_DPI, MAX_DPI = 72, 600  # 600 dpi A4 is already 7016 px wide (about 200 MB while drawing)

BACKGROUND_NOTE = "Background: UK admin units, Natural Earth admin-1 (public domain)."
PRECISION_NOTE = (
    "Zone footprints are indicative (an outline drawn around sourced sites, or the lead"
    " authority's area), not the statutory tax-site boundaries."
)
CRS_NOTE = "British National Grid (EPSG:27700)."

_LAND = "#ececec"
_LAND_EDGE = "#ffffff"
_SEA = "#f7fafc"
INK = "#222222"
MUTED = "#555555"
_FONT = "DejaVu Sans"  # ships with matplotlib, so every machine draws the same glyphs (incl. £)
# TrueType (42) keeps PDF text selectable and searchable once pasted into other documents.
# Text is laid out unhinted, so a line is as wide (in points) at every dpi as text_width says:
# hinted, a 6.2 pt line measured 730 pt at 72 dpi and drew 812 pt wide at 100 dpi, past the page.
_RC: dict[str, Any] = {
    "pdf.fonttype": 42,
    "font.family": _FONT,
    "axes.unicode_minus": False,
    "text.hinting": "no_hinting",
}
# rc_context and the shared text measurer are global state, and the dashboard runs threads.
_RENDER_LOCK = threading.Lock()

# Zone outlines carry a cue besides colour, as on the dashboard's map (maps.py): Freeports
# solid, Investment Zones dashed, zones that are both thick; widths here are in points.
ZONE_OUTLINE: dict[str, dict[str, Any]] = {
    "freeport": {"linewidth": 0.7, "linestyle": "solid"},
    "investment_zone": {"linewidth": 0.7, "linestyle": (0, (4, 2.5))},
    "both": {"linewidth": 1.5, "linestyle": "solid"},
}
ZONE_EDGE = "#222222"
ZONE_FILL_ALPHA = 0.45
CONTEXT_LINE: dict[str, Any] = {"color": "#8a8a8a", "linewidth": 0.7, "linestyle": (0, (1, 1.5))}

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in points from the figure's corner


# ---------------------------------------------------------------------------- text helpers


@lru_cache(maxsize=8)
def _font(size: float, bold: bool) -> FontProperties:
    return FontProperties(family=_FONT, size=size, weight="bold" if bold else "normal")


@lru_cache(maxsize=8192)
def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of `text` in points at `size` points in the house font (each string measured once:
    FreeType's layout is the slow part of drawing text)."""
    return _unhinted_width(text, size, bold)


def _unhinted_width(text: str, size: float, bold: bool) -> float:
    """FreeType's width of `text`, unhinted as _RC draws it, whatever the rcParams around."""
    font = get_font(findfont(_font(size, bold)))
    font.set_size(size, 72)  # at 72 dpi one pixel is one point
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    return font.get_width_height()[0] / 64  # in 1/64 pixels


def wrap_text(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Greedy word wrap of `text` to `width` points; words longer than a line are broken.

    A line's width is estimated from its words' widths (each word measured once); only a
    candidate line whose estimate comes close to `width` is measured whole, once, since kerning
    across a space can make the whole a little wider than its parts."""
    space = text_width(" ", size, bold=bold)
    slack = size * 0.5  # how far off the estimate can be, generously
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line, estimate = "", 0.0
        for word in paragraph.split():
            word_w = text_width(word, size, bold=bold)
            trial = f"{line} {word}" if line else word
            trial_w = estimate + space + word_w if line else word_w
            if trial_w <= width - slack or (
                trial_w <= width + slack and text_width(trial, size, bold=bold) <= width
            ):
                line, estimate = trial, trial_w
                continue
            if line:
                lines.append(line)
            while word_w > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and text_width(word[:cut], size, bold=bold) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                word_w = text_width(word, size, bold=bold)
            line, estimate = word, word_w
        lines.append(line)
    return lines


# ---------------------------------------------------------------------------- geometry helpers


def _located(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    mask = ~(sites.geometry.isna() | sites.geometry.is_empty)
    return sites[mask.to_numpy()]


def number_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Located sites in key order (by kind as schema.SITE_KINDS, then name) with `key` 1..n."""
    located = _located(sites).copy()
    order = {kind: pos for pos, kind in enumerate(SITE_KINDS)}
    located["_kind_order"] = located["kind"].map(order).fillna(len(order))
    located = located.sort_values(["_kind_order", "name"], kind="stable")
    located["key"] = [str(n) for n in range(1, len(located) + 1)]
    return located.drop(columns="_kind_order")


def _anchor(geom: Any) -> tuple[float, float]:
    """Where a feature's label points: the point itself, else a point well inside the shape."""
    if geom.geom_type == "Point":
        return float(geom.x), float(geom.y)
    parts = getattr(geom, "geoms", [geom])
    largest = max(parts, key=lambda g: g.area)
    try:
        point = shapely.ops.polylabel(largest, tolerance=max(largest.length / 500, 10.0))
    except Exception:  # polylabel rejects some degenerate rings; any interior point will do
        point = largest.representative_point()
    return float(point.x), float(point.y)


def _extent(frames: Iterable[gpd.GeoDataFrame], fallback: gpd.GeoDataFrame | None) -> Box:
    bounds = [f.total_bounds for f in frames if len(f)]
    if not bounds and fallback is not None and len(fallback):
        bounds = [fallback.total_bounds]
    if not bounds:
        return (0.0, 0.0, 700_000.0, 1_250_000.0)  # the UK in British National Grid
    minx = min(b[0] for b in bounds)
    miny = min(b[1] for b in bounds)
    maxx = max(b[2] for b in bounds)
    maxy = max(b[3] for b in bounds)
    span = max(maxx - minx, maxy - miny, 20_000.0)  # a lone site still shows its surroundings
    pad = span * 0.06
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = max(maxx - minx, 20_000.0) / 2 + pad
    half_h = max(maxy - miny, 20_000.0) / 2 + pad
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _fit_extent(extent: Box, box_w: float, box_h: float) -> Box:
    """Grow the extent in one direction so metres per point are equal both ways (true shape)."""
    minx, miny, maxx, maxy = extent
    width, height = maxx - minx, maxy - miny
    target = box_h / box_w
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    if height / width < target:
        height = width * target
    else:
        width = height / target
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _nice_length(target_m: float) -> float:
    exponent = math.floor(math.log10(target_m))
    for step in (5, 2, 1):
        length = step * 10**exponent
        if length <= target_m:
            return float(length)
    return float(10**exponent)


def _draw_polygons(ax: Axes, geoms: Sequence[Any], *, zorder: float, **style: Any) -> None:
    """Draw polygons (holes really empty) as one compound path: one artist, not one per shape,
    and added without growing the axes' limits, which are set already."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    vertices: list[Any] = []
    codes: list[Any] = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type != "Polygon":
                continue
            for ring in (part.exterior, *part.interiors):
                coords = shapely.get_coordinates(ring)
                vertices.append(coords)
                ring_codes = [MplPath.LINETO] * len(coords)
                ring_codes[0], ring_codes[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                codes.extend(ring_codes)
    if not vertices:
        return
    import numpy as np

    patch = PathPatch(MplPath(np.concatenate(vertices), codes), zorder=zorder, **style)
    ax.add_artist(patch)


# ---------------------------------------------------------------------------- label placement


@dataclass(frozen=True)
class Label:
    """A numbered label to place near `anchor` (points from the figure corner)."""

    text: str
    anchor: tuple[float, float]
    size: float
    boxed: bool
    colour: str = INK
    edge: str = INK
    may_cover_anchor: bool = False  # zone numbers may sit on the zone itself


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a: Box, bounds: Box) -> bool:
    return a[0] >= bounds[0] and a[1] >= bounds[1] and a[2] <= bounds[2] and a[3] <= bounds[3]


def _label_box(label: Label, centre: tuple[float, float]) -> Box:
    pad = 1.6 if label.boxed else 0.8
    half_w = text_width(label.text, label.size, bold=label.boxed) / 2 + pad
    half_h = label.size * 0.62 + pad
    return (centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h)


def place_labels(
    labels: Sequence[Label], obstacles: Sequence[Box], bounds: Box, *, marker_radius: float
) -> list[tuple[float, float]]:
    """Greedy placement: each label takes the nearest candidate spot that overlaps no marker,
    no reserved box and no label already placed. Returns label centres (points)."""
    placed: list[Box] = []
    centres: list[tuple[float, float]] = []
    angles = [math.radians(a) for a in (45, 135, 315, 225, 0, 180, 90, 270)]
    angles += [math.radians(a) for a in (22.5, 67.5, 112.5, 157.5, 202.5, 247.5, 292.5, 337.5)]
    for label in labels:
        ax_, ay = label.anchor
        base = _label_box(label, (0.0, 0.0))
        half_w, half_h = base[2], base[3]
        candidates: list[tuple[float, float]] = []
        if label.may_cover_anchor:
            candidates.append((ax_, ay))
        for ring in range(12):
            gap = marker_radius + 1.0 + ring * 3.5
            for angle in angles:
                dx, dy = math.cos(angle), math.sin(angle)
                # The box's nearest edge or corner lies `gap` from the anchor in both axes'
                # sense (Chebyshev distance), so no candidate covers the label's own marker.
                reach = gap / max(abs(dx), abs(dy))
                sx = 0.0 if abs(dx) < 1e-6 else math.copysign(half_w, dx)
                sy = 0.0 if abs(dy) < 1e-6 else math.copysign(half_h, dy)
                candidates.append((ax_ + dx * reach + sx, ay + dy * reach + sy))
        best: tuple[float, float] | None = None
        best_cost = math.inf
        for centre in candidates:
            box = _label_box(label, centre)
            if not _inside(box, bounds):
                continue
            clashes = sum(_overlaps(box, o) for o in placed) * 3 + sum(
                _overlaps(box, o) for o in obstacles
            )
            if clashes == 0:
                best = centre
                break
            if clashes < best_cost:
                best, best_cost = centre, clashes
        if best is None:
            best = (ax_, ay)
        centres.append(best)
        placed.append(_label_box(label, best))
    return centres


# ---------------------------------------------------------------------------- the map


@dataclass(frozen=True)
class MapLayers:
    """The frames to draw, all in British National Grid."""

    zones: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame  # located sites, with a `key` column when they are numbered
    background: gpd.GeoDataFrame | None  # council districts (with `code`) or admin units
    context_zones: gpd.GeoDataFrame | None = None  # drawn as grey outlines, not labelled
    towns: gpd.GeoDataFrame | None = None  # places to name, biggest first (see town_points)

    @property
    def districts(self) -> bool:
        """Whether the background is the council districts (read_districts), not admin units."""
        return self.background is not None and "code" in self.background.columns


@lru_cache(maxsize=1)
def town_points() -> gpd.GeoDataFrame:
    """The gazetteer's places of MIN_TOWN_POPULATION or more (iszones.inputs.places), in British
    National Grid, biggest first: the towns a static map may name."""
    big = sorted(
        (p for p in uk_places() if p.population >= MIN_TOWN_POPULATION),
        key=lambda p: (-p.population, p.geonameid),
    )
    frame = gpd.GeoDataFrame(
        {"name": [p.name for p in big], "population": [p.population for p in big]},
        geometry=gpd.points_from_xy([p.lon for p in big], [p.lat for p in big]),
        crs="EPSG:4326",
    )
    return frame.to_crs("EPSG:27700")


def to_layers(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    background: gpd.GeoDataFrame | None,
    *,
    number: bool,
    context_zones: gpd.GeoDataFrame | None = None,
    towns: bool = False,
) -> MapLayers:
    """Project the frames to EPSG:27700 and, when `number`, give sites their key numbers;
    `towns` adds the gazetteer's towns to name where they fit."""
    zones_bng = to_measure_crs(zones, "The zones")
    sites_bng = to_measure_crs(_located(sites), "The sites")
    if number:
        sites_bng = number_sites(sites_bng)
    back = to_measure_crs(background, "The background") if background is not None else None
    context = (
        to_measure_crs(context_zones, "The context zones") if context_zones is not None else None
    )
    return MapLayers(zones_bng, sites_bng, back, context, town_points() if towns else None)


MARKER_SIZE = 5.5  # points
ZONE_LABEL_SIZE = 6.5
SITE_LABEL_SIZE = 6.0
TOWN_LABEL_SIZE = 6.0
CITY_LABEL_SIZE = 7.0
CITY_POPULATION = 100_000  # named in the larger type
MAX_TOWNS = 14  # names per map: enough to find one's way, few enough to leave the data readable
TOWN_CANDIDATES = 80  # the towns tried, in order, before giving up on the rest
TOWN_ROOM_PT2 = 18_000  # and at most one name per this much map (square points)
TOWN_INK = "#3a3a3a"
# District outlines are drawn over the zones only on maps narrower than this: at the scale of
# Britain they would be a mesh hiding the zones.
DISTRICT_OUTLINE_MAX_SPAN_M = 300_000
DISTRICT_LINE: dict[str, Any] = {"edgecolor": "#6f6f6f", "linewidth": 0.3}


def draw_map(
    fig: Figure,
    rect_mm: Box,
    layers: MapLayers,
    *,
    label_zones: bool,
    label_sites: bool,
    empty_note: str = "Nothing matches this selection.",
) -> Axes:
    """Draw the map in `rect_mm` (x0, y0, x1, y1 from the page's lower left, in mm).

    The figure must be at 72 dpi so display units are points (label placement works in them).
    """
    page_w = fig.get_figwidth() * 72
    page_h = fig.get_figheight() * 72
    x0, y0, x1, y1 = (v * MM for v in rect_mm)
    box_w, box_h = x1 - x0, y1 - y0
    ax = fig.add_axes((x0 / page_w, y0 / page_h, box_w / page_w, box_h / page_h))
    ax.set_facecolor(_SEA)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_edgecolor("#888888")
    extent = map_extent(layers, rect_mm)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_autoscale_on(False)

    view = shapely.box(*extent)
    if layers.background is not None:
        back = layers.background[layers.background.intersects(view)]
        _draw_polygons(
            ax, list(back.geometry), zorder=1, facecolor=_LAND, edgecolor=_LAND_EDGE, linewidth=0.5
        )
    if layers.context_zones is not None:
        near = layers.context_zones[layers.context_zones.intersects(view)]
        _draw_polygons(
            ax,
            list(near.geometry),
            zorder=2,
            facecolor="none",
            edgecolor=CONTEXT_LINE["color"],
            linewidth=CONTEXT_LINE["linewidth"],
            linestyle=CONTEXT_LINE["linestyle"],
        )
    # Larger zones first, so a small zone lying on a big one stays visible.
    zones = layers.zones.assign(_area=layers.zones.geometry.area).sort_values(
        "_area", ascending=False
    )
    for row in zones.itertuples():
        colour = PROGRAMME_COLOURS.get(row.programme, "#999999")
        _draw_polygons(
            ax, [row.geometry], zorder=3, facecolor=colour, edgecolor="none", alpha=ZONE_FILL_ALPHA
        )
        _draw_polygons(
            ax,
            [row.geometry],
            zorder=4,
            facecolor="none",
            edgecolor=ZONE_EDGE,
            **ZONE_OUTLINE.get(row.programme, ZONE_OUTLINE["freeport"]),
        )
    if district_outlines(layers, extent):
        # Over the zone fill (under its outline), so the councils inside a zone stay readable.
        _draw_polygons(ax, list(back.geometry), zorder=3.5, facecolor="none", **DISTRICT_LINE)

    sites = layers.sites
    for kind in SITE_KINDS:
        of_kind = sites[sites["kind"] == kind]
        if not len(of_kind):
            continue
        spec = SITE_KIND_STYLE[kind]
        polygons = of_kind[of_kind.geometry.geom_type != "Point"]
        _draw_polygons(
            ax,
            list(polygons.geometry),
            zorder=5,
            facecolor="none",
            edgecolor=spec["colour"],
            linewidth=0.8,
        )
        xy = [_anchor(g) for g in of_kind.geometry]
        ax.scatter(
            [p[0] for p in xy],
            [p[1] for p in xy],
            s=MARKER_SIZE**2,
            marker=spec["marker"],
            c=spec["colour"],
            edgecolors="white" if spec["marker"] != "x" else spec["colour"],
            linewidths=0.5 if spec["marker"] != "x" else 1.0,
            zorder=6,
        )
    if not len(layers.zones) and not len(sites):
        ax.text(
            0.5,
            0.5,
            empty_note,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=11,
            color=MUTED,
            parse_math=False,
        )

    reserved = [_draw_scale_bar(ax, extent, box_w), _draw_north_arrow(ax, box_w, box_h)]
    _draw_labels(ax, layers, label_zones=label_zones, label_sites=label_sites, reserved=reserved)
    return ax


def map_extent(layers: MapLayers, rect_mm: Box) -> Box:
    """The British National Grid box a map drawn in `rect_mm` shows (true shape)."""
    box_w, box_h = (rect_mm[2] - rect_mm[0]) * MM, (rect_mm[3] - rect_mm[1]) * MM
    return _fit_extent(_extent([layers.zones, layers.sites], layers.background), box_w, box_h)


def district_outlines(layers: MapLayers, extent: Box) -> bool:
    """Whether a map of `extent` draws the council districts' outlines over the zones."""
    span = max(extent[2] - extent[0], extent[3] - extent[1])
    return layers.districts and span <= DISTRICT_OUTLINE_MAX_SPAN_M


def _to_points(ax: Axes, xy: tuple[float, float]) -> tuple[float, float]:
    x, y = ax.transData.transform(xy)
    return float(x), float(y)


def _axes_box(ax: Axes) -> Box:
    bbox = ax.get_window_extent()
    return (bbox.x0, bbox.y0, bbox.x1, bbox.y1)


def _draw_labels(
    ax: Axes, layers: MapLayers, *, label_zones: bool, label_sites: bool, reserved: list[Box]
) -> None:
    radius = MARKER_SIZE / 2 + 0.5
    bounds = _axes_box(ax)
    bounds = (bounds[0] + 2, bounds[1] + 2, bounds[2] - 2, bounds[3] - 2)
    site_points = [_to_points(ax, _anchor(g)) for g in layers.sites.geometry]
    obstacles = [(x - radius, y - radius, x + radius, y + radius) for x, y in site_points]
    obstacles += [_shift(box, ax) for box in reserved]
    labels: list[Label] = []
    if label_zones:
        for row in layers.zones.itertuples():
            colour = PROGRAMME_COLOURS.get(row.programme, "#999999")
            labels.append(
                Label(
                    text=str(row.zone_id),
                    anchor=_to_points(ax, _anchor(row.geometry)),
                    size=ZONE_LABEL_SIZE,
                    boxed=True,
                    edge=colour,
                    may_cover_anchor=True,
                )
            )
    if label_sites and "key" in layers.sites.columns:
        for key, point in zip(layers.sites["key"], site_points, strict=True):
            labels.append(Label(text=str(key), anchor=point, size=SITE_LABEL_SIZE, boxed=False))
    towns = _towns_in_view(ax, layers)
    room = min(MAX_TOWNS, int((bounds[2] - bounds[0]) * (bounds[3] - bounds[1]) / TOWN_ROOM_PT2))
    # Cities first, so the numbers make way for them; smaller towns only where room is left.
    big = towns["population"] >= CITY_POPULATION
    cities = _draw_towns(ax, towns[big], obstacles, bounds, limit=room)
    centres = place_labels(labels, obstacles + cities, bounds, marker_radius=radius)
    taken = obstacles + cities + [_label_box(la, c) for la, c in zip(labels, centres, strict=True)]
    _draw_towns(ax, towns[~big], taken, bounds, limit=room - len(cities) // 2)
    to_data = ax.transData.inverted()
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for label, centre in zip(labels, centres, strict=True):
        data_xy = to_data.transform(centre)
        leader = _leader(label, centre, site_points, radius)
        if leader is not None:
            (x0, y0), (x1, y1) = (to_data.transform(p) for p in leader)
            ax.plot([x0, x1], [y0, y1], color="#555555", linewidth=0.45, zorder=7)
        bbox = (
            {
                "boxstyle": "round,pad=0.18",
                "facecolor": "white",
                "edgecolor": label.edge,
                "linewidth": 0.9,
            }
            if label.boxed
            else None
        )
        ax.text(
            data_xy[0],
            data_xy[1],
            label.text,
            ha="center",
            va="center",
            fontsize=label.size,
            fontweight="bold" if label.boxed else "normal",
            color=label.colour,
            bbox=bbox,
            path_effects=None if label.boxed else halo,
            zorder=9 if label.boxed else 8,
            parse_math=False,
        )


def _towns_in_view(ax: Axes, layers: MapLayers) -> gpd.GeoDataFrame:
    """The towns a map may name, in order: in view, those in or near its zones first (they
    place the sites), biggest first."""
    if layers.towns is None:
        return gpd.GeoDataFrame({"name": [], "population": []}, geometry=[], crs="EPSG:27700")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    in_view = layers.towns.cx[x0:x1, y0:y1]
    if len(layers.zones):
        near = shapely.buffer(shapely.union_all(layers.zones.geometry.to_numpy()), 3_000)
        inside = shapely.contains_xy(near, in_view.geometry.x, in_view.geometry.y)
        in_view = in_view.assign(_outside=~inside).sort_values(
            ["_outside", "population"], ascending=[True, False], kind="stable"
        )
    return in_view.head(TOWN_CANDIDATES)


def _town_spots(
    x: float, y: float, width: float, height: float
) -> Iterator[tuple[float, float, str, str]]:
    """Where a town's name may go, nearest first: right, left, above, below its dot, then the
    corners, then the same a little further out. Yields (left, bottom, ha, va) in points."""
    for gap in (2.5, 6.0, 10.0):
        yield x + gap, y - height / 2, "left", "center"
        yield x - gap - width, y - height / 2, "right", "center"
        yield x - width / 2, y + gap, "center", "bottom"
        yield x - width / 2, y - gap - height, "center", "top"
        yield x + gap * 0.7, y + gap * 0.7, "left", "bottom"
        yield x - gap * 0.7 - width, y + gap * 0.7, "right", "bottom"
        yield x + gap * 0.7, y - gap * 0.7 - height, "left", "top"
        yield x - gap * 0.7 - width, y - gap * 0.7 - height, "right", "top"


def _draw_towns(
    ax: Axes, towns: gpd.GeoDataFrame, taken: list[Box], bounds: Box, *, limit: int
) -> list[Box]:
    """Name up to `limit` towns in order, each where its name clears everything in `taken`
    (markers, numbers, scale bar, towns already named); a town with no such spot is left out.
    Returns the boxes of the dots and names drawn (two per town)."""
    halo = [patheffects.Stroke(linewidth=2.0, foreground="white")]
    to_data = ax.transData.inverted()
    drawn: list[Box] = []
    for name, population, geom in zip(
        towns["name"], towns["population"], towns.geometry, strict=True
    ):
        if len(drawn) >= 2 * limit:
            break
        x, y = _to_points(ax, (geom.x, geom.y))
        dot = (x - 1.2, y - 1.2, x + 1.2, y + 1.2)
        if not _inside(dot, bounds) or any(_overlaps(dot, b) for b in drawn):
            continue
        size = CITY_LABEL_SIZE if population >= CITY_POPULATION else TOWN_LABEL_SIZE
        width, height = text_width(name, size) + 1.5, size * 1.2
        blocked = [*taken, *drawn]
        spot = next(
            (
                (left, bottom, ha, va)
                for left, bottom, ha, va in _town_spots(x, y, width, height)
                if _inside(box := (left, bottom, left + width, bottom + height), bounds)
                and not any(_overlaps(box, b) for b in blocked)
            ),
            None,
        )
        if spot is None:
            continue
        left, bottom, ha, va = spot
        box = (left, bottom, left + width, bottom + height)
        drawn += [dot, box]
        tx = left if ha == "left" else box[2] if ha == "right" else (left + box[2]) / 2
        ty = bottom if va == "bottom" else box[3] if va == "top" else (bottom + box[3]) / 2
        ax.scatter([geom.x], [geom.y], s=4, c=TOWN_INK, linewidths=0, zorder=7)
        data_x, data_y = to_data.transform((tx, ty))
        # The halo is a white outline drawn as a path; the name over it stays text, so it can
        # be selected and searched in the PDF.
        for colour, effects, zorder in (("white", halo, 7.0), (TOWN_INK, None, 7.1)):
            ax.text(
                data_x,
                data_y,
                name,
                ha=ha,
                va=va,
                fontsize=size,
                color=colour,
                path_effects=effects,
                zorder=zorder,
                parse_math=False,
            )
    return drawn


def _leader(
    label: Label,
    centre: tuple[float, float],
    markers: Sequence[tuple[float, float]],
    radius: float,
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The leader line (points) from a label's box to its marker, or None when the label
    plainly belongs to its marker: close to it, and no other marker as close to the label."""
    if label.may_cover_anchor:
        return None
    own = math.dist(centre, label.anchor)
    crowded = any(math.dist(centre, p) < own * 1.2 for p in markers if p != label.anchor)
    half = _label_box(label, (0.0, 0.0))
    gap = max(
        abs(centre[0] - label.anchor[0]) - half[2], abs(centre[1] - label.anchor[1]) - half[3]
    )
    if gap <= radius + 3 and not crowded:
        return None
    dx, dy = label.anchor[0] - centre[0], label.anchor[1] - centre[1]
    exits = [half[2] / abs(d) for d in (dx,) if d] + [half[3] / abs(d) for d in (dy,) if d]
    leave = min(exits) if exits else 1.0
    if leave >= 1.0:
        return None  # the marker is under the label's own box
    near_marker = 1 - (radius * 0.7) / max(own, 1e-9)
    if near_marker <= leave:
        return None
    start = (centre[0] + dx * leave, centre[1] + dy * leave)
    end = (centre[0] + dx * near_marker, centre[1] + dy * near_marker)
    return start, end


def _shift(box_axes_pt: Box, ax: Axes) -> Box:
    """A box given in points from the axes' lower left, in points from the figure's corner."""
    ox, oy, _, _ = _axes_box(ax)
    return (box_axes_pt[0] + ox, box_axes_pt[1] + oy, box_axes_pt[2] + ox, box_axes_pt[3] + oy)


def _axes_fraction(ax: Axes) -> Callable[[float, float], tuple[float, float]]:
    """Map points from the axes' lower left to axes fractions (which survive any save dpi)."""
    to_axes = ax.transAxes.inverted().transform
    ox, oy, _, _ = _axes_box(ax)

    def frac(px: float, py: float) -> tuple[float, float]:
        fx, fy = to_axes((px + ox, py + oy))
        return float(fx), float(fy)

    return frac


def _draw_scale_bar(ax: Axes, extent: Box, box_w: float) -> Box:
    """A two-part scale bar in the lower left; returns the box it covers (axes points)."""
    metres_per_pt = (extent[2] - extent[0]) / box_w
    length_m = _nice_length(box_w * 0.22 * metres_per_pt)
    length_pt = length_m / metres_per_pt
    x, y, bar_h = 8.0, 9.0, 3.2
    unit, scale = ("km", 1000.0) if length_m >= 1000 else ("m", 1.0)
    frac = _axes_fraction(ax)
    backdrop = (x - 5, y - 5, x + length_pt + 22, y + bar_h + 12)
    bx0, by0 = frac(backdrop[0], backdrop[1])
    bx1, by1 = frac(backdrop[2], backdrop[3])
    ax.add_patch(
        Rectangle(
            (bx0, by0),
            bx1 - bx0,
            by1 - by0,
            transform=ax.transAxes,
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=10,
        )
    )
    for part, colour in ((0, INK), (1, "white")):
        px0, py0 = frac(x + part * length_pt / 2, y)
        px1, py1 = frac(x + (part + 1) * length_pt / 2, y + bar_h)
        ax.add_patch(
            Rectangle(
                (px0, py0),
                px1 - px0,
                py1 - py0,
                transform=ax.transAxes,
                facecolor=colour,
                edgecolor=INK,
                linewidth=0.5,
                zorder=11,
            )
        )
    for pos, value in ((0.0, 0.0), (0.5, length_m / 2), (1.0, length_m)):
        tx, ty = frac(x + pos * length_pt, y + bar_h + 1.5)
        text = f"{value / scale:g}" + (f" {unit}" if pos == 1.0 else "")
        ax.text(
            tx,
            ty,
            text,
            transform=ax.transAxes,
            ha="center" if pos < 1.0 else "left",
            va="bottom",
            fontsize=5.5,
            color=INK,
            zorder=12,
            parse_math=False,
        )
    return backdrop


def _draw_north_arrow(ax: Axes, box_w: float, box_h: float) -> Box:
    """An arrow to grid north in the upper right; returns the box it covers (axes points)."""
    cx, top = box_w - 14.0, box_h - 8.0
    frac = _axes_fraction(ax)

    tip = frac(cx, top - 9)
    left = frac(cx - 4.5, top - 24)
    notch = frac(cx, top - 19.5)
    right = frac(cx + 4.5, top - 24)
    ax.add_patch(
        PolygonPatch(
            [tip, left, notch],
            closed=True,
            transform=ax.transAxes,
            zorder=11,
            facecolor=INK,
            edgecolor=INK,
            linewidth=0.5,
        )
    )
    ax.add_patch(
        PolygonPatch(
            [tip, notch, right],
            closed=True,
            transform=ax.transAxes,
            zorder=11,
            facecolor="white",
            edgecolor=INK,
            linewidth=0.5,
        )
    )
    nx, ny = frac(cx, top)
    ax.text(
        nx,
        ny,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=8,
        fontweight="bold",
        color=INK,
        zorder=12,
        parse_math=False,
    )
    gx, gy = frac(cx, top - 26)
    ax.text(
        gx,
        gy,
        "grid north",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=4.5,
        color=MUTED,
        zorder=12,
        parse_math=False,
    )
    return (cx - 16, top - 33, cx + 14, top + 4)


# ---------------------------------------------------------------------------- legend and key


class Column:
    """Text flowing down a column of an axes whose units are points (0,0 at lower left)."""

    def __init__(self, ax: Axes, width: float, top: float) -> None:
        self.ax, self.width, self.y = ax, width, top

    def text(
        self,
        text: str,
        *,
        size: float,
        bold: bool = False,
        indent: float = 0.0,
        colour: str = INK,
        gap: float = 0.0,
        draw: bool = True,
    ) -> int:
        """Wrap and draw `text`; returns the number of lines used."""
        lines = wrap_text(text, self.width - indent, size, bold=bold)
        self.y -= gap
        for line in lines:
            if draw:
                self.ax.text(
                    indent,
                    self.y,
                    line,
                    fontsize=size,
                    va="top",
                    ha="left",
                    fontweight="bold" if bold else "normal",
                    color=colour,
                    parse_math=False,
                )
            self.y -= size * 1.28
        return len(lines)


def _kind_counts(sites: gpd.GeoDataFrame) -> list[tuple[str, int]]:
    counts = sites["kind"].value_counts().to_dict() if len(sites) else {}
    return [(k, int(counts[k])) for k in SITE_KINDS if counts.get(k)]


def _programmes(zones: gpd.GeoDataFrame) -> list[str]:
    present = set(zones["programme"]) if len(zones) else set()
    return [p for p in PROGRAMMES if p in present]


def zone_swatch(
    programme: str, corner: tuple[float, float], width: float, height: float, **kwargs: Any
) -> list[Rectangle]:
    """The legend swatch of a programme: its fill colour and its outline style."""
    colour = PROGRAMME_COLOURS.get(programme, "#999999")
    outline = ZONE_OUTLINE.get(programme, ZONE_OUTLINE["freeport"])
    return [
        Rectangle(
            corner,
            width,
            height,
            facecolor=colour,
            alpha=ZONE_FILL_ALPHA,
            edgecolor="none",
            **kwargs,
        ),
        Rectangle(
            corner, width, height, facecolor="none", edgecolor=ZONE_EDGE, **outline, **kwargs
        ),
    ]


def legend_rows(
    ax: Axes, column: Column, layers: MapLayers, *, size: float = 6.5, districts: bool = False
) -> None:
    """Swatches for the programmes and markers for the site kinds present (with counts), and
    the district outline when `districts` (the map draws them, see district_outlines)."""
    programmes = _programmes(layers.zones)
    if programmes:
        column.text("Zones", size=size + 1, bold=True)
        for programme in programmes:
            y = column.y - size * 0.55
            for patch in zone_swatch(programme, (0, y - 3.2), 11, 6.4):
                ax.add_patch(patch)
            column.text(PROGRAMME_LABELS[programme], size=size, indent=16)
        column.y -= 3
    if layers.context_zones is not None and len(layers.context_zones):
        y = column.y - size * 0.55
        ax.plot([0, 11], [y, y], **CONTEXT_LINE)
        column.text("Other zones (outline)", size=size, indent=16)
        column.y -= 3
    if districts:
        y = column.y - size * 0.55
        ax.plot([0, 11], [y, y], color=DISTRICT_LINE["edgecolor"], linewidth=0.6)
        column.text("Council district (2025)", size=size, indent=16)
        column.y -= 3
    kinds = _kind_counts(layers.sites)
    if kinds:
        column.text("Sites", size=size + 1, bold=True)
        for kind, count in kinds:
            spec = SITE_KIND_STYLE[kind]
            y = column.y - size * 0.55
            ax.scatter(
                [5.5],
                [y],
                s=MARKER_SIZE**2,
                marker=spec["marker"],
                c=spec["colour"],
                edgecolors="white" if spec["marker"] != "x" else spec["colour"],
                linewidths=0.5 if spec["marker"] != "x" else 1.0,
            )
            column.text(f"{SITE_KIND_LABELS[kind]} ({count})", size=size, indent=16)


def _key_entries(layers: MapLayers, *, sites: bool) -> list[tuple[str, str, bool]]:
    entries = [
        (str(z), n, True)
        for z, n in zip(layers.zones["zone_id"], layers.zones["name"], strict=True)
    ]
    if sites and "key" in layers.sites.columns:
        entries += [
            (k, n, False) for k, n in zip(layers.sites["key"], layers.sites["name"], strict=True)
        ]
    return entries


def _draw_key(
    ax: Axes, column: Column, layers: MapLayers, *, sites: bool, size: float, draw: bool
) -> None:
    if len(layers.zones):
        column.text("Zones (boxed numbers)", size=size + 1, bold=True, gap=4, draw=draw)
    number_w = text_width("00", size, bold=True) + 5
    for number, name, boxed in _key_entries(layers, sites=sites):
        if not boxed and number == "1":
            column.text("Sites (numbers on the map)", size=size + 1, bold=True, gap=4, draw=draw)
        if draw:
            ax.text(
                number_w - 3,
                column.y,
                number,
                fontsize=size,
                va="top",
                ha="right",
                fontweight="bold" if boxed else "normal",
                color=INK,
                parse_math=False,
            )
        column.text(name, size=size, indent=number_w, draw=draw)


def _draw_panel(
    fig: Figure, rect_mm: Box, layers: MapLayers, *, districts: bool, size: float = 6.5
) -> bool:
    """The legend and numbered key at the right of the map; returns whether sites are numbered."""
    page_w, page_h = fig.get_figwidth() * 72, fig.get_figheight() * 72
    x0, y0, x1, y1 = (v * MM for v in rect_mm)
    ax = fig.add_axes((x0 / page_w, y0 / page_h, (x1 - x0) / page_w, (y1 - y0) / page_h))
    ax.set_xlim(0, x1 - x0)
    ax.set_ylim(0, y1 - y0)
    ax.set_axis_off()
    column = Column(ax, x1 - x0, y1 - y0)
    legend_rows(ax, column, layers, size=size, districts=districts)
    trial = Column(ax, x1 - x0, column.y)
    _draw_key(ax, trial, layers, sites=True, size=size, draw=False)
    number_sites_on_map = len(layers.sites) > 0 and trial.y >= 0
    _draw_key(ax, column, layers, sites=number_sites_on_map, size=size, draw=True)
    if len(layers.sites) and not number_sites_on_map:
        column.text(
            f"The {len(layers.sites):,} sites are shown by kind, not numbered, at this scale:"
            " narrow the selection (for example to one zone) to number them.",
            size=size - 0.5,
            colour=MUTED,
            gap=4,
        )
    return number_sites_on_map


# ---------------------------------------------------------------------------- the page


def context_credits(layers: MapLayers) -> str:
    """The credits of what a map draws besides the zones and sites: its background (council
    districts or admin units) and the town names."""
    parts = []
    if layers.districts:
        parts.append(f"Background: {DISTRICTS_CREDIT}.")
    elif layers.background is not None:
        parts.append(BACKGROUND_NOTE)
    if layers.towns is not None:
        parts.append(f"Town names: {PLACES_CREDIT.removeprefix('Place names: ')}.")
    return " ".join(parts)


def sources_line(date: str | None, *, extra: str = "", context: str = BACKGROUND_NOTE) -> str:
    """The sources and date text printed at the foot of every export; `context` credits the
    background and town names (context_credits)."""
    checked = vintage_line(date) + "."
    parts = [f"Sources: {ATTRIBUTION}.", extra, context, PRECISION_NOTE, CRS_NOTE, checked]
    return " ".join(p for p in parts if p)


def _map_figure(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    subtitle: str,
    background: gpd.GeoDataFrame | None,
    date: str | None,
    towns: bool,
) -> Figure:
    layers = to_layers(zones, sites, background, number=True, towns=towns)
    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=72)
    fig.patch.set_facecolor("white")
    page_w_mm = 297.0
    margin = 10.0
    text_w = (page_w_mm - 2 * margin) * MM
    page_h = fig.get_figheight() * 72
    y = page_h - margin * MM
    for line in wrap_text(title, text_w, 15, bold=True)[:2]:
        fig.text(
            margin * MM / (page_w_mm * MM),
            y / page_h,
            line,
            fontsize=15,
            fontweight="bold",
            va="top",
            color=INK,
            parse_math=False,
        )
        y -= 15 * 1.2
    y -= 2
    for line in wrap_text(subtitle, text_w, 8.5)[:2]:
        fig.text(
            margin / page_w_mm,
            y / page_h,
            line,
            fontsize=8.5,
            va="top",
            color=MUTED,
            parse_math=False,
        )
        y -= 8.5 * 1.3
    map_top_mm = y / MM - 3

    unlocated = int((sites.geometry.isna() | sites.geometry.is_empty).sum()) if len(sites) else 0
    extra = (
        f"{plural(unlocated, 'region-wide record')} without a location not drawn."
        if unlocated
        else ""
    )
    footer = wrap_text(
        sources_line(date, extra=extra, context=context_credits(layers)), text_w, 6.2
    )
    footer_top_mm = margin + len(footer) * 6.2 * 1.3 / MM
    fy = footer_top_mm * MM
    for line in footer:
        fig.text(
            margin / page_w_mm,
            fy / page_h,
            line,
            fontsize=6.2,
            va="top",
            color=MUTED,
            parse_math=False,
        )
        fy -= 6.2 * 1.3

    map_rect = (margin, footer_top_mm + 3, 205.0, map_top_mm)
    panel_rect = (211.0, footer_top_mm + 3, page_w_mm - margin, map_top_mm)
    outlined = district_outlines(layers, map_extent(layers, map_rect))
    numbered = _draw_panel(fig, panel_rect, layers, districts=outlined)
    draw_map(fig, map_rect, layers, label_zones=True, label_sites=numbered)
    return fig


@contextmanager
def rendering() -> Iterator[None]:
    """Build and save figures one at a time with the house settings (font, PDF text)."""
    with _RENDER_LOCK, matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        yield


def figure_bytes(figs: Sequence[Figure], fmt: str, *, dpi: int, title: str) -> bytes:
    """Serialise figures: one PNG (first figure), or a PDF with one page per figure."""
    buffer = BytesIO()
    with rendering():
        if fmt == "png":
            figs[0].savefig(
                buffer,
                format="png",
                dpi=dpi,
                metadata={"Title": title, "Software": "iszones (matplotlib)"},
            )
        elif fmt == "pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            metadata = {"Title": title, "Creator": "iszones (matplotlib)", "CreationDate": None}
            with PdfPages(buffer, metadata=metadata) as pdf:
                for fig in figs:
                    pdf.savefig(fig)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected 'png' or 'pdf'")
    return buffer.getvalue()


def check_dpi(dpi: int) -> None:
    """Raise IszonesError unless MIN_DPI <= dpi <= MAX_DPI."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise IszonesError(f"dpi {dpi!r} is out of range; choose {MIN_DPI}-{MAX_DPI} (e.g. 300).")


def static_map_png(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    subtitle: str,
    dpi: int = DEFAULT_DPI,
    background: gpd.GeoDataFrame | None = None,
    date: str | None = None,
    towns: bool = True,
) -> bytes:
    """An A4-landscape PNG of the zones and sites (2338 px wide at the default 200 dpi).

    Parameters
    ----------
    zones, sites : the selection (any CRS; sites joined or not). Sites without a location are
        counted in the footer, not drawn.
    title, subtitle : printed at the top; see selection_subtitle() for the filter summary.
    dpi : pixels per inch (72-600); the page is 11.69 in wide.
    background : council districts or admin units drawn as light grey land (e.g.
        Catalogue.admin_units); districts are also outlined over the zones on maps of a region.
    date : the data date for the footer (default: the latest `last_checked` of the inputs).
    towns : name the biggest towns in view (GeoNames, via iszones.inputs.places) where they fit.
    """
    check_dpi(dpi)
    return _map_bytes(zones, sites, "png", dpi, title, subtitle, background, date, towns)


def static_map_pdf(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    subtitle: str,
    background: gpd.GeoDataFrame | None = None,
    date: str | None = None,
    towns: bool = True,
) -> bytes:
    """The same map as one A4-landscape vector PDF page (text selectable, no raster images)."""
    return _map_bytes(zones, sites, "pdf", 72, title, subtitle, background, date, towns)


def _map_bytes(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    fmt: str,
    dpi: int,
    title: str,
    subtitle: str,
    background: gpd.GeoDataFrame | None,
    date: str | None,
    towns: bool,
) -> bytes:
    with rendering():
        fig = _map_figure(
            zones,
            sites,
            title=title,
            subtitle=subtitle,
            background=background,
            date=date or data_date(zones, sites),
            towns=towns,
        )
    return figure_bytes([fig], fmt, dpi=dpi, title=title)


def interactive_map_html(
    zones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    title: str,
    subtitle: str,
    background: gpd.GeoDataFrame | None = None,
    selected_zone_id: int | None = None,
    offline: bool = False,
    date: str | None = None,
) -> str:
    """The dashboard's interactive map (maps.build_map) as one HTML page that needs no server.

    offline=True inlines the map library from the installed packages (assets.standalone_html),
    so the page also works with no internet. No tiles: the background is the admin units, named
    with the towns.
    """
    # Imported here: folium is needed only for HTML, and maps/assets own the interactive map.
    from iszones.render.assets import standalone_html
    from iszones.render.webmap import build_map, simplify_for_web

    when = date or data_date(zones, sites)
    if len(zones):
        web_zones, web_background = simplify_for_web(zones, background)
    else:
        web_zones = zones
        web_background = simplify_for_web(background)[0] if background is not None else None
    fmap = build_map(
        web_zones,
        sites,
        selection_summary=subtitle,
        background=web_background,
        title=title,
        vintage=vintage_line(when) if when else None,
        selected_zone_id=selected_zone_id,
        places=uk_places(),  # towns named as the zoom allows, as on the dashboard
    )
    return standalone_html(fmap, offline=offline)


__all__ = [
    "A4_LANDSCAPE_IN",
    "DEFAULT_DPI",
    "data_date",
    "interactive_map_html",
    "selection_subtitle",
    "static_map_pdf",
    "static_map_png",
]
