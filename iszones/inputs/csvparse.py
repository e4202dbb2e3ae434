"""A CSV file's layout (separator, header) and its rows as Arrow text columns: the one CSV
parser of the readers (whole files) and the streamed check (block by block). Needs only pyarrow.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from iszones.errors import DataFileError
from iszones.inputs.limits import MAX_COLUMNS, MAX_LINE_BYTES
from iszones.inputs.text import ENCODING_NAMES, decoded


def unique_names(raw: Sequence[Any], positions: Sequence[int] | None = None) -> list[str]:
    """Header names made unique: a blank one is column_<position>, a repeat of a gets a.1, a.2.

    Linear in the number of names: each base remembers the next suffix to try.
    """
    names: list[str] = []
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    places = positions if positions is not None else range(1, len(raw) + 1)
    for pos, value in zip(places, raw, strict=True):
        text = str(value).strip() if value is not None else ""
        base = text or f"column_{pos}"
        candidate, n = base, next_suffix.get(base, 1)
        while candidate in taken:
            candidate = f"{base}.{n}"
            n += 1
        next_suffix[base] = n
        taken.add(candidate)
        names.append(candidate)
    return names


def _check_width(count: int, name: str, where: str) -> None:
    if count > MAX_COLUMNS:
        raise DataFileError(
            f"{name}: {where} has {count:,} columns; the limit is {MAX_COLUMNS:,}."
            " Keep the columns you need (name and coordinates at least) and save it again."
        )


CSV_SEPARATORS = (",", ";", "\t")
# Python's str.isspace() characters, as an RE2 class: a cell of only these is blank.
_BLANK_CELL = (
    r"^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]*$"
)
_LINE_END = re.compile(rb"\r\n|\n|\r")


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out: its separator, header names, and where its rows begin."""

    sep: str
    names: list[str]  # the header, made unique (column_3 for a blank name, a.1 for a repeat)
    body_start: int  # byte offset of the line after the header (after any byte-order mark)
    body_line: int  # 1-based line number of that line
    encoding: str = "utf-8"  # or LEGACY_ENCODING (text_encoding), for every block of the file

    @property
    def note(self) -> str:
        """What to tell the user about the file's text, if anything."""
        if self.encoding == "utf-8":
            return ""
        return (
            f"read as {ENCODING_NAMES[self.encoding]} text, as Excel saves 'CSV (Comma delimited)'"
        )


# What Excel's 'CSV (Comma delimited)' writes on a Windows PC set up for the UK: a £, an é or
# a curly apostrophe (St John’s) is one byte that is not UTF-8.
LEGACY_ENCODING = "cp1252"
SAVE_AS_UTF8 = "Save the file as UTF-8: in Excel, 'Save as' > 'CSV UTF-8 (Comma delimited)'."
ENCODING_SAMPLE_BYTES = 1 << 20  # the text judged, in whole lines: the streamed check's first block
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def text_encoding(head: bytes, name: str) -> str:
    """How to read a CSV file's text, judged from the whole lines in its first
    ENCODING_SAMPLE_BYTES (so alike whether the file is read whole or streamed): UTF-8, else
    LEGACY_ENCODING when they read as that; DataFileError for UTF-16 and for bytes that are
    neither, naming the line."""
    if head.startswith(_UTF16_BOMS):
        raise DataFileError(
            f"{name}: is UTF-16 text (Excel's 'Unicode Text'), not UTF-8. {SAVE_AS_UTF8}"
        )
    if len(head) > ENCODING_SAMPLE_BYTES:
        head = head[: head.rfind(b"\n", 0, ENCODING_SAMPLE_BYTES) + 1] or head
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head.decode(LEGACY_ENCODING)
        except UnicodeDecodeError:
            decoded(head, name, SAVE_AS_UTF8, encoding=LEGACY_ENCODING)  # names the line
        return LEGACY_ENCODING
    return "utf-8"


def _csv_error(name: str, line: int, err: csv.Error) -> DataFileError:
    return DataFileError(
        f"{name}: line {line} cannot be read as CSV ({err})."
        " Check its quotes: a field that contains the separator must be in double quotes."
    )


def _long_line(name: str, line: int, size: int | None) -> DataFileError:
    """A line too long to be a row of a site list (the header of a 50 MB one-line file ...)."""
    told = f"{size / 1e6:.1f} MB long" if size is not None else f"over {MAX_LINE_BYTES / 1e6:g} MB"
    return DataFileError(
        f"{name}: line {line} is {told}; a line may be at most {MAX_LINE_BYTES / 1e6:g} MB."
        " Check that this is a CSV file of sites, with one site per line."
    )


