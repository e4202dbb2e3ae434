"""The one place a site check's answers become result columns, for every output.

`result_columns` turns answers (positions into the index's zones, units and tax sites) into
`Column`s; each Column gives its values to a frame (`Column.series`), to Arrow/Parquet
(`Column.arrow`) and to CSV (`Column.csv`, a field of csvtext.csv_rows). The stream, the
in-memory check and the Dask path all call it, so adding a result column is one entry here.

Most answers follow from a few keys (the set of zones a site is in, or the zone nearest to it;
its council; its nearest tax site), so a column is stored as values per key plus a key per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iszones.check.csvtext import cell_text
from iszones.check.summary import possibly_in_tax_site
from iszones.check.taxsites import TaxAnswers, TaxSiteIndex
from iszones.data.geojson import json_texts
from iszones.errors import IszonesError
from iszones.geo.texts import Field, float_text
from iszones.inputs.placing import GEOMETRY, LOCATION_SOURCES
from iszones.inputs.text import spreadsheet_column

RESULT_COLUMNS = (
    "zone_id",
    "zone_name",
    "programme",
    "in_zone",
    "area_share_in_zone",  # only when some sites are polygons
    "nearest_zone_id",
    "nearest_zone_name",
    "nearest_zone_distance_m",
    "within_km",  # only when within_km is given
    "local_authority",
    "boundary_source",
    "problem",
    "lad_code",
    "lad_note",
    "tax_site_id",
    "tax_site_name",
    "nearest_tax_site_id",
    "nearest_tax_site_name",
    "nearest_tax_site_distance_m",
    "nearest_tax_site_precision_m",
    "answer",
    "location_source",
    "customs_site_id",
    "customs_site_name",
    "nearest_customs_site_id",
    "nearest_customs_site_name",
    "nearest_customs_site_distance_m",
    "nearest_customs_site_precision_m",
)
BORDER_NOTE_M = 200.0
# Answers.unit_note codes, and what lad_note says for each
FAR_FROM_POSTCODES_M = 1000.0
NEAR_BORDER, OFF_COAST, NO_COUNCIL, FAR_FROM_POSTCODES, NEAR_BORDER_FAR = 1, 2, 3, 4, 5
_FAR = (
    f"over {FAR_FROM_POSTCODES_M / 1000:g} km from any postcode, where district borders are guesses"
)
COUNCIL_NOTES = (
    None,
    f"within {BORDER_NOTE_M:.0f} m of a council border: check the council",
    "off the mapped coastline: the nearest council within 5 km",
    "no council within 5 km",
    f"{_FAR}: check the council",
    f"within {BORDER_NOTE_M:.0f} m of a council border and {_FAR}: check the council",
)
WGS84_DIGITS = 7  # decimals of longitude and latitude in GeoJSON results: about a centimetre
ARROW_TYPES = {
    "in_zone": pa.bool_(),
    "within_km": pa.bool_(),
    "area_share_in_zone": pa.float64(),
    "nearest_zone_distance_m": pa.float64(),
    "nearest_tax_site_distance_m": pa.float64(),
    "nearest_tax_site_precision_m": pa.float64(),
    "nearest_customs_site_distance_m": pa.float64(),
    "nearest_customs_site_precision_m": pa.float64(),
}
# Answer sentences made at a time: a million sites far apart can have half a million sentences,
# each made once; in slices, the parts of a sentence need memory for one slice, not all.
SENTENCES_AT_ONCE = 32768
# How a programme's footprint is called in an answer.
_LEVEL = {
    "Freeport": "Freeport outer boundary",
    "Investment Zone": "Investment Zone area",
    "Freeport and Investment Zone": "programme area",
}


def require_within_km(within_km: float | None) -> None:
    """IszonesError unless within_km is None or a distance (km, 0 or more)."""
    if within_km is not None and not (within_km >= 0 and np.isfinite(within_km)):
        raise IszonesError(f"within_km must be a distance of 0 km or more, not {within_km!r}.")


def result_names(*, within_km: float | None, polygons: bool) -> list[str]:
    """The result columns written, in order, for these options."""
    return [
        c
        for c in RESULT_COLUMNS
        if (c != "within_km" or within_km is not None) and (c != "area_share_in_zone" or polygons)
    ]


@dataclass(frozen=True)
class Answers:
    """A check's answers for located sites, as positions into the index's tables.

    combo: per site, -1 outside every zone, else a row of `combos` (the zone positions it is
        in, lowest first); rows 0..n-1 are the single zones.
    nearest: zone position of the nearest zone (the first of its zones when inside).
    distance: metres to it, rounded to the cm (0 inside).
    unit: position of the council (containing, else nearest within 5 km), or -1.
    unit_note: per site, a COUNCIL_NOTES code (near a border, off the coast), or None.
    share: for polygon sites, the share of their area inside their zones (NaN for others);
        None when every site is a point.
    tax: the tax-site answers, or None when the index has no tax sites.
    """

    combo: np.ndarray
    combos: list[tuple[int, ...]]
    nearest: np.ndarray
    distance: np.ndarray
    unit: np.ndarray
    share: np.ndarray | None = None
    tax: TaxAnswers | None = None
    unit_note: np.ndarray | None = None  # COUNCIL_NOTES codes; None: no notes
    customs: TaxAnswers | None = None  # the customs-site answers, when the index has them


@dataclass(frozen=True)
class Labels:
    """What the result columns say of an index's zones, councils and sites
    (core.CheckIndex.labels): its tables without its grids, so that a large check's grid cells
    can be freed before its columns are made. Positions are the index's."""

    zone_ids: np.ndarray
    zone_text: dict[str, np.ndarray]  # per zone: zone_id as text, zone_name, programme, ...
    unit_names: np.ndarray | None = None
    unit_codes: np.ndarray | None = None
    tax: TaxSiteIndex | None = None  # grid None: the sites' table, geometries and points
    customs: TaxSiteIndex | None = None


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One result column: `table` values taken by `codes` per row, or per-row `table` when
    `codes` is None. Text and booleans are object arrays with None for empty (or text an Arrow
    array); numbers are floats with NaN for empty."""

    name: str
    table: np.ndarray | pa.Array | pa.ChunkedArray
    codes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes) if self.codes is not None else len(self.table)

    @property
    def values(self) -> np.ndarray:
        """Per row, as a numpy array (object for text and booleans, float for numbers)."""
        table = self.table
        if isinstance(table, pa.ChunkedArray):  # chunk by chunk: no whole copy in Arrow
            table = np.concatenate([_objects(chunk) for chunk in table.chunks])
        elif isinstance(table, pa.Array):
            table = _objects(table)
        return table if self.codes is None else table[self.codes]

    def series(self, index: pd.Index) -> pd.Series:
        """Per row as a pandas column on `index`: text taken by codes as a Categorical (its
        codes of 1-4 bytes a row, not an 8-byte object pointer: a million checked rows hold
        about 150 MB less), empty (NaN) where there is no value; numbers, flags (True, False or
        None) and the answer sentences as `values`."""
        table = self.table
        if (
            self.codes is None
            or not isinstance(table, np.ndarray)
            or table.dtype != object
            or self.name in ARROW_TYPES
        ):
            values = self.values  # objects keep None for "not checked" (pandas 3 makes NaN)
            return pd.Series(values, index=index, dtype=values.dtype, copy=False)
        where, categories = pd.factorize(table)
        where = where.astype(np.min_scalar_type(-len(categories) - 1))  # -1: empty
        return pd.Series(
            pd.Categorical.from_codes(where[self.codes], pd.Index(categories, dtype=object)),
            index=index,
            copy=False,
        )

    def typed(self) -> pa.Array:
        """`table` typed (ARROW_TYPES, else text)."""
        kind = ARROW_TYPES.get(self.name, pa.string())
        if isinstance(self.table, (pa.Array, pa.ChunkedArray)):
            return _whole(self.table).cast(kind)
        values = self.table
        if kind == pa.string():
            values = np.array([None if v is None else str(v) for v in values], dtype=object)
        return pa.array(values, kind, from_pandas=True)

    def arrow(self) -> pa.Array:
        """Per row, typed (ARROW_TYPES, else text)."""
        table = self.typed()
        return table if self.codes is None else table.take(pa.array(self.codes))

    def text(self) -> pa.Array:
        """Each value of `table` as a CSV cell holds it (csvtext.cell_text), before quoting."""
        if isinstance(self.table, (pa.Array, pa.ChunkedArray)):
            return spreadsheet_column(_whole(self.table).fill_null(""))
        if ARROW_TYPES.get(self.name) == pa.float64():
            return float_text(np.asarray(self.table, dtype=float))
        # a table of keys (zones, councils, problems: a few hundred at most), one by one
        return pa.array([cell_text(v) for v in self.table], pa.string())

    def csv(self) -> Field:
        """The column as a field of csvtext.csv_rows."""
        return self.text() if self.codes is None else (self.text(), self.codes)

    def json(self) -> Field:
        """The column as JSON texts (typed: numbers, true/false, quoted text, null), a field of
        data.geojson.feature_lines."""
        texts = json_texts(self.typed())
        return texts if self.codes is None else (texts, self.codes)


def _objects(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


def _whole(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _tenths(metres: np.ndarray) -> np.ndarray:
    return np.round(np.nan_to_num(metres) / 100.0).astype(np.int64)


def _zone_phrase(names: Sequence[str], programmes: Sequence[str], sources: Sequence[str]) -> str:
    parts = []
    for name, programme, source in zip(names, programmes, sources, strict=True):
        level = _LEVEL.get(programme, "zone area")
        how = "indicative" if source.startswith("bundled") else f"boundary from {source}"
        parts.append(f"{name} ({level}, {how})")
    return "Inside " + " and ".join(parts)


def _answer(
    key: np.ndarray,
    combos: list[tuple[int, ...]],
    distance: np.ndarray,
    tax: TaxAnswers | None,
    index: Labels,
    ok: np.ndarray,
    customs: TaxAnswers | None = None,
) -> Column:
    """The sentence a person can paste into a report, per row ('' when not checked).

    Rows with the same zone key, tax-site state and distances (to 0.1 km) say the same thing,
    so each distinct sentence is written once and the rows keyed to it.
    """
    text = index.zone_text
    ids = text["zone_id"]
    heads = [""]
    for combo in combos:
        heads.append(
            _zone_phrase(
                [text["zone_name"][z] for z in combo],
                [text["programme"][z] for z in combo],
                [text["boundary_source"][z] for z in combo],
            )
        )
    heads += [
        f"Outside every zone; {{km}} from zone {ids[z]} ({text['zone_name'][z]})"
        for z in range(len(ids))
    ]
    # one int64 per distinct sentence: key (13 bits), zone km (16), state (12), tax km (16),
    # customs state (6); each part added in place and let go (a million rows: 8 MB a part)
    packed = key.astype(np.int64) << 44
    _add_bits(packed, np.where(ok & (key > len(combos)), _tenths(distance), 0), 28, 65535)
    tails = [""]
    if tax is not None and index.tax is not None:
        tails, state, tax_km = _tax_phrases(tax, index.tax, ok)
        _add_bits(packed, state, 16)  # 0 nothing, 1 + t inside, then maybe, then near
        _add_bits(packed, tax_km, 0, 65535)
        del state, tax_km
    customs_tails, customs_state = _customs_phrases(customs, index, ok)
    _add_bits(packed, customs_state, 57)
    del customs_state
    unique, codes = np.unique(packed, return_inverse=True)
    sentences = []
    for start in range(0, max(len(unique), 1), SENTENCES_AT_ONCE):
        some = unique[start : start + SENTENCES_AT_ONCE]
        parts = [
            *_filled(heads, (some >> 44) & 8191, (some >> 28) & 65535),
            *_filled(tails, (some >> 16) & 4095, some & 65535),
            pa.array(customs_tails, pa.string()).take(pa.array(some >> 57)),
        ]
        sentences.append(pc.binary_join_element_wise(*parts, ""))
    table = sentences[0] if len(sentences) == 1 else pa.chunked_array(sentences)
    return Column("answer", table, codes.ravel().astype(np.int32))


def _add_bits(packed: np.ndarray, values: np.ndarray, shift: int, most: int | None = None) -> None:
    """packed |= min(values, most) << shift, in place, `values` (int64) used as the scratch."""
    if most is not None:
        np.minimum(values, most, out=values)
    values <<= shift
    packed |= values


def _filled(templates: Sequence[str], which: np.ndarray, tenths: np.ndarray) -> list[pa.Array]:
    """Per value, templates[which] with its '{km}' (if any) filled with `tenths` of a km
    ('0.4 km', '6.0 km', '12.3 km'): three text arrays to join (before, distance, after)."""
    split = [t.split("{km}", 1) for t in templates]
    rows = pa.array(which)
    before = pa.array([p[0] for p in split], pa.string()).take(rows)
    after = pa.array([p[1] if len(p) > 1 else "" for p in split], pa.string()).take(rows)
    has_km = np.array([len(p) > 1 for p in split], dtype=bool)[which]
    km = pc.binary_join_element_wise(
        pc.cast(pa.array(tenths // 10), pa.string()),
        pc.cast(pa.array(tenths % 10), pa.string()),
        ".",
    )
    km = pc.if_else(pa.array(has_km), pc.binary_join_element_wise(km, " km", ""), "")
    return [before, km, after]


def _customs_phrases(
    customs: TaxAnswers | None, index: Labels, ok: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """The customs-site part of the answers, said only when a site is in one by boundary or
    within a customs site point's precision (one phrase per site and state), and each row's
    state (0: nothing to say)."""
    state = np.zeros(len(ok), dtype=np.int64)
    sites = index.customs
    if customs is None or sites is None or 2 * len(sites.geoms) + 1 > 63:
        return [""], state
    names, precision, decided = (sites.sites[c] for c in ("name", "precision_m", "decided_by"))
    inside = ok & (customs.inside >= 0)
    near = ok & ~inside & tax_level(customs, sites) & (customs.nearest >= 0)
    state[inside] = 1 + customs.inside[inside]
    state[near] = 1 + len(names) + customs.nearest[near]
    tails = [
        "",
        *(f"; inside the {n} customs site ({d})" for n, d in zip(names, decided, strict=True)),
        *(
            f"; possibly in the {n} customs site (located to ±{p:,.0f} m)"
            for n, p in zip(names, precision, strict=True)
        ),
    ]
    return tails, state


def _tax_phrases(
    tax: TaxAnswers, index: TaxSiteIndex, ok: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The tax-site part of the answers (against the tax sites `index`): one phrase per (tax
    site, state), each row's state, and its distance in tenths of a km."""
    sites = index.sites
    names, precision = sites["name"], sites["precision_m"]
    designation, decided = sites["designation"], sites["decided_by"]
    n_tax = len(names)
    inside_text, maybe, near = [], [], []
    for t in range(n_tax):
        where = f"located to ±{precision[t]:,.0f} m" if precision[t] > 0 else decided[t]
        check = f"check the {_instrument(designation[t])} map"
        inside_text.append(f"; inside the {names[t]} tax site ({decided[t]})")
        maybe.append(
            f"; {{km}} from the {names[t]} tax site ({where}), so possibly inside it: {check}"
        )
        near.append(f"; {{km}} from the nearest tax site, {names[t]} ({where})")
    state = np.zeros(len(ok), dtype=np.int64)
    has = ok & (tax.nearest >= 0)
    inside = ok & (tax.inside >= 0)
    within = has & ~inside & tax_level(tax, index)
    rest = has & ~inside & ~within
    state[inside] = 1 + tax.inside[inside]
    state[within] = 1 + n_tax + tax.nearest[within]
    state[rest] = 1 + 2 * n_tax + tax.nearest[rest]
    km = np.where(within | rest, _tenths(tax.distance), 0)
    return ["", *inside_text, *maybe, *near], state, km


