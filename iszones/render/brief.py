"""The zone briefing sheet: one or two A4 pages (PDF bytes) about one Industrial Strategy Zone.

Pure: a Catalogue in, bytes out. Page 1 has the zone's map with its numbered sites, its
programme, sectors, funding lines, jobs and tax sites; then the sites inside it (from the
spatial join), how precise its footprint is, and its sources. Every page carries the date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from iszones.data.catalogue import Catalogue
from iszones.errors import IszonesError
from iszones.render.format import data_date, format_gbp, long_date, plural
from iszones.render.static import (
    A4_PORTRAIT_IN,
    CONTEXT_LINE,
    DISTRICT_LINE,
    INK,
    MARKER_SIZE,
    MM,
    MUTED,
    MapLayers,
    context_credits,
    district_outlines,
    draw_map,
    figure_bytes,
    rendering,
    text_width,
    to_layers,
    wrap_text,
    zone_swatch,
)
from iszones.render.style import ATTRIBUTION, SITE_KIND_STYLE
from iszones.schema import PROGRAMME_LABELS, SITE_KIND_LABELS

PAGE_W, PAGE_H = A4_PORTRAIT_IN[0] * 72, A4_PORTRAIT_IN[1] * 72
MARGIN = 15 * MM
FOOTER_H = 12 * MM
CONTENT_W = PAGE_W - 2 * MARGIN
BODY = 8.0
SMALL = 6.8
HEADING = 10.0

FUNDING_KIND_LABELS = {
    "public_funding": "public funding",
    "retained_rates": "retained business rates",
    "private_investment": "private investment",
    "investment_target": "investment target",
    "project_cost": "project cost",
}
PRECISION_TEXT = {
    "admin_area": (
        "admin area: the lead authority's councils, as LAD 2025 districts derived from"
        " postcode locations and simplified to 100 m; not official ONS boundaries, so a place"
        " within a few hundred metres of a council border can fall on the wrong side."
    ),
    "indicative": (
        "indicative: includes an outer boundary drawn around the zone's sourced tax sites,"
        " ports and customs sites; the statutory boundary is a different shape."
    ),
    "official": "official: taken from an official boundary file.",
}


@dataclass(frozen=True)
class Cell:
    """One cell of a table row: text, its left edge and width (points), and its style."""

    text: str
    x: float
    width: float
    size: float = SMALL
    bold: bool = False
    colour: str = INK
    url: str | None = None


class Flow:
    """Text flowing down A4 portrait pages; a new page starts when the current one is full."""

    def __init__(self) -> None:
        self.pages: list[Figure] = []
        self.y = 0.0
        self.new_page()

    @property
    def fig(self) -> Figure:
        return self.pages[-1]

    def new_page(self) -> None:
        fig = Figure(figsize=A4_PORTRAIT_IN, dpi=72)
        fig.patch.set_facecolor("white")
        self.pages.append(fig)
        self.y = PAGE_H - MARGIN

    def room(self) -> float:
        """Points left on the current page above the footer."""
        return self.y - (MARGIN + FOOTER_H)

    def need(self, height: float) -> None:
        if self.y - height < MARGIN + FOOTER_H:
            self.new_page()

    def _line(
        self, x: float, text: str, *, size: float, bold: bool, colour: str, url: str | None = None
    ) -> None:
        self.fig.text(
            (MARGIN + x) / PAGE_W,
            self.y / PAGE_H,
            text,
            fontsize=size,
            fontweight="bold" if bold else "normal",
            color=colour,
            va="top",
            ha="left",
            url=url,
            parse_math=False,
        )

    def paragraph(
        self,
        text: str,
        *,
        size: float = BODY,
        bold: bool = False,
        indent: float = 0,
        colour: str = INK,
        gap: float = 2.0,
        url: str | None = None,
    ) -> None:
        self.y -= gap
        for line in wrap_text(text, CONTENT_W - indent, size, bold=bold):
            self.need(size * 1.3)
            self._line(indent, line, size=size, bold=bold, colour=colour, url=url)
            self.y -= size * 1.3

    def heading(self, text: str, *, keep: float = 3 * BODY * 1.3) -> None:
        """A section heading, kept on the same page as the first lines after it."""
        self.y -= 7
        self.need(HEADING * 1.3 + keep)
        self._line(0, text, size=HEADING, bold=True, colour=INK)
        self.y -= HEADING * 1.35

    def row(self, cells: Sequence[Cell], *, gap: float = 1.6) -> None:
        wrapped = [wrap_text(c.text, c.width, c.size, bold=c.bold) for c in cells]
        height = max(len(lines) * c.size * 1.25 for lines, c in zip(wrapped, cells, strict=True))
        self.need(height + gap)
        top = self.y
        for lines, cell in zip(wrapped, cells, strict=True):
            self.y = top
            for line in lines:
                self._line(
                    cell.x, line, size=cell.size, bold=cell.bold, colour=cell.colour, url=cell.url
                )
                self.y -= cell.size * 1.25
        self.y = top - height - gap

    def rule(self) -> None:
        self.fig.add_artist(
            Line2D(
                [MARGIN / PAGE_W, (PAGE_W - MARGIN) / PAGE_W],
                [self.y / PAGE_H, self.y / PAGE_H],
                color="#bbbbbb",
                linewidth=0.5,
            )
        )
        self.y -= 2.5


def _zone_row(catalogue: Catalogue, zone_id: int) -> pd.Series:
    zones = catalogue.zones
    match = zones[zones["zone_id"] == zone_id]
    if not len(match):
        known = sorted(int(z) for z in zones["zone_id"])
        raise IszonesError(
            f"unknown zone {zone_id!r}; zones are numbered {known[0]}-{known[-1]}"
            " (see the zone list in the dashboard or data/boundaries/zones.geojson)."
        )
    return match.iloc[0]


def _sites_inside(sites: gpd.GeoDataFrame, zone_id: int) -> gpd.GeoDataFrame:
    return sites[sites["zone_ids"].apply(lambda ids: zone_id in list(ids))]


def _legend_strip(
    flow: Flow, layers: MapLayers, programme: str, *, context_shown: bool, districts: bool
) -> None:
    """One or two rows of legend items under the map: programme, other zones, council
    districts, site kinds."""
    items: list[tuple[str, str, dict[str, Any]]] = [("zone", PROGRAMME_LABELS[programme], {})]
    if context_shown:
        items.append(("context", "Other zones (outline)", {}))
    if districts:
        items.append(("district", "Council district (2025)", {}))
    counts = layers.sites["kind"].value_counts().to_dict() if len(layers.sites) else {}
    for kind, spec in SITE_KIND_STYLE.items():
        if counts.get(kind):
            items.append(("site", f"{SITE_KIND_LABELS[kind]} ({counts[kind]})", spec))
    fig = flow.fig
    x, y = 0.0, flow.y - 4
    for what, text, spec in items:
        width = 16 + text_width(text, SMALL) + 12
        if x + width > CONTENT_W:
            x, y = 0.0, y - SMALL * 1.8
        fx, fy = (MARGIN + x) / PAGE_W, (y - SMALL * 0.5) / PAGE_H
        if what == "zone":
            for patch in zone_swatch(
                programme,
                (fx, fy - 3.2 / PAGE_H),
                11 / PAGE_W,
                6.4 / PAGE_H,
                transform=fig.transFigure,
            ):
                fig.add_artist(patch)
        elif what == "context":
            fig.add_artist(Line2D([fx, fx + 11 / PAGE_W], [fy, fy], **CONTEXT_LINE))
        elif what == "district":
            line = {"color": DISTRICT_LINE["edgecolor"], "linewidth": 0.6}
            fig.add_artist(Line2D([fx, fx + 11 / PAGE_W], [fy, fy], **line))
        else:
            fig.add_artist(
                Line2D(
                    [fx + 5.5 / PAGE_W],
                    [fy],
                    marker=spec["marker"],
                    markersize=MARKER_SIZE,
                    color=spec["colour"],
                    markerfacecolor=spec["colour"],
                    markeredgecolor="white" if spec["marker"] != "x" else spec["colour"],
                    markeredgewidth=0.5 if spec["marker"] != "x" else 1.0,
                    linestyle="none",
                )
            )
        fig.text(
            (MARGIN + x + 16) / PAGE_W,
            y / PAGE_H,
            text,
            fontsize=SMALL,
            va="top",
            color=INK,
            parse_math=False,
        )
        x += width
    flow.y = y - SMALL * 1.6


def _header(flow: Flow, zone: pd.Series) -> None:
    flow.paragraph(
        f"Industrial Strategy Zone briefing · zone {zone['zone_id']}",
        size=SMALL,
        colour=MUTED,
        gap=0,
    )
    flow.paragraph(str(zone["name"]), size=16, bold=True, gap=3)
    facts = [PROGRAMME_LABELS[zone["programme"]], str(zone["nation"]), str(zone["status"])]
    relief = zone.get("tax_relief_until")
    if isinstance(relief, str) and relief:
        facts.append(f"tax reliefs available until {long_date(relief)}")
    flow.paragraph(" · ".join(facts), size=9, gap=3)
    flow.paragraph(f"Lead body: {zone['lead_body']}", size=BODY, colour=MUTED, gap=1.5)


def _map(flow: Flow, catalogue: Catalogue, zone: pd.Series, inside: gpd.GeoDataFrame) -> MapLayers:
    zone_frame = catalogue.zones[catalogue.zones["zone_id"] == zone["zone_id"]]
    others = catalogue.zones[catalogue.zones["zone_id"] != zone["zone_id"]]
    layers = to_layers(
        zone_frame, inside, catalogue.admin_units, number=True, context_zones=others, towns=True
    )
    top = flow.y - 5
    height = 102 * MM
    rect = (MARGIN / MM, (top - height) / MM, (PAGE_W - MARGIN) / MM, top / MM)
    ax = draw_map(
        flow.fig,
        rect,
        layers,
        label_zones=False,
        label_sites=True,
        empty_note="No bundled sites lie inside this zone.",
    )
    flow.y = top - height
    view = shapely.box(ax.get_xlim()[0], ax.get_ylim()[0], ax.get_xlim()[1], ax.get_ylim()[1])
    context = layers.context_zones
    shown = context is not None and bool(context.intersects(view).any())
    extent = (ax.get_xlim()[0], ax.get_ylim()[0], ax.get_xlim()[1], ax.get_ylim()[1])
    _legend_strip(
        flow,
        layers,
        str(zone["programme"]),
        context_shown=shown,
        districts=district_outlines(layers, extent),
    )
    return layers


def _sectors(flow: Flow, zone: pd.Series) -> None:
    flow.heading("Sectors")
    sectors = list(zone["sectors"]) or ["None named in the sources used here"]
    flow.paragraph("; ".join(sectors) + ".")
    for qualifier in zone["sector_qualifiers"] or []:
        flow.paragraph(
            f"The sources qualify this as: {qualifier['label']}"
            f" ({', '.join(qualifier['sectors'])}).",
            size=SMALL,
            colour=MUTED,
        )


def _funding(flow: Flow, zone: pd.Series) -> None:
    flow.heading("Funding")
    lines = list(zone["funding"] or [])
    if not lines:
        flow.paragraph("No funding lines in the sources used here.")
        return
    cols = (0.0, 62.0, 322.0, 375.0)
    widths = (56.0, 252.0, 48.0, CONTENT_W - 375.0)
    flow.row(
        [
            Cell(t, x, w, bold=True, colour=MUTED)
            for t, x, w in zip(("Amount", "What", "Period", "Source"), cols, widths, strict=True)
        ]
    )
    for line in lines:
        kind = FUNDING_KIND_LABELS.get(line["kind"], line["kind"])
        flow.row(
            [
                Cell(format_gbp(line.get("amount_gbp")), cols[0], widths[0], size=BODY, bold=True),
                Cell(f"{kind[0].upper()}{kind[1:]}: {line['what']}", cols[1], widths[1]),
                Cell(line.get("period") or "—", cols[2], widths[2]),
                Cell(line["source"], cols[3], widths[3], colour=MUTED),
            ]
        )


def _jobs(flow: Flow, zone: pd.Series) -> None:
    jobs = zone.get("jobs")
    if not isinstance(jobs, list) or not jobs:
        return
    flow.heading("Jobs")
    for line in jobs:
        flow.paragraph(f"{line['number']:,} {line['meaning']}. Source: {line['source']}.")


def _tax_sites(
    flow: Flow, zone: pd.Series, numbered: gpd.GeoDataFrame, outside: gpd.GeoDataFrame
) -> None:
    flow.heading("Tax sites")
    mapped = numbered[numbered["kind"] == "tax_site"]
    listed = [str(n) for n in (zone["tax_sites"] or [])]
    if len(mapped):
        for designation, group in mapped.groupby(
            mapped["designation"].fillna("Tax site (designation not recorded)"), sort=True
        ):
            names = "; ".join(f"{row.name} [{row.key}]" for row in group.itertuples())
            flow.paragraph(f"{designation}: {plural(len(group), 'site')}", bold=True, size=BODY)
            flow.paragraph(names + ".", indent=10, gap=0.5)
        flow.paragraph("[n] = number on the map.", size=SMALL, colour=MUTED)
    outside_tax = outside[outside["kind"] == "tax_site"]
    for row in outside_tax.itertuples():
        flow.paragraph(
            f"{row.name} ({row.designation or 'tax site'}) is designated to this zone but lies"
            " outside the indicative footprint.",
            size=SMALL,
        )
    if listed and len(listed) != len(mapped) + len(outside_tax):
        flow.paragraph(
            f"The zone record names {plural(len(listed), 'tax site')}: " + "; ".join(listed) + ".",
            size=SMALL if len(mapped) else BODY,
            colour=MUTED if len(mapped) else INK,
        )
    if not listed and not len(mapped):
        flow.paragraph("No tax sites are named in the sources used here.")


def _sites_table(flow: Flow, numbered: gpd.GeoDataFrame, unlocated: gpd.GeoDataFrame) -> None:
    # Keep the heading, the note, the column names and the first rows together.
    flow.heading(f"Sites inside the zone ({len(numbered) + len(unlocated)})", keep=8 * SMALL * 1.3)
    if not len(numbered) and not len(unlocated):
        flow.paragraph("No sites in the bundled data lie inside this zone's footprint.")
        return
    flow.paragraph(
        "From the spatial join of each site's location with the zone footprint (a site on the"
        " boundary counts as inside). ± is how precisely the site's location is known. Council"
        " areas come from generalised county outlines, so a site near a county border may show"
        " its neighbour (*).",
        size=SMALL,
        colour=MUTED,
        gap=0,
    )
    # Each width stops 4-6 pt short of the next column, so neighbouring cells never touch.
    cols = (0.0, 14.0, 210.0, 277.0, 343.0, 374.0)
    widths = (12.0, 190.0, 62.0, 62.0, 26.0, CONTENT_W - 374.0)
    flow.y -= 2
    flow.row(
        [
            Cell(t, x, w, bold=True, colour=MUTED)
            for t, x, w in zip(
                ("#", "Site", "Kind", "Council area*", "±", "Designation"),
                cols,
                widths,
                strict=True,
            )
        ]
    )
    flow.rule()
    for row in numbered.itertuples():
        precision = row.location_precision_m
        plus_minus = "—" if pd.isna(precision) else _metres(float(precision))
        flow.row(
            [
                Cell(str(row.key), cols[0], widths[0], bold=True),
                Cell(str(row.name), cols[1], widths[1]),
                Cell(SITE_KIND_LABELS.get(row.kind, row.kind), cols[2], widths[2]),
                Cell(str(row.local_authority or "—"), cols[3], widths[3]),
                Cell(plus_minus, cols[4], widths[4]),
                Cell(
                    str(row.designation) if isinstance(row.designation, str) else "—",
                    cols[5],
                    widths[5],
                    colour=MUTED,
                ),
            ]
        )
    for row in unlocated.itertuples():
        flow.row(
            [
                Cell("–", cols[0], widths[0]),
                Cell(str(row.name), cols[1], widths[1]),
                Cell(SITE_KIND_LABELS.get(row.kind, row.kind), cols[2], widths[2]),
                Cell("no location (region-wide)", cols[3], CONTENT_W - cols[3]),
            ]
        )


def _metres(value: float) -> str:
    return f"{value / 1000:g} km" if value >= 1000 else f"{value:g} m"


def _geometry(flow: Flow, zone: pd.Series, outside: gpd.GeoDataFrame) -> None:
    flow.heading("How precise the footprint is")
    precision = str(zone["geometry_precision"])
    flow.paragraph("Geometry precision: " + PRECISION_TEXT.get(precision, precision))
    flow.paragraph(f"How it was drawn: {zone['geometry_method']}", size=SMALL, colour=MUTED)
    others = outside[outside["kind"] != "tax_site"]
    for row in others.itertuples():
        flow.paragraph(
            f"{row.name} is designated to this zone but lies outside the footprint.", size=SMALL
        )


def _sources(flow: Flow, zone: pd.Series, inside: gpd.GeoDataFrame) -> None:
    flow.heading("Sources")
    for number, source in enumerate(zone["sources"], start=1):
        parts = [str(source["document"])]
        if source.get("section"):
            parts.append(str(source["section"]))
        parts.append(long_date(source.get("date")) if source.get("date") else "undated")
        text = f"{number}. " + ", ".join(parts) + "."
        url = source.get("url")
        flow.paragraph(text, size=SMALL, gap=1.2)
        if url:
            flow.paragraph(
                str(url), size=SMALL - 0.5, colour="#1f4e99", indent=10, gap=0, url=str(url)
            )
    documents: list[str] = []
    for sources in inside["sources"]:
        for source in sources:
            if source["document"] not in documents:
                documents.append(str(source["document"]))
    if documents:
        listing = (
            f"The sites' own sources ({len(documents)} documents; each site's are in"
            " data/sites.geojson): " + "; ".join(documents) + "."
        )
        pointer = (
            f"The sites' own sources ({len(documents)} documents) are listed per site in"
            " data/sites.geojson and on the dashboard's site cards."
        )
        # Keep the sheet to two pages: list the documents only where they fit.
        height = len(wrap_text(listing, CONTENT_W, 6.0)) * 6.0 * 1.3 + 4 + 4 * 6.0 * 1.3
        fits = flow.room() >= height
        flow.paragraph(listing if fits else pointer, size=6.0, colour=MUTED, gap=4)


def _footers(flow: Flow, zone: pd.Series, date: str | None, layers: MapLayers) -> None:
    """Zone, date and page number on every page, over the map data's sources and caveats."""
    total = len(flow.pages)
    notes = wrap_text(
        f"Map data: {ATTRIBUTION}. Zone footprints are indicative, not statutory boundaries."
        f" {context_credits(layers)} British National Grid (EPSG:27700).",
        CONTENT_W,
        5.8,
    )
    for number, fig in enumerate(flow.pages, start=1):
        y = MARGIN + len(notes) * 5.8 * 1.3 + 2
        fig.text(
            MARGIN / PAGE_W,
            y / PAGE_H,
            f"{zone['name']} (zone {zone['zone_id']}) · data last checked {long_date(date)}"
            f" · iszones zone briefing · page {number} of {total}",
            fontsize=6.5,
            color=INK,
            va="bottom",
            ha="left",
            parse_math=False,
        )
        for line in notes:
            y -= 5.8 * 1.3
            fig.text(
                MARGIN / PAGE_W,
                y / PAGE_H,
                line,
                fontsize=5.8,
                color=MUTED,
                va="bottom",
                ha="left",
                parse_math=False,
            )


