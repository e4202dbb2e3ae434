"""Atomic writes: a file is either its old self or the complete new one, never half written.

One implementation for every output (check results, maps, the data files, the disk cache);
temporary files carry the writer's process id, so a later run removes those a killed one left.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from iszones.errors import DataFileError


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to a temporary file beside `path`, then rename it over `path`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: it exists
    return True


_OLD_TEMP_S = 3600.0  # a temporary file without a process id, this old, was left by a crash


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary files a killed run left beside `target` (named `.NAME.PID.xxx.tmp`
    by atomic_path, with what a writer such as GDAL put beside them, `.NAME.PID.xxx.tmp-journal`
    say; PID no longer running), and unnamed ones (`.NAME.xxx.tmp`, from before) over an hour
    old. Returns what was removed."""
    removed: list[Path] = []
    prefix = f".{target.name}."
    try:
        candidates = list(target.parent.glob(f".{glob_escape(target.name)}.*.tmp*"))
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        middle = path.name[len(prefix) :].split(".tmp", 1)[0]
        pid, _, rest = middle.partition(".")
        if rest and pid.isdigit():
            stale = int(pid) != os.getpid() and not _alive(int(pid))
        else:
            try:
                stale = now - path.stat().st_mtime > _OLD_TEMP_S
            except OSError:
                continue
        if stale:
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def _remove_temporary(tmp: Path) -> None:
    """`tmp` and what a writer put beside it (`tmp-journal`, say)."""
    tmp.unlink(missing_ok=True)
    for companion in tmp.parent.glob(f"{glob_escape(tmp.name)}?*"):
        companion.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    """`name` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A name for a temporary file beside `path` (for a writer that makes its own file, such as
    GDAL), renamed over `path` only when the block finishes; on any error (or SystemExit, as the
    CLI raises on SIGTERM) the temporary file is removed and `path` is untouched. Temporary files
    a killed run left are removed first."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        fd, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp"
        )
        os.close(fd)
    except OSError as err:
        raise DataFileError(f"{target}: cannot write ({err.strerror}).") from err
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, target)
    except OSError as err:
        _remove_temporary(tmp)
        raise DataFileError(f"{target}: cannot write ({err.strerror}).") from err
    except BaseException:
        _remove_temporary(tmp)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary handle to a temporary file beside `path`, renamed over `path` only when the
    block finishes (atomic_path)."""
    with atomic_path(path) as tmp:
        try:
            handle = tmp.open("wb")
        except OSError as err:
            raise DataFileError(f"{path}: cannot write ({err.strerror}).") from err
        with handle:
            yield handle


def write_bytes_atomic(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write bytes so that `path` is either the old file or the complete new one, never half."""
    with atomic_output(path) as handle:
        handle.write(payload)
