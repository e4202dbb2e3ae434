"""A site check of a CSV streamed in blocks into a CSV (or Parquet, or a GeoPackage), for files
of millions of rows, with progress and bounded memory.

The answers are check_sites' answers, row for row and byte for byte in the CSV: each row's
coordinates and problems follow coordinates.py's rules, zones and distances follow spatial.py's
(grid.py answers exactly as shapely does), and the CSV is written as outputs.result_bytes writes
(both through csvtext.csv_rows).
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyproj import CRS

from iszones.check.columns import (
    ARROW_TYPES,
    WGS84_DIGITS,
    Answers,
    Column,
    require_within_km,
    result_columns,
    result_names,
    tax_level,
)
from iszones.check.core import WORKERS, CheckIndex, check_points, free_name
from iszones.check.csvtext import csv_field, csv_rows
from iszones.check.geopackage import LAYER, distinct_fields, point_wkb, write_geopackage_arrow
from iszones.check.summary import SHOWN_PROBLEMS, CheckSummary, sum_evidence
from iszones.data.atomic import atomic_output, atomic_path
from iszones.data.geojson import (
    FEATURE_SEPARATOR,
    GEOJSON_CLOSING,
    feature_lines,
    geojson_opening,
    json_texts,
    point_texts,
)
from iszones.errors import DataFileError
from iszones.inputs.coordinates import (
    CoordinateEvidence,
    TablePoints,
    find_coordinate_columns,
    parse_crs,
    table_crs,
    transformer,
)
from iszones.inputs.csvparse import CsvLayout, csv_layout, parse_csv_rows
from iszones.inputs.limits import MAX_LINE_BYTES
from iszones.inputs.placing import find_postcode_column, locate_rows
from iszones.inputs.text import spreadsheet_column
from iszones.schema import MEASURE_CRS, STORAGE_CRS

BLOCK_BYTES = 1 << 20  # bytes of CSV per block at most: about 30,000 rows of a site list
FIRST_BLOCK_BYTES = 1 << 20  # the first block, read alone to choose the CRS
LAST_BLOCK_BYTES = 256 << 10  # blocks shrink towards this near the end, to share the last work
IN_FLIGHT = 2  # blocks read ahead per worker: what bounds memory
BOM = b"\xef\xbb\xbf"

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- streaming a CSV file


@dataclass
class Block:
    table: pa.Table
    points: TablePoints
    first_row: int  # 1-based number of its first row in the file (set as blocks come in order)
    end_byte: int = 0  # bytes of the file read up to the end of this block
    x_bng: np.ndarray | None = None
    y_bng: np.ndarray | None = None


@dataclass(frozen=True)
class _Chunk:
    """A piece of a CSV file's body, cut at the end of a row."""

    data: bytes
    first_line: int  # the file's line number of its first line
    end_byte: int  # bytes of the file read up to its end


def _row_end(buffer: bytes, limit: int | None = None) -> int:
    """Where the last complete row in `buffer` (or in its first `limit` bytes) ends, after its
    newline; 0 if none does.

    A newline ends a row when an even number of double quotes come before it (otherwise it is
    inside a quoted value). A stray quote in an unquoted value upsets that count, so a cut that
    would leave a block under a quarter full is made at the last newline instead.
    """
    limit = len(buffer) if limit is None else min(limit, len(buffer))
    end = buffer.rfind(b"\n", 0, limit)
    if end < 0:
        return 0
    last = end
    quotes = _occurrences(buffer, b'"', end)
    while quotes % 2:
        before = buffer.rfind(b"\n", 0, end)
        if before < 0:
            end = -1
            break
        quotes -= buffer.count(b'"', before, end)
        end = before
    if end < limit // 4:
        end = last
    return end + 1


def _occurrences(data: bytes, char: bytes, end: int = -1) -> int:
    """How many times a byte occurs in `data` (up to `end`), counted by numpy: unlike bytes.count
    it lets the other threads run meanwhile."""
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8, count=end) == ord(char)))


