"""The council (LAD 2025) a check names for a point, decided by the committed district layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from iszones.check.columns import (
    COUNCIL_NOTES,
    FAR_FROM_POSTCODES,
    NEAR_BORDER,
    NEAR_BORDER_FAR,
    NO_COUNCIL,
)
from iszones.check.frames import bundled_boundaries, check_sites
from iszones.check.reference import bundled_reference
from iszones.data.catalogue import districts_path, read_councils, read_districts, read_zones
from iszones.inputs.postcodes import lookup_postcodes, read_directory
from tests.conftest import DATA


@pytest.fixture(scope="module")
def reference():
    return bundled_boundaries(read_zones(DATA / "boundaries" / "zones.geojson")), read_councils(
        DATA
    )


def councils(reference, easting, northing):
    sites = gpd.GeoDataFrame(
        geometry=shapely.points(np.asarray(easting), np.asarray(northing)), crs="EPSG:27700"
    )
    return check_sites(sites, *reference)


@pytest.mark.parametrize(
    ("postcode", "code", "name"),
    [
        ("NG11 0EE", "E07000176", "Rushcliffe"),  # Ratcliffe-on-Soar
        ("NG9 6AA", "E07000172", "Broxtowe"),  # Toton
        ("DE24 8UX", "E06000015", "Derby"),
        ("BT1 1AA", "N09000003", "Belfast"),
        ("CO12 4SR", "E07000076", "Tendring"),  # Harwich
        ("SA72 6TD", "W06000009", "Pembrokeshire"),  # Pembroke Dock
        ("S70 2TA", "E08000038", "Barnsley"),
    ],
)
def test_known_postcodes(reference, postcode: str, code: str, name: str) -> None:
    where = lookup_postcodes([postcode])
    got = councils(reference, where["easting"], where["northing"])
    assert (got.loc[0, "lad_code"], got.loc[0, "local_authority"]) == (code, name)


def test_notes_near_a_border_and_far_from_any_council(reference) -> None:
    layer = read_districts(districts_path(DATA)).to_crs(27700)
    shared = shapely.intersection(layer.geometry.iloc[0], layer.geometry.buffer(1).iloc[1:])
    border = shared[~shared.is_empty].iloc[0].representative_point()
    got = councils(reference, [0.0, border.x], [0.0, border.y])
    assert got.loc[0, "lad_note"] == COUNCIL_NOTES[NO_COUNCIL] and pd.isna(got.loc[0, "lad_code"])
    assert got.loc[1, "lad_note"] == COUNCIL_NOTES[NEAR_BORDER] and got.loc[1, "lad_code"]


def test_sample_of_postcodes_lands_in_their_district(reference) -> None:
    directory = read_directory(["N", "D"])
    directory = directory[directory["easting"].notna() & directory["laua"].notna()]
    sample = directory.sample(20_000, random_state=1)
    got = councils(reference, sample["easting"], sample["northing"])
    assert (got["lad_code"].to_numpy() == sample["laua"].to_numpy()).mean() > 0.995


def test_notes_far_from_any_postcode() -> None:
    """Ben Macdui's summit (NN 989 989) is over 1 km from any postcode; Derby's Market Place
    (SK 353 363) is not. The bundled reference carries the far-from-postcodes layer."""
    reference = bundled_reference(DATA)
    sites = gpd.GeoDataFrame(
        geometry=shapely.points([298_900.0, 435_300.0], [798_900.0, 336_300.0]), crs=27700
    )
    got = reference.check(sites)
    far = {COUNCIL_NOTES[FAR_FROM_POSTCODES], COUNCIL_NOTES[NEAR_BORDER_FAR]}
    assert got.loc[0, "lad_note"] in far and got.loc[0, "lad_code"].startswith("S12")
    assert got.loc[1, "lad_note"] not in far and got.loc[1, "lad_code"] == "E06000015"
