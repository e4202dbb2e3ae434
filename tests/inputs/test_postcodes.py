"""Postcodes: normalising, looking up in the ONS Postcode Directory, NI in Irish Grid."""

from __future__ import annotations

import pytest

from iszones.inputs.postcodes import (
    MALFORMED,
    NI_LICENCE,
    NO_COORDINATES,
    UNKNOWN,
    PostcodeError,
    data_notes,
    lookup_postcode,
    lookup_postcodes,
    normalise_postcode,
    northern_irish,
)


def test_northern_irish_postcodes_carry_their_licence() -> None:
    found = lookup_postcodes(["BT3 9DT", "bt11aa", "DE74 2SA", "hello", None])
    assert northern_irish(found["postcode"].to_numpy()).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert data_notes(True)[-1] == NI_LICENCE + "."
    assert not any("Northern Ireland" in note for note in data_notes(False))
    assert all("Open Government Licence" in data_notes(ni)[0] for ni in (True, False))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE74 2SA", "DE74 2SA"),
        ("de742sa", "DE74 2SA"),
        ("  De74   2sA ", "DE74 2SA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("B1 1AA", "B1 1AA"),
        ("bt11aa", "BT1 1AA"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "DE74", "12345", "DE74 2SAX", "D3 ABC"])
def test_normalise_refuses(text: str) -> None:
    with pytest.raises(PostcodeError, match="not a UK postcode"):
        normalise_postcode(text)


# Districts looked up in the directory (ONSPD November 2025 as packaged).
@pytest.mark.parametrize(
    ("text", "lad_code"),
    [
        ("NG11 0EE", "E07000176"),  # Ratcliffe-on-Soar: Rushcliffe, not Derbyshire
        ("ng96aa", "E07000172"),  # Toton: Broxtowe
        ("DE24 8UX", "E06000015"),  # Derby
        ("de74 2sa", "E07000134"),  # East Midlands Airport: North West Leicestershire
        ("S60 5WG", "E08000018"),  # Rotherham
        ("CO12 4SR", "E07000076"),  # Harwich: Tendring
        ("SA72 6TD", "W06000009"),  # Pembroke Dock: Pembrokeshire
        ("L3 1BY", "E08000012"),  # Liverpool
    ],
)
def test_known_postcodes(text: str, lad_code: str) -> None:
    found = lookup_postcode(text)
    assert found.lad_code == lad_code
    assert 49 < found.lat < 61 and -9 < found.lon < 2


def test_northern_ireland_uses_irish_grid() -> None:
    belfast = lookup_postcode("BT1 1AA")
    assert belfast.lad_code == "N09000003"  # Belfast
    # Belfast City Hall is at about 54.597 N, 5.930 W; the Irish Grid numbers read as British
    # National Grid would put it on the Wirral (about 53.4 N, 3.1 W).
    assert abs(belfast.lat - 54.6) < 0.02 and abs(belfast.lon + 5.93) < 0.02
    assert 100_000 < belfast.easting < 200_000 and 500_000 < belfast.northing < 560_000


def test_many_with_problems_in_order() -> None:
    out = lookup_postcodes(["ng11 0ee", "hello", None, 12, "XX1 1XX", "GY1 1AA", "BT1 1AA"])
    assert list(out["problem"]) == [
        "",
        MALFORMED,
        MALFORMED,
        MALFORMED,
        UNKNOWN,
        NO_COORDINATES,
        "",
    ]
    assert out.loc[0, "postcode"] == "NG11 0EE"
    assert out.loc[0, "lad_code"] == "E07000176"
    assert out.loc[6, "lad_code"] == "N09000003"
    assert out["lon"].isna().tolist() == [False, True, True, True, True, True, False]


def test_single_lookup_says_why() -> None:
    with pytest.raises(PostcodeError, match="'XX1 1XX': not in the ONS Postcode Directory"):
        lookup_postcode("XX1 1XX")
    with pytest.raises(PostcodeError, match="without coordinates"):
        lookup_postcode("GY1 1AA")