class CsvCheck:
    """A site check of a CSV file into a CSV (or Parquet) file, read and written in blocks.

    Opening reads the header and the first block, so that the CRS is chosen (and noted) and
    whole-file problems are found before any output; `run` checks every row and writes the
    result atomically (nothing is written if the check fails part-way).

    Parameters
    ----------
    path: the CSV file of sites (any size: memory use is bounded by the block size).
    crs: the coordinates' CRS, overriding the judgement by column names and values.
    max_mb: refuse files larger than this (None: no limit).
    block_bytes: bytes of CSV per block.
    data, name: check these bytes (a whole CSV, header first) instead of a file.
    chosen: the CRS already chosen for the whole file, when `data` is a part of it.
    encoding: the text encoding chosen for the whole file (csvparse.text_encoding), when `data`
        is a part of it.
    part: `data` is one part of a larger file: whole-file problems (no rows, none located, the
        CRS) are left to whoever joins the parts' summaries (distributed.py).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        crs: str | None = None,
        max_mb: float | None = None,
        block_bytes: int = BLOCK_BYTES,
        data: bytes | None = None,
        name: str | None = None,
        chosen: CRS | None = None,
        part: bool = False,
        encoding: str | None = None,
    ) -> None:
        self.block_bytes = max(int(block_bytes), 1 << 10)
        self.user_crs = parse_crs(crs) if crs else None
        self.part = part
        self.summary = CheckSummary()
        if data is not None:
            self.path = Path(name or "sites.csv")
            self.size = len(data)
            self._handle: BinaryIO = io.BytesIO(data)
        elif path is not None:
            self.path = Path(path)
            self.size = self._stat(max_mb)
            self._handle = self._open()
        else:
            raise ValueError("CsvCheck needs a path or data.")
        self.name = name or self.path.name
        try:
            self._start(chosen, encoding)
        except BaseException:
            self._handle.close()
            raise

    # -------------------------------------------------------- opening

    def _stat(self, max_mb: float | None) -> int:
        name = str(self.path)
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError as err:
            raise DataFileError(f"{name}: file not found. Check the path.") from err
        except OSError as err:
            raise DataFileError(f"{name}: cannot read ({err.strerror}).") from err
        if not self.path.is_file():
            raise DataFileError(f"{name}: is not a file. Give the path of a file.")
        if max_mb is not None and size > max_mb * 1e6:
            raise DataFileError(
                f"{name}: the file is {size / 1e6:.1f} MB, over the {max_mb:g} MB limit."
                " Split it into smaller files, or raise the limit (--max-mb on the command line)."
            )
        return size

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")  # closed by write(), or close() on an error
        except OSError as err:
            raise DataFileError(f"{self.path}: cannot read ({err.strerror}).") from err

    def _read(self, count: int) -> bytes:
        try:
            return self._handle.read(count)
        except OSError as err:
            raise DataFileError(f"{self.path}: cannot read ({err.strerror}).") from err

    def _start(self, chosen: CRS | None, encoding: str | None) -> None:
        # A small first block: the CRS is chosen and the pipeline starts sooner.
        head = self._read(min(self.block_bytes, FIRST_BLOCK_BYTES))
        self._offset = len(head)
        if head.startswith(BOM):
            head = head[len(BOM) :]
        self._eof = self._offset >= self.size or not head
        if not head.strip() and self._eof:
            raise DataFileError(
                f"{self.name}: the file is empty. Choose the file with your sites in it."
            )
        while not self._eof and _row_end(head) == 0 and len(head) <= MAX_LINE_BYTES:
            more = self._read(self.block_bytes)  # a header longer than a block
            self._offset += len(more)
            self._eof = not more
            head += more
        end = _row_end(head)  # none within MAX_LINE_BYTES: csv_layout refuses the long line
        self.layout: CsvLayout = csv_layout(
            head[:end] if end and not self._eof else head, self.name
        )
        if encoding is not None:
            self.layout = replace(self.layout, encoding=encoding)
        cols = find_coordinate_columns(self.layout.names, self.name, self.user_crs)
        self.cols = cols
        self._buffer = head[self.layout.body_start :]
        self._line = self.layout.body_line
        self._row = 1
        self.crs: CRS | None = chosen
        self.evidence: CoordinateEvidence | None = None
        self._first: Block | None = None
        while self._first is None and (chunk := self._next_chunk()) is not None:
            self._first = self._parse(chunk)
        if self._first is None:
            if not self.part:
                raise DataFileError(f"{self.name}: has a header but no rows of sites under it.")
            self.crs_note = ""
            return
        self.crs = self._first.points.crs
        self.crs_note = self._first.points.note
        if self._done() and not self.part:  # the whole file is read: refuse it now, if at all
            first = CheckSummary(rows=self._first.table.num_rows)
            count_located(first, self._first)
            first.check_located(self.name)

    def _done(self) -> bool:
        return self._eof and not self._buffer

    def _next_chunk(self) -> _Chunk | None:
        """The next piece of the file, cut at the end of a row; None at the end of the file.

        About a block: smaller for the first (the CRS is chosen sooner) and near the end (so
        that every worker has a share of the last rows).
        """
        if self._done():
            return None
        if self.crs is None:
            target = FIRST_BLOCK_BYTES
        else:
            left = self.size - self._offset + len(self._buffer)
            target = max(left // (2 * WORKERS), LAST_BLOCK_BYTES)
        target = min(target, self.block_bytes)
        cut = 0
        while not cut:
            if len(self._buffer) > target:
                cut = _row_end(self._buffer, target) or _row_end(self._buffer)
            if not cut and self._eof:
                cut = len(self._buffer)
            elif not cut:
                more = self._read(self.block_bytes)
                self._offset += len(more)
                self._eof = not more
                self._buffer += more
        data, self._buffer = self._buffer[:cut], self._buffer[cut:]
        chunk = _Chunk(data, self._line, self._offset - len(self._buffer))
        self._line += _occurrences(data, b"\n")
        return chunk

    def _parse(self, chunk: _Chunk) -> Block | None:
        """A chunk's rows parsed and located (None when it has only blank lines); any thread
        may parse once the CRS is chosen. Rows are numbered from 1 until the block is placed."""
        table, ragged = parse_csv_rows(
            chunk.data, self.layout, self.name, first_line=chunk.first_line
        )
        if not table.num_rows:
            return None
        block = locate_block(
            table,
            ragged,
            self.cols,
            self.name,
            self.user_crs,
            self.crs,
            first_row=1,
            decimal_comma=self.layout.sep == ";",
        )
        block.end_byte = chunk.end_byte
        return block

    def _place(self, block: Block) -> None:
        """Number a block's rows after those before it, and add up its evidence."""
        block.first_row = self._row
        self._row += block.table.num_rows
        evidence = block.points.evidence
        if evidence is not None:
            self.evidence = sum_evidence(self.evidence, evidence.shifted(block.first_row - 1))

    @property
    def notes(self) -> list[str]:
        """What the reader assumed, for the user: '<file>: coordinates read as ...'."""
        told = [self.crs_note, self.layout.note]
        return [f"{self.name}: {note}" for note in told if note]

    def close(self) -> None:
        self._handle.close()

    # -------------------------------------------------------- running

    def _checked(
        self, index: CheckIndex, render: Callable[[Block, Answers | None], Any]
    ) -> Iterator[tuple[Block, Answers | None, Any]]:
        """Every block, its answers and `render(block, answers)`, in file order, worked out by a
        pool of threads: each reads, checks and renders whole blocks, so no stage waits on
        another (the file is cut into chunks here, which is quick)."""
        if self._first is None:
            return

        def work(item: _Chunk | Block) -> tuple[Block, Answers | None, Any] | None:
            block = item if isinstance(item, Block) else self._parse(item)
            if block is None:
                return None
            answers = block_answers(block, index)
            return block, answers, render(block, answers)

        with ThreadPoolExecutor(WORKERS, thread_name_prefix="iszones-check") as pool:
            pending = deque([pool.submit(work, self._first)])
            self._first = None
            try:
                while pending:
                    while len(pending) < WORKERS * IN_FLIGHT:
                        chunk = self._next_chunk()
                        if chunk is None:
                            break
                        pending.append(pool.submit(work, chunk))
                    done = pending.popleft().result()
                    if done is not None:
                        self._place(done[0])
                        yield done
            finally:
                for future in pending:  # after an error: no more work
                    future.cancel()

    def run(
        self,
        output: str | os.PathLike[str],
        index: CheckIndex,
        *,
        within_km: float | None = None,
        progress: Progress | None = None,
    ) -> CheckSummary:
        """Check every row against `index` and write the results to `output` (.csv, .parquet,
        .geojson or .gpkg), atomically; returns what was found."""
        target = Path(output)
        if target.suffix.lower() == ".gpkg":
            with atomic_path(target) as path:
                path.unlink()  # GDAL makes a GeoPackage only where there is no file
                summary = self.write_geopackage(
                    path, index, within_km=within_km, progress=progress, shown=target
                )
                self._refuse_if_unlocated(summary)
            return summary
        fmt = {".parquet": "parquet", ".geojson": "geojson", ".json": "geojson"}.get(
            target.suffix.lower(), "csv"
        )
        with atomic_output(target) as out:
            summary = self.write(out, index, within_km=within_km, progress=progress, fmt=fmt)
            self._refuse_if_unlocated(summary)
        return summary

    def _refuse_if_unlocated(self, summary: CheckSummary) -> None:
        """After the last block: refuse a file with no row located, or whose later rows do not
        fit the CRS chosen from the first block (the output is then not kept)."""
        if not self.part:
            summary.check_located(self.name)
            if self.evidence is not None:
                table_crs(self.evidence, self.cols, self.name, self.user_crs)

    def write_geopackage(
        self,
        path: Path,
        index: CheckIndex,
        *,
        within_km: float | None = None,
        progress: Progress | None = None,
        shown: object = None,
    ) -> CheckSummary:
        """Check every row and have GDAL write the results as a GeoPackage at `path` (a new
        file), block by block as GDAL asks for them: the same layer as outputs.write_geopackage
        makes of check_sites' frame. Closes the input.

        GDAL holds the GIL while it writes (4 s of a million rows' 6 s), so the blocks are
        checked in what time it leaves, and the points' WKB is made by numpy (point_wkb), not
        by a million shapely objects. Measured on two cores, the work being bound by them
        (GDAL's 4 s and the check's): checking every block first into a spool file was no
        faster; GDAL in a process of its own, fed Arrow through a pipe, took 7.45-7.75 s
        against 7.65-7.95 s here (alternated, before point_wkb), 6.6-6.9 s only when started
        before the index loads: not worth a second process to manage."""
        written, sources, results = output_names(self.layout.names, within_km)
        names = distinct_fields([*written, *results, "geometry"])
        kinds = [pa.string()] * len(written)
        kinds += [ARROW_TYPES.get(n, pa.string()) for n in results]
        kinds = [pa.string() if pa.types.is_boolean(k) else k for k in kinds]  # true/false
        schema = pa.schema([*map(pa.field, names, kinds), pa.field(names[-1], pa.binary())])
        render = partial(
            geopackage_table, sources=sources, index=index, within_km=within_km, schema=schema
        )
        failed: list[BaseException] = []  # GDAL reports a failed block as its own error

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for table in self._rendered(index, render, within_km, progress):
                    yield from table.to_batches()
            except BaseException as err:
                failed.append(err)
                raise

        try:
            write_geopackage_arrow(
                pa.RecordBatchReader.from_batches(schema, batches()),
                path,
                geometry_type="Point",
                crs=self.crs.to_wkt() if self.crs is not None else None,
                shown=shown,
            )
        except Exception:
            if failed:  # the block's own message (a bad line, say), not GDAL's
                raise failed[0] from None
            raise
        finally:
            self.close()
        self.summary.evidence = self.evidence
        return self.summary

    def write(
        self,
        out: BinaryIO,
        index: CheckIndex,
        *,
        within_km: float | None = None,
        progress: Progress | None = None,
        fmt: str = "csv",
    ) -> CheckSummary:
        """Check every row and write the results to an open binary file, as CSV (byte-order
        mark, header, rows), Parquet or GeoJSON (`fmt`); returns what was found. Closes the
        input."""
        written, sources, results = output_names(self.layout.names, within_km)
        try:
            if fmt == "parquet":
                schema = result_schema(written, results)
                render: Callable[[Block, Answers | None], Any] = partial(
                    typed_table, sources=sources, index=index, within_km=within_km, schema=schema
                )
                with pq.ParquetWriter(out, schema) as parquet:
                    for table in self._rendered(index, render, within_km, progress):
                        parquet.write_table(table)
            elif fmt == "geojson":
                render = partial(
                    block_geojson,
                    sources=sources,
                    index=index,
                    within_km=within_km,
                    keys=[*written, *results],
                )
                out.write(geojson_opening(LAYER))
                separator = b""
                for features in self._rendered(index, render, within_km, progress):
                    if len(features):
                        out.write(separator)
                        out.write(features)
                        separator = FEATURE_SEPARATOR
                out.write(GEOJSON_CLOSING)
            else:
                render = partial(block_csv, sources=sources, index=index, within_km=within_km)
                header = ",".join(csv_field(n) for n in [*written, *results]) + "\n"
                out.write(BOM + header.encode("utf-8"))
                for rows in self._rendered(index, render, within_km, progress):
                    out.write(rows)
            self.summary.evidence = self.evidence
            return self.summary
        finally:
            self.close()

    def _rendered(
        self,
        index: CheckIndex,
        render: Callable[[Block, Answers | None], Any],
        within_km: float | None,
        progress: Progress | None,
    ) -> Iterator[Any]:
        """render(block, answers) of every block, in file order; each block is counted into
        the summary, and `progress` told once the caller has written it."""
        for block, answers, rendered in self._checked(index, render):
            count_block(block, answers, within_km, self.summary, index)
            yield rendered
            if progress is not None:
                progress(block.end_byte, self.size)


