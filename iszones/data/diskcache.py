"""Slow results kept on disk between runs (the parsed reference a check runs against, the
catalogue, the browser geometry, the gazetteer), so a new command or server does not make them
again.

Each result is keyed by the sha256 of what it is made from: the files it reads, the source of
the iszones package (a code change makes it again) and any `extra` text. The folder is
$ISZONES_CACHE_DIR, else ~/.cache/iszones/results (the user's own: pickles are only read from it).
Anything that fails here (no home, a full disk, a broken file) just means the result is made.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar, cast

from iszones.data.atomic import atomic_output
from iszones.errors import IszonesError

CACHE_ENV = "ISZONES_CACHE_DIR"
PACKAGE = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def cache_dir() -> Path:
    """Where results are kept: $ISZONES_CACHE_DIR, else ~/.cache/iszones/results."""
    chosen = os.environ.get(CACHE_ENV)
    return Path(chosen) if chosen else Path.home() / ".cache" / "iszones" / "results"


@functools.cache
def source_digest() -> str:
    """The sha256 of the iszones package's Python source (read once per process)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def folder_files(folder: Path) -> list[Path]:
    """Every file in a data folder, in a fixed order."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def cache_key(name: str, files: Iterable[Path], extra: str = "") -> str:
    """The sha256 of `name`, `extra`, the package source and each file's path and bytes."""
    digest = hashlib.sha256(f"{name}\0{extra}\0{source_digest()}".encode())
    for path in files:
        digest.update(f"\0{path}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return digest.hexdigest()


def cached(name: str, files: Iterable[Path], make: Callable[[], T], extra: str = "") -> T:
    """`make()`, or the result it gave before for the same `files`, source and `extra`.
    A new result replaces the older ones of the same `name` and `extra`."""
    try:
        path = _entry(name, files, extra)
    except OSError:
        return make()  # an unreadable input: make() says what is wrong with it
    found = _load(path)
    if found is not None:
        return cast(T, found[0])
    value = make()
    _store(path, value)
    return value


def kept(name: str, extra: str = "") -> Any:
    """What keep(name, value, extra) kept with this package source, or None."""
    found = _load(_entry(name, (), extra))
    return None if found is None else found[0]


def keep(name: str, value: Any, extra: str = "") -> None:
    """Keep `value` for kept(name, extra), replacing what was kept under that name and extra
    (with any package source); nothing happens where it cannot be written."""
    _store(_entry(name, (), extra), value)


def _entry(name: str, files: Iterable[Path], extra: str) -> Path:
    key = cache_key(name, files, extra)
    return cache_dir() / f"{_stem(name, extra)}-{key[:32]}.pickle"


def _stem(name: str, extra: str) -> str:
    return f"{name}-{hashlib.sha256(extra.encode()).hexdigest()[:12]}"


def _load(path: Path) -> tuple[Any] | None:
    """(the value kept at `path`,), or None when there is none that can be read."""
    try:
        with path.open("rb") as kept_file:  # read as it is unpickled: not whole, then again
            return (pickle.load(kept_file),)  # noqa: S301 - written by _store only
    except Exception:  # missing, unreadable or stale: made again
        return None


def _store(path: Path, value: Any) -> None:
    stem = path.name.rsplit("-", 1)[0]
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for old in path.parent.glob(f"{stem}-*.pickle"):
            old.unlink(missing_ok=True)
        with atomic_output(path) as out:  # pickled into the file: no second copy in memory
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    except (OSError, IszonesError, pickle.PicklingError):
        pass
