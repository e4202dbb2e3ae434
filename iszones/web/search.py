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

from iszones.geo.spatial import area_shares
from iszones.render.format import format_share

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
        what = f"{item.kind} {item.label}" if item.kind in ("place", "site") else item.kind
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
# Words of site names that many sites share: alone they find none ('Park', 'Port of').
_COMMON = _KIND | frozenset(
    {"park", "port", "site", "sites", "centre", "business", "campus", "quarter", "hub", "dock"}
    | {"estate", "industrial", "international", "airport", "power", "station", "university"}
    | {"former", "including", "with", "at", "tax", "customs", "science", "research"}
)
MAX_NAMED = 8  # sites or councils a query lists at most


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _named(
    query: str, names: Mapping[Any, str], ignored: frozenset[str], *, leading: bool = False
) -> list[tuple[Any, str]]:
    """The names holding `query`'s words in order (at their start, if `leading`), unless the
    query is only `ignored` words and numbers ('14' is no name for 'Gateway 14') or one vague
    word."""
    wanted = _words(query)
    if all(w in ignored or w.isdigit() for w in wanted) or (
        len(wanted) == 1 and wanted[0] in _VAGUE
    ):
        return []
    found = []
    for key, name in names.items():
        words = _words(name)
        starts = range(1 if leading else len(words))
        if any(words[i : i + len(wanted)] == wanted for i in starts):
            found.append((key, name))
    return found


def site_locations(query: str, sites: gpd.GeoDataFrame, site_ids: Sequence[str]) -> list[Location]:
    """The sites `site_ids` (of the bundled `sites`, WGS84) as places found for `query`, each
    with a note of how precisely it is placed; sites with no position are left out."""
    from iszones.inputs.locate import wgs84_location

    rows = sites.set_index("site_id").loc[list(site_ids)]
    out = []
    for name, shape, precision in zip(
        rows["name"], rows.geometry, rows["location_precision"], strict=True
    ):
        if shape is None or shape.is_empty:
            continue
        point = shape.representative_point()
        note = f"{name}: placed by iszones' bundled sites ({precision})."
        out.append(wgs84_location(query, "site", point.x, point.y, str(name), (note,)))
    return out


def zones_named(query: str, zone_names: Mapping[int, str]) -> list[tuple[int, str]]:
    """The zones whose name holds `query`'s words in order ('Humber', 'Tees Valley', 'North
    East'), unless they only say a kind of zone ('Investment Zone') or are one vague word
    ('West'): someone who types a zone's name may mean the zone, not the village of that name
    ('Humber', Herefordshire)."""
    return _named(query, zone_names, _KIND)


def sites_named(
    query: str, site_names: Mapping[str, str], *, leading: bool = False
) -> list[tuple[str, str]]:
    """The bundled sites (id, name) whose name holds `query`'s words in order ('Infinity Park',
    'BioCity', 'Teesworks'), at most MAX_NAMED; words many sites share ('Port', 'Business
    Park') find none. With `leading`, only names that start with them: a place's own sites
    ('Toton', 'Buxton'), not every site that names its town last ('Pride Park, Derby')."""
    return _named(query, site_names, _COMMON, leading=leading)[:MAX_NAMED]


@dataclass(frozen=True)
class CouncilNamed:
    """A council district a query names, and the share of its area in each zone's footprint."""

    code: str
    name: str
    zones: tuple[tuple[int, str, float], ...]  # zone id, zone name, share of the district
    boundary: str = ""  # how the district's boundary was made, and how precise it is

    @property
    def note(self) -> str:
        """Where the district's boundary comes from, to show beside the line."""
        return f"Council district boundaries: {self.boundary}."

    def line(self) -> str:
        """'Bassetlaw (E07000171), a council district: 100% in zone 22, East Midlands ...'; the
        footprints are indicative, so the shares are too."""
        if not self.zones:
            return f"{self.name} ({self.code}), a council district: in no zone's area"
        shares = "; ".join(
            f"{format_share(share)} in zone {zone_id}, {name}"
            for zone_id, name, share in self.zones
        )
        return f"{self.name} ({self.code}), a council district: {shares} (footprints indicative)"


def councils_named(
    query: str, councils: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, leading: bool = False
) -> list[CouncilNamed]:
    """The council districts whose name holds `query`'s words in order ('Bassetlaw',
    'Sherwood'), at most MAX_NAMED, each with the share of its area (British National Grid)
    inside each zone's footprint, largest first. `leading` as for sites_named."""
    names = dict(zip(councils.index, councils["name"], strict=True))
    found = _named(query, names, _KIND | {"county", "borough", "district"}, leading=leading)
    out = []
    for row, name in found[:MAX_NAMED]:
        shares = area_shares(councils.loc[[row]], zones)
        inside = sorted(
            ((int(zones.at[z, "zone_id"]), str(zones.at[z, "name"]), s) for z, s in shares.items()),
            key=lambda item: (-item[2], item[0]),
        )
        boundary = (
            f"{councils.at[row, 'boundary_precision']} ({councils.at[row, 'boundary_source']})"
        )
        out.append(CouncilNamed(str(councils.at[row, "code"]), name, tuple(inside), boundary))
    return out


@dataclass(frozen=True)
class Named:
    """What a query names besides a place: zones, bundled sites and council districts."""

    zones: list[tuple[int, str]]
    sites: list[tuple[str, str]]
    councils: list[CouncilNamed]

    def __bool__(self) -> bool:
        return bool(self.zones or self.sites or self.councils)

    @property
    def zones_to_open(self) -> list[tuple[int, str]]:
        """The zones named, then those the named council districts lie in, each once."""
        in_councils = ((z, name) for c in self.councils for z, name, _ in c.zones)
        return list(dict.fromkeys([*self.zones, *in_councils]))


def names_in(
    query: str, reference: Reference, site_names: Mapping[str, str], *, placed: bool
) -> Named:
    """The zones, sites and council districts `query` names. When it is also a place
    (`placed`), only the sites and councils whose names start with it ('Toton', 'Derby'): the
    place is the answer, and these are offered beside it."""
    zone_names = dict(zip(reference.zones["zone_id"], reference.zones["name"], strict=True))
    return Named(
        zones_named(query, zone_names),
        sites_named(query, site_names, leading=placed),
        councils_named(query, reference.councils, reference.zones, leading=placed),
    )
