"""One selection of zones and sites, shared by the dashboard, the CLI and the exports.

Rules: sector, programme, nation and zone narrow the zones. Sites are narrowed by sector,
nation (of the admin unit they lie in), kind, free text and minimum funding, and, when a
programme or zone is chosen, to the sites inside the zones left. `programme="freeport"`
includes zones that are both a Freeport and an Investment Zone; so does
`programme="investment_zone"`; `programme="both"` means only those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from iszones.errors import IszonesError
from iszones.schema import (
    NATIONS,
    PROGRAMME_LABELS,
    PROGRAMMES,
    SECTORS,
    SITE_KIND_LABELS,
    SITE_KINDS,
)


@dataclass(frozen=True)
class Selection:
    """What the user chose; empty means no filter."""

    sectors: tuple[str, ...] = ()
    programme: str | None = None
    nation: str | None = None
    zone_id: int | None = None
    kinds: tuple[str, ...] = ()
    query: str = ""
    min_funding_gbp: float | None = None

    def is_empty(self) -> bool:
        return self == Selection()


def check_selection(selection: Selection, zone_ids: Iterable[int]) -> None:
    """Raise IszonesError naming any unknown sector, programme, nation, kind or zone."""
    known_zones = set(zone_ids)
    problems = []
    for sector in selection.sectors:
        if sector not in SECTORS:
            problems.append(f"unknown sector {sector!r} (choose from: {', '.join(SECTORS)})")
    if selection.programme and selection.programme not in PROGRAMMES:
        problems.append(
            f"unknown programme {selection.programme!r} (choose from: {', '.join(PROGRAMMES)})"
        )
    if selection.nation and selection.nation not in NATIONS:
        problems.append(f"unknown nation {selection.nation!r} (choose from: {', '.join(NATIONS)})")
    for kind in selection.kinds:
        if kind not in SITE_KINDS:
            problems.append(f"unknown site kind {kind!r} (choose from: {', '.join(SITE_KINDS)})")
    if selection.zone_id is not None and selection.zone_id not in known_zones:
        problems.append(
            f"unknown zone {selection.zone_id!r} (zones are numbered 1-{max(known_zones)})"
        )
    if selection.min_funding_gbp is not None and selection.min_funding_gbp < 0:
        problems.append("minimum funding must be 0 or more")
    if problems:
        raise IszonesError("; ".join(problems) + ".")


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


def match_choice(
    value: str, choices: Iterable[str], labels: Mapping[str, str] | None = None
) -> str:
    """The choice `value` names (by code or label; any case, '-', '_' or spaces); else `value`."""
    wanted = _key(value)
    for choice in choices:
        if wanted in (_key(choice), _key((labels or {}).get(choice, choice))):
            return choice
    return value


def parse_selection(
    *,
    sectors: Iterable[str] = (),
    programme: str | None = None,
    nation: str | None = None,
    zone: str | int | None = None,
    kinds: Iterable[str] = (),
    query: str = "",
    min_funding_gbp: float | None = None,
    zone_ids: Iterable[int],
) -> Selection:
    """A Selection from loosely spelt user values (CLI options); IszonesError names bad ones."""
    zone_id = None
    if zone is not None and str(zone).strip():
        try:
            zone_id = int(str(zone).strip())
        except ValueError:
            raise IszonesError(
                f"zone must be a zone number such as 22, not {zone!r} (`iszones zones` lists them)."
            ) from None
    selection = Selection(
        sectors=tuple(match_choice(s, SECTORS) for s in sectors),
        programme=match_choice(programme, PROGRAMMES, PROGRAMME_LABELS) if programme else None,
        nation=match_choice(nation, NATIONS) if nation else None,
        zone_id=zone_id,
        kinds=tuple(match_choice(k, SITE_KINDS, SITE_KIND_LABELS) for k in kinds),
        query=query,
        min_funding_gbp=min_funding_gbp,
    )
    check_selection(selection, zone_ids)
    return selection


def _any_in(values: Sequence[Any], wanted: Sequence[str]) -> bool:
    return any(v in wanted for v in values)


def largest_amount(funding: Sequence[dict[str, Any]]) -> float | None:
    """The largest known amount among funding lines (None when no line has an amount)."""
    amounts = [line["amount_gbp"] for line in funding if line.get("amount_gbp") is not None]
    return max(amounts) if amounts else None


def _text_match(frame: pd.DataFrame, columns: Sequence[str], query: str) -> pd.Series:
    needle = query.casefold().strip()
    hay = frame[list(columns)].fillna("").astype(str).agg(" ".join, axis=1).str.casefold()
    return hay.str.contains(needle, regex=False)


def _zone_mask(zones: gpd.GeoDataFrame, s: Selection) -> pd.Series:
    mask = pd.Series(True, index=zones.index)
    if s.sectors:
        mask &= zones["sectors"].apply(lambda v: _any_in(v, s.sectors))
    if s.programme == "both":
        mask &= zones["programme"] == "both"
    elif s.programme:
        mask &= zones["programme"].isin([s.programme, "both"])
    if s.nation:
        mask &= zones["nation"] == s.nation
    if s.zone_id is not None:
        mask &= zones["zone_id"] == s.zone_id
    if s.min_funding_gbp:
        mask &= zones["funding"].apply(lambda f: (largest_amount(f) or 0) >= s.min_funding_gbp)
    return mask


def _site_mask(sites: gpd.GeoDataFrame, s: Selection, zone_ids: set[int]) -> pd.Series:
    mask = pd.Series(True, index=sites.index)
    if s.sectors:
        mask &= sites["sectors"].apply(lambda v: _any_in(v, s.sectors))
    if s.nation:
        mask &= sites["nation"] == s.nation
    if s.kinds:
        mask &= sites["kind"].isin(s.kinds)
    if s.query:
        mask &= _text_match(sites, ["name", "description", "designation"], s.query)
    if s.min_funding_gbp:
        mask &= sites["funding"].apply(lambda f: (largest_amount(f) or 0) >= s.min_funding_gbp)
    if s.programme or s.zone_id is not None:
        mask &= sites["zone_ids"].apply(lambda ids: bool(set(ids) & zone_ids))
    return mask


def apply_selection(
    zones: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, selection: Selection
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The zones and sites (sites already joined: zone_ids, nation) that the selection keeps."""
    kept_zones = zones[_zone_mask(zones, selection)]
    kept_sites = sites[_site_mask(sites, selection, set(kept_zones["zone_id"]))]
    if selection.query:
        by_name = _text_match(kept_zones, ["name", "lead_body"], selection.query)
        with_sites = kept_zones["zone_id"].apply(
            lambda z: any(z in ids for ids in kept_sites["zone_ids"])
        )
        kept_zones = kept_zones[by_name | with_sites]
    return kept_zones, kept_sites
