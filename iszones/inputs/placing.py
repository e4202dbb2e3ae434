"""Sites placed by postcode: a table's postcode column places the rows that have no
coordinates (or every row, when the table has none); coordinates win where both are given,
and a postcode more than FAR_M from its row's coordinates is flagged. Where each row was
placed from is a LOCATION_SOURCES code."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pyproj import CRS

from iszones.errors import DataFileError
from iszones.inputs.coordinates import (
    POSTCODE_NAMES,
    TablePoints,
    first_problem,
    locate_columns,
    matching_columns,
    transformer,
)
from iszones.schema import MEASURE_CRS, STORAGE_CRS

if TYPE_CHECKING:
    import pandas as pd

FAR_M = 1000.0
# Answers' location_source per code: 0 not placed (the row has a problem)
LOCATION_SOURCES = (
    None,
    "coordinates",
    "postcode",
    f"coordinates (the row's postcode is over {FAR_M / 1000:g} km away: check)",
    "geometry",
)
COORDINATES, POSTCODE, FAR_POSTCODE, GEOMETRY = 1, 2, 3, 4


def find_postcode_column(columns: Sequence[str], name: str) -> str | None:
    """The table's postcode column (postcode, post code, pcd, ... in any case), or None."""
    found = matching_columns(columns, POSTCODE_NAMES)
    if len(found) > 1:
        raise DataFileError(
            f"{name}: columns {' and '.join(map(repr, found))} could each be the postcode."
            " Rename or remove all but one."
        )
    return found[0] if found else None


def _text(raw: Any) -> np.ndarray:
    import pandas as pd  # only tables with postcodes come here (the directory answers in frames)

    values = pd.Series(np.asarray(raw, dtype=object))
    return values.where(values.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _lookup(texts: np.ndarray) -> pd.DataFrame:
    from iszones.inputs.postcodes import (
        lookup_postcodes,  # the directory loads only when a file has postcodes
    )

    return lookup_postcodes(texts.tolist())


def _notes(found: pd.DataFrame, used: np.ndarray) -> tuple[str, ...]:
    """The directory's attribution (and Northern Ireland's licence) where it placed or
    checked rows (`used`); nothing where it did neither."""
    from iszones.inputs.postcodes import data_notes, northern_irish

    if not used.any():
        return ()
    return data_notes(bool(northern_irish(found["postcode"].to_numpy()[used]).any()))


def points_from_postcodes(raw: Any, column: str, first_row: int = 1) -> TablePoints:
    """Points for a table with a postcode column and no coordinates, in WGS84."""
    texts = _text(raw)
    n = len(texts)
    problems = np.full(n, "", dtype=object)
    said = np.zeros(n, dtype=bool)
    blank = texts == ""
    first_problem(problems, blank, f"no location: {column!r} is empty", said)
    found = _lookup(np.where(blank, "", texts))
    bad = ~blank & (found["problem"].astype(str) != "").to_numpy()
    for row in np.flatnonzero(bad):
        problems[row] = f"{column!r} {texts[row]!r}: {found['problem'].iloc[row]}"
    said |= bad
    x = np.where(said, np.nan, found["lon"].to_numpy(dtype=float))
    y = np.where(said, np.nan, found["lat"].to_numpy(dtype=float))
    source = np.where(said, 0, POSTCODE)
    crs = CRS.from_user_input(STORAGE_CRS)
    note = f"placed by postcode from column {column!r} (ONS Postcode Directory, November 2025)"
    # no evidence: the CRS is the directory's, not judged from the values
    notes = _notes(found, ~said)
    return TablePoints(x, y, problems, crs, note, None, ~said, None, source, notes)


def place_postcodes(points: TablePoints, raw: Any, column: str) -> TablePoints:
    """`points` with the rows that have no coordinates placed by their postcode, and rows whose
    postcode lies over FAR_M from their coordinates flagged (coordinates still win)."""
    texts = _text(raw)
    n = len(texts)
    source = np.where(points.ok, COORDINATES, 0)
    blank = np.zeros(n, dtype=bool)
    if points.blank is not None:  # only rows whose one problem is the empty coordinates
        empty = np.array([str(p).startswith("no coordinates:") for p in points.problems])
        blank = points.blank & empty
    wanted = (points.ok | blank) & (texts != "")
    if not wanted.any():
        return dataclasses.replace(points, source=source)
    found = _lookup(np.where(wanted, texts, ""))
    located = wanted & (found["problem"].astype(str) == "").to_numpy()
    x, y = points.x.copy(), points.y.copy()
    problems = points.problems.copy()
    ok = points.ok.copy()
    fill = located & blank
    if fill.any():
        to_file = transformer(STORAGE_CRS, points.crs)
        x[fill], y[fill] = to_file.transform(
            found["lon"].to_numpy()[fill], found["lat"].to_numpy()[fill]
        )
        problems[fill] = ""
        ok[fill] = True
        source[fill] = POSTCODE
    unplaced = wanted & blank & ~located
    for row in np.flatnonzero(unplaced):
        problems[row] = (
            f"no coordinates, and {column!r} {texts[row]!r}: {found['problem'].iloc[row]}"
        )
    both = located & points.ok
    if both.any():
        to_bng = transformer(points.crs, MEASURE_CRS)
        east, north = to_bng.transform(x[both], y[both])
        apart = np.hypot(
            east - found["easting"].to_numpy()[both], north - found["northing"].to_numpy()[both]
        )
        far = np.flatnonzero(both)[apart > FAR_M]
        source[far] = FAR_POSTCODE
    return dataclasses.replace(
        points,
        x=x,
        y=y,
        problems=problems,
        ok=ok,
        source=source,
        notes=(*points.notes, *_notes(found, located)),
    )


def locate_rows(
    column: Any,
    cols: tuple[str, str, str],
    name: str,
    user_crs: CRS | None,
    postcode_column: str | None,
    **options: Any,
) -> TablePoints:
    """A table's rows located (coordinates.locate_columns), by postcode where they have no
    coordinates; `column(name)` gives a column's raw values; `options` go to locate_columns."""
    if cols[2] == "postcode":
        return points_from_postcodes(column(cols[0]), cols[0], options.get("first_row", 1))
    points = locate_columns(column(cols[0]), column(cols[1]), cols, name, user_crs, **options)
    if postcode_column is None:
        return dataclasses.replace(points, source=np.where(points.ok, COORDINATES, 0))
    return place_postcodes(points, column(postcode_column), postcode_column)
