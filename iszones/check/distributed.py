"""Site checks on a Dask cluster: the single-machine check of bulk.py, one partition per task.

A CSV (a file, a folder or a glob, local or any fsspec URL) is cut into byte ranges at line
ends by dask.bytes; each task parses its range and checks it with the same code as the CLI on
one machine, then writes one part file. Parquet is read a file or row group at a time;
GeoParquet (with a geometry column) through dask-geopandas and frames.check_indexed. The parts'
counts are joined here, so whole-file problems (no rows, none located, mixed CRS) are found as on
one machine; then the parts are moved into place, so a failed check leaves no output.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from iszones.check.csvtext import csv_field
from iszones.check.stream import (
    BOM,  # the single-machine steps, run here on partitions
    CheckIndex,  # the single-machine steps, run here on partitions
    CsvCheck,  # the single-machine steps, run here on partitions
    block_answers,  # the single-machine steps, run here on partitions
    block_csv,  # the single-machine steps, run here on partitions
    count_block,  # the single-machine steps, run here on partitions
    locate_block,  # the single-machine steps, run here on partitions
    output_names,  # the single-machine steps, run here on partitions
    result_schema,  # the single-machine steps, run here on partitions
    typed_table,  # the single-machine steps, run here on partitions
)
from iszones.check.summary import CheckSummary, summarise
from iszones.errors import DataFileError, IszonesError
from iszones.inputs.coordinates import find_coordinate_columns, parse_crs, table_crs
from iszones.inputs.csvparse import csv_layout

PART_BYTES = 64 << 20  # bytes of CSV per task
CONNECT_TIMEOUT = "20s"  # to reach an existing scheduler
OUTPUT_SUFFIXES = (".csv", ".parquet")
INPUT_SUFFIXES = (".csv", ".parquet", ".geoparquet")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DistributedCheck:
    """What a check on a cluster did: the joined summary, notes, and the parts written."""

    summary: CheckSummary
    notes: list[str]
    parts: int
    output: str


class DistributedError(IszonesError):
    """Raised when the cluster cannot be reached, or an input or output path cannot be used."""


def check_distributed(
    source: str,
    output: str,
    index: CheckIndex,
    *,
    crs: str | None = None,
    within_km: float | None = None,
    scheduler: str | None = None,
    client: Any = None,
    part_bytes: int = PART_BYTES,
    progress: Progress | None = None,
) -> DistributedCheck:
    """Check the sites in `source` on a Dask cluster and write part files into `output`.

    Parameters
    ----------
    source: a .csv or .parquet file, folder or glob; a local path or any fsspec URL the workers
        can read too (s3://, gs://, abfs://, https://...).
    output: a folder (local or URL) named *.csv or *.parquet; it gets part-00000.csv ... (each a
        complete CSV, as `iszones check` writes) or part-00000.parquet ... (typed results).
    index: from check.prepare_check(zones, admin_units).
    scheduler: the address of an existing cluster's scheduler; None starts a LocalCluster with
        a worker per core for this call (client: an existing distributed.Client instead).
    """
    fmt = _suffix(output, OUTPUT_SUFFIXES, "output")
    kind = _suffix(source, INPUT_SUFFIXES, "input")
    with _client(client, scheduler) as dask_client:
        fs, root = _filesystem(output)
        staging = f"{root}.tmp-{uuid.uuid4().hex[:8]}"
        fs.makedirs(staging, exist_ok=True)
        try:
            if kind == ".csv":
                tasks, notes, check_crs = _csv_tasks(
                    source, staging, index, fmt, crs, within_km, part_bytes
                )
            else:
                tasks, notes = _parquet_tasks(source, staging, index, fmt, crs, within_km)
                check_crs = None
            summary = _run(dask_client, tasks, progress)
            name = posixpath.basename(source.rstrip("/"))
            if not summary.rows:
                raise DataFileError(f"{name}: has no rows of sites.")
            summary.check_located(name)
            if check_crs is not None and summary.evidence is not None:
                check_crs(summary.evidence)
            if fs.exists(root):
                fs.rm(root, recursive=True)
            fs.mv(staging, root, recursive=True)
        except BaseException:
            if fs.exists(staging):
                fs.rm(staging, recursive=True)
            raise
    return DistributedCheck(summary, notes, len(tasks), output)


# ---------------------------------------------------------------- cluster and paths


@contextmanager
def _client(client: Any, scheduler: str | None) -> Iterator[Any]:
    """The given client, one for `scheduler`, or a LocalCluster's; closed if opened here."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            opened = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise DistributedError(
                f"Cannot reach the Dask scheduler at {scheduler!r} ({err}). Check the address"
                " (e.g. tcp://10.0.0.5:8786) and that the scheduler is running."
            ) from err
        with opened:
            yield opened
        return
    with (
        LocalCluster(threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as local,
    ):
        yield local


def _filesystem(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def _suffix(path: str, allowed: tuple[str, ...], what: str) -> str:
    base = path.rstrip("/").lower()
    for suffix in allowed:
        if base.endswith(suffix):
            return ".parquet" if suffix == ".geoparquet" else suffix
    raise DistributedError(
        f"{path}: cannot use it as the {what} of a check on a cluster; its name must end in"
        f" {' or '.join(allowed)} (a file, a folder of parts, or a glob of files)."
    )


def _run(client: Any, tasks: list[Any], progress: Progress | None) -> CheckSummary:
    """Compute the tasks (one summary each), in order, joining their summaries."""
    from distributed import as_completed

    futures = client.compute(tasks)
    for done, _ in enumerate(as_completed(futures), start=1):
        if progress is not None:
            progress(done, len(futures))
    summary = CheckSummary()
    for part in client.gather(futures):
        summary = summary.merged(part)
    return summary


# ---------------------------------------------------------------- CSV


def _csv_tasks(
    source: str,
    staging: str,
    index: CheckIndex,
    fmt: str,
    crs: str | None,
    within_km: float | None,
    part_bytes: int,
) -> tuple[list[Any], list[str], Callable[[Any], Any]]:
    import dask
    from dask.bytes import read_bytes

    try:
        sample, blocks, paths = read_bytes(
            source, delimiter=b"\n", blocksize=part_bytes, sample=1 << 20, include_path=True
        )
    except (OSError, ValueError) as err:
        raise DistributedError(f"{source}: cannot be read ({err}).") from err
    if not paths:
        raise DataFileError(f"{source}: no such file. Check the path or the glob.")
    name = posixpath.basename(paths[0])
    head = sample.removeprefix(b"\xef\xbb\xbf")
    end = head.rfind(b"\n") + 1
    layout = csv_layout(head[:end] if end else head, name)
    # The CRS is chosen from the first rows, as on one machine from the first block.
    first = CsvCheck(data=head[:end] if end else head, name=name, crs=crs, part=True)
    chosen, note = first.crs, first.crs_note
    user_crs = parse_crs(crs) if crs else None
    cols = find_coordinate_columns(layout.names, name, user_crs)
    header = head[: layout.body_start]
    index_future = dask.delayed(index, pure=True)
    tasks: list[Any] = []
    for path, file_blocks in zip(paths, blocks, strict=True):
        for number, block in enumerate(file_blocks):
            url = f"{staging}/part-{len(tasks):05d}{fmt}"
            tasks.append(
                dask.delayed(_check_csv_part, pure=False)(
                    block,
                    None if number == 0 else header,
                    posixpath.basename(path),
                    crs,
                    chosen,
                    index_future,
                    within_km,
                    url,
                    fmt,
                    layout.encoding,
                )
            )

    def check_crs(evidence: Any) -> Any:
        return table_crs(evidence, cols, name, user_crs)

    told = [note, layout.note]
    return tasks, [f"{name}: {t}" for t in told if t], check_crs


def _check_csv_part(
    block: bytes,
    header: bytes | None,
    name: str,
    crs: str | None,
    chosen: Any,
    index: CheckIndex,
    within_km: float | None,
    url: str,
    fmt: str,
    encoding: str,
) -> CheckSummary:
    """One task: check a byte range of a CSV (with the header put back) into a part file, its
    text read in the file's `encoding`."""
    import fsspec

    data = block if header is None else header + block
    job = CsvCheck(data=data, name=name, crs=crs, chosen=chosen, part=True, encoding=encoding)
    with fsspec.open(url, "wb") as out:
        return job.write(out, index, within_km=within_km, fmt=fmt.lstrip("."))


# ---------------------------------------------------------------- Parquet and GeoParquet


def _parquet_tasks(
    source: str,
    staging: str,
    index: CheckIndex,
    fmt: str,
    crs: str | None,
    within_km: float | None,
) -> tuple[list[Any], list[str]]:
    import dask
    import dask.dataframe as dd

    fs, root = _filesystem(source)
    files = sorted(
        p for p in (fs.find(root) if fs.isdir(root) else fs.glob(root)) if p.endswith("parquet")
    )
    if not files:
        raise DataFileError(f"{source}: no Parquet files there. Check the path or the glob.")
    schema = pq.read_schema(files[0], filesystem=fs)
    name = posixpath.basename(source.rstrip("/"))
    index_future = dask.delayed(index, pure=True)
    if b"geo" in (schema.metadata or {}):  # GeoParquet: geometries, checked by check_indexed
        if fmt != ".parquet":
            raise DistributedError(
                f"{source}: has geometries; write the results as GeoParquet (--out NAME.parquet)."
            )
        import dask_geopandas

        frame = dask_geopandas.read_parquet(source)
        if crs:
            frame = frame.set_crs(crs, allow_override=True)
        parts = frame.to_delayed()
        tasks = [
            dask.delayed(_check_geo_part, pure=False)(
                part, index_future, within_km, f"{staging}/part-{i:05d}.parquet"
            )
            for i, part in enumerate(parts)
        ]
        return tasks, [f"{name}: geometries read from GeoParquet, {len(parts)} partitions"]
    user_crs = parse_crs(crs) if crs else None
    cols = find_coordinate_columns(schema.names, name, user_crs)
    frame = dd.read_parquet(source, dtype_backend="pyarrow")
    parts = frame.to_delayed()
    sample = pq.ParquetFile(files[0], filesystem=fs).read_row_group(0)
    chosen = locate_block(
        _text_coordinates(sample, cols), None, cols, name, user_crs, None, first_row=1
    ).points
    tasks = [
        dask.delayed(_check_table_part, pure=False)(
            part,
            cols,
            name,
            user_crs,
            chosen.crs,
            index_future,
            within_km,
            f"{staging}/part-{i:05d}{fmt}",
        )
        for i, part in enumerate(parts)
    ]
    return tasks, [f"{name}: {chosen.note}"]


def _text_coordinates(table: pa.Table, cols: tuple[str, str, str]) -> pa.Table:
    """The table with dictionary-encoded coordinate columns made plain (as parsed CSV is)."""
    for col in cols[:2]:
        at = table.column_names.index(col)
        column = table.column(at)
        if pa.types.is_dictionary(column.type):
            table = table.set_column(at, col, pc.cast(column, column.type.value_type))
    return table


def _check_table_part(
    frame: Any,
    cols: tuple[str, str, str],
    name: str,
    user_crs: Any,
    chosen: Any,
    index: CheckIndex,
    within_km: float | None,
    url: str,
) -> CheckSummary:
    """One task: check a partition of a Parquet input (a pandas frame) into a part file."""
    import fsspec

    table = _text_coordinates(pa.Table.from_pandas(frame, preserve_index=False), cols)
    block = locate_block(table, None, cols, name, user_crs, chosen, first_row=1)
    answers = block_answers(block, index)
    summary = CheckSummary()
    count_block(block, answers, within_km, summary, index)
    summary.evidence = block.points.evidence
    written, sources, results = output_names(table.column_names, within_km)
    if url.endswith(".parquet"):
        types = [table.schema.field(i).type for i in sources]
        schema = result_schema(written, results, types)
        result = typed_table(block, answers, sources, index, within_km, schema)
        with fsspec.open(url, "wb") as out:
            pq.write_table(result, out)
        return summary
    text = table.select(sources)
    text = pa.table(
        [pc.cast(c, pa.string()) for c in text.columns], names=text.column_names
    )  # numbers and dates as Arrow prints them
    block.table = text
    rows = block_csv(block, answers, list(range(len(sources))), index, within_km)
    header = ",".join(csv_field(n) for n in [*written, *results]) + "\n"
    with fsspec.open(url, "wb") as out:
        out.write(BOM + header.encode("utf-8"))
        out.write(rows)
    return summary


def _check_geo_part(
    frame: Any, index: CheckIndex, within_km: float | None, url: str
) -> CheckSummary:
    """One task: check_indexed on a partition of a GeoParquet input, written as GeoParquet."""
    from iszones.check.frames import check_indexed

    result = check_indexed(frame, index, within_km=within_km)
    for column in result.columns[result.dtypes == "category"]:  # as text: the parts' categories
        result[column] = result[column].astype(object)  # differ, and so would their schemas
    result.to_parquet(url)
    summary = summarise(result, within_km)
    summary.leading = [
        f"row {i + 1}: {result['problem'].iloc[i]}" for i in range(min(3, len(result)))
    ]
    summary.all_swapped = False
    return summary
