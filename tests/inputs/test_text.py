"""Text hygiene for CSV and spreadsheet cells: the Arrow column path (spreadsheet_column)
agrees with the per-string one (spreadsheet_text) on every bidi control, wherever it sits."""

from __future__ import annotations

import pyarrow as pa
import pytest

from iszones.inputs.text import BIDI_CONTROLS, spreadsheet_column, spreadsheet_text

# Characters whose UTF-8 starts as a control's does (D8 or E2 80/81), which must stay
LOOKALIKES = ["\u0618", "\u200d", "\u2013", "\u2019", "\u2026", "\u2065", "\u206a", "\u20ac"]


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_every_bidi_control_is_removed_wherever_it_is(control):
    values = [f"{control}start", f"mid{control}dle", f"end{control}", control, "plain", None]
    got = spreadsheet_column(pa.array(values, pa.string())).to_pylist()
    assert got == [None if v is None else spreadsheet_text(v) for v in values]
    assert not any(control in (v or "") for v in got)
    tail = pa.array(["x", f"y{control}"], pa.string()).slice(1)  # a slice of a column
    assert spreadsheet_column(tail).to_pylist() == ["y"]


def test_characters_that_look_like_controls_in_bytes_are_kept():
    values = ["".join(LOOKALIKES), "Ø", "\u00e2", "=1+1", "-12.5", ""]
    got = spreadsheet_column(pa.array(values, pa.string())).to_pylist()
    assert got == [spreadsheet_text(v) for v in values]
    assert got[0] == "".join(LOOKALIKES)
