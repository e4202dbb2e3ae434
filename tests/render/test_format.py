"""The one formatter: money, dates, counts and selection wording, and that every output (the
dashboard's card, the map's card, the briefing PDF, the static map) prints them the same."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from io import BytesIO

import pandas as pd
import pytest
from pypdf import PdfReader

from iszones.data.selection import Selection
from iszones.render import cards, webmap
from iszones.render.format import (
    count_line,
    data_date,
    describe_selection,
    format_gbp,
    format_share,
    long_date,
    plural,
    selection_subtitle,
    vintage_line,
)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "£0"),
        (950, "£950"),
        (999.4, "£999"),
        (1_000, "£1k"),
        (12_345, "£12.3k"),
        (500_000, "£500k"),
        (750_000, "£750k"),
        (999_950, "£1m"),  # rounded before the unit is chosen: never "£1000k"
        (1_500_000, "£1.5m"),
        (5_800_000, "£5.8m"),
        (23_000_000, "£23m"),
        (25_000_000, "£25m"),
        (160e6, "£160m"),
        (383_000_000, "£383m"),
        (1_200_000_000, "£1.2bn"),
        (1_250_000_000, "£1.25bn"),
        (2_300_000_000, "£2.3bn"),
        (1_234_000_000_000, "£1,230bn"),
        (None, "not published"),
        (float("nan"), "not published"),
    ],
)
def test_format_gbp(amount, text):
    assert format_gbp(amount) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2025-06-23", "23 June 2025"),
        ("2026-11-21", "21 November 2026"),
        ("2031-09-30T00:00:00", "30 September 2031"),
        ("spring 2026", "spring 2026"),
        (None, "date unknown"),
        ("", "date unknown"),
    ],
)
def test_long_date(value, text):
    assert long_date(value) == text


def test_data_date_and_vintage_line():
    frames = (
        pd.DataFrame({"last_checked": ["2025-06-23", None, "2026-11-30"]}),
        pd.DataFrame({"other": [1]}),
    )
    assert data_date(*frames) == "2026-11-30"
    assert data_date(frames[1]) is None
    assert vintage_line("2026-11-30") == "Data last checked 30 November 2026"
    assert vintage_line(None) == "Data date unknown"


def test_counts():
    assert count_line(4, 22, 12, 41) == "12 of 41 sites in 4 of 22 zones"
    assert count_line(1, 22, 1_200, 1_500) == "1,200 of 1,500 sites in 1 of 22 zones"
    assert [plural(n, "site") for n in (0, 1, 2)] == ["0 sites", "1 site", "2 sites"]


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.0, "0%"), (0.004, "under 1%"), (0.355, "36%"), (0.995, "over 99%"), (1.0, "100%")],
)
def test_format_share_never_rounds_to_none_or_all(share, text):
    assert format_share(share) == text


def test_selection_wording_names_zones_and_money_by_the_same_rules():
    selection = Selection(sectors=("Defence", "Life Sciences"), zone_id=22, min_funding_gbp=5e5)
    words = describe_selection(selection, {22: "East Midlands"})
    assert words == "sectors Defence or Life Sciences; East Midlands; funding at least £500k"
    subtitle = selection_subtitle(
        selection, zones_kept=1, zones_all=22, sites_kept=3, sites_all=130
    )
    assert subtitle == (
        "Filters: sectors Defence or Life Sciences; zone 22; funding at least £500k"
        " · 3 of 130 sites in 1 of 22 zones"
    )


# ---------------------------------------------------------------- the same everywhere

AMOUNTS = {1_250_000_000: "£1.25bn", 500_000: "£500k", 23_000_000: "£23m", None: "not published"}


@pytest.fixture(scope="module")
def priced(catalogue):
    """The catalogue with zone 22's funding lines set to the amounts under test."""
    zones = catalogue.zones.copy()
    row = zones.index[zones["zone_id"] == 22][0]
    zones.at[row, "funding"] = [
        {"kind": "public_funding", "amount_gbp": amount, "what": f"line {n}", "source": "test"}
        for n, amount in enumerate(AMOUNTS)
    ]
    return replace(catalogue, zones=zones)


def _zone22(catalogue):
    return catalogue.zones[catalogue.zones["zone_id"] == 22].iloc[0].to_dict()


def _amounts_in(text: str) -> list[str]:
    return re.findall(r"£[\d.,]+(?:bn|m|k)?|not published", text)


def test_an_amount_prints_the_same_on_the_dashboard_card_the_map_card_and_the_pdf(priced):
    from iszones.render.brief import zone_brief_pdf

    expected = list(AMOUNTS.values())
    # The dashboard shows this card beside the map and on the Zone sheet (dashboard.card).
    dashboard_card = html.unescape(cards.zone_card_html(_zone22(priced)))
    # The map's own card: the zone's popup in the map HTML (the downloaded map uses full cards).
    zone22 = priced.zones[priced.zones["zone_id"] == 22]
    fmap = webmap.build_map(zone22, priced.sites.iloc[0:0], selection_summary="", popups="full")
    page = fmap.get_root().render()
    map_card = html.unescape(json.loads(f'"{_popup_json(page)}"'))
    pdf = " ".join(p.extract_text() for p in PdfReader(BytesIO(zone_brief_pdf(priced, 22))).pages)
    pdf_amounts = [a for a in _amounts_in(re.sub(r"\s+", " ", pdf)) if a in expected]
    assert _amounts_in(dashboard_card) == expected
    assert _amounts_in(map_card) == expected
    assert pdf_amounts == expected


def _popup_json(page: str) -> str:
    """The escaped JSON string in the map page that holds zone 22's card."""
    match = re.search(r'"((?:[^"\\]|\\.)*line 0(?:[^"\\]|\\.)*)"', page)
    assert match, "zone 22's card is not in the map page"
    return match.group(1)
