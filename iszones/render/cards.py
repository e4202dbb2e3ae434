"""The cards and popups of zones and sites: escaped HTML for the map's popups and the
dashboard's card beside the map.

Every value passes `render.safe.esc`; links keep only http(s) addresses; money and dates are
worded by `render.format`, as everywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from iszones.render.format import format_gbp, long_date
from iszones.render.safe import esc
from iszones.schema import PROGRAMME_LABELS, SITE_KIND_LABELS


def _link(url: Any, text: str) -> str:
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return f'<a href="{esc(url)}" target="_blank" rel="noreferrer">{text}</a>'
    return text


def _listing(items: Iterable[str]) -> str:
    rows = [f"<li>{item}</li>" for item in items]
    return f"<ul>{''.join(rows)}</ul>" if rows else "<p>none recorded</p>"


def _sources_html(sources: Sequence[Mapping[str, Any]]) -> str:
    items = []
    for source in sources or ():
        bits = [esc(source.get("document"))]
        if source.get("section"):
            bits.append(esc(source["section"]))
        if source.get("date"):
            bits.append(esc(source["date"]))
        items.append(_link(source.get("url"), ", ".join(bits)))
    return _listing(items)


def _funding_html(funding: Sequence[Mapping[str, Any]]) -> str:
    items = []
    for line in funding or ():
        what = esc(line.get("what"))
        kind = esc(str(line.get("kind", "")).replace("_", " "))
        period = f"; {esc(line['period'])}" if line.get("period") else ""
        source = f' <span class="isz-small">({esc(line.get("source"))})</span>'
        items.append(
            f"<b>{esc(format_gbp(line.get('amount_gbp')))}</b> {what} ({kind}{period}){source}"
        )
    return _listing(items)


def _jobs_html(jobs: Sequence[Mapping[str, Any]] | None) -> str:
    items = [
        f"<b>{int(job['number']):,}</b> {esc(job.get('meaning'))}"
        f' <span class="isz-small">({esc(job.get("source"))})</span>'
        for job in jobs or ()
    ]
    return _listing(items)


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with pandas' missing markers (NaN, NA, NaT) as None."""
    return {k: (None if pd.api.types.is_scalar(v) and pd.isna(v) else v) for k, v in record.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return list(value)


def site_card_html(site: Mapping[str, Any]) -> str:
    """A site's card (escaped HTML): kind, zones from the join, sectors, funding, jobs, sources."""
    site = _clean(site)
    kind = SITE_KIND_LABELS.get(site.get("kind", ""), str(site.get("kind", "")))
    zones = _as_list(site.get("zone_names"))
    zone_text = "; ".join(esc(z) for z in zones) if zones else "outside every zone"
    place = ", ".join(esc(p) for p in (site.get("local_authority"), site.get("nation")) if p)
    precision = esc(site.get("location_precision"))
    if site.get("location_precision_m") is not None:
        precision += f" (±{int(site['location_precision_m']):,} m)"
    geometry = site.get("geometry")
    unmapped = geometry is None or getattr(geometry, "is_empty", False)
    if unmapped and "no single location" not in precision:
        precision = "no single location, so not on the map; " + precision
    parts = [
        f"<h3>{esc(site.get('name'))}</h3>",
        f"<p><b>{esc(kind)}</b>"
        + (f" · {esc(site['designation'])}" if site.get("designation") else "")
        + ("" if not site.get("d2n2_asset") else " · D2N2 asset")
        + "</p>",
        f"<p><b>Zone:</b> {zone_text}</p>",
        (
            f"<p><b>Council:</b> {place}"
            ' <small title="LAD 2025 districts derived from postcode locations, not official'
            " ONS boundaries: a site within a few hundred metres of a border can be given its"
            ' neighbour.">(2025 district, from postcodes)</small></p>'
        )
        if place
        else "",
        f"<p>{esc(site.get('description'))}</p>" if site.get("description") else "",
        "<h4>Sectors</h4>",
        _listing(esc(s) for s in _as_list(site.get("sectors"))),
        "<h4>Funding</h4>",
        _funding_html(_as_list(site.get("funding"))),
        "<h4>Jobs</h4>",
        _jobs_html(_as_list(site.get("jobs"))),
        "<h4>Location precision</h4>",
        f"<p>{precision}</p>",
        "<h4>Sources</h4>",
        _sources_html(_as_list(site.get("sources"))),
        f'<p class="isz-small">Last checked {esc(long_date(site.get("last_checked")))}</p>',
    ]
    return f'<div class="isz-card">{"".join(parts)}</div>'


def zone_card_html(zone: Mapping[str, Any]) -> str:
    """A zone's card (escaped HTML): programme, sectors, funding, jobs, tax sites, boundary."""
    zone = _clean(zone)
    programme = PROGRAMME_LABELS.get(zone.get("programme", ""), str(zone.get("programme")))
    qualifiers = [
        f"{esc(q.get('label'))} ({esc(', '.join(q.get('sectors', [])))})"
        for q in _as_list(zone.get("sector_qualifiers"))
    ]
    sectors = [esc(s) for s in _as_list(zone.get("sectors"))] + qualifiers
    relief = (
        f"<p><b>Tax reliefs until:</b> {esc(long_date(zone['tax_relief_until']))}</p>"
        if zone.get("tax_relief_until")
        else ""
    )
    area = zone.get("area_km2")
    area_text = f", {float(area):,.0f} km²" if area is not None else ""
    parts = [
        f"<h3>{esc(zone.get('name'))}</h3>",
        f"<p><b>{esc(programme)}</b> · {esc(zone.get('nation'))} · {esc(zone.get('status'))}</p>",
        f"<p><b>Lead body:</b> {esc(zone.get('lead_body'))}</p>",
        relief,
        "<h4>Sectors</h4>",
        _listing(sectors),
        "<h4>Funding</h4>",
        _funding_html(_as_list(zone.get("funding"))),
        "<h4>Jobs</h4>",
        _jobs_html(_as_list(zone.get("jobs"))),
        "<h4>Tax sites</h4>",
        _listing(esc(t) for t in _as_list(zone.get("tax_sites"))),
        "<h4>Boundary</h4>",
        f"<p><b>{esc(zone.get('geometry_precision'))}</b>{esc(area_text)}: "
        f"{esc(zone.get('geometry_method'))}</p>",
        "<h4>Sources</h4>",
        _sources_html(_as_list(zone.get("sources"))),
        f'<p class="isz-small">Zone {esc(zone.get("zone_id"))} · last checked'
        f" {esc(long_date(zone.get('last_checked')))}</p>",
    ]
    return f'<div class="isz-card">{"".join(parts)}</div>'


def _popup(title: Any, line: str) -> str:
    return (
        f'<div class="isz-card isz-pop"><h3>{esc(title)}</h3><p>{line}</p>'
        '<p class="isz-small">Full card beside the map (below it on a phone).</p></div>'
    )


def site_popup_html(site: Mapping[str, Any]) -> str:
    """A site's short popup (escaped HTML): name, kind and zone; the full card is beside the map."""
    site = _clean(site)
    kind = SITE_KIND_LABELS.get(site.get("kind", ""), str(site.get("kind", "")))
    zones = _as_list(site.get("zone_names"))
    zone_text = "; ".join(esc(z) for z in zones) if zones else "outside every zone"
    return _popup(site.get("name"), f"<b>{esc(kind)}</b> · {zone_text}")


def zone_popup_html(zone: Mapping[str, Any]) -> str:
    """A zone's short popup (escaped HTML): name, programme, nation and status."""
    zone = _clean(zone)
    programme = PROGRAMME_LABELS.get(zone.get("programme", ""), str(zone.get("programme")))
    return _popup(
        zone.get("name"),
        f"<b>{esc(programme)}</b> · {esc(zone.get('nation'))} · {esc(zone.get('status'))}",
    )