def tax_level(tax: TaxAnswers, sites: TaxSiteIndex) -> np.ndarray:
    """Per site: inside or possibly inside one of `sites` (tax or customs sites; see
    summary.possibly_in_tax_site)."""
    precision = sites.sites["precision_m"]
    known = tax.nearest >= 0
    near_precision = np.where(known, precision[np.maximum(tax.nearest, 0)], 0.0)
    return possibly_in_tax_site(tax.inside >= 0, tax.distance, near_precision)


def _instrument(designation: Any) -> str:
    """'SI 2022/184' from a designation such as 'East Midlands Freeport tax site (SI 2022/184)'."""
    text = str(designation or "")
    start = text.find("SI ")
    if start < 0:
        return "designation"
    return text[start:].split(")")[0].split(";")[0].strip()


def result_columns(
    answers: Answers | None,
    ok: np.ndarray,
    problems: np.ndarray,
    index: Labels,
    *,
    within_km: float | None,
    polygons: bool = False,
    sources: np.ndarray | None = None,
) -> list[Column]:
    """Every result column (result_names order) for rows `ok` answered by `answers` (for the
    ok rows in order, or for every row) and the others with their `problems`; `sources` says
    where each row's location came from (inputs.placing.LOCATION_SOURCES codes; None: its
    geometry)."""
    n = len(ok)

    def on_rows(field: str, fill: Any, dtype: Any = np.int64) -> np.ndarray:
        """An answer for every row (`fill` where there is none), made once."""
        values = None if answers is None else getattr(answers, field)
        return np.full(n, fill, dtype=dtype) if values is None else _on_rows(values, ok, fill)

    combo = on_rows("combo", -2)  # -2 unchecked, -1 outside, else a combo
    nearest = on_rows("nearest", 0)
    distance = on_rows("distance", np.nan, float)
    unit = on_rows("unit", -1)
    share = on_rows("share", np.nan, float)
    # councils given: their notes; none given: nothing to say about them
    note = on_rows("unit_note", 0) if index.unit_names is not None else np.zeros(n, np.int64)
    combos: list[tuple[int, ...]] = answers.combos if answers is not None else []
    tax = None if answers is None or answers.tax is None else _spread(answers.tax, ok)
    inside = combo >= 0
    text = index.zone_text
    ids = index.zone_ids
    # key 0 not checked, then each set of zones a site is in, then each zone nearest to one outside
    key = np.where(inside, combo + 1, 1 + len(combos) + nearest)
    key[~ok] = 0
    nz = len(ids)

    def keyed(name: str, in_combo: list[Any], outside: list[Any]) -> Column:
        return Column(name, np.array([None, *in_combo, *outside], dtype=object), key)

    def joined(column: str, sep: str) -> list[Any]:
        values = text[column]
        return [sep.join(dict.fromkeys(values[list(c)])) for c in combos]

    columns = [
        keyed("zone_id", joined("zone_id", ";"), [None] * nz),
        keyed("zone_name", joined("zone_name", "; "), [None] * nz),
        keyed("programme", joined("programme", "; "), [None] * nz),
        keyed("in_zone", [True] * len(combos), [False] * nz),
        Column("area_share_in_zone", np.round(share, 4)),
        keyed("nearest_zone_id", [ids[c[0]] for c in combos], list(ids)),
        keyed(
            "nearest_zone_name", [text["zone_name"][c[0]] for c in combos], list(text["zone_name"])
        ),
        Column("nearest_zone_distance_m", distance),
    ]
    if within_km is not None:
        near = np.where(ok, 1 + (distance <= within_km * 1000), 0)
        columns.append(Column("within_km", np.array([None, False, True], dtype=object), near))
    unit_names = index.unit_names if index.unit_names is not None else np.empty(0, dtype=object)
    unit_codes = index.unit_codes
    if unit_codes is None:
        unit_codes = np.full(len(unit_names), None, dtype=object)
    unit_key = unit + 1
    columns.append(Column("local_authority", np.array([None, *unit_names], dtype=object), unit_key))
    columns.append(
        keyed("boundary_source", joined("boundary_source", "; "), list(text["boundary_source"]))
    )
    said = np.flatnonzero(~ok)
    codes = np.zeros(n, dtype=np.int32)
    unique: Any = []
    if len(said):
        unique, inverse = np.unique(problems[said].astype(str), return_inverse=True)
        codes[said] = 1 + inverse.ravel()
    columns.append(Column("problem", np.array(["", *unique], dtype=object), codes))
    columns.append(Column("lad_code", np.array([None, *unit_codes], dtype=object), unit_key))
    columns.append(Column("lad_note", np.array(COUNCIL_NOTES, dtype=object), note))
    columns += _site_columns("tax", tax, index.tax.sites if index.tax else None, n)
    customs = _spread(answers.customs, ok) if answers and answers.customs is not None else None
    customs_sites = index.customs.sites if index.customs is not None else None
    columns += _site_columns("customs", customs, customs_sites, n)
    columns.append(_answer(key, combos, distance, tax, index, ok, customs))
    source = np.where(ok, GEOMETRY if sources is None else sources, 0).astype(np.int8)
    columns.append(Column("location_source", np.array(LOCATION_SOURCES, dtype=object), source))
    wanted = result_names(within_km=within_km, polygons=polygons)
    by_name = {c.name: c for c in columns}
    return [by_name[name] for name in wanted]