def output_names(
    names: Sequence[str], within_km: float | None
) -> tuple[list[str], list[int], list[str]]:
    """(input column names as written, the input column each comes from, result names);
    IszonesError for a within_km that is not a distance."""
    require_within_km(within_km)
    results = result_names(within_km=within_km, polygons=False)
    kept = [(n, i) for i, n in enumerate(names) if n != "geometry"]
    if "geometry" in names:  # readers keep a 'geometry' column as 'geometry_input'
        source = list(names).index("geometry")
        at = [k for k, (n, _) in enumerate(kept) if n == "geometry_input"]
        if at:
            kept[at[0]] = ("geometry_input", source)
        else:
            kept.append(("geometry_input", source))
    clashing = set(results)  # as check_sites renames them for point sites
    taken = {n for n, _ in kept} | {"geometry"} | clashing
    written = [free_name(n, taken) if n in clashing else n for n, _ in kept]
    return written, [i for _, i in kept], results


def locate_block(
    table: pa.Table,
    ragged: list[str] | None,
    cols: tuple[str, str, str],
    name: str,
    user_crs: CRS | None,
    crs: CRS | None,
    *,
    first_row: int,
    decimal_comma: bool = False,
) -> Block:
    """A block of rows with its points read (by postcode where they have no coordinates),
    checked and put in EPSG:27700."""
    names = table.column_names
    points = locate_rows(
        lambda column: table.column(names.index(column)),
        cols,
        name,
        user_crs,
        find_postcode_column(names, name),
        decimal_comma=decimal_comma,
        ragged=ragged,
        crs=crs,
        first_row=first_row,
    )
    block = Block(table, points, first_row)
    ok = points.ok
    if points.crs.equals(CRS.from_user_input(MEASURE_CRS)):
        block.x_bng, block.y_bng = points.x[ok], points.y[ok]
    elif ok.any():
        block.x_bng, block.y_bng = transformer(points.crs, MEASURE_CRS).transform(
            points.x[ok], points.y[ok]
        )
    return block


