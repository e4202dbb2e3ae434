"""Peak memory of the in-memory check (check_sites: what XLSX output, inputs other than CSV and
the Check page use), each run in a process of its own so no run inherits another's memory.

Two runs alternate, --repeat times, on the same generated file (bulk_check.write_sites_csv):
  read   imports, the bundled reference and read_site_file: the baseline, what the input costs;
  check  the same, then check_sites on every row.
Prints each run's peak resident memory (the kernel's VmHWM) and, for `check`, check_sites' time.

    .venv/bin/python benchmarks/frame_memory.py --rows 1000000 [--variant wgs84]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return 0.0


def child(run: str, source: Path) -> None:
    """One run in this process; prints its figures as JSON."""
    from iszones.check.reference import bundled_reference
    from iszones.data.paths import data_dir
    from iszones.inputs.readers import read_site_file

    against = bundled_reference(data_dir())
    sites = read_site_file(source, max_mb=1e6)
    seconds = 0.0
    if run == "check":
        start = time.perf_counter()
        result = against.check_table(sites)
        seconds = time.perf_counter() - start
        assert len(result) == len(sites.frame)
    print(json.dumps({"peak_mb": _peak_mb(), "seconds": seconds}))


def _median(values: list[float], form: str) -> str:
    """'median unit (every value)', the values sorted; `form` formats one with its unit."""
    values = sorted(values)
    return f"{form.format(values[len(values) // 2])} ({', '.join(map(form.format, values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variant", choices=("bng", "wgs84"), default="bng")
    parser.add_argument("--child", nargs=2, metavar=("RUN", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sys.path.insert(0, str(HERE))
    from bulk_check import write_sites_csv

    with tempfile.TemporaryDirectory(prefix="iszones-frame-") as folder:
        source = write_sites_csv(Path(folder) / "sites.csv", args.rows, variant=args.variant)
        runs: dict[str, list[dict[str, float]]] = {"read": [], "check": []}
        for _ in range(args.repeat):
            for run, found in runs.items():
                out = subprocess.run(
                    [sys.executable, __file__, "--child", run, str(source)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                found.append(json.loads(out.stdout))
    print(f"N = {args.rows:,} ({args.variant}), runs alternated x{args.repeat}, each in a process")
    for run, found in runs.items():
        line = f"  {run:<6} peak {_median([f['peak_mb'] for f in found], '{:,.0f} MB')}"
        if run == "check":
            line += f"; check_sites {_median([f['seconds'] for f in found], '{:.2f} s')}"
        print(line)


if __name__ == "__main__":
    main()
