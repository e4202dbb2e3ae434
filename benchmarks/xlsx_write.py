"""Check results written as Excel: iszones' writer against openpyxl's write-only mode alone.

Checks N seeded synthetic sites once (bulk_check's generator, in memory), then writes the
result table as .xlsx, alternated in this one process: with iszones' write_result (numbers as
numbers, text kept as text and never a formula, illegal characters removed, column widths, the
header frozen, a filter) and with the least openpyxl can do (a write-only sheet, each row's
values appended as they are). The ratio is how far iszones is from openpyxl's own speed;
the median of --repeat runs is shown with every run.

    .venv/bin/python benchmarks/xlsx_write.py                 # N = 100k
    .venv/bin/python benchmarks/xlsx_write.py --rows 1000000  # a million (minutes a run)
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import pandas as pd
from bulk_check import write_sites_csv

from iszones.check.outputs import write_result
from iszones.check.reference import bundled_reference
from iszones.data.catalogue import data_dir
from iszones.inputs.readers import read_site_file


def openpyxl_only(table: pd.DataFrame) -> bytes:
    """The table in a write-only sheet, values appended as they are: openpyxl's own speed."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("checked_sites")
    sheet.append([str(c) for c in table.columns])
    for row in table.itertuples(index=False, name=None):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="sites to write")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median shown)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iszones-xlsx-") as tmp:
        folder = Path(tmp)
        source = write_sites_csv(folder / "sites.csv", args.rows, variant="bng")
        result = bundled_reference(data_dir()).check_table(read_site_file(source, max_mb=1e6))
        plain = pd.DataFrame(result.drop(columns="geometry"))  # what write_result writes
        print(f"N = {len(result):,} rows, {len(plain.columns)} columns")
        runs: dict[str, list[float]] = {"iszones write_result": [], "openpyxl alone": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            write_result(result, folder / "a.xlsx")
            runs["iszones write_result"].append(time.perf_counter() - start)
            start = time.perf_counter()
            (folder / "b.xlsx").write_bytes(openpyxl_only(plain))
            runs["openpyxl alone"].append(time.perf_counter() - start)
        medians = {}
        for label, seconds in runs.items():
            medians[label] = sorted(seconds)[len(seconds) // 2]
            spread = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"  {label:<22} {medians[label]:7.1f} s  (runs: {spread} s)")
        ratio = medians["iszones write_result"] / medians["openpyxl alone"]
        print(f"  iszones takes {ratio:.2f}x openpyxl's own time")


if __name__ == "__main__":
    main()
