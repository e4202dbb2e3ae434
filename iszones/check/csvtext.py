"""CSV text of a check's results, written as Python's csv writer (and so pandas) writes it:
fields quoted where that writer quotes them, floats as Python prints them, true/false for flags.

Every CSV the check writes goes through `csv_rows`, the stream's blocks and whole frames alike.
Its compiled loop (geo.texts.text_rows) runs without the GIL, so the threads checking a file's
blocks write them at once. Text is made inert for spreadsheets before it gets here
(inputs.text.spreadsheet_column), and quoted here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from iszones.geo.texts import Field, text_rows
from iszones.inputs.text import spreadsheet_text


def _probe_quoting() -> str:
    """The characters that make Python's csv writer (which pandas uses) quote a field."""
    quoted = []
    for char in ',"\n\r':
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([f"a{char}b", "c"])
        if buffer.getvalue().startswith('"'):
            quoted.append(char)
    return "".join(quoted)


# A carriage return too: Python's writer leaves it bare with "\n" line ends, and a spreadsheet
# reads a bare one as the end of a row (the rest of the value becoming a row of its own).
QUOTED_CHARS = "".join(dict.fromkeys(_probe_quoting() + "\r"))
_SPECIAL = np.zeros(256, dtype=np.bool_)
_SPECIAL[[ord(c) for c in QUOTED_CHARS]] = True


def cell_text(value: Any) -> str:
    """One value as a CSV cell holds it, before quoting: '' for none, true/false, numbers as
    str() prints them, text made inert (inputs.text.spreadsheet_text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, np.generic):
        value = value.item()
    return spreadsheet_text(value) if isinstance(value, str) else str(value)


def csv_field(value: Any) -> str:
    """One CSV field (a header's name, say): cell_text, quoted when it must be."""
    return _quoted(cell_text(value))


def _quoted(text: str) -> str:
    if any(c in text for c in QUOTED_CHARS):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_rows(fields: Sequence[Field]) -> np.ndarray:
    """Rows of CSV (UTF-8 bytes, each row ending in a newline) of `fields` side by side: each a
    text column, or a table of texts taken by each row's position in it. Nulls are written
    empty; text is written as given (made inert by the caller) and quoted where it must be."""
    return text_rows(fields, separator=",", quoted=_quoted, special=_SPECIAL)
