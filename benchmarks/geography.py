"""Council districts: time and peak memory of the district lookup, and optionally of the build.

Each step runs in its own child process, so its peak resident memory (ru_maxrss from wait4) is
its own and nothing is cached from an earlier step:

- lookup: N postcode points (seeded sample of the ONS Postcode Directory, Northern Ireland's
  converted from Irish Grid to British National Grid) looked up against the committed
  data/boundaries/districts.geojson with the check engine's council grid (check.prepare_check,
  then bulk.locate_councils); shows the time to load and index the layer, the time for the
  lookup, and the share of points given their directory district;
- build (with --build): `build_geography` into a temporary folder (or --out DIR): the Voronoi
  build of every district from 2.07M postcode points, with the hold-out score.

    .venv/bin/python benchmarks/geography.py                  # lookup of 1M points
    .venv/bin/python benchmarks/geography.py --build          # and the build (~70 s, ~3.4 GB)
    .venv/bin/python benchmarks/geography.py --points 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BOUNDARIES = REPO / "data" / "boundaries"

LOOKUP = """
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from iszones.check import core
from iszones.check.frames import prepare_check
from iszones.data.catalogue import read_councils
from iszones.data.catalogue import read_zones
from iszones.data.catalogue import zones_path
root = __import__("pathlib").Path(sys.argv[2])
councils = read_councils(root)
index = prepare_check(read_zones(zones_path(root)), councils)
t1 = time.perf_counter()
pts = np.load(sys.argv[1])
t2 = time.perf_counter()
pos, note = bulk.locate_councils(pts["x"], pts["y"], index)
t3 = time.perf_counter()
codes = np.asarray(councils["code"].astype(str))
got = np.where(pos >= 0, codes[np.maximum(pos, 0)], "")
right = float((got == pts["code"]).mean())
print(json.dumps({"load_s": t1 - t0, "lookup_s": t3 - t2, "right": right,
                  "none": int((pos < 0).sum())}))
"""

BUILD = """
import json, sys
from pathlib import Path
from iszones.data.geography import build_geography
m = build_geography(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps(m["report"]))
"""


def run_child(code: str, *args: str) -> tuple[dict, float, float, float]:
    """Run `code` in a fresh Python; its JSON answer, wall s, CPU s and peak resident MB."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"child failed with exit code {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return json.loads(out.strip().splitlines()[-1]), wall, cpu, usage.ru_maxrss / 1024


def sample_points(n: int, seed: int, path: Path) -> None:
    """N directory postcodes with coordinates and a district, as BNG x, y and their code."""
    from pyproj import Transformer

    from iszones.inputs.postcodes import read_directory

    d = read_directory()
    d = d[d["easting"].notna() & d["laua"].notna() & ~d["laua"].str[:1].isin(["L", "M"])]
    take = np.random.default_rng(seed).choice(len(d), size=min(n, len(d)), replace=False)
    d = d.iloc[np.sort(take)]
    x, y = d["easting"].to_numpy(float, copy=True), d["northing"].to_numpy(float, copy=True)
    ni = d["is_ni"].to_numpy(bool)
    to_bng = Transformer.from_crs("EPSG:29903", "EPSG:27700", always_xy=True)
    x[ni], y[ni] = to_bng.transform(x[ni], y[ni])
    np.savez(path, x=x, y=y, code=d["laua"].to_numpy(str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points to look up")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--build", action="store_true", help="also time build-geography")
    parser.add_argument("--out", type=Path, help="keep the build's files in this folder")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "iszones", help="land mask"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="iszones-geo-bench-") as tmp:
        pts = Path(tmp) / "points.npz"
        sample_points(args.points, args.seed, pts)
        got, wall, cpu, peak = run_child(LOOKUP, str(pts), str(REPO / "data"))
        rows.append(
            (
                f"district lookup, {args.points:,} postcode points",
                wall,
                cpu,
                peak,
                f"load+index {got['load_s']:.2f} s, lookup {got['lookup_s']:.2f} s,"
                f" {got['right']:.2%} in their directory district, {got['none']} none",
            )
        )
        if args.build:
            out = args.out or Path(tmp) / "build"
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy(BOUNDARIES / "lad2025_names.csv", out)
            got, wall, cpu, peak = run_child(BUILD, str(out), str(args.cache_dir))
            h = got.get("holdout", {})
            rows.append(
                (
                    "build-geography (all postcodes, hold-out scored)",
                    wall,
                    cpu,
                    peak,
                    f"{got['districts']} districts; hold-out {h.get('overall_right', 0):.2%}"
                    f" overall, {h.get('near_border_right', 0):.2%} within 500 m of a border",
                )
            )
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'step':<48} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  notes")
    for step, wall, cpu, peak, note in rows:
        print(f"{step:<48} {wall:>7.1f} {cpu:>7.1f} {peak:>8.0f}  {note}")


if __name__ == "__main__":
    main()
