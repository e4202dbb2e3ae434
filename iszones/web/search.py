"""Find a place: a typed query placed (`inputs.locate`) and answered by the check engine (its
council, zone or nearest zone, nearest tax site). One implementation for `iszones locate` and
the dashboard's search box and `?at=`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from shapely import points

if TYPE_CHECKING:  # the check engine loads only when a place is looked up
    from iszones.check.reference import Reference
    from iszones.inputs.locate import Location


@dataclass(frozen=True)
class Found:
    """A located query with the check's answer for it: `row` holds the check's columns
    (local_authority, lad_code, lad_note, zone_name, nearest_zone_name, answer, ...), and
    `others` the other places of that name with their council, most populous first."""

    location: Location
    row: dict[str, Any]
    others: tuple[tuple[Location, str], ...] = ()

    @property
    def council(self) -> str:
        """The council, its code and any note: 'Rushcliffe (E07000176)'."""
        text = str(self.row.get("local_authority") or "no council found")
        if self.row.get("lad_code"):
            text += f" ({self.row['lad_code']})"
        if self.row.get("lad_note"):
            text += f"; {self.row['lad_note']}"
        return text

    @property
    def where(self) -> str:
        """How the query was read and where it is, in WGS84 and British National Grid."""
        item = self.location
        what = f"{item.kind} {item.label}" if item.kind == "place" else item.kind
        return (
            f"{what} at {item.lat:.5f}, {item.lon:.5f}"
            f" (E {item.easting:,.0f}, N {item.northing:,.0f})"
        )

    @property
    def answer(self) -> str:
        """The check's one-sentence answer (zone or nearest zone, nearest tax site)."""
        return str(self.row.get("answer") or "")

    def line(self) -> str:
        """One line: query, where, council and the answer."""
        return f"{self.location.query}: {self.where}; {self.council}. {self.answer}."


def answer_locations(locations: Sequence[Location], reference: Reference) -> list[Found]:
    """Each location (and the other places of its name) answered by one `check_sites` run."""
    every = [p for place in locations for p in (place, *place.others)]
    if not every:
        return []
    sites = gpd.GeoDataFrame(
        geometry=points([p.easting for p in every], [p.northing for p in every]),
        crs="EPSG:27700",
    )
    result = pd.DataFrame(reference.check(sites).drop(columns="geometry")).astype(object)
    plain = result.where(result.notna(), None).to_dict("records")  # None where empty
    rows = iter([{str(k): v for k, v in row.items()} for row in plain])
    found = []
    for place in locations:
        row = next(rows)
        others = tuple(
            (other, str(next(rows).get("local_authority") or "no council found"))
            for other in place.others
        )
        found.append(Found(place, row, others))
    return found


# Words of zone names that say what kind of zone it is, and words too vague on their own.
_KIND = frozenset(
    {"and", "the", "of", "city", "region", "green", "enhanced", "innovation", "investment"}
    | {"zone", "zones", "freeport", "freeports"}
)
_VAGUE = frozenset({"north", "south", "east", "west", "northern", "greater", "valley", "firth"})


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def zones_named(query: str, zone_names: Mapping[int, str]) -> list[tuple[int, str]]:
    """The zones whose name holds `query`'s words in order ('Humber', 'Tees Valley', 'North
    East'), unless they only say a kind of zone ('Investment Zone') or are one vague word
    ('West'): someone who types a zone's name may mean the zone, not the village of that name
    ('Humber', Herefordshire)."""
    wanted = _words(query)
    if all(w in _KIND for w in wanted) or (len(wanted) == 1 and wanted[0] in _VAGUE):
        return []
    found = []
    for zone_id, name in zone_names.items():
        words = _words(name)
        if any(words[i : i + len(wanted)] == wanted for i in range(len(words))):
            found.append((zone_id, name))
    return found