def zone_brief_pages(catalogue: Catalogue, zone_id: int) -> list[Figure]:
    """The briefing sheet's pages as matplotlib figures (A4 portrait, 72 dpi)."""
    zone = _zone_row(catalogue, zone_id)
    inside = _sites_inside(catalogue.sites, zone_id)
    flow = Flow()
    _header(flow, zone)
    layers = _map(flow, catalogue, zone, inside)
    numbered = layers.sites  # located sites inside, in EPSG:27700, with their map numbers
    located_ids = set(numbered["site_id"])
    unlocated = inside[~inside["site_id"].isin(located_ids)]
    designated = catalogue.sites[catalogue.sites["designated_zone_id"] == zone_id]
    outside = designated[~designated["site_id"].isin(set(inside["site_id"]))]
    _sectors(flow, zone)
    _funding(flow, zone)
    _jobs(flow, zone)
    _tax_sites(flow, zone, numbered, outside)
    _sites_table(flow, numbered, unlocated)
    _geometry(flow, zone, outside)
    _sources(flow, zone, inside)
    zone_frame = catalogue.zones[catalogue.zones["zone_id"] == zone_id]
    _footers(flow, zone, data_date(zone_frame, inside), layers)
    return flow.pages


def zone_brief_pdf(catalogue: Catalogue, zone_id: int) -> bytes:
    """The zone briefing sheet as PDF bytes (A4 portrait, vector, 1-2 pages for bundled zones).

    Raises IszonesError for an unknown zone.
    """
    with rendering():
        pages = zone_brief_pages(catalogue, zone_id)
    name = str(_zone_row(catalogue, zone_id)["name"])
    return figure_bytes(pages, "pdf", dpi=72, title=f"Zone briefing: {name}")
