"""Fast tests of the folium map and its HTML, with no server: layers, legend, escaping, assets."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon

from iszones.data.catalogue import data_dir, load_catalogue
from iszones.data.selection import Selection, apply_selection
from iszones.inputs.places import Place, uk_places
from iszones.render import assets, safe
from iszones.render import webmap as maps
from iszones.render.format import count_line
from iszones.render.safe import js_literal
from tests.conftest import X0, Y0
from tests.xss import (
    XSS_DESCRIPTION,
    XSS_DESIGNATION,
    XSS_LEAD_BODY,
    XSS_NAME,
    make_xss_data,
)

LOADS = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"')


@pytest.fixture(scope="module")
def web(catalogue):
    """The bundled zones and district backdrop, as the dashboard draws them."""
    from iszones.web.geometry import web_layers

    return web_layers(data_dir())


@pytest.fixture(scope="module")
def full_html(catalogue, web) -> str:
    zones, units = web
    fmap = maps.build_map(
        zones, catalogue.sites, selection_summary="128 of 128 sites", background=units
    )
    return fmap.get_root().render()


@pytest.fixture(scope="module")
def xss_catalogue(tmp_path_factory):
    return load_catalogue(make_xss_data(tmp_path_factory.mktemp("xss") / "data"))


def test_map_has_every_layer_in_the_layer_control(full_html):
    control = re.search(r"var layer_control_\w+_layers = \{(.*?)\};", full_html, re.S)
    assert control is not None
    for name in ("Council districts", "Zones", "Tax sites", "D2N2 assets", "Other sites"):
        assert f'"{name}"' in control.group(1)


def test_map_draws_every_zone_and_every_located_site(catalogue, full_html):
    assert (
        full_html.count('"tip":') == len(catalogue.zones) + catalogue.sites.geometry.notna().sum()
    )
    assert full_html.count('"zone_id":') == 22


def test_legend_names_programmes_kinds_and_attribution(full_html):
    for text in ("Freeport", "Investment Zone", "Freeport and Investment Zone", "Tax site"):
        assert text in full_html
    assert "128 of 128 sites" in full_html
    assert "isz-legend" in full_html
    assert "ONS Postcode Directory (Nov 2025)" in full_html  # the districts, in the sources
    assert "GeoNames (CC BY 4.0)" not in full_html  # no place labels on this map
    assert "addAttribution" in full_html


def test_map_links_only_leaflet_and_markercluster(full_html):
    for url in LOADS.findall(full_html):
        assert "leaflet" in url.lower() or "markercluster" in url.lower(), url
    assert "jquery" not in full_html.lower()
    assert "bootstrap" not in full_html.lower()
    assert "font-awesome" not in full_html and "fontawesome" not in full_html


def test_a_site_falls_in_exactly_one_layer():
    assert maps.site_layer({"kind": "tax_site", "d2n2_asset": True}) == "Tax sites"
    assert maps.site_layer({"kind": "asset", "d2n2_asset": True}) == "D2N2 assets"
    assert maps.site_layer({"kind": "port", "d2n2_asset": False}) == "Other sites"


def test_markers_differ_by_shape_and_letter_not_only_colour():
    svgs = {kind: maps.marker_svg(kind) for kind in maps.SITE_KINDS}
    letters = {re.search(r">([^<]+)</text>", svg).group(1) for svg in svgs.values()}
    assert len(letters) == len(svgs)
    shapes = {re.search(r"<g [^>]*>(.*?)</g>", svg).group(1) for svg in svgs.values()}
    assert len(shapes) >= 7  # seven outlines for eight kinds; the letter tells the rest apart


def test_filtered_map_shows_only_the_selection(catalogue, web):
    zones, units = web
    kept_zones, kept_sites = apply_selection(zones, catalogue.sites, Selection(zone_id=22))
    fmap = maps.build_map(
        kept_zones,
        kept_sites,
        selection_summary=count_line(len(kept_zones), 22, len(kept_sites), 128),
        background=units,
        selected_zone_id=22,
    )
    html = fmap.get_root().render()
    assert html.count('"zone_id":') == 1
    assert "East Midlands Freeport and Investment Zone" in html
    assert f"{len(kept_sites)} of 128 sites in 1 of 22 zones" in html


def test_unknown_basemap_is_refused(catalogue):
    with pytest.raises(ValueError, match="Unknown basemap 'satellite'; choose one of none"):
        maps.build_map(catalogue.zones, catalogue.sites, selection_summary="", basemap="satellite")


# ---------------------------------------------------------------- escaping


@pytest.fixture(scope="module")
def xss_html(xss_catalogue) -> str:
    zones, units = maps.simplify_for_web(xss_catalogue.zones, xss_catalogue.admin_units)
    fmap = maps.build_map(
        zones,
        xss_catalogue.sites,
        selection_summary=XSS_NAME,
        title=XSS_NAME,
        background=units,
        vintage=XSS_DESIGNATION,
        attribution=XSS_LEAD_BODY,
    )
    return assets.standalone_html(fmap, offline=True)


@pytest.mark.parametrize("payload", [XSS_NAME, XSS_DESIGNATION, XSS_LEAD_BODY, "<b>bold</b>"])
def test_hostile_text_never_reaches_html_unescaped(xss_html, payload):
    assert payload not in xss_html


def test_hostile_text_is_shown_as_text(xss_html):
    assert "&lt;img src=x onerror=alert(1)&gt;" in xss_html
    assert "<title>&lt;img src=x onerror=alert(1)&gt;</title>" in xss_html
    assert "&lt;b onmouseover=alert(5)&gt;EMCCA&lt;/b&gt;" in xss_html


def test_script_end_tags_in_data_cannot_close_the_script(xss_html):
    assert "<script>alert(2)" not in xss_html
    assert xss_html.count("<script") == xss_html.count("</script>")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", xss_html, re.S)
    assert not any("alert(2)" in s and "<script>alert" in s for s in scripts)


def test_template_literal_in_data_is_inert(xss_html):
    # Cards travel as JSON strings, never inside JavaScript template literals.
    assert "`$&#123;alert(3)&#125;`" in xss_html  # literal text inside a JSON string
    assert "$(`" not in xss_html  # folium's jQuery popup template is not used
    assert safe.esc(XSS_DESCRIPTION) in xss_html


# ---------------------------------------------------------------- offline assets


def test_offline_html_inlines_every_asset_and_stays_under_600_kb(catalogue, web):
    zones, units = web
    fmap = maps.build_map(zones, catalogue.sites, selection_summary="all", background=units)
    html = assets.standalone_html(fmap, offline=True)
    assert LOADS.findall(html) == []
    assert not re.search(r"(src|href)=\"https?://(cdn|code|netdna|unpkg|cdnjs)", html)
    assert 't.version="1.9.3"' in html  # Leaflet itself, inlined
    assert "MarkerClusterGroup" in html
    assert "data:image/png;base64," in html  # Leaflet's layer-control images, inlined
    assert len(html.encode()) < 600 * 1024


def test_online_html_links_cdns_instead(catalogue, web):
    zones, units = web
    fmap = maps.build_map(zones, catalogue.sites, selection_summary="all", background=units)
    html = assets.standalone_html(fmap, offline=False)
    assert any(url.startswith("https://") for url in LOADS.findall(html))
    assert len(html.encode()) < 400 * 1024


def test_localise_points_every_asset_at_the_app(catalogue):
    fmap = maps.build_map(catalogue.zones, catalogue.sites, selection_summary="")
    assets.localise(fmap, "../app.vendor_{package}/{file}")
    urls = LOADS.findall(fmap.get_root().render())
    assert sorted(urls) == [
        "../app.vendor_leaflet/leaflet.css",
        "../app.vendor_leaflet/leaflet.js",
        "../app.vendor_leaflet_markercluster/MarkerCluster.Default.css",
        "../app.vendor_leaflet_markercluster/MarkerCluster.css",
        "../app.vendor_leaflet_markercluster/leaflet.markercluster.js",
    ]
    for asset in assets.ASSETS:
        assert assets.asset_path(asset).stat().st_size > 500


def test_localise_refuses_assets_iszones_does_not_ship():
    fmap = folium.Map(tiles=None)
    folium.Marker([52.9, -1.3], icon=folium.Icon(icon="info-sign")).add_to(fmap)
    with pytest.raises(assets.AssetError, match="needs the browser asset 'jquery'"):
        assets.localise(fmap, "/{package}/{file}")


# ---------------------------------------------------------------- geometry for the browser


def _bng(polygons):
    return gpd.GeoDataFrame(
        {"zone_id": list(range(1, len(polygons) + 1))}, geometry=polygons, crs="EPSG:27700"
    ).to_crs("EPSG:4326")


def test_simplify_keeps_a_shared_wiggly_border_shared():
    # Two zones share a border with 200 small wiggles; simplified, they must still meet exactly.
    wiggle = [(X0 + 5000 + (30 if i % 2 else 0), Y0 + i * 50) for i in range(201)]
    west = Polygon([(X0, Y0), *wiggle, (X0, Y0 + 10000)])
    east = Polygon([*wiggle, (X0 + 10000, Y0 + 10000), (X0 + 10000, Y0)])
    zones = _bng([west, east])
    simple, _ = maps.simplify_for_web(zones, tolerance_m=500)
    a, b = simple.to_crs("EPSG:27700").geometry
    assert shapely.get_num_coordinates(a) < shapely.get_num_coordinates(west) / 5
    assert a.intersection(b).area < 1.0  # no overlap opened (m²)
    gap = shapely.union_all([a, b]).area - (a.area + b.area)
    assert abs(gap) < 1.0
    assert shapely.union_all([a, b]).geom_type == "Polygon"  # no sliver gap splits them
    assert list(simple["zone_id"]) == [1, 2]


def test_simplify_on_bundled_data_keeps_valid_geometry_and_coverage(catalogue):
    from iszones.data.catalogue import districts_path, read_districts

    districts = read_districts(districts_path(data_dir()))
    zones, light = maps.simplify_for_web(catalogue.zones, districts)
    assert zones.is_valid.all() and light.is_valid.all()
    assert shapely.coverage_is_valid(light.geometry.array)  # neighbours still share edges
    assert list(zones["zone_id"]) == list(catalogue.zones["zone_id"])
    before = shapely.get_num_coordinates(districts.geometry.array).sum()
    after = shapely.get_num_coordinates(light.geometry.array).sum()
    assert after < before / 5


def test_backdrop_draws_each_district_border_once_and_names_every_district(web):
    _, backdrop = web
    assert len(backdrop.labels) == 361
    names = {name for name, _, _ in backdrop.labels}
    assert {"Rushcliffe", "Erewash", "North West Leicestershire"} <= names
    # Borders between districts only: the coast is the land's edge, not a border.
    assert backdrop.borders.geom_type == "MultiLineString"
    coast = shapely.boundary(backdrop.land)
    assert shapely.length(shapely.intersection(backdrop.borders, coast)) < 0.01
    # Rushcliffe meets Erewash along the Trent: that border is drawn.
    point = shapely.Point(-1.27, 52.87)
    assert shapely.distance(backdrop.borders, point) < 0.05
    assert backdrop.land.contains(point)


def test_a_zone_view_carries_only_the_borders_near_it(web):
    _, backdrop = web
    near = backdrop.near([[52.7, -1.5], [53.0, -1.0]])
    assert near.land is backdrop.land  # land everywhere, so zooming out never shows a hole
    assert (
        shapely.get_num_coordinates(near.borders)
        < shapely.get_num_coordinates(backdrop.borders) / 2
    )
    assert "Rushcliffe" in {n for n, _, _ in near.labels}
    assert "Highland" not in {n for n, _, _ in near.labels}


def test_encoded_rings_decode_back_to_the_rounded_coordinates():
    square = shapely.Polygon(
        [(-1.0, 52.0), (-0.5, 52.0), (-0.5, 52.5), (-1.0, 52.5)],
        holes=[[(-0.9, 52.1), (-0.8, 52.1), (-0.8, 52.2)]],
    )
    encoded = maps._encode_geometry(shapely.MultiPolygon([square, square]))
    x = y = 0
    decoded = []
    for polygon in encoded:
        for ring in polygon:
            points = []
            for dx, dy in zip(ring[::2], ring[1::2], strict=True):
                x, y = x + dx, y + dy
                points.append((x / 1000, y / 1000))
            decoded.append(points)
    assert decoded[0] == list(square.exterior.coords) and decoded[2] == decoded[0]
    assert decoded[1] == list(square.interiors[0].coords)


def test_simplify_does_not_touch_its_input(catalogue):
    before = catalogue.zones.geometry.copy()
    maps.simplify_for_web(catalogue.zones)
    assert catalogue.zones.geometry.geom_equals(before).all()


# ---------------------------------------------------------------- context at every zoom (issue 16)


def test_places_appear_by_population():
    assert maps.place_min_zoom(323_632) == 6  # Nottingham from the country view
    assert maps.place_min_zoom(47_898) == 8  # Long Eaton
    assert maps.place_min_zoom(3_601) == 11  # Kegworth
    assert maps.place_min_zoom(0) == maps.PLACE_LAST_ZOOM


def _place(name, lon, lat, population):
    return Place(name, lon, lat, population, "England", 0)


def test_context_labels_rank_towns_and_keep_villages_to_zone_views(web):
    _, backdrop = web
    places = [
        _place("Big", -1.1, 52.9, 300_000),
        _place("Village", -1.27, 52.85, 600),
        _place("Far", -3, 56, 700),
    ]
    zone_view = [[52.7, -1.5], [53.0, -1.0]]
    rows = maps.context_labels(places, backdrop, zone_view)
    names = [row[0] for row in rows]
    assert names[0] == "Big" and "Village" in names and "Far" not in names
    assert "Rushcliffe" in names  # district names, from zoom 9
    district = next(row for row in rows if row[0] == "Rushcliffe")
    assert district[3] == maps.DISTRICT_LABEL_ZOOM and district[4] == 1
    country = [[50, -8], [58, 1.5]]
    assert "Village" not in [row[0] for row in maps.context_labels(places, None, country)]


def test_context_labels_escape_names():
    rows = maps.context_labels([_place(XSS_NAME, -1.1, 52.9, 9000)], None, [[52, -2], [53, -1]])
    assert rows[0][0] == safe.esc(XSS_NAME) and "<img" not in rows[0][0]


def test_zone_map_carries_labels_circles_and_short_popups(catalogue, web):
    zones, units = web
    kept_zones, kept_sites = apply_selection(zones, catalogue.sites, Selection(zone_id=22))
    fmap = maps.build_map(
        kept_zones,
        kept_sites,
        selection_summary="zone 22",
        background=units,
        places=uk_places(),
        popups="short",
    )
    html = fmap.get_root().render()
    assert '"Kegworth"' in html and '"Castle Donington"' in html
    assert "GeoNames (CC BY 4.0)" in html  # the places' licence in the attribution line
    assert '"Rushcliffe"' in html and '"Highland"' not in html  # districts near the zone only
    circles = maps.precision_circles(kept_sites)
    ratcliffe = kept_sites[kept_sites["site_id"] == "ratcliffe-on-soar"].iloc[0]
    assert [
        round(ratcliffe.geometry.x, 5),
        round(ratcliffe.geometry.y, 5),
        float(ratcliffe["location_precision_m"]),
    ] in circles
    assert f'"circleZoom":{maps.CIRCLE_ZOOM}' in html
    assert "Full card beside the map" in html  # short popups
    assert "Location precision" not in html  # the full card is not in the popups
    assert '"collapsed": true' in html  # the layer control is folded to its icon


def test_check_map_shows_where_the_sites_are_and_credits_what_it_draws(web):
    """A council officer's sites near East Midlands Airport, checked: zoomed in, the map names
    the towns and districts round them and draws the tax sites' precision circles, as the main
    map does; its attribution line credits the districts and GeoNames; and it keeps its view
    out of the Check page's address."""
    from iszones.check.reference import cached_reference
    from iszones.inputs.readers import read_site_bytes

    reference = cached_reference(data_dir())
    rows = "ref,easting,northing\nA,449500,330500\nB,448000,327000\nC,436600,331300\n"
    result = reference.check_table(read_site_bytes(rows.encode(), "sites.csv"))
    fmap = maps.check_map(
        result, reference.zones, web[1], places=uk_places(), tax_sites=reference.tax_sites
    )
    html = fmap.get_root().render()
    assert '"Kegworth"' in html and '"Castle Donington"' in html
    assert '"Rushcliffe"' in html and '"Highland"' not in html  # districts near the sites only
    assert "GeoNames (CC BY 4.0)" in html and "ONS (OGL)" in html  # on the attribution line
    ratcliffe = reference.tax_sites.set_index("tax_site_id").loc["ratcliffe-on-soar"]
    circle = [round(ratcliffe.geometry.x, 5), round(ratcliffe.geometry.y, 5), 700.0]
    assert circle in maps.precision_circles(reference.tax_sites, "precision_m")
    assert js_literal(circle) in html and f'"circleZoom":{maps.CIRCLE_ZOOM}' in html
    assert '"shareView":false' in html


