"""Field specs, vocabularies and CRS constants for zones and sites, and their validation.

Validation is pure: it takes feature properties and the file name for messages, and raises
SchemaError naming the file, the feature, the field, the bad value and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from iszones.errors import CRSError, SchemaError

STORAGE_CRS = "EPSG:4326"
MEASURE_CRS = "EPSG:27700"
# How a GeoJSON file may name WGS84 longitude/latitude in its (old-style) "crs" member.
WGS84_NAMES = frozenset(
    {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}
)

# The Industrial Strategy's eight growth-driving sectors, spelt as the Action Plan spells them.
SECTORS: tuple[str, ...] = (
    "Advanced Manufacturing",
    "Clean Energy Industries",
    "Creative Industries",
    "Defence",
    "Digital and Technologies",
    "Financial Services",
    "Life Sciences",
    "Professional and Business Services",
)
PROGRAMMES: tuple[str, ...] = ("freeport", "investment_zone", "both")
PROGRAMME_LABELS = {
    "freeport": "Freeport",
    "investment_zone": "Investment Zone",
    "both": "Freeport and Investment Zone",
}
NATIONS: tuple[str, ...] = ("England", "Scotland", "Wales", "Northern Ireland")
STATUSES: tuple[str, ...] = ("operational", "in development")
SITE_KINDS: tuple[str, ...] = (
    "tax_site",
    "customs_site",
    "port",
    "asset",
    "investment",
    "project",
    "place",
    "programme",
)
SITE_KIND_LABELS = {
    "tax_site": "Tax site",
    "customs_site": "Customs site",
    "port": "Port or airport",
    "asset": "Innovation asset",
    "investment": "Investment",
    "project": "Project",
    "place": "Place",
    "programme": "Region-wide programme",
}
FUNDING_KINDS: tuple[str, ...] = (
    "public_funding",  # seed capital, Investment Zone envelopes, grants
    "retained_rates",  # business rates kept locally
    "private_investment",  # investment made or promised by companies
    "investment_target",  # investment a zone aims to attract
    "project_cost",  # the total cost of a project
    "loan_finance",  # repayable loans or credit facilities: not public funding, never a grant
)
GEOMETRY_PRECISIONS: tuple[str, ...] = ("admin_area", "indicative", "official")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Check = Callable[[Any], str | None]  # returns what was expected, or None when the value is fine


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def _optional_text(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "a string or null"


def _one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)
    return lambda value: None if value in allowed else f"one of {', '.join(allowed)}"


def _date(value: Any) -> str | None:
    if isinstance(value, str) and _DATE.match(value):
        try:
            dt.date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "a date as YYYY-MM-DD"


def _optional_number(value: Any) -> str | None:
    ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    return None if ok and (value is None or value >= 0) else "a number >= 0 or null"


def _sectors(value: Any) -> str | None:
    expected = f"a list of sectors from: {', '.join(SECTORS)}"
    if not isinstance(value, list) or any(s not in SECTORS for s in value):
        return expected
    return "a list without repeats" if len(set(value)) != len(value) else None


def _sector_qualifiers(value: Any) -> str | None:
    expected = "a list of {label, sectors} with sectors from the vocabulary"
    if not isinstance(value, list):
        return expected
    for item in value:
        if not isinstance(item, dict) or _text(item.get("label")) or _sectors(item.get("sectors")):
            return expected
    return None


def _sources(value: Any) -> str | None:
    expected = (
        "a non-empty list of {document, section, url, date} (optional url_note) with a"
        " document named"
    )
    if not isinstance(value, list) or not value:
        return expected
    for item in value:
        if not isinstance(item, dict) or _text(item.get("document")):
            return expected
        if item.get("date") is not None and _date(item["date"]):
            return "source dates as YYYY-MM-DD"
        if _optional_text(item.get("url_note")):
            return expected
    return None


def _optional_slug(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(_SLUG.match(value)))


def _funding(value: Any) -> str | None:
    expected = (
        "a list of {amount_gbp (number or null), kind, what, period, source} (optional key and"
        f" included_in: slugs) with kind one of {', '.join(FUNDING_KINDS)}"
    )
    if not isinstance(value, list):
        return expected
    for line in value:
        if not isinstance(line, dict) or line.get("kind") not in FUNDING_KINDS:
            return expected
        if _optional_number(line.get("amount_gbp")) or _text(line.get("what")):
            return expected
        if _text(line.get("source")) or _optional_text(line.get("period")):
            return expected
        if not (_optional_slug(line.get("key")) and _optional_slug(line.get("included_in"))):
            return expected
    return None


def _jobs(value: Any) -> str | None:
    expected = "null or a list of {number, meaning, source}"
    if value is None:
        return None
    if not isinstance(value, list):
        return expected
    for line in value:
        if (
            not isinstance(line, dict)
            or _optional_number(line.get("number"))
            or line["number"] is None
        ):
            return expected
        if _text(line.get("meaning")) or _text(line.get("source")):
            return expected
    return None


def _text_list(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else "a list of names"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _zone_id(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "a whole number >= 1"


def _is_null(value: Any) -> bool:
    # pandas turns a missing optional value into NaN when a frame is built from records
    return value is None or (isinstance(value, float) and value != value)


def _optional_date(value: Any) -> str | None:
    return None if _is_null(value) else _date(value)


def _optional_note(value: Any) -> str | None:
    return None if _is_null(value) else _text(value)


def _optional_zone_id(value: Any) -> str | None:
    return None if value is None else _zone_id(value)


def _slug(value: Any) -> str | None:
    ok = isinstance(value, str) and _SLUG.match(value)
    return None if ok else "a lower-case slug such as 'infinity-park-derby'"


ZONE_FIELDS: dict[str, Check] = {
    "zone_id": _zone_id,
    "name": _text,
    "programme": _one_of(PROGRAMMES),
    "nation": _one_of(NATIONS),
    "status": _one_of(STATUSES),
    "lead_body": _text,
    "sectors": _sectors,
    "sector_qualifiers": _sector_qualifiers,
    "funding": _funding,
    "jobs": _jobs,
    "tax_sites": _text_list,
    "sources": _sources,
    "geometry_method": _text,
    "geometry_precision": _one_of(GEOMETRY_PRECISIONS),
    "last_checked": _date,
}

SITE_FIELDS: dict[str, Check] = {
    "site_id": _slug,
    "name": _text,
    "kind": _one_of(SITE_KINDS),
    "sectors": _sectors,
    "d2n2_asset": _bool,
    "designation": _optional_text,
    "designated_zone_id": _optional_zone_id,
    "funding": _funding,
    "jobs": _jobs,
    "description": _text,
    "sources": _sources,
    "location_precision": _text,
    "location_precision_m": _optional_number,
    "last_checked": _date,
}

# Checked only when present, so older files and hand-made fixtures still read.
OPTIONAL_ZONE_FIELDS: dict[str, Check] = {
    "tax_relief_until": _optional_date,  # the programme's window; per tax site see relief_until
    "tax_sites_note": _optional_note,  # why the tax-site list is empty or partial
}
OPTIONAL_SITE_FIELDS: dict[str, Check] = {
    "relief_until": _optional_date,  # last day of a tax site's relief window
    "relief_source": _optional_note,  # the document giving that window (one of the sources)
}


def feature_list(doc: Any, where: str, *, crs_fix: str) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection in WGS84, each with a properties object;
    otherwise SchemaError (or CRSError, followed by `crs_fix`: what to do) naming `where`."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        got = type(doc).__name__ if not isinstance(doc, dict) else f"type {doc.get('type')!r}"
        raise SchemaError(
            f"{where}: expected a GeoJSON FeatureCollection at the top level, not {got}."
        )
    crs_name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if crs_name is not None and crs_name not in WGS84_NAMES:
        raise CRSError(f"{where}: declares CRS {crs_name!r}; {crs_fix}")
    features = doc.get("features")
    if not isinstance(features, list):
        raise SchemaError(f"{where}: 'features' is missing or not a list.")
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise SchemaError(f"{where}: feature {index} is not a GeoJSON Feature with properties.")
    return features


def validate_properties(
    rows: Iterable[Mapping[str, Any]],
    fields: Mapping[str, Check],
    *,
    path: str,
    id_field: str,
    optional: Mapping[str, Check] | None = None,
) -> None:
    """Check every row against the field specs and that ids are unique; raise SchemaError."""
    seen: set[Any] = set()
    for index, row in enumerate(rows):
        label = f"feature {index} ({id_field}={row.get(id_field)!r})"
        for field, check in {**fields, **(optional or {})}.items():
            if field not in row:
                if optional and field in optional:
                    continue
                raise SchemaError(
                    f"{path}: {label} has no field {field!r}. Add it (null if unknown)."
                )
            expected = check(row[field])
            if expected:
                raise SchemaError(
                    f"{path}: {label}, field {field!r} is {row[field]!r}; expected {expected}."
                )
        if row[id_field] in seen:
            raise SchemaError(
                f"{path}: {label} repeats {id_field} {row[id_field]!r}; ids must be unique."
            )
        seen.add(row[id_field])


def validate_zone_properties(rows: Iterable[Mapping[str, Any]], *, path: str) -> None:
    """Validate zone feature properties (see ZONE_FIELDS)."""
    validate_properties(
        rows, ZONE_FIELDS, path=path, id_field="zone_id", optional=OPTIONAL_ZONE_FIELDS
    )


def validate_site_properties(rows: Iterable[Mapping[str, Any]], *, path: str) -> None:
    """Validate site feature properties (see SITE_FIELDS)."""
    validate_properties(
        rows, SITE_FIELDS, path=path, id_field="site_id", optional=OPTIONAL_SITE_FIELDS
    )


def total_funding(lines: Iterable[Mapping[str, Any]], kind: str) -> float:
    """Sum the known amounts of one funding kind, counting no money twice.

    A line with `included_in` names the `key` of a line whose amount already contains it (a
    part of a larger sum, or the same money repeated on another record). It is skipped when
    that line, or any line that one is in turn included in, is among `lines`; otherwise it
    counts. Lines of different kinds are never added together.
    """
    pool = [line for line in lines if line.get("kind") == kind]
    keys = {line["key"] for line in pool if line.get("key")}
    parent = {line["key"]: line.get("included_in") for line in pool if line.get("key")}
    total = 0.0
    for line in pool:
        container, seen = line.get("included_in"), set()
        counted_elsewhere = False
        while container and container not in seen:
            if container in keys:
                counted_elsewhere = True
                break
            seen.add(container)
            container = parent.get(container)
        if not counted_elsewhere and line.get("amount_gbp") is not None:
            total += float(line["amount_gbp"])
    return total


def _short_name(document: str) -> str:
    return re.split(r":| \(|, ", document, maxsplit=1)[0].strip().casefold()


def _host(url: str | None) -> str:
    match = re.match(r"^https?://(?:www\.)?([^/]+)", url or "")
    return match.group(1).casefold() if match else ""


def unlisted_figure_sources(props: Mapping[str, Any]) -> list[str]:
    """The `source` of each funding, jobs or relief line not found in the feature's sources.

    A figure's source is found when it starts with a listed document's short name (the title
    before any ':', ' (' or ', ') or names the host of a listed document's url.
    """
    names = [_short_name(s["document"]) for s in props.get("sources") or []]
    hosts = [_host(s.get("url")) for s in props.get("sources") or []]
    cited = [line.get("source") for line in props.get("funding") or []]
    cited += [line.get("source") for line in props.get("jobs") or []]
    if props.get("relief_source"):
        cited.append(props["relief_source"])
    missing = []
    for text in cited:
        plain = str(text or "").casefold()
        if not any(n and plain.startswith(n) for n in names) and not any(
            h and h in plain for h in hosts
        ):
            missing.append(str(text))
    return missing
