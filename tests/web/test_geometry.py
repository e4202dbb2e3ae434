"""The browser's geometry and the disk cache the pages read: `iszones app` warms it beside the
starting server, and the pages then read what it made instead of making it again."""

from __future__ import annotations

import pytest

from iszones.check import reference
from iszones.data.diskcache import CACHE_ENV
from iszones.web import geometry
from tests.conftest import DATA


def test_warm_fills_the_cache_the_pages_read(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    geometry.warm(DATA)
    made = {p.name.rsplit("-", 2)[0] for p in tmp_path.glob("*.pickle")}
    assert made == {"catalogue", "places", "reference", "web-layers"}

    def not_again(*_):
        pytest.fail("made again, not read from the cache")

    monkeypatch.setattr(geometry, "load_catalogue", not_again)
    monkeypatch.setattr(geometry, "uk_places", not_again)
    monkeypatch.setattr(reference, "bundled_reference", not_again)
    assert len(geometry.cached_catalogue(DATA).zones) == 22
    assert len(geometry.cached_places()) > 1_000
    assert len(reference.cached_reference(DATA).councils) == 361
