"""The zone briefing sheet: 1-2 A4 portrait vector pages with the facts a briefing needs."""

import dataclasses
from io import BytesIO

import pandas as pd
import pytest
from pypdf import PdfReader

from iszones import IszonesError
from iszones.render.brief import zone_brief_pages, zone_brief_pdf
from tests.render.test_static import image_xobjects, pdf_text

A4_PORTRAIT_PT = (595.28, 841.89)


@pytest.fixture(scope="module")
def east_midlands(catalogue):
    return zone_brief_pdf(catalogue, 22)


@pytest.fixture(scope="module")
def east_midlands_text(east_midlands):
    return pdf_text(east_midlands)


def test_east_midlands_brief_is_two_a4_portrait_vector_pages(east_midlands):
    reader = PdfReader(BytesIO(east_midlands))
    assert len(reader.pages) == 2
    for page in reader.pages:
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4_PORTRAIT_PT, abs=0.5)
    assert image_xobjects(east_midlands) == 0
    assert reader.metadata.title == "Zone briefing: East Midlands Freeport and Investment Zone"


def test_east_midlands_brief_has_programme_sectors_funding_and_jobs(east_midlands_text):
    text = east_midlands_text
    assert "East Midlands Freeport and Investment Zone" in text
    assert "Freeport and Investment Zone · England · operational" in text
    assert "tax reliefs available until 30 September 2031" in text
    assert "Advanced Manufacturing; Clean Energy Industries." in text
    assert "£160m Public funding: East Midlands Investment Zone programme" in text
    assert "£25m Public funding: Freeport seed capital" in text
    assert "£383m Investment target: At least £383m of investment" in text
    assert "4,000 high-quality jobs the Investment Zone will bring (at least)" in text


def test_east_midlands_brief_lists_the_three_investment_zone_tax_sites(east_midlands_text):
    text = east_midlands_text
    assert "East Midlands Investment Zone tax site (SI 2025/111): 3 sites" in text
    iz = text.split("East Midlands Investment Zone tax site (SI 2025/111): 3 sites", 1)[1]
    iz = iz.split("[n] = number on the map", 1)[0]
    for name in ("Centre of Excellence for Modern Construction", "Hartington", "Infinity Park"):
        assert name in iz
    assert "East Midlands Freeport tax site (SI 2022/184): 3 sites" in text


def test_east_midlands_brief_has_every_site_inside_it(east_midlands_text, catalogue):
    inside = catalogue.sites[catalogue.sites["zone_ids"].apply(lambda ids: 22 in ids)]
    assert "Sites inside the zone (29)" in east_midlands_text
    for name in inside["name"]:
        assert name in east_midlands_text


def test_east_midlands_brief_has_sources_precision_and_date(east_midlands_text):
    text = east_midlands_text
    assert "Industrial Strategy Zones Action Plan (UK government policy paper)" in text
    assert "Designation of Special Tax Sites (East Midlands Investment Zone) Regulations" in text
    assert "https://www.legislation.gov.uk/uksi/2025/111/made" in text
    assert "Geometry precision: indicative" in text
    assert "How it was drawn: union of 17 council district(s)" in text
    assert "data last checked 30 November 2026" in text
    assert "Town names: GeoNames (CC BY 4.0)" in text
    assert "Office for National Statistics" in text  # the council districts' credit
    assert "Council district (2025)" in text  # the outlines' legend item
    assert "Burton upon Trent" in text  # a town on the map
    assert "page 1 of 2" in text and "page 2 of 2" in text


def test_source_urls_are_links(east_midlands):
    links = [
        annot.get_object()["/A"]["/URI"]
        for page in PdfReader(BytesIO(east_midlands)).pages
        for annot in page.get("/Annots", [])
        if "/A" in annot.get_object()
    ]
    assert "https://www.legislation.gov.uk/uksi/2025/111/made" in links


@pytest.mark.parametrize("zone_id", range(1, 23))
def test_every_bundled_zone_fits_on_one_or_two_pages(catalogue, zone_id):
    pages = zone_brief_pages(catalogue, zone_id)
    assert 1 <= len(pages) <= 2


def test_a_zone_with_no_sites_says_so(catalogue):
    text = pdf_text(zone_brief_pdf(catalogue, 11))
    assert "Northern Ireland Enhanced Investment Zone" in text
    assert "Sites inside the zone (0)" in text
    assert "No sites in the bundled data lie inside this zone's footprint." in text
    assert "No tax sites are named in the sources used here." in text


def test_a_designated_site_outside_the_footprint_is_named(catalogue):
    """Every designated site is inside its zone now, so move one out (Rhosgoch, a project)."""
    sites = catalogue.sites.copy()
    moved = sites["site_id"] == "north-anglesey-rhosgoch"
    sites.loc[moved, "zone_ids"] = pd.Series([[]] * int(moved.sum()), index=sites.index[moved])
    text = pdf_text(zone_brief_pdf(dataclasses.replace(catalogue, sites=sites), 6))
    name = sites.loc[moved, "name"].item()
    assert f"{name} is designated to this zone but lies outside" in text


def test_zone_21_lists_its_three_designated_tax_sites(catalogue):
    """Zone 21's list now matches its tax-site records (issue 14), so no fallback list."""
    text = pdf_text(zone_brief_pdf(catalogue, 21))
    for name in ("Teesworks East", "Teesworks West", "Wilton International"):
        assert name in text
    assert "The zone record names" not in text


@pytest.mark.parametrize("zone_id", [0, 23, -1])
def test_unknown_zone_is_refused(catalogue, zone_id):
    with pytest.raises(IszonesError, match=rf"unknown zone {zone_id}; zones are numbered 1-22"):
        zone_brief_pdf(catalogue, zone_id)


def test_the_catalogue_is_not_changed(catalogue):
    before = catalogue.sites.copy()
    zone_brief_pdf(catalogue, 7)
    assert catalogue.sites.equals(before)
    assert list(catalogue.sites.columns) == list(before.columns)
