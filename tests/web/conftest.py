"""The web tests keep the dashboard's disk cache (iszones.web.diskcache) in a folder of their
own, shared by every test and every server they start, and removed afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from iszones.web.diskcache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("iszones-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before