def block_answers(block: Block, index: CheckIndex) -> Answers | None:
    if block.x_bng is None or not len(block.x_bng):
        return None
    assert block.y_bng is not None
    # blocks are checked in a pool of threads already: one thread per block
    return check_points(block.x_bng, block.y_bng, index, threads=1)


def count_located(summary: CheckSummary, block: Block) -> None:
    problems = block.points.problems
    ok = block.points.ok
    if not summary.located:
        summary.leading.extend(
            f"row {block.first_row + pos}: {problems[pos]}"
            for pos in range(min(3 - len(summary.leading), len(problems)))
        )
        summary.all_swapped &= all("look swapped" in str(p) for p in problems[~ok])
    summary.located += int(ok.sum())
    summary.by_postcode |= block.points.by_postcode
    summary.notes.extend(n for n in block.points.notes if n not in summary.notes)


def count_block(
    block: Block,
    answers: Answers | None,
    within_km: float | None,
    summary: CheckSummary,
    index: CheckIndex,
) -> None:
    problems = block.points.problems
    ok = block.points.ok
    count_located(summary, block)
    summary.rows += len(ok)
    summary.within_km = within_km
    bad = np.flatnonzero(~ok)
    summary.problems += len(bad)
    for pos in bad[: max(0, SHOWN_PROBLEMS - len(summary.first_problems))]:
        summary.first_problems.append((block.first_row + int(pos), str(problems[pos])))
    if answers is not None:
        in_tax = (
            tax_level(answers.tax, index.tax)
            if answers.tax is not None and index.tax is not None
            else None
        )
        summary.add_answers(answers.combo >= 0, answers.distance, in_tax)


