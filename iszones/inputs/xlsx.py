"""Excel (.xlsx) workbooks read cell by cell: only the cells the file holds, within set limits.

openpyxl reads the workbook's parts (sheet list, shared strings, number styles); the sheet
itself is streamed through expat here, because openpyxl's row iterator fills in every empty cell
up to the farthest one (a 5 KB file with a value in XFD1048576 asks for 17 billion cells) and
its element-tree parser is five times slower. Nothing trusts the sheet's `dimension`: a value
beyond MAX_COLUMNS or MAX_ROWS stops the read as soon as it is met.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from iszones.errors import DataFileError
from iszones.inputs.limits import MAX_COLUMNS
from iszones.inputs.limits import MAX_XLSX_ROWS as MAX_ROWS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound files: .xls, or an encrypted .xlsx
_CHUNK = 1 << 20
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})$")


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_TAGS = {  # the tags that matter, as expat names them in the usual namespace
    _MAIN + local: local for local in ("c", "v", "t", "f", "rPh", "row", "is", "r")
}


class NoSavedValue:
    """A formula cell saved without its value (by a program that does not calculate)."""

    def __repr__(self) -> str:
        return "<formula with no saved value>"


NO_SAVED_VALUE = NoSavedValue()


@dataclass(frozen=True)
class Sheet:
    """A worksheet's name, its state ('visible', 'hidden', 'veryHidden') and its part."""

    title: str
    state: str
    part: str


@dataclass
class Book:
    """What reading a sheet needs from the workbook: its parts, strings and date styles."""

    archive: Any  # zipfile.ZipFile
    sheets: list[Sheet]
    shared_strings: list[Any]
    epoch: Any
    date_styles: set[int]
    timedelta_styles: set[int]


class XmlRefused(DataFileError):
    """Raised when a workbook's XML declares a document type or entities (XXE, XML bombs)."""


