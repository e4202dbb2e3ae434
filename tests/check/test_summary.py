"""The one check summary: parts (stream blocks, Dask partitions) join into the whole."""

from __future__ import annotations

import re

import pytest

from iszones.check.summary import CheckSummary
from iszones.errors import DataFileError


def test_parts_join_their_counts_and_each_note_once():
    first = CheckSummary(rows=3, inside=2, outside=1, located=3, notes=["ONS"])
    later = CheckSummary(
        rows=2, problems=1, outside=1, located=1, first_problems=[(1, "bad")], notes=["ONS", "NI"]
    )
    whole = first.merged(later)
    assert (whole.rows, whole.inside, whole.outside, whole.problems) == (5, 2, 2, 1)
    assert whole.first_problems == [(4, "bad")]  # numbered in the whole file
    assert whole.notes == ["ONS", "NI"]


@pytest.mark.parametrize(
    ("swapped", "by_postcode", "fix"),
    [
        (False, True, "Fix the postcodes (UK postcodes such as 'DE74 2SA')"),
        (True, False, "Swap the two coordinate columns"),
        (False, False, "Fix the coordinates, or say which CRS they are in"),
    ],
)
def test_a_file_with_no_row_located_says_what_to_fix(swapped, by_postcode, fix):
    """Parts (Dask partitions) of a postcode-only file join into one that says so."""
    first = CheckSummary(rows=1, leading=["row 1: bad"], all_swapped=swapped)
    later = CheckSummary(rows=1, leading=["row 1: bad"], all_swapped=swapped)
    later.by_postcode = by_postcode
    with pytest.raises(DataFileError, match=re.escape(f"row 1: bad; row 2: bad. {fix}")):
        first.merged(later).check_located("sites.csv")