def test_check_map_draws_an_uploaded_tax_site_boundary_with_its_name_as_text(web):
    """An officer's official tax-site boundary, uploaded: the map outlines it, and its name
    (hostile here) is shown as text in the tooltip, never run as HTML or a template."""
    import json

    from iszones.check.reference import cached_reference, with_uploads
    from iszones.inputs.readers import read_boundary_bytes, read_site_bytes

    ring = [[-1.33, 52.82], [-1.30, 52.82], [-1.30, 52.84], [-1.33, 52.84], [-1.33, 52.82]]
    name = "Official <b>Tax</b> Site {{7*7}}"
    upload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    official = read_boundary_bytes(json.dumps(upload).encode(), "tax.geojson")
    reference = with_uploads(cached_reference(data_dir()), None, tax_sites=official)
    sites = read_site_bytes(b"ref,lon,lat\nA,-1.315,52.83\n", "sites.csv")
    result = reference.check_table(sites)
    assert result["tax_site_name"].iloc[0] == name
    html = (
        maps.check_map(result, reference.zones, web[1], tax_sites=reference.tax_sites)
        .get_root()
        .render()
    )
    drawn = re.search(
        r'"type": "Polygon"\}, "id": "0", "properties": \{([^}]*"tax_site"[^}]*)\}', html
    )
    assert drawn is not None  # the boundary, with its tooltip's fields (folium's JSON: & is \u0026)
    assert '"source": "uploaded file tax.geojson"' in drawn.group(1)
    assert (
        '"tax_site": "Official \\u0026lt;b\\u0026gt;Tax\\u0026lt;/b\\u0026gt; Site'
        ' \\u0026#123;\\u0026#123;7*7\\u0026#125;\\u0026#125;"'
    ) in drawn.group(1)
    assert "<b>Tax</b>" not in html and "Site 49" not in html
    assert maps.precision_circles(reference.tax_sites, "precision_m") == []  # areas, not points