def csv_layout(head: bytes, name: str) -> CsvLayout:
    """Find the text encoding, separator and header in the first bytes of a CSV file (whole
    lines, byte-order mark removed).

    The encoding is text_encoding's; the separator is the most frequent of comma, semicolon
    and tab in the first non-blank line; the header is the first row with a non-blank cell.
    `head` must hold the header's line.
    """
    encoding = text_encoding(head, name)
    start = 0
    sep = None
    ends = itertools.chain((m.end() for m in _LINE_END.finditer(head)), [None])
    for number, end in enumerate(ends, 1):
        raw = head[start:end]
        if len(raw) > MAX_LINE_BYTES:
            raise _long_line(name, number, len(raw) if end is not None else None)
        if start > MAX_LINE_BYTES:
            raise DataFileError(
                f"{name}: has no header in its first {MAX_LINE_BYTES / 1e6:g} MB (only blank"
                " lines). Put the column names on the first line."
            )
        line = decoded(raw, name, SAVE_AS_UTF8, encoding=encoding, first_line=number)
        line = line.rstrip("\r\n")
        if sep is None and line.strip():
            first = line.lstrip()
            sep = max(CSV_SEPARATORS, key=first.count)
        if sep is not None:
            try:
                row = next(csv.reader([line], delimiter=sep), [])
            except csv.Error as err:
                raise _csv_error(name, number, err) from err
            if any(cell.strip() for cell in row):
                _check_width(len(row), name, "the header")
                body_start = len(head) if end is None else end
                return CsvLayout(sep, unique_names(row), body_start, number + 1, encoding)
        if end is None:
            break
        start = end
    raise DataFileError(f"{name}: the file is empty. Choose the file with your sites in it.")


def _drop_blank_rows(table: pa.Table) -> pa.Table:
    """Rows whose every cell is blank, removed (as the csv module's readers skip them)."""
    rows = None
    for column in table.columns:
        values = column if rows is None else column.take(rows)
        blank = pc.match_substring_regex(
            pc.utf8_slice_codeunits(values, 0, 1), _BLANK_CELL
        ).to_numpy(zero_copy_only=False)
        found = np.flatnonzero(blank)
        rows = found if rows is None else rows[found]
        if not len(rows):
            return table
    assert rows is not None
    cells = [table.column(i).take(rows).to_pylist() for i in range(table.num_columns)]
    blank_rows = [
        int(r)
        for r, row in zip(rows, zip(*cells, strict=True), strict=True)
        if not any(cell.strip() for cell in row)
    ]
    if not blank_rows:
        return table
    keep = np.ones(table.num_rows, dtype=bool)
    keep[blank_rows] = False
    return table.filter(pa.array(keep))


def _check_line_lengths(body: bytes, name: str, first_line: int) -> None:
    """DataFileError naming the first line longer than MAX_LINE_BYTES, if there is one."""
    if len(body) <= MAX_LINE_BYTES:
        return
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n"))
    bounds = np.concatenate(([-1], ends, [len(body)]))
    lengths = np.diff(bounds)
    longest = int(np.argmax(lengths))
    if lengths[longest] > MAX_LINE_BYTES:
        raise _long_line(name, first_line + longest, int(lengths[longest]))


UNCLOSED_QUOTE = (
    "a double quote in this row is never closed, so the lines after it were read into it;"
    " close the quote, or remove it"
)


def _ends_in_open_quote(text: str, sep: str) -> bool:
    """Whether the text ends inside a quoted value (a quote opened and never closed: the csv
    module then reads the rest of the text into that row). A strict reading says so; it may
    stop sooner at another fault, which the lenient reading has already forgiven."""
    if '"' not in text:
        return False
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True):
            pass
    except csv.Error as err:
        return "unexpected end of data" in str(err)
    return False


def parse_csv_rows(
    body: bytes, layout: CsvLayout, name: str, *, first_line: int
) -> tuple[pa.Table, list[str] | None]:
    """Rows of (part of) a CSV file's body as text columns, and per row a ragged-row problem.

    Arrow parses well-formed rows fast; anything it refuses (rows of the wrong length, stray
    quotes, bad UTF-8) is parsed again with the csv module, row by row, as before. The second
    value is None when no row is ragged. `first_line` numbers `body`'s first line in messages.
    Text in the layout's legacy encoding is made UTF-8 first (one byte a character, so any
    block of whole lines converts on its own).
    """
    if layout.encoding != "utf-8":
        text = decoded(body, name, SAVE_AS_UTF8, encoding=layout.encoding, first_line=first_line)
        body = text.encode("utf-8")
    width = len(layout.names)
    if body.strip():
        try:
            table = pa_csv.read_csv(
                io.BytesIO(body),
                read_options=pa_csv.ReadOptions(column_names=layout.names, block_size=1 << 24),
                parse_options=pa_csv.ParseOptions(
                    delimiter=layout.sep, newlines_in_values=b'"' in body
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(layout.names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            return _drop_blank_rows(table), None
        except pa.ArrowInvalid:
            pass  # parsed again below, row by row, to say which rows are wrong
    _check_line_lengths(body, name, first_line)  # before the csv module holds a row in memory
    text = decoded(body, name, SAVE_AS_UTF8, first_line=first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.sep)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as err:
        raise _csv_error(name, first_line - 1 + reader.line_num, err) from err
    # Short rows are padded (exports often drop trailing empty cells); a long row has probably
    # shifted its columns (an unquoted comma), so its coordinates cannot be trusted.
    ragged = [
        f"has {len(row)} fields where the header has {width}; a value with a comma in it needs"
        " double quotes"
        if len(row) > width
        else ""
        for row in rows
    ]
    if rows and _ends_in_open_quote(text, layout.sep):
        ragged[-1] = UNCLOSED_QUOTE
    columns = [[row[i] if i < len(row) else "" for row in rows] for i in range(width)]
    table = pa.table([pa.array(values, type=pa.string()) for values in columns], names=layout.names)
    return table, ragged
