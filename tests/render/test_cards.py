"""The cards and popups of zones and sites: what they show, and only as escaped text."""

from __future__ import annotations

import re

import pytest

from iszones.data.catalogue import load_catalogue
from iszones.render import cards, safe
from tests.xss import XSS_NAME, XSS_SITE_ID, make_xss_data


@pytest.fixture(scope="module")
def xss_catalogue(tmp_path_factory):
    return load_catalogue(make_xss_data(tmp_path_factory.mktemp("xss") / "data"))


def test_site_card_shows_zone_from_join_funding_jobs_sources_and_precision(catalogue):
    site = catalogue.sites.set_index("site_id").loc["ratcliffe-on-soar"].to_dict()
    site["site_id"] = "ratcliffe-on-soar"
    card = cards.site_card_html(site)
    assert "East Midlands Freeport and Investment Zone" in card  # from assign_zones
    for heading in ("Sectors", "Funding", "Jobs", "Location precision", "Sources"):
        assert f"<h4>{heading}</h4>" in card
    assert 'target="_blank" rel="noreferrer"' in card  # noreferrer implies noopener
    assert "nan" not in card


def test_zone_card_shows_geometry_precision_and_funding(catalogue):
    zone = catalogue.zones[catalogue.zones["zone_id"] == 22].iloc[0].to_dict()
    card = cards.zone_card_html(zone)
    assert "indicative" in card
    assert "£160m" in card
    assert "Tax sites" in card


def test_only_http_links_become_links(xss_catalogue):
    site = xss_catalogue.sites.set_index("site_id").loc[XSS_SITE_ID].to_dict()
    card = cards.site_card_html(site)
    hrefs = re.findall(r'href="([^"]*)"', card)
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
    assert "javascript:" not in card


def test_site_popup_is_short_and_escaped():
    html = cards.site_popup_html({"name": XSS_NAME, "kind": "tax_site", "zone_names": ["Z"]})
    assert safe.esc(XSS_NAME) in html and "<img" not in html
    assert "Tax site" in html and "Z" in html
