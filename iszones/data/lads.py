"""Pure steps of a boundary refresh: check local authority district (LAD) features, redraw zones.

No disk or network access here: refresh.py fetches or reads the LAD layer and the data folder,
then calls parse_lad_membership, parse_page or lads_from_frame, check_lads, match_councils,
build_lad_zones, check_tax_sites and zone_changes, in that order. Footprints are drawn by
iszones.data.footprints (the same method as the bundled build), with LADs as the admin units.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from iszones.data.footprints import Member, build_zones
from iszones.errors import CRSError, SchemaError
from iszones.geo.spatial import BOUNDARY_TOLERANCE_M, areas_km2, repair_geometries, to_measure_crs
from iszones.schema import STORAGE_CRS, feature_list

# ONS GSS codes of local authority districts: unitary (E06), non-metropolitan (E07),
# metropolitan (E08), London boroughs and the City (E09), Welsh (W06), Scottish council
# areas (S12) and Northern Irish districts (N09).
LAD_CODE = re.compile(r"^(E06|E07|E08|E09|W06|S12|N09)\d{6}$")
NATION_BY_PREFIX = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
ROLES = ("area", "host")
LAD_MEMBERSHIP_COLUMNS = ("zone_id", "lad_code", "lad_name", "role", "reason", "source")
# A UK LAD layer has had between 361 and 406 districts since 2009; fewer than MIN_FEATURES means
# a truncated download, more than MAX_FEATURES a different layer (wards, say).
MIN_FEATURES = 300
MAX_FEATURES = 1000
# Longitude/latitude box around the UK and its islands: Rockall (13.7° W, part of Na h-Eileanan
# Siar since 1972) to Lowestoft, Scilly to Unst.
UK_LONLAT_BOUNDS = (-14.0, 49.0, 3.0, 62.0)
HOST_SEARCH_M = 5000.0  # a port on the coast may sit just outside the clipped LAD shape
_CODE_FIELD = re.compile(r"^LAD(\d{2})CD$", re.IGNORECASE)


@dataclass(frozen=True)
class LadMember:
    """A row of lad_membership.csv: a council a zone covers ('area') or that hosts its sites."""

    zone_id: int
    lad_code: str
    lad_name: str
    role: str
    reason: str
    source: str
    line: int


@dataclass(frozen=True)
class LadFields:
    """The code and name fields of a LAD layer, e.g. LAD24CD and LAD24NM (December 2024 codes)."""

    code: str
    name: str

    @property
    def vintage(self) -> str:
        """'LAD24' for LAD24CD: the year of the codes, which is the layer's vintage."""
        return self.code[:-2].upper()


@dataclass(frozen=True)
class ZoneChange:
    """What a refresh does to one zone: area before and after, councils found and not found."""

    zone_id: int
    name: str
    before_km2: float | None
    after_km2: float | None
    matched: tuple[str, ...]
    unmatched: tuple[str, ...]


def parse_lad_membership(text: str, *, path: str) -> list[LadMember]:
    """Parse lad_membership.csv, naming the line and column of any bad value."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in LAD_MEMBERSHIP_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SchemaError(
            f"{path}: missing column(s) {', '.join(missing)}; expected"
            f" {', '.join(LAD_MEMBERSHIP_COLUMNS)}."
        )
    members: list[LadMember] = []
    seen: set[tuple[int, str]] = set()
    for line, row in enumerate(reader, start=2):
        values = {c: (row[c] or "").strip() for c in LAD_MEMBERSHIP_COLUMNS}
        if not values["zone_id"].isdigit() or int(values["zone_id"]) < 1:
            raise SchemaError(
                f"{path}: line {line}, zone_id {row['zone_id']!r}; expected a whole number >= 1."
            )
        if not LAD_CODE.match(values["lad_code"]):
            raise SchemaError(
                f"{path}: line {line}, lad_code {row['lad_code']!r} is not an ONS LAD code;"
                " expected E06, E07, E08, E09, W06, S12 or N09 and six digits, e.g. 'E06000015'"
                " (Derby)."
            )
        if values["role"] not in ROLES:
            raise SchemaError(
                f"{path}: line {line}, role {row['role']!r}; expected one of {', '.join(ROLES)}."
            )
        for column in ("lad_name", "reason", "source"):
            if not values[column]:
                raise SchemaError(f"{path}: line {line}, {column} is empty; say it.")
        key = (int(values["zone_id"]), values["lad_code"])
        if key in seen:
            raise SchemaError(
                f"{path}: line {line} repeats zone {key[0]} and {key[1]}; list each council once"
                " per zone."
            )
        seen.add(key)
        members.append(
            LadMember(
                zone_id=key[0],
                lad_code=key[1],
                lad_name=values["lad_name"],
                role=values["role"],
                reason=values["reason"],
                source=values["source"],
                line=line,
            )
        )
    return members


def check_lad_membership(
    members: Sequence[LadMember], attributes: Sequence[Mapping[str, Any]], *, path: str
) -> None:
    """Every zone has councils, every row names a known zone, and codes match the zone's nation."""
    nations = {a["zone_id"]: a["nation"] for a in attributes}
    for m in members:
        if m.zone_id not in nations:
            raise SchemaError(
                f"{path}: line {m.line} names zone {m.zone_id}, which is not in"
                " zone_attributes.json."
            )
        nation = NATION_BY_PREFIX[m.lad_code[0]]
        if nation != nations[m.zone_id]:
            raise SchemaError(
                f"{path}: line {m.line}, {m.lad_code} ({m.lad_name}) is a council in {nation}, but"
                f" zone {m.zone_id} is in {nations[m.zone_id]}. Check the code."
            )
    bare = sorted(set(nations) - {m.zone_id for m in members})
    if bare:
        raise SchemaError(
            f"{path}: zone(s) {bare} have no councils; add the councils each covers or hosts."
        )


