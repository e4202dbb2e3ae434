"""The CSV writer's text: rows as Python's csv writer writes them, floats as Python prints them."""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pytest

from iszones.check.columns import Column
from iszones.check.csvtext import cell_text, csv_field, csv_rows
from iszones.geo import texts

# Each test runs twice: rows written by the compiled loops, and by Python (under FEW_ROWS rows)
WRITERS = {"compiled": 0, "python": 10**9}


@pytest.fixture(autouse=True, params=list(WRITERS))
def writer(request, monkeypatch):
    monkeypatch.setattr(texts, "FEW_ROWS", WRITERS[request.param])
    return request.param


def _python_rows(rows: list[list[str]]) -> bytes:
    """The rows as Python's csv writer writes them (with "\n" line ends)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_csv_rows_write_what_pythons_csv_writer_writes():
    """Text columns and keyed tables side by side, with commas, quotes, line breaks, non-ASCII
    and empty values: the bytes of Python's csv writer, row for row."""
    rng = np.random.default_rng(9)
    words = ["plain", "a,b", 'say "so"', "two\nlines", "", "£1.2m – Café", '"', ",", "'x"]
    n = 3000
    per_row = [str(rng.choice(words)) + str(i) * (i % 3 == 0) for i in range(n)]
    table = pa.array(words)
    keyed = rng.integers(0, len(words), n)
    nulls = pa.array([None, "x,y"])
    which = rng.integers(0, 2, n)
    written = csv_rows([pa.array(per_row), (table, keyed), (nulls, which)]).tobytes()
    expected = [[per_row[i], words[keyed[i]], ["", "x,y"][which[i]]] for i in range(n)]
    assert written == _python_rows(expected)
    assert written.count(b"\n") == n + sum(v.count("\n") for row in expected for v in row)


def test_a_carriage_return_is_quoted():
    """Python's writer leaves a bare carriage return unquoted with "\n" line ends, and a
    spreadsheet would end the row there: csvtext quotes it."""
    assert csv_rows([pa.array(["cr\rhere", "ok"])]).tobytes() == b'"cr\rhere"\nok\n'


def test_csv_rows_of_nothing_and_a_field_of_other_length():
    assert csv_rows([]).tobytes() == b""
    assert csv_rows([pa.array([], pa.string())]).tobytes() == b""
    with pytest.raises(ValueError, match="different lengths"):
        csv_rows([pa.array(["a"]), (pa.array(["b"]), np.array([0, 0]))])


def test_csv_field_quotes_as_the_rows_do():
    values = ["a,b", 'q"x', "cr\rx", "plain", "=SUM(1)", None, True, 2.5, float("nan"), 7]
    fields = [csv_field(v) for v in values]
    assert fields == ['"a,b"', '"q""x"', '"cr\rx"', "plain", "'=SUM(1)", "", "true", "2.5", "", "7"]
    texts = pa.array([cell_text(v) for v in values])
    assert csv_rows([texts]).tobytes().decode() == "".join(f + "\n" for f in fields)


def test_a_keyed_column_writes_its_cells_made_inert():
    """Column.csv: a table of keys taken per row, text made inert for spreadsheets, flags as
    true/false, numbers as Python prints them."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, 50)
    columns = [
        Column("lad_code", np.array([None, "E1", 'a,"b"', "=SUM(1)", "x\ny"], object), codes),
        Column("in_zone", np.array([None, True, False, True, False], dtype=object), codes),
        Column("nearest_tax_site_precision_m", np.array([np.nan, 2500.0, 12.5, 1e-5, 3.0]), codes),
        Column("answer", pa.array(["", "Inside A, B", 'said "so"', "+x", None]), codes),
    ]
    written = csv_rows([c.csv() for c in columns]).tobytes()
    by_key = [
        ["", "", "", ""],
        ["E1", "true", "2500.0", "Inside A, B"],
        ['a,"b"', "false", "12.5", 'said "so"'],
        ["'=SUM(1)", "true", "1e-05", "'+x"],
        ["x\ny", "false", "3.0", ""],
    ]
    assert written == _python_rows([by_key[k] for k in codes])
