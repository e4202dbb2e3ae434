"""Time and peak memory of `iszones check` on the hostile files of issue 12, before and after.

    python benchmarks/hostile_inputs.py                       # this tree only
    git worktree add /tmp/iszones-before ee3cff3               # the code before the fix
    python benchmarks/hostile_inputs.py --before /tmp/iszones-before

Each case runs `iszones check FILE --out OUT` in a child process (the code of each tree on
sys.path, the same Python), with an address-space cap (--memory-gb) and a timeout (--timeout);
peak memory is the child's maximum resident set (wait4). Files come from tests/hostile/corpus.py:
the 4.9 KB-style workbook with one value in XFD1048576 (and one in XFD1000), 4,000 columns all
named x, a CSV whose header line is 50 MB, and a legitimate 200,000-row workbook for the speed
of ordinary Excel reading. Each tree first checks a small file, so that compiling the numba
loops (cached beside the code) is not counted.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.corpus import (  # noqa: E402 (the repository root goes on the path first)
    duplicate_columns_csv,
    far_cell_xlsx,
    good_csv,
    huge_header_csv,
)

RUNNER = "import sys; sys.path.insert(0, sys.argv.pop(1)); from iszones.cli import main; main()"


def big_workbook(rows: int = 200_000) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sites")
    sheet.append(["name", "lon", "lat", "note", "ref"])
    for i in range(rows):
        sheet.append([f"Site {i}", -1.47 + i * 1e-6, 52.92, "a note", i])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


CASES = [
    ("far-cell XLSX (XFD1048576)", "far.xlsx", far_cell_xlsx, ".csv"),
    ("far-cell XLSX (XFD1000)", "far1000.xlsx", lambda: far_cell_xlsx(row=1000), ".csv"),
    ("4,000 duplicate columns, CSV to XLSX", "dup.csv", duplicate_columns_csv, ".xlsx"),
    ("4,000 duplicate columns, CSV to CSV", "dup.csv", duplicate_columns_csv, ".csv"),
    ("50 MB header line, CSV to XLSX", "header.csv", huge_header_csv, ".xlsx"),
    ("50 MB header line, CSV to CSV", "header.csv", huge_header_csv, ".csv"),
    ("200,000-row workbook (legitimate)", "big.xlsx", big_workbook, ".csv"),
]


def run(tree: Path, source: Path, out: Path, timeout: float, memory_gb: float) -> str:
    """'12.3 s, 456 MB, exit 1: <last line>' for one check in a capped child process."""
    cap = int(memory_gb * (1 << 30))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(tree), "check", str(source), "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=limit,
        )
        killed = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                killed = True
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = [line for line in err.read().decode(errors="replace").splitlines() if line]
    peak = usage.ru_maxrss / 1024  # KB -> MB
    if killed:
        return f"> {timeout:.0f} s (killed), {peak:.0f} MB so far"
    code = os.waitstatus_to_exitcode(status)
    last = lines[-1] if lines else ""
    if "MemoryError" in last:
        last = f"MemoryError at the {memory_gb:g} GB cap"
    return f"{seconds:.1f} s, {peak:.0f} MB, exit {code}: {last[:110]}"


def unique_names_seconds(tree: Path, count: int) -> str:
    """The header's unique_names on `count` copies of one name, in a child of that tree (time
    only): inputs.csvparse.unique_names, or readers._unique_names in trees before it moved."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1])\n"
        "try:\n from iszones.inputs.csvparse import unique_names\n"
        "except ImportError:\n from iszones.inputs.readers import _unique_names as unique_names\n"
        "t = time.perf_counter(); unique_names(['x'] * int(sys.argv[2]))\n"
        "print(f'{time.perf_counter() - t:.3f} s')"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(tree), str(count)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return "> 60 s"
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before the fix")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--memory-gb", type=float, default=4.0)
    args = parser.parse_args()
    trees = {"after": ROOT}
    if args.before is not None:
        trees = {"before": args.before.resolve(), **trees}
    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as tmp:
        folder = Path(tmp)
        warm = folder / "warm.csv"
        warm.write_bytes(good_csv())
        for tree in trees.values():  # compile and cache each tree's numba loops first
            run(tree, warm, folder / "warm_out.csv", args.timeout, args.memory_gb)
        print(f"timeout {args.timeout:.0f} s, address space capped at {args.memory_gb:g} GB\n")
        for title, name, make, suffix in CASES:
            source = folder / name
            source.write_bytes(make())
            print(f"{title} ({source.stat().st_size / 1e6:.3f} MB file)")
            for label, tree in trees.items():
                out = folder / f"out_{label}{suffix}"
                print(f"  {label:6} {run(tree, source, out, args.timeout, args.memory_gb)}")
                out.unlink(missing_ok=True)
        for count in (2_000, 4_000, 100_000):
            print(f"unique_names of {count:,} duplicate names")
            for label, tree in trees.items():
                shown = "skipped (cubic)" if label == "before" and count > 4_000 else None
                print(f"  {label:6} {shown or unique_names_seconds(tree, count)}")


if __name__ == "__main__":
    main()