def find_lad_fields(columns: Iterable[str], *, where: str) -> LadFields:
    """The LADyyCD and LADyyNM fields of a layer (the newest year if there are several)."""
    names = list(columns)
    codes = sorted((c for c in names if _CODE_FIELD.match(c)), key=lambda c: c[3:5])
    if not codes:
        raise SchemaError(
            f"{where}: no LAD code field (such as LAD24CD) among the fields {names!r}. Is this a"
            " Local Authority Districts boundary layer?"
        )
    code = codes[-1]
    wanted = code[:-2] + "NM"
    name = next((c for c in names if c.lower() == wanted.lower()), None)
    if name is None:
        raise SchemaError(f"{where}: has {code} but no {wanted} field with the council names.")
    return LadFields(code=code, name=name)


def _check_lonlat(geom: BaseGeometry, label: str) -> None:
    minx, miny, maxx, maxy = geom.bounds
    west, south, east, north = UK_LONLAT_BOUNDS
    if west <= minx and maxx <= east and south <= miny and maxy <= north:
        return
    if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
        raise CRSError(
            f"{label}: coordinates {tuple(round(v, 1) for v in geom.bounds)} are not longitude and"
            " latitude; they look like projected metres (British National Grid?). The service"
            " ignored outSR=4326, or the file's CRS is wrong."
        )
    raise CRSError(
        f"{label}: bounds {tuple(round(v, 3) for v in geom.bounds)} lie outside the UK"
        f" (longitude {west} to {east}, latitude {south} to {north}); the CRS is wrong or"
        " longitude and latitude are swapped."
    )


def parse_page(doc: Any, *, where: str) -> tuple[list[dict[str, Any]], bool]:
    """The checked features of one GeoJSON query page, and whether the service has more pages.

    Checks each page as it comes, so a page in the wrong CRS stops the download there.
    """
    features = feature_list(
        doc,
        where,
        crs_fix="asked for longitude/latitude (outSR=4326). The service ignored outSR; nothing"
        " was used from it.",
    )
    for index, feature in enumerate(features):
        label = f"{where}, feature {index}"
        if not feature.get("geometry"):
            raise SchemaError(f"{label}: has no geometry.")
        code = next((v for k, v in feature["properties"].items() if _CODE_FIELD.match(k)), None)
        try:
            geom = shape(feature["geometry"])
        except Exception as err:  # shapely raises several types for malformed GeoJSON geometry
            raise SchemaError(f"{label}: geometry cannot be read ({err}).") from err
        if not geom.is_empty:
            _check_lonlat(geom, f"{label} ({code})" if code else label)
    more = doc.get("exceededTransferLimit") or (doc.get("properties") or {}).get(
        "exceededTransferLimit"
    )
    return features, bool(more)


