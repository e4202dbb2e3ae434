"""Results kept on disk: made once, read back while the files and the source are unchanged,
made again when a file changes; a broken or unwritable cache only costs the making."""

from __future__ import annotations

import pytest

from iszones.data import diskcache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(diskcache.CACHE_ENV, str(folder))
    return folder


def counter():
    calls = []

    def make():
        calls.append(1)
        return {"value": len(calls)}

    return make, calls


def test_made_once_then_read_back_until_a_file_changes(tmp_path, cache):
    data = tmp_path / "zones.geojson"
    data.write_text("one", encoding="utf-8")
    make, calls = counter()
    assert diskcache.cached("layers", [data], make) == {"value": 1}
    assert diskcache.cached("layers", [data], make) == {"value": 1}
    assert len(calls) == 1
    data.write_text("two", encoding="utf-8")
    assert diskcache.cached("layers", [data], make) == {"value": 2}
    assert len(list(cache.glob("layers-*.pickle"))) == 1  # the older result is gone


def test_extra_keeps_results_apart(cache):
    make, calls = counter()
    diskcache.cached("places", [], make, extra="a")
    diskcache.cached("places", [], make, extra="b")
    diskcache.cached("places", [], make, extra="a")
    assert len(calls) == 2


def test_a_broken_file_is_made_again(cache):
    make, _ = counter()
    diskcache.cached("x", [], make)
    for path in cache.glob("x-*.pickle"):
        path.write_bytes(b"not a pickle")
    assert diskcache.cached("x", [], make) == {"value": 2}


def test_an_unwritable_cache_still_gives_the_result(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(diskcache.CACHE_ENV, str(blocker / "cache"))
    make, _ = counter()
    assert diskcache.cached("x", [], make) == {"value": 1}
    assert diskcache.cached("x", [], make) == {"value": 2}


def test_the_key_follows_the_package_source():
    assert len(diskcache.source_digest()) == 64
    assert diskcache.cache_key("a", []) != diskcache.cache_key("b", [])


def test_kept_values_come_back_and_the_newest_replaces_the_older(cache, monkeypatch):
    assert diskcache.kept("cells", "grid a") is None
    diskcache.keep("cells", {"rows": [1, 2]}, "grid a")
    diskcache.keep("cells", {"rows": [3]}, "grid b")
    assert diskcache.kept("cells", "grid a") == {"rows": [1, 2]}
    diskcache.keep("cells", {"rows": [1, 2, 4]}, "grid a")
    assert diskcache.kept("cells", "grid a") == {"rows": [1, 2, 4]}
    assert len(list(cache.glob("cells-*.pickle"))) == 2  # one per grid
    monkeypatch.setattr(diskcache, "source_digest", lambda: "another version")
    assert diskcache.kept("cells", "grid a") is None  # kept by other code: not used


def test_keeping_where_nothing_can_be_written_changes_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(diskcache.CACHE_ENV, str(blocker / "cache"))
    diskcache.keep("cells", [1], "grid")
    assert diskcache.kept("cells", "grid") is None