def column_letter(column: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


_LETTERS = ["", *(column_letter(c) for c in range(1, 26 * 27 + 1))]  # A .. ZZ
_COLUMNS = {letters: c for c, letters in enumerate(_LETTERS) if letters}


def is_encrypted(data: bytes) -> bool:
    """Whether `data` is a password-protected workbook (an OLE file with an EncryptedPackage)."""
    return data.startswith(OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data


def open_book(data: bytes) -> Book:
    """The workbook's sheets (chart sheets left out), shared strings and date styles.

    openpyxl's own steps, without its worksheet objects (each of which parses its whole sheet
    when the sheet has no `dimension`). Raises what openpyxl and zipfile raise.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            Sheet(str(sheet.name), str(sheet.state or "visible"), rel.target)
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
    book = reader.wb
    return Book(
        archive=reader.archive,
        sheets=sheets,
        shared_strings=reader.shared_strings,
        epoch=book.epoch,
        date_styles=set(book._date_formats),
        timedelta_styles=set(book._timedelta_formats),
    )


Cells = dict[int, dict[int, Any]]


def read_cells(book: Book, sheet: Sheet, name: str) -> tuple[Cells, dict[tuple[int, int], str]]:
    """{row: {column: value}} of the sheet's cells that hold a value, and the formula cells
    saved without a value ({(row, column): 'B7'}; their value is NO_SAVED_VALUE).

    Values are str, int, float, bool or datetime as openpyxl gives them. DataFileError for a
    value beyond the limits, a bad cell reference or string index; XmlRefused for a DTD.
    """
    stream = _SheetStream(book, sheet, name)
    with book.archive.open(sheet.part) as source:
        while chunk := source.read(_CHUNK):
            stream.feed(chunk)
        stream.feed(b"", final=True)
    return stream.cells, stream.formulas


class _SheetStream:
    """An expat parser that keeps the cells holding a value, and stops at the limits."""

    def __init__(self, book: Book, sheet: Sheet, name: str) -> None:
        self.book = book
        self.sheet = sheet
        self.name = name
        self.cells: Cells = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.row = 0
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.value: str | None = None
        self.inline: list[str] = []
        self.formula = False
        self.text: list[str] | None = None  # collecting characters of a <v> or <t>
        self.phonetic = False  # inside <rPh>, whose text is a reading aid, not the value
        parser = expat.ParserCreate(namespace_separator="}")  # tags arrive as 'namespace}c'
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        parser.ExternalEntityRefHandler = self._refuse
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        self.parser = parser

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as err:
            raise DataFileError(
                f"{self.name}: sheet {self.sheet.title!r} has broken XML at line {err.lineno},"
                f" column {err.offset + 1} ({expat.ErrorString(err.code)}). Save it again in"
                " Excel."
            ) from err

    def _refuse(self, *args: Any) -> Any:
        raise XmlRefused(
            f"{self.name}: contains an XML document type or entity declaration, which Excel"
            " files never need; refusing it for safety. Save it again in Excel."
        )

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _TAGS.get(tag) or tag.rpartition("}")[2]
        if local == "c":
            self._start_cell(attrs)
        elif local == "v" or (local == "t" and not self.phonetic):
            self.text = []
        elif local == "f":
            self.formula = True
        elif local == "rPh":
            self.phonetic = True
        elif local == "row":
            number = attrs.get("r")
            self.row = self._number(number, "row") if number else self.row + 1
            self.column = 0

    def _start_cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref:
            column = _COLUMNS.get(ref[:2]) or _COLUMNS.get(ref[:1])  # the usual A-ZZ at once
            if column is not None and ref[len(_LETTERS[column]) :].isdigit():
                self.column = column
                self.row = int(ref[len(_LETTERS[column]) :])
            else:
                found = _REF.match(ref)
                if found is None:
                    raise DataFileError(
                        f"{self.name}: sheet {self.sheet.title!r} has a cell named {ref[:20]!r},"
                        " which is not a cell reference. Save it again in Excel."
                    )
                self.column = _column_number(found.group(1))
                self.row = int(found.group(2))
        else:
            self.column += 1
        self.kind = attrs.get("t", "n")
        style = attrs.get("s")
        self.style = self._number(style, "style") if style else 0
        self.value = None
        self.inline = []
        self.formula = False

    @property
    def ref(self) -> str:
        """The current cell's reference, e.g. B7."""
        return f"{column_letter(self.column)}{self.row}"

    def _number(self, text: str, what: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise DataFileError(
                f"{self.name}: sheet {self.sheet.title!r} has a {what} number {text[:20]!r}"
                " that is not a whole number. Save it again in Excel."
            ) from None

    def _chars(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _end(self, tag: str) -> None:
        local = _TAGS.get(tag) or tag.rpartition("}")[2]
        if local == "v" and self.text is not None:
            self.value = "".join(self.text)
            self.text = None
        elif local == "t" and self.text is not None:
            self.inline.append("".join(self.text))
            self.text = None
        elif local == "rPh":
            self.phonetic = False
        elif local == "c":
            self._end_cell()

    def _end_cell(self) -> None:
        value = self._value()
        if value is None or (isinstance(value, str) and not value.strip()):
            return
        if self.column > MAX_COLUMNS or self.row > MAX_ROWS:
            raise DataFileError(
                f"{self.name}: sheet {self.sheet.title!r} has a value in cell {self.ref}, beyond"
                f" the limits of {MAX_COLUMNS:,} columns (to column {column_letter(MAX_COLUMNS)})"
                f" and {MAX_ROWS:,} rows. Delete what lies outside your table, or save the"
                " sites as CSV."
            )
        if value is NO_SAVED_VALUE:
            self.formulas[(self.row, self.column)] = self.ref
        self.cells.setdefault(self.row, {})[self.column] = value

    def _value(self) -> Any:
        kind, raw = self.kind, self.value
        if kind == "inlineStr":
            return "".join(self.inline) if self.inline else None
        if raw is None:
            return NO_SAVED_VALUE if self.formula else None
        if kind == "s":
            index = self._number(raw, "shared string")
            strings = self.book.shared_strings
            if not 0 <= index < len(strings):
                raise DataFileError(
                    f"{self.name}: sheet {self.sheet.title!r} cell {self.ref} refers to text"
                    f" number {index}, which the workbook does not hold. Save it again in Excel."
                )
            return str(strings[index])
        if kind in ("str", "e"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            return self._converted(raw, _iso_date)
        return self._converted(raw, self._number_or_date)

    def _number_or_date(self, raw: str) -> Any:
        text = raw.strip()
        number: float | int = float(text) if any(c in text for c in ".eEnN") else int(text)
        if self.style in self.book.date_styles:
            from openpyxl.utils.datetime import from_excel

            return from_excel(
                number, self.book.epoch, timedelta=self.style in self.book.timedelta_styles
            )
        return number

    def _converted(self, raw: str, convert: Callable[[str], Any]) -> Any:
        try:
            return convert(raw)
        except (ValueError, OverflowError):
            return raw  # kept as the text the file holds; the coordinates check says if it matters


def _iso_date(raw: str) -> Any:
    from openpyxl.utils.datetime import from_ISO8601

    return from_ISO8601(raw)