def lads_from_features(
    features: Sequence[Mapping[str, Any]], *, where: str
) -> tuple[gpd.GeoDataFrame, LadFields, list[str]]:
    """GeoJSON features (WGS84) as a LAD frame; see lads_from_frame."""
    if not features:
        raise SchemaError(f"{where}: no features at all.")
    geoms = []
    for index, feature in enumerate(features):
        try:
            geoms.append(shape(feature["geometry"]))
        except Exception as err:  # shapely raises several types for malformed GeoJSON geometry
            raise SchemaError(
                f"{where}, feature {index}: geometry cannot be read ({err})."
            ) from err
    frame = gpd.GeoDataFrame(
        [dict(f["properties"]) for f in features], geometry=geoms, crs=STORAGE_CRS
    )
    return lads_from_frame(frame, where=where)


def lads_from_frame(
    frame: gpd.GeoDataFrame, *, where: str
) -> tuple[gpd.GeoDataFrame, LadFields, list[str]]:
    """A LAD layer (any CRS) as lad_code, lad_name, geometry in WGS84, repaired; and repair notes.

    Raises CRSError when the frame has no CRS or its coordinates are not in the UK, SchemaError
    when the code or name field is missing, a code is not a LAD code or a code repeats with a
    different shape (identical repeats, as overlapping pages return, are dropped).
    """
    if frame.crs is None:
        raise CRSError(
            f"{where}: has no coordinate reference system. Use the file as downloaded (with its"
            " .prj for a Shapefile), or set one, e.g. `ogr2ogr -a_srs EPSG:27700 out.gpkg in.shp`."
        )
    fields = find_lad_fields([c for c in frame.columns if c != frame.geometry.name], where=where)
    wgs84 = frame.to_crs(STORAGE_CRS)
    lads = gpd.GeoDataFrame(
        {
            "lad_code": wgs84[fields.code].astype(str).str.strip().to_numpy(),
            "lad_name": wgs84[fields.name].astype(str).str.strip().to_numpy(),
        },
        geometry=shapely.force_2d(wgs84.geometry.to_numpy()),
        crs=STORAGE_CRS,
    )
    keep = np.ones(len(lads), dtype=bool)
    first: dict[str, int] = {}
    for pos, (code, geom) in enumerate(zip(lads["lad_code"], lads.geometry.array, strict=True)):
        label = f"{where}, feature {pos} ({fields.code}={code!r})"
        if not LAD_CODE.match(code):
            raise SchemaError(
                f"{label}: not a local authority district code (E06/E07/E08/E09/W06/S12/N09 and six"
                " digits). Is this a Local Authority Districts layer?"
            )
        if geom is None or geom.is_empty:
            raise SchemaError(f"{label}: has no geometry.")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise SchemaError(f"{label}: geometry is a {geom.geom_type}; expected polygons.")
        _check_lonlat(geom, label)
        if code in first:
            if not shapely.equals_exact(geom, lads.geometry.array[first[code]], tolerance=0):
                raise SchemaError(
                    f"{label}: the code appears twice with different shapes. The service paged"
                    " inconsistently; try again later."
                )
            keep[pos] = False
        else:
            first[code] = pos
    lads, notes = repair_geometries(lads[keep].reset_index(drop=True), where)
    for pos, geom in enumerate(lads.geometry.array):
        if geom is None or geom.is_empty or not geom.is_valid:
            raise SchemaError(
                f"{where}: {lads['lad_code'].iloc[pos]} has no valid polygon left after repair."
            )
    return lads.sort_values("lad_code", ignore_index=True), fields, notes


def lads_from_districts(
    frame: gpd.GeoDataFrame, *, where: str
) -> tuple[gpd.GeoDataFrame, LadFields, list[str]]:
    """The bundled districts (districts.geojson: code, name, nation) as a LAD frame.

    The layer's `code` and `name` are LAD 2025 codes and names, so they are read as LAD25CD and
    LAD25NM and checked like any downloaded layer (lads_from_frame).
    """
    missing = [c for c in ("code", "name") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where}: no {' or '.join(missing)} field; expected the districts written by"
            " `iszones build-geography` (code, name, nation)."
        )
    renamed = frame[["code", "name", frame.geometry.name]].rename(
        columns={"code": "LAD25CD", "name": "LAD25NM"}
    )
    return lads_from_frame(renamed, where=where)