def block_results(
    block: Block, answers: Answers | None, index: CheckIndex, within_km: float | None
) -> list[Column]:
    """A block's result columns (columns.result_columns), for its CSV or Arrow output."""
    return result_columns(
        answers,
        block.points.ok,
        block.points.problems,
        index.labels(),
        within_km=within_km,
        sources=block.points.source,
    )


def block_csv(
    block: Block,
    answers: Answers | None,
    sources: Sequence[int],
    index: CheckIndex,
    within_km: float | None,
) -> np.ndarray:
    """A block's output rows as CSV bytes: its `sources` columns (made inert, inputs.text),
    then its results."""
    originals = [spreadsheet_column(block.table.column(i).combine_chunks()) for i in sources]
    found = block_results(block, answers, index, within_km)
    return csv_rows([*originals, *(column.csv() for column in found)])


def result_schema(
    written: Sequence[str], results: Sequence[str], types: Sequence[pa.DataType] | None = None
) -> pa.Schema:
    """Input columns (as text, or of `types`), then the results typed (bool, float, text)."""
    kinds = types if types is not None else [pa.string()] * len(written)
    fields = [pa.field(n, t) for n, t in zip(written, kinds, strict=True)]
    fields += [pa.field(n, ARROW_TYPES.get(n, pa.string())) for n in results]
    return pa.schema(fields)


