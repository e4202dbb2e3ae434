"""Bulk site checks: iszones' streamed CSV check against a plain geopandas pipeline.

Generates N seeded synthetic sites over Great Britain and Northern Ireland (on land, in towns
and at sea; WGS84 and British National Grid variants), then, in this one process and one after
the other, checks them with iszones (CSV in, CSV out) and with the plain pipeline doing the same
work (read CSV, points_from_xy, to_crs(27700), sjoin with the zones, sjoin_nearest for the points
outside them, the same for local authorities, write CSV). Prints rows/s for both, their ratio
and each run's peak memory; then times the `iszones check` command on the same file, into CSV,
a GeoPackage and GeoJSON. iszones runs
--repeat times (each from scratch, its index rebuilt) and the median is shown with every run:
this shared machine's speed varies by a tenth or more from minute to minute.

    .venv/bin/python benchmarks/bulk_check.py            # N = 100k and 1M
    .venv/bin/python benchmarks/bulk_check.py --large    # and 10M
    .venv/bin/python benchmarks/bulk_check.py --rows 200000 --variants bng
    .venv/bin/python benchmarks/bulk_check.py --dask     # and --engine dask on a LocalCluster

The generator and the plain pipeline are also what tests/test_bulk.py compares iszones with.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from iszones.check import core
from iszones.check.csvtext import csv_rows
from iszones.check.outputs import write_result
from iszones.check.reference import Reference, bundled_reference
from iszones.check.stream import CsvCheck
from iszones.data.catalogue import admin_units_path, data_dir, read_admin_units
from iszones.data.diskcache import CACHE_ENV
from iszones.geo.grid import PolygonGrid
from iszones.inputs.coordinates import transformer
from iszones.inputs.readers import read_site_file
from iszones.inputs.text import spreadsheet_column

REPO = Path(__file__).resolve().parent.parent
ISZONES = Path(sys.executable).parent / "iszones"
VARIANTS = ("bng", "wgs84")
TOWNS = 400  # centres of the clustered share: where most real addresses are


# ---------------------------------------------------------------- synthetic sites


def _land_and_sea(units: gpd.GeoDataFrame) -> PolygonGrid:
    return PolygonGrid(units.to_crs("EPSG:27700").geometry.to_numpy(), max_distance=30_000)


def _sample(
    grid: PolygonGrid, bounds: np.ndarray, n: int, rng: np.random.Generator, *, land: bool
) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform over the land (or over the sea within 30 km of it) by rejection,
    in `bounds` (x0, y0, x1, y1)."""
    xs, ys, got = [], [], 0
    while got < n:
        x = rng.uniform(bounds[0], bounds[2], 4 * n + 1000)
        y = rng.uniform(bounds[1], bounds[3], 4 * n + 1000)
        found = grid.locate(x, y)
        keep = found.first >= 0 if land else (found.first < 0) & (found.nearest >= 0)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def synthetic_sites(
    n: int,
    *,
    seed: int = 0,
    variant: str = "bng",
    sea_share: float = 0.1,
    town_share: float = 0.5,
    bad_share: float = 0.001,
    units: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """n seeded sites as a table of text: site_id, name, then easting/northing (whole metres)
    or latitude/longitude (6 decimals).

    The WGS84 variant covers Great Britain and Northern Ireland; the BNG variant Great Britain
    only (Northern Ireland lies west of the National Grid's origin: its sites come with
    longitude/latitude or Irish Grid references, not negative eastings).

    Half are clustered round towns, the rest spread evenly over land, a tenth at sea (up to
    30 km out, so some are beyond any council); a few rows in a thousand are broken (empty,
    not a number, out of range); a tenth of the names hold a comma, a few a double quote.
    """
    rng = np.random.default_rng(seed)
    if units is None:
        units = read_admin_units(admin_units_path(data_dir()))
    grid = _land_and_sea(units)
    bounds = units.to_crs("EPSG:27700").total_bounds.copy()
    if variant == "bng":
        bounds[0] = 0.0
    n_sea = int(n * sea_share)
    n_town = int(n * town_share)
    lx, ly = _sample(grid, bounds, n - n_sea - n_town, rng, land=True)
    sx, sy = _sample(grid, bounds, n_sea, rng, land=False)
    tx, ty = _sample(grid, bounds, TOWNS, rng, land=True)
    town = rng.integers(0, TOWNS, n_town)
    spread = rng.exponential(2500, n_town)  # metres: dense centres, long tails
    angle = rng.uniform(0, 2 * np.pi, n_town)
    cx, cy = tx[town] + spread * np.cos(angle), ty[town] + spread * np.sin(angle)
    order = rng.permutation(n)
    x = np.concatenate([lx, sx, cx])[order]
    y = np.concatenate([ly, sy, cy])[order]
    if variant == "bng":
        names = ("easting", "northing")
        first = np.char.mod("%d", np.rint(x).astype(np.int64)).astype(object)
        second = np.char.mod("%d", np.rint(y).astype(np.int64)).astype(object)
    elif variant == "wgs84":
        names = ("latitude", "longitude")
        lon, lat = transformer("EPSG:27700", "EPSG:4326").transform(x, y)
        first = np.char.mod("%.6f", lat).astype(object)
        second = np.char.mod("%.6f", lon).astype(object)
    else:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    bad = rng.random(n) < bad_share
    kinds = rng.integers(0, 3, n)
    first[bad & (kinds == 0)] = ""
    second[bad & (kinds == 0)] = ""
    first[bad & (kinds == 1)] = "n/a"
    first[bad & (kinds == 2)] = "99999999"
    ids = np.char.mod("S%08d", np.arange(1, n + 1)).astype(object)
    unit_no = rng.integers(1, 300, n)
    names_col = np.char.add("Unit ", np.char.mod("%d", unit_no)).astype(object)
    comma = rng.random(n) < 0.1
    names_col[comma] = np.char.add(names_col[comma].astype(str), ", Riverside Park").astype(object)
    quote = rng.random(n) < 0.002
    names_col[quote] = np.char.add(names_col[quote].astype(str), ' "The Works"').astype(object)
    return pd.DataFrame(
        {"site_id": ids, "name": names_col, names[0]: first, names[1]: second}, dtype=object
    )


def write_sites_csv(path: Path, n: int, *, seed: int = 0, variant: str = "bng") -> Path:
    """Write n synthetic sites to a CSV, a million rows at a time."""
    step = 1_000_000
    units = read_admin_units(admin_units_path(data_dir()))
    with open(path, "wb") as out:
        for start in range(0, n, step):
            frame = synthetic_sites(
                min(step, n - start), seed=seed + start, variant=variant, units=units
            )
            if start:
                frame["site_id"] = np.char.mod(
                    "S%08d", np.arange(start + 1, start + len(frame) + 1)
                )
            else:
                out.write((",".join(frame.columns) + "\n").encode())
            fields = [spreadsheet_column(pa.array(frame[c], pa.string())) for c in frame]
            out.write(csv_rows(fields))
    return path


# ---------------------------------------------------------------- the plain pipeline


def plain_pipeline(
    source: Path,
    output: Path,
    zones: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    variant: str,
) -> pd.DataFrame:
    """The same check with plain geopandas calls; writes CSV and returns the result table.

    Zones use the 1 cm rule (dwithin) and ties go to the first zone or unit, as in iszones.
    Rows whose coordinates are not numbers are left unchecked.
    """
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    xcol, ycol, crs = (
        ("easting", "northing", "EPSG:27700")
        if variant == "bng"
        else ("longitude", "latitude", "EPSG:4326")
    )
    x = pd.to_numeric(table[xcol], errors="coerce")
    y = pd.to_numeric(table[ycol], errors="coerce")
    ok = np.array(x.notna() & y.notna())
    if variant == "bng":
        ok &= np.array((x >= 0) & (x <= 700_000) & (y >= 0) & (y <= 1_300_000))
    else:
        ok &= np.array((x.abs() <= 180) & (y.abs() <= 90))
    points = gpd.GeoDataFrame(
        {"row": np.flatnonzero(ok)},
        geometry=gpd.points_from_xy(x[ok], y[ok]),
        crs=crs,
    ).to_crs("EPSG:27700")
    zones_bng = zones.to_crs("EPSG:27700").reset_index(drop=True)
    zones_bng["zone_pos"] = np.arange(len(zones_bng))
    units_bng = units.to_crs("EPSG:27700").reset_index(drop=True)
    units_bng["unit_pos"] = np.arange(len(units_bng))

    inside = gpd.sjoin(points, zones_bng, predicate="dwithin", distance=0.01)
    inside = inside.sort_values(["row", "zone_pos"])
    zone_lists = inside.groupby("row")["zone_id"].agg(lambda ids: ";".join(map(str, ids)))
    first_zone = inside.groupby("row")["zone_pos"].min()
    outside = points[~points["row"].isin(zone_lists.index)]
    near = gpd.sjoin_nearest(outside, zones_bng[["zone_pos", "geometry"]], distance_col="d")
    near = near.sort_values(["row", "zone_pos"]).drop_duplicates("row")

    in_unit = gpd.sjoin(points, units_bng[["unit_pos", "geometry"]], predicate="intersects")
    unit_of = in_unit.groupby("row")["unit_pos"].min()
    offshore = points[~points["row"].isin(unit_of.index)]
    near_unit = gpd.sjoin_nearest(
        offshore, units_bng[["unit_pos", "geometry"]], max_distance=5000, distance_col="d"
    )
    unit_of = pd.concat(
        [
            unit_of,
            near_unit.sort_values(["row", "unit_pos"])
            .drop_duplicates("row")
            .set_index("row")["unit_pos"],
        ]
    )

    n = len(table)
    nearest = np.full(n, -1)
    distance = np.full(n, np.nan)
    nearest[first_zone.index] = first_zone.to_numpy()
    distance[first_zone.index] = 0.0
    nearest[near["row"].to_numpy()] = near["zone_pos"].to_numpy()
    distance[near["row"].to_numpy()] = near["d"].to_numpy()
    unit = np.full(n, -1)
    unit[unit_of.index.to_numpy()] = unit_of.to_numpy()
    zone_ids = zones_bng["zone_id"].to_numpy()
    out = table.assign(
        zone_id=pd.Series(zone_lists).reindex(range(n)).to_numpy(),
        in_zone=np.where(ok, np.isin(np.arange(n), zone_lists.index), None),
        nearest_zone_id=np.where(nearest >= 0, zone_ids[nearest], None),
        nearest_zone_distance_m=np.round(distance, 2),
        local_authority=np.where(unit >= 0, units_bng["name"].to_numpy()[unit], None),
    )
    out.to_csv(output, index=False)
    return out


# ---------------------------------------------------------------- measuring


@dataclass
class Timing:
    seconds: float
    peak_mb: float  # the process's peak resident memory during the run
    rows: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _peak_mb(pid: int | str = "self") -> float:
    """The process's peak resident memory in MB: the kernel's high-water mark (VmHWM); 0 for a
    process that has ended."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return 0.0


@contextmanager
def measured(rows: int) -> Iterator[Timing]:
    """Wall time and peak resident memory during the block.

    The peak is the kernel's high-water mark, reset at the start (Linux clear_refs), so no
    thread samples memory while the run competes for the interpreter lock. The runs share one
    process, so memory a run frees stays with the process: a later run's peak includes what
    earlier runs left (the CLI figure, from a process of its own, does not).
    """
    timing = Timing(0.0, 0.0, rows)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM to the current resident size
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start
        timing.peak_mb = _peak_mb()


def run_cli(source: Path, output: Path, cache: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of `iszones check SOURCE --out OUTPUT`;
    `cache`: its disk cache folder (ISZONES_CACHE_DIR), else the user's."""
    env = {**os.environ, CACHE_ENV: str(cache)} if cache is not None else None
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(ISZONES), "check", str(source), "--out", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    peak = 0.0
    while proc.poll() is None:  # VmHWM is the kernel's own high-water mark of the process
        try:
            peak = max(peak, _peak_mb(proc.pid))
        except OSError:
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"iszones check failed: {stderr}")
    return seconds, peak