def check_lads(
    lads: gpd.GeoDataFrame,
    *,
    where: str,
    min_features: int = MIN_FEATURES,
    max_features: int = MAX_FEATURES,
) -> None:
    """Raise SchemaError when the number of districts is implausible for a UK LAD layer."""
    count = len(lads)
    if count < min_features:
        raise SchemaError(
            f"{where}: only {count} districts; a UK LAD layer has about 360 (361 in December 2024)"
            f" and at least {min_features} are needed. The download was truncated or this is a"
            " different layer."
        )
    if count > max_features:
        raise SchemaError(
            f"{where}: {count:,} features, more than the {max_features:,} a LAD layer could"
            " have. Is this a ward or output-area layer?"
        )


def match_councils(
    members: Sequence[LadMember], lads: gpd.GeoDataFrame
) -> dict[int, tuple[list[LadMember], list[LadMember]]]:
    """Per zone: (councils found in the LAD layer, councils not found), in table order."""
    codes = set(lads["lad_code"])
    out: dict[int, tuple[list[LadMember], list[LadMember]]] = {}
    for m in members:
        found, missing = out.setdefault(m.zone_id, ([], []))
        (found if m.lad_code in codes else missing).append(m)
    return out


def missing_councils_message(
    matches: Mapping[int, tuple[Sequence[LadMember], Sequence[LadMember]]],
    *,
    where: str,
    vintage: str,
) -> str | None:
    """A message listing every council the table needs but the layer lacks, or None."""
    missing = [m for _, (_, gone) in sorted(matches.items()) for m in gone]
    if not missing:
        return None
    listed = "; ".join(f"zone {m.zone_id}: {m.lad_name} ({m.lad_code})" for m in missing)
    return (
        f"{where}: {len(missing)} council(s) in lad_membership.csv are not in the layer"
        f" ({vintage} codes): {listed}. If councils have merged or been renamed, update"
        " lad_membership.csv to the layer's codes; otherwise the layer is incomplete."
    )


def _label(code: str, name: str) -> str:
    return f"{name} ({code})"


def build_lad_zones(
    attributes: Sequence[Mapping[str, Any]],
    members: Sequence[Member],
    lad_members: Sequence[LadMember],
    lads: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    source_note: str,
    simplify_m: float = 50.0,
    names_only: bool = False,
) -> gpd.GeoDataFrame:
    """All zone footprints (WGS84) at LAD precision, by iszones.data.footprints.build_zones.

    The admin units are the LADs, named 'Name (code)' (or 'Name' with `names_only`, when the
    names are unique: the codes are in `lad_codes` anyway); the membership table's admin_unit rows
    are replaced by lad_membership.csv. A zone's 'area' councils are unioned; its 'host'
    councils (those holding its tax sites and ports) are unioned only when membership.csv gives
    the zone no anchor sites or places, since otherwise the Freeport outer-boundary method (hull
    of buffered anchors within 45 km, clipped to the LAD land) draws it. Adds `lad_codes`
    (every listed council) and appends `source_note` to `geometry_method`.
    """
    coded = not names_only or bool(lads["lad_name"].duplicated().any())
    labels = {
        code: _label(code, name) if coded else name
        for code, name in zip(lads["lad_code"], lads["lad_name"], strict=True)
    }
    anchored = {m.zone_id for m in members if m.member_type in ("site", "place")}
    unit_members = [m for m in members if m.member_type != "admin_unit"]
    for lm in lad_members:
        if lm.role == "area" or lm.zone_id not in anchored:
            unit_members.append(
                Member(
                    lm.zone_id,
                    "admin_unit",
                    labels[lm.lad_code],
                    0.0,
                    None,
                    None,
                    lm.reason,
                    lm.source,
                )
            )
    units = gpd.GeoDataFrame(
        {"name": [labels[c] for c in lads["lad_code"]]}, geometry=lads.geometry.array, crs=lads.crs
    )
    zones = build_zones(
        attributes, unit_members, units, sites, simplify_m=simplify_m, unit_word="council district"
    )
    codes = {
        zone_id: [m.lad_code for m in lad_members if m.zone_id == zone_id]
        for zone_id in zones["zone_id"]
    }
    out = zones.copy()
    out["lad_codes"] = [codes[z] for z in zones["zone_id"]]
    out["geometry_method"] = [f"{text} {source_note}".strip() for text in zones["geometry_method"]]
    return out


def _tax_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "kind" not in sites.columns or "designated_zone_id" not in sites.columns:
        return sites.iloc[0:0]
    mask = (
        (sites["kind"] == "tax_site")
        & sites["designated_zone_id"].notna()
        & sites.geometry.notna()
        & ~sites.geometry.is_empty
    )
    return sites[mask.to_numpy()]


