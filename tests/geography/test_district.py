"""District of a point, decided by the committed layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iszones.geo.district import NEAR_BORDER, NOT_FOUND, districts_of_points, load_index
from iszones.inputs.postcodes import lookup_postcodes, read_directory


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
def test_known_postcodes(postcode: str, code: str, name: str) -> None:
    where = lookup_postcodes([postcode])
    got = districts_of_points(where["easting"].to_numpy(), where["northing"].to_numpy())
    assert (got.loc[0, "lad_code"], got.loc[0, "local_authority"]) == (code, name)


def test_notes_and_missing() -> None:
    # Off Land's End in the Atlantic, NaN, and 50 m from a shared district border.
    border = load_index().borders.geometries[1000].centroid
    got = districts_of_points(
        np.array([0.0, np.nan, border.x + 50]), np.array([0.0, 1.0, border.y])
    )
    assert got.loc[0, "lad_note"] == NOT_FOUND and pd.isna(got.loc[0, "lad_code"])
    assert pd.isna(got.loc[1, "lad_code"])
    assert got.loc[2, "lad_note"] == NEAR_BORDER and got.loc[2, "lad_code"]


def test_sample_of_postcodes_lands_in_their_district() -> None:
    directory = read_directory(["N", "D"])
    directory = directory[directory["easting"].notna() & directory["laua"].notna()]
    sample = directory.sample(20_000, random_state=1)
    got = districts_of_points(sample["easting"].to_numpy(), sample["northing"].to_numpy())
    assert (got["lad_code"].to_numpy() == sample["laua"].to_numpy()).mean() > 0.995
