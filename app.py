"""iszones dashboard (minimal): zones and sites on a folium map, from the bundled data."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from iszones.errors import IszonesError
from iszones.io import Catalogue, load_catalogue
from iszones.style import PROGRAMME_COLOURS

st.set_page_config(page_title="iszones: Industrial Strategy Zones", layout="wide")


@st.cache_resource
def catalogue() -> Catalogue:
    return load_catalogue()


try:
    cat = catalogue()
except IszonesError as err:
    st.error(f"The data could not be loaded: {err}")
    st.stop()

st.title("Industrial Strategy Zones")
fmap = folium.Map(location=[54.0, -2.5], zoom_start=6, tiles=None)
folium.GeoJson(
    cat.zones[["zone_id", "name", "programme", "geometry"]],
    style_function=lambda f: {
        "fillColor": PROGRAMME_COLOURS[f["properties"]["programme"]],
        "color": "#333",
        "weight": 1,
        "fillOpacity": 0.5,
    },
    tooltip=folium.GeoJsonTooltip(["name"]),
).add_to(fmap)
located = cat.sites[cat.sites.geometry.notna()]
for row in located.itertuples():
    folium.CircleMarker([row.geometry.y, row.geometry.x], radius=4, tooltip=row.name).add_to(fmap)
st_folium(fmap, height=600, use_container_width=True)
st.dataframe(cat.sites.drop(columns="geometry")[["name", "kind", "zone_names", "local_authority"]])