def _on_rows(values: np.ndarray, ok: np.ndarray, fill: Any) -> np.ndarray:
    """Values of the ok rows as one per row, `fill` for the others; `values` itself when
    every row is ok (no copy of a million answers)."""
    if len(values) == len(ok):
        return values
    out = np.full(len(ok), fill, dtype=values.dtype)
    out[ok] = values
    return out


def _spread(tax: TaxAnswers, ok: np.ndarray) -> TaxAnswers:
    """Tax answers for the ok rows spread over all rows (-1 / NaN elsewhere)."""
    return TaxAnswers(
        _on_rows(tax.inside, ok, -1),
        _on_rows(tax.nearest, ok, -1),
        _on_rows(tax.distance, ok, np.nan),
    )


def _site_columns(level: str, found: TaxAnswers | None, sites: Any, n: int) -> list[Column]:
    """The columns of one level of designated sites (`tax` or `customs`): the site a row is in
    by boundary, and the nearest one with its distance and location precision."""
    names = (f"{level}_site_id", f"{level}_site_name")
    nearest = (f"nearest_{level}_site_id", f"nearest_{level}_site_name")
    if found is None or sites is None:
        none = np.zeros(n, dtype=np.int64)
        return [
            *(Column(name, np.array([None], dtype=object), none) for name in (*names, *nearest)),
            Column(f"nearest_{level}_site_distance_m", np.array([np.nan]), none),
            Column(f"nearest_{level}_site_precision_m", np.array([np.nan]), none),
        ]
    ids = np.array([None, *sites["tax_site_id"]], dtype=object)
    labels = np.array([None, *sites["name"]], dtype=object)
    precision = np.array([np.nan, *sites["precision_m"]], dtype=float)
    inside, near = found.inside + 1, found.nearest + 1  # one array per key (csv_fields)
    return [
        Column(names[0], ids, inside),
        Column(names[1], labels, inside),
        Column(nearest[0], ids, near),
        Column(nearest[1], labels, near),
        Column(f"nearest_{level}_site_distance_m", found.distance),
        Column(f"nearest_{level}_site_precision_m", precision, near),
    ]
