"""The one check summary: parts (stream blocks, Dask partitions) join into the whole."""

from __future__ import annotations

from iszones.check.summary import CheckSummary


def test_parts_join_their_counts_and_each_note_once():
    first = CheckSummary(rows=3, inside=2, outside=1, located=3, notes=["ONS"])
    later = CheckSummary(
        rows=2, problems=1, outside=1, located=1, first_problems=[(1, "bad")], notes=["ONS", "NI"]
    )
    whole = first.merged(later)
    assert (whole.rows, whole.inside, whole.outside, whole.problems) == (5, 2, 2, 1)
    assert whole.first_problems == [(4, "bad")]  # numbered in the whole file
    assert whole.notes == ["ONS", "NI"]