def fast_path(source: Path, output: Path, against: Reference):
    """iszones from scratch: index the boundaries, stream the CSV through, write the CSV."""
    core.clear_grids()  # no cells kept from an earlier run
    job = CsvCheck(source)
    return job.run(output, against.index())


def frames_path(source: Path, output: Path, against: Reference):
    """iszones' in-memory path: read_site_file, check_sites, write_result (what the app uses)."""
    core.clear_grids()
    sites = read_site_file(source, max_mb=1e6)
    result = against.check_table(sites)
    write_result(result, output)


def start_up(folder: Path, repeat: int) -> None:
    """`iszones check` on a 10-row CSV: what a user waits for a small list (start-up bound)."""
    source = folder / "ten.csv"
    rows = [f"S{i},{52.8 + i / 100:.4f},{-1.5 + i / 100:.4f}" for i in range(10)]
    source.write_text("name,lat,lon\n" + "\n".join(rows) + "\n")
    runs = sorted(run_cli(source, folder / "ten_out.csv") for _ in range(repeat))
    seconds = runs[len(runs) // 2][0]
    print(
        f"\n10 rows: CLI iszones check {seconds:.2f} s (median of"
        f" {', '.join(f'{t:.2f}' for t, _ in runs)} s), peak {max(p for _, p in runs):,.0f} MB"
    )


def run_dask(source: Path, folder: Path, against: Reference, n: int) -> None:
    """The same file on a LocalCluster of this machine's cores, into CSV and Parquet parts."""
    from distributed import Client, LocalCluster

    from iszones.check.distributed import check_distributed

    start = time.perf_counter()
    with (
        LocalCluster(threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        up = time.perf_counter() - start
        workers = len(client.scheduler_info()["workers"])
        index = against.index()
        part = max(1 << 20, source.stat().st_size // (4 * workers))  # a few parts per worker
        for suffix in (".csv", ".parquet"):
            begin = time.perf_counter()
            done = check_distributed(
                str(source), str(folder / f"dask{suffix}"), index, client=client, part_bytes=part
            )
            seconds = time.perf_counter() - begin
            print(
                f"  {'dask ' + suffix[1:] + ' parts':<22} {seconds:7.2f} s  {n / seconds:>12,.0f}"
                f" rows/s  ({workers} workers, {done.parts} parts; cluster start {up:.1f} s)"
            )


def cli_runs(source: Path, output: Path, cache: Path, repeat: int) -> None:
    """`iszones check` in its own process, start-up included: first with an index made afresh
    (a new cache folder: the grid cells are built, then kept), then `repeat` times from the
    cells kept (the median is shown)."""
    shutil.rmtree(cache, ignore_errors=True)
    first, first_peak = run_cli(source, output, cache)
    again = sorted(run_cli(source, output, cache) for _ in range(repeat))
    seconds = again[len(again) // 2][0]
    label = f"CLI into {output.suffix}"
    print(
        f"  {label:<22} {seconds:7.2f} s  peak {max(p for _, p in again):,.0f} MB (median of"
        f" {', '.join(f'{s:.2f}' for s, _ in again)} s); the first run, cells built:"
        f" {first:.2f} s, peak {first_peak:,.0f} MB"
    )


def _spread(tries: list[Timing]) -> str:
    """Each run's seconds, fastest first: '2.31, 2.40, 2.62 s'."""
    return ", ".join(f"{t.seconds:.2f}" for t in sorted(tries, key=lambda t: t.seconds)) + " s"


def versions() -> str:
    import geopandas
    import numba
    import pyarrow
    import pyproj
    import shapely

    return (
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__},"
        f" geopandas {geopandas.__version__}, shapely {shapely.__version__}"
        f" (GEOS {shapely.geos_version_string}), pyproj {pyproj.__version__}"
        f" (PROJ {pyproj.proj_version_str}), pyarrow {pyarrow.__version__},"
        f" numba {numba.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="also 10M rows")
    parser.add_argument("--rows", type=int, action="append", help="row counts (repeatable)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain pipeline")
    parser.add_argument("--no-frames", action="store_true", help="skip check_sites in memory")
    parser.add_argument("--plain-max", type=int, default=2_000_000, help="largest N for plain")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of iszones per N (the median is shown)"
    )
    parser.add_argument(
        "--dask", action="store_true", help="also --engine dask on a LocalCluster (a worker a core)"
    )
    args = parser.parse_args(argv)
    sizes = args.rows or [100_000, 1_000_000] + ([10_000_000] if args.large else [])
    print(f"{os.cpu_count()} cores; {versions()}")
    against = bundled_reference(data_dir())  # zones, 2025 councils and tax sites, as the CLI
    zones, units = against.zones, against.councils
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="iszones-bench-") as tmp:
        folder = Path(tmp)
        start_up(folder, max(args.repeat, 5))
        for n in sizes:
            for variant in args.variants:
                source = write_sites_csv(folder / f"sites_{variant}_{n}.csv", n, variant=variant)
                size_mb = source.stat().st_size / 1e6
                print(f"\nN = {n:,} ({variant}, {size_mb:.0f} MB)")
                runs: list[tuple[str, Callable[[], object]]] = [
                    (
                        "iszones streamed CSV",
                        partial(fast_path, source, folder / "a.csv", against),
                    )
                ]
                if not args.no_frames and n <= args.plain_max:
                    runs.append(
                        (
                            "iszones check_sites",
                            partial(frames_path, source, folder / "b.csv", against),
                        )
                    )
                if not args.no_plain and n <= args.plain_max:
                    runs.append(
                        (
                            "plain geopandas",
                            partial(
                                plain_pipeline, source, folder / "c.csv", zones, units, variant
                            ),
                        )
                    )
                # Alternated rounds: every engine runs once per round, so a slow minute on
                # this shared machine slows all of them, not one.
                tries: dict[str, list[Timing]] = {label: [] for label, _ in runs}
                for _ in range(args.repeat):
                    for label, run in runs:
                        with measured(n) as timing:
                            run()
                        tries[label].append(timing)
                timings = {}
                for label, _ in runs:
                    done = sorted(tries[label], key=lambda t: t.seconds)
                    timings[label] = timing = done[len(done) // 2]
                    print(
                        f"  {label:<22} {timing.seconds:7.2f} s  {timing.rate:>12,.0f} rows/s"
                        f"  peak {max(t.peak_mb for t in done):,.0f} MB"
                        + (f"  (median of {_spread(done)})" if len(done) > 1 else "")
                    )
                if "plain geopandas" in timings:
                    ratio = (
                        timings["plain geopandas"].seconds / timings["iszones streamed CSV"].seconds
                    )
                    print(f"  iszones is {ratio:.1f}x faster than the plain pipeline")
                if args.dask:
                    run_dask(source, folder, against, n)
                for suffix in (".csv", ".gpkg", ".geojson"):
                    cli_runs(source, folder / f"d{suffix}", folder / "cache", args.repeat)
                for name in ("a.csv", "b.csv", "c.csv", "d.csv", "d.gpkg", "d.geojson"):
                    (folder / name).unlink(missing_ok=True)
                for name in ("dask.csv", "dask.parquet"):
                    shutil.rmtree(folder / name, ignore_errors=True)
                source.unlink()


if __name__ == "__main__":
    main()
