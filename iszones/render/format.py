"""The one formatter: money, dates, counts and selection wording, as every output prints them.

The dashboard, its cards and map, the CSV listings, the static maps and the briefing sheet all
call these, so the same amount, date or selection reads the same everywhere. Cheap to import
(standard library only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from iszones.data.selection import Selection
from iszones.schema import PROGRAMME_LABELS, SITE_KIND_LABELS

NOT_PUBLISHED = "not published"
DATE_UNKNOWN = "date unknown"
_UNITS = ((1e9, "bn"), (1e6, "m"), (1e3, "k"))


# ---------------------------------------------------------------- money


def format_gbp(amount: float | None) -> str:
    """Pounds as briefings write them, to three significant figures: £950, £500k, £23m,
    £1.25bn; None (or NaN) as 'not published'."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return NOT_PUBLISHED
    if amount < 1000:
        return f"£{amount:,.0f}"
    rounded = float(f"{amount:.3g}")  # round first, so £999,950 is £1m, not £1000k
    for size, suffix in _UNITS:
        if rounded >= size:
            value = rounded / size
            text = f"{value:.3g}" if value < 1000 else f"{value:,.0f}"
            return f"£{text}{suffix}"
    return f"£{amount:,.0f}"  # unreachable: amounts of 1,000 or more have a unit


# ---------------------------------------------------------------- dates


def long_date(value: str | None) -> str:
    """'2025-06-23' as '23 June 2025'; other text as it is; None or '' as 'date unknown'."""
    if not value:
        return DATE_UNKNOWN
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{parsed.day} {parsed.strftime('%B %Y')}"


def data_date(*frames: Any) -> str | None:
    """The latest `last_checked` date (ISO text) among the frames' rows; None when none has one."""
    dates = [
        str(v)
        for frame in frames
        if "last_checked" in frame.columns
        for v in frame["last_checked"].dropna()
        if v
    ]
    return max(dates) if dates else None


def vintage_line(date: str | None) -> str:
    """The data date as every output states it: 'Data last checked 30 November 2026'."""
    return f"Data last checked {long_date(date)}" if date else "Data date unknown"


# ---------------------------------------------------------------- counts and selections


def format_share(share: float) -> str:
    """A share (0-1) as a whole percentage, never rounded to 0% or 100% when it is not."""
    if 0 < share < 0.01:
        return "under 1%"
    if 0.99 < share < 1:
        return "over 99%"
    return f"{share:.0%}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """'1 site', '3 sites', '1,200 sites' (`words` for an irregular plural)."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def count_line(zones_kept: int, zones_all: int, sites_kept: int, sites_all: int) -> str:
    """The count line above maps and tables: '12 of 41 sites in 4 of 22 zones'."""
    return f"{sites_kept:,} of {sites_all:,} sites in {zones_kept:,} of {zones_all:,} zones"


def _either(items: Iterable[str]) -> str:
    return " or ".join(items)


def describe_selection(selection: Selection, zone_names: Mapping[int, str] | None = None) -> str:
    """The filters of a selection in words, e.g. 'sectors Defence or Life Sciences; nation
    Wales' ('' if none); a zone by its name when `zone_names` (zone_id -> name) has it."""
    parts = []
    if selection.sectors:
        word = "sector " if len(selection.sectors) == 1 else "sectors "
        parts.append(word + _either(selection.sectors))
    if selection.programme:
        parts.append(f"programme {PROGRAMME_LABELS.get(selection.programme, selection.programme)}")
    if selection.nation:
        parts.append(f"nation {selection.nation}")
    if selection.zone_id is not None:
        name = (zone_names or {}).get(selection.zone_id)
        parts.append(name if name else f"zone {selection.zone_id}")
    if selection.kinds:
        parts.append("site kind " + _either(SITE_KIND_LABELS.get(k, k) for k in selection.kinds))
    if selection.query:
        parts.append(f"text “{selection.query}”")
    if selection.min_funding_gbp:
        parts.append(f"funding at least {format_gbp(selection.min_funding_gbp)}")
    return "; ".join(parts)


def selection_subtitle(
    selection: Selection,
    *,
    zones_kept: int,
    zones_all: int,
    sites_kept: int,
    sites_all: int,
    zone_names: Mapping[int, str] | None = None,
) -> str:
    """A map's subtitle: the filters in words (zones by name, from `zone_names`), then the
    count line."""
    filters = describe_selection(selection, zone_names)
    counts = count_line(zones_kept, zones_all, sites_kept, sites_all)
    return f"Filters: {filters} · {counts}" if filters else f"All zones and sites · {counts}"