def geopackage_table(
    block: Block,
    answers: Answers | None,
    sources: Sequence[int],
    index: CheckIndex,
    within_km: float | None,
    schema: pa.Schema,
) -> pa.Table:
    """A block's rows for the GeoPackage: input columns as text, the results typed as
    outputs.write_geopackage types them (distances as numbers, the rest as text, flags as
    true/false), and the point in the file's CRS as WKB (none where the row has a problem)."""
    originals = [block.table.column(i).combine_chunks() for i in sources]
    found = [c.arrow() for c in block_results(block, answers, index, within_km)]
    found = [pc.if_else(a, "true", "false") if pa.types.is_boolean(a.type) else a for a in found]
    points = block.points
    wkb = point_wkb(points.x, points.y, points.ok)
    return pa.Table.from_arrays([*originals, *found, wkb], schema=schema)


def block_geojson(
    block: Block,
    answers: Answers | None,
    sources: Sequence[int],
    index: CheckIndex,
    within_km: float | None,
    keys: Sequence[str],
) -> np.ndarray:
    """A block's features as GeoJSON (data.geojson.feature_lines): its `sources` columns as
    text, its results typed as for Parquet, and its point in WGS84 (null where the row has a
    problem), as outputs.result_bytes writes check_sites' frame."""
    originals = [json_texts(block.table.column(i).combine_chunks()) for i in sources]
    found = [column.json() for column in block_results(block, answers, index, within_km)]
    points = block.points
    x, y = np.full(len(points.ok), np.nan), np.full(len(points.ok), np.nan)
    x[points.ok], y[points.ok] = points.x[points.ok], points.y[points.ok]
    if not points.crs.equals(STORAGE_CRS):  # as GeoSeries.to_crs converts them
        x[points.ok], y[points.ok] = transformer(points.crs, STORAGE_CRS).transform(
            x[points.ok], y[points.ok]
        )
    return feature_lines(keys, [*originals, *found], point_texts(x, y, WGS84_DIGITS))


def typed_table(
    block: Block,
    answers: Answers | None,
    sources: Sequence[int],
    index: CheckIndex,
    within_km: float | None,
    schema: pa.Schema,
) -> pa.Table:
    """A block's input columns and results as a typed Arrow table (for Parquet)."""
    originals = [block.table.column(i).combine_chunks() for i in sources]
    found = block_results(block, answers, index, within_km)
    return pa.Table.from_arrays([*originals, *(c.arrow() for c in found)], schema=schema)