def check_tax_sites(zones: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> list[str]:
    """A problem for each tax site outside the rebuilt footprint of the zone it is designated to."""
    taxed = _tax_sites(sites)
    if taxed.empty:
        return []
    zones_bng = to_measure_crs(zones, "The rebuilt zones")
    by_id = dict(zip(zones_bng["zone_id"], zones_bng.geometry.array, strict=True))
    sites_bng = to_measure_crs(taxed, "The tax sites")
    problems = []
    for site_id, zone_id, geom in zip(
        taxed["site_id"], taxed["designated_zone_id"], sites_bng.geometry.array, strict=True
    ):
        footprint = by_id.get(int(zone_id))
        if footprint is None:
            continue  # a zone outside this build (not in zone_attributes.json) is not checked
        distance = footprint.distance(geom)
        if distance > BOUNDARY_TOLERANCE_M:
            problems.append(
                f"tax site {site_id!r} is {distance / 1000:.2f} km outside the rebuilt footprint of"
                f" zone {int(zone_id)}. Add its council to lad_membership.csv (role 'area') or the"
                " site as an anchor in membership.csv."
            )
    return problems


def council_warnings(
    lad_members: Sequence[LadMember], lads: gpd.GeoDataFrame, sites: gpd.GeoDataFrame
) -> list[str]:
    """Things for the maintainer to check: renamed councils, tax sites in unlisted councils."""
    warnings = []
    names = dict(zip(lads["lad_code"], lads["lad_name"], strict=True))
    for m in lad_members:
        if m.lad_code in names and _plain_name(names[m.lad_code]) != _plain_name(m.lad_name):
            warnings.append(
                f"lad_membership.csv line {m.line}: {m.lad_code} is {names[m.lad_code]!r} in the"
                f" layer but {m.lad_name!r} in the table."
            )
    taxed = _tax_sites(sites)
    if taxed.empty:
        return warnings
    listed = {(m.zone_id, m.lad_code) for m in lad_members}
    lads_bng = to_measure_crs(lads, "The LADs")
    tree = shapely.STRtree(lads_bng.geometry.array)
    sites_bng = to_measure_crs(taxed, "The tax sites").geometry.array
    (site_pos, lad_pos), _ = tree.query_nearest(
        sites_bng, max_distance=HOST_SEARCH_M, return_distance=True, all_matches=False
    )
    for s, lad in zip(site_pos, lad_pos, strict=True):
        zone_id = int(taxed["designated_zone_id"].iloc[s])
        code = lads_bng["lad_code"].iloc[lad]
        if (zone_id, code) not in listed and any(m.zone_id == zone_id for m in lad_members):
            warnings.append(
                f"tax site {taxed['site_id'].iloc[s]!r} (zone {zone_id}) lies in"
                f" {_label(code, names[code])}, which lad_membership.csv does not list for zone"
                f" {zone_id}; add it with role 'host'."
            )
    return warnings


def _plain_name(name: str) -> str:
    text = name.lower().replace("&", " and ")
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


def zone_changes(
    attributes: Sequence[Mapping[str, Any]],
    before: gpd.GeoDataFrame | None,
    after: gpd.GeoDataFrame | None,
    matches: Mapping[int, tuple[Sequence[LadMember], Sequence[LadMember]]],
) -> list[ZoneChange]:
    """One row per zone: area before and after (km², EPSG:27700) and councils matched/unmatched."""

    def areas(frame: gpd.GeoDataFrame | None) -> dict[int, float]:
        if frame is None or frame.empty:
            return {}
        return dict(
            zip(
                (int(z) for z in frame["zone_id"]),
                (float(a) for a in areas_km2(frame)),
                strict=True,
            )
        )

    old, new = areas(before), areas(after)
    rows = []
    for attrs in attributes:
        zone_id = int(attrs["zone_id"])
        found, missing = matches.get(zone_id, ([], []))
        rows.append(
            ZoneChange(
                zone_id=zone_id,
                name=str(attrs["name"]),
                before_km2=old.get(zone_id),
                after_km2=new.get(zone_id),
                matched=tuple(_label(m.lad_code, m.lad_name) for m in found),
                unmatched=tuple(_label(m.lad_code, m.lad_name) for m in missing),
            )
        )
    return rows
