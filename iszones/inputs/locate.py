"""Where a typed place is: a postcode, `lat,lon`, `easting,northing`, an OS grid reference
(`SK 45000 30000`) or a place name. Pure parsing and lookups; what is there is the check's job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyproj import Transformer

from iszones.inputs.places import SOURCE as PLACES_SOURCE
from iszones.inputs.places import find_places
from iszones.inputs.postcodes import (
    POSTCODE,
    PostcodeError,
    data_notes,
    lookup_postcode,
    northern_irish,
)

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,;\s]\s*({_NUMBER})\s*$")
_GRID_REF = re.compile(r"^\s*([A-Za-z]{2})\s*(\d+)\s*(\d+)\s*$")
_GRID_REF_JOINED = re.compile(r"^\s*([A-Za-z]{2})\s*(\d{4,10})\s*$")
# Letters of the 500 km and 100 km squares of the British National Grid (no I).
_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
MAX_CANDIDATES = 8


class LocateError(ValueError):
    """Raised when a query is not a postcode, coordinates, a grid reference or a known place."""


@dataclass(frozen=True)
class Location:
    """A query placed: how it was read, WGS84 and British National Grid positions, a label,
    and, for an ambiguous place name, the other places of that name (most populous first)."""

    query: str
    kind: str  # postcode, lat,lon, easting,northing, grid reference, place, site
    lon: float
    lat: float
    easting: float
    northing: float
    label: str
    others: tuple[Location, ...] = field(default=())
    notes: tuple[str, ...] = ()  # the attribution (and licence) of the data that placed it


def _from_bng(query: str, kind: str, easting: float, northing: float, label: str) -> Location:
    lon, lat = _TO_WGS84.transform(easting, northing)
    return Location(query, kind, lon, lat, easting, northing, label)


def wgs84_location(
    query: str, kind: str, lon: float, lat: float, label: str, notes: tuple[str, ...] = ()
) -> Location:
    """A query placed at a WGS84 position, with its British National Grid one."""
    easting, northing = _TO_BNG.transform(lon, lat)
    return Location(query, kind, lon, lat, easting, northing, label, notes=notes)


def grid_reference(letters: str, east: str, north: str) -> tuple[float, float]:
    """Easting and northing (metres) of an OS grid reference such as SK 450 300."""
    if len(east) != len(north) or not 1 <= len(east) <= 5:
        raise LocateError(
            f"{letters} {east} {north}: a grid reference has as many easting digits as"
            " northing digits, 1 to 5 of each (e.g. SK 45000 30000)."
        )
    first, second = (_LETTERS.find(c) for c in letters.upper())
    if first < 0 or second < 0:
        raise LocateError(f"{letters!r}: not grid square letters (e.g. SK, TQ, NT).")
    e100 = ((first - 2) % 5) * 5 + second % 5  # 100 km squares east and north of SV
    n100 = (19 - (first // 5) * 5) - second // 5
    scale = 10 ** (5 - len(east))
    easting = e100 * 100_000 + int(east) * scale
    northing = n100 * 100_000 + int(north) * scale
    if not (0 <= easting < 700_000 and 0 <= northing < 1_300_000):
        raise LocateError(f"{letters} {east} {north}: outside the British National Grid.")
    return float(easting), float(northing)


_SQUARE = re.compile(rf"^[{_LETTERS}]{{2}}$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{1,5}$")
_PLAIN_NUMBER = re.compile(rf"^{_NUMBER}$")


def _grid_square(text: str) -> bool:
    """Whether `text` is the two letters of a 100 km square of the grid ('SK', not 'AB')."""
    try:
        return bool(_SQUARE.match(text)) and bool(grid_reference(text, "0", "0"))
    except LocateError:
        return False


def joined_queries(words: Sequence[str]) -> list[str]:
    """Words typed on a command line without quotes, as queries: a postcode ('DE74', '2SA'), a
    grid reference ('SK', '45000', '30000') or an easting and northing ('445251', '325658')
    split into words is one query. Only words that could not be queries alone are joined."""
    queries: list[str] = []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        postcode = POSTCODE.match(f"{word}{rest[0]}".upper()) if rest else None
        if postcode and postcode.group(2) == rest[0].upper():  # outward code, then inward
            word = f"{word} {rest.pop(0)}"
        elif len(rest) >= 2 and _SQUARE.match(word) and all(_DIGITS.match(w) for w in rest[:2]):
            if len(rest[0]) != len(rest[1]):  # a grid reference mistyped: each word said not found
                queries.extend([word, rest.pop(0), rest.pop(0)])
                continue
            word = f"{word} {rest.pop(0)} {rest.pop(0)}"
        elif rest and _PLAIN_NUMBER.match(word) and _PLAIN_NUMBER.match(rest[0]):
            word = f"{word} {rest.pop(0)}"
        queries.append(word)
    return queries


def locate(query: str) -> Location:
    """Read `query` as a postcode, coordinates, a grid reference or a place name.

    Raises LocateError naming the query and what it could not be.
    """
    text = " ".join(str(query).split())
    if not text:
        raise LocateError("Type a postcode, a place, lat,lon or easting,northing.")
    if POSTCODE.match(text.replace(" ", "").upper()):
        try:
            found = lookup_postcode(text)
        except PostcodeError as err:
            raise LocateError(str(err)) from None
        notes = data_notes(bool(northern_irish([found.postcode])[0]))
        return Location(
            text,
            "postcode",
            found.lon,
            found.lat,
            found.easting,
            found.northing,
            found.postcode,
            notes=notes,
        )
    pair = _PAIR.match(text)
    if pair:
        a, b = float(pair.group(1)), float(pair.group(2))
        if 49 <= a <= 61.5 and -9 <= b <= 2.5:
            return wgs84_location(text, "lat,lon", b, a, f"{a:.5f}, {b:.5f}")
        if 49 <= b <= 61.5 and -9 <= a <= 2.5:
            raise LocateError(
                f"{text!r}: these look like longitude,latitude; give latitude first ({b}, {a})."
            )
        if 0 <= a < 700_000 and 0 <= b < 1_300_000 and max(a, b) > 1000:
            return _from_bng(text, "easting,northing", a, b, f"E {a:,.0f}, N {b:,.0f}")
        raise LocateError(
            f"{text!r}: not UK coordinates (latitude 49-61.5 and longitude -9 to 2.5, or"
            " easting 0-700,000 m and northing 0-1,300,000 m)."
        )
    grid = _GRID_REF_JOINED.match(text) or _GRID_REF.match(text)
    if grid:
        if grid.re is _GRID_REF_JOINED:
            digits = grid.group(2)
            if len(digits) % 2:
                raise LocateError(f"{text!r}: a grid reference needs an even number of digits.")
            east, north = digits[: len(digits) // 2], digits[len(digits) // 2 :]
        else:
            east, north = grid.group(2), grid.group(3)
        easting, northing = grid_reference(grid.group(1), east, north)
        return _from_bng(text, "grid reference", easting, northing, text.upper())
    if _grid_square(text):  # 'SK': GeoNames also lists it as one of Usk's names
        raise LocateError(
            f"{text!r}: a 100 km square of the British National Grid; give a grid reference"
            f" in it with digits (e.g. {text.upper()} 45000 30000)."
        )
    places = find_places(text)
    if not places:
        raise LocateError(
            f"{text!r}: not a postcode, coordinates, a grid reference or a UK place with 500"
            f" or more people ({PLACES_SOURCE})."
        )
    located = [
        wgs84_location(text, "place", p.lon, p.lat, f"{p.name}, {p.nation}")
        for p in places[:MAX_CANDIDATES]
    ]
    first = located[0]
    return Location(
        first.query,
        first.kind,
        first.lon,
        first.lat,
        first.easting,
        first.northing,
        first.label,
        tuple(located[1:]),
        notes=(f"Place names: {PLACES_SOURCE}.",),
    )
