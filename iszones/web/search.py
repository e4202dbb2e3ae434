"""Find a place: a typed query placed (`inputs.locate`) and answered by the check engine (its
council, zone or nearest zone, nearest tax site). One implementation for `iszones locate` and
the dashboard's search box and `?at=`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
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
    result = reference.check(sites)
    rows = iter(result.drop(columns="geometry").to_dict("records"))
    found = []
    for place in locations:
        row = next(rows)
        others = tuple(
            (other, str(next(rows).get("local_authority") or "no council found"))
            for other in place.others
        )
        found.append(Found(place, row, others))
    return found
