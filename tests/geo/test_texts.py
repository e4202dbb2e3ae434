"""Numbers as Python prints them, by the compiled loop and by Python alike."""

from __future__ import annotations

import numpy as np
import pytest

from iszones.geo import texts
from iszones.geo.texts import float_text


@pytest.fixture(autouse=True, params=["compiled", "python"])
def printer(request, monkeypatch):
    monkeypatch.setattr(texts, "FEW_ROWS", 0 if request.param == "compiled" else 10**9)
    return request.param


def test_float_text_prints_as_python_does():
    rng = np.random.default_rng(4)
    values = np.concatenate(
        [
            rng.standard_normal(20_000) * 10.0 ** rng.integers(-12, 20, 20_000),
            np.round(rng.uniform(0, 2e6, 20_000), 2),
            *(np.round(rng.uniform(-1e11, 1e11, 10_000), places) for places in (0, 1, 2)),
            [0.0, -0.0, 2500.0, 1e16, 1e-5, 12345678901.5, np.inf, -np.inf, 5e-324],
            [0.1 + 0.2, 99999.99, -12.34, 1e11, 5e10 + 0.5, 0.01, -0.01],
            *(np.round(rng.uniform(-180, 180, 10_000), places) for places in (5, 6, 7)),
            [1e-4, 9.999e-5, -1e-4, 0.0001234, 1e15, 1e15 - 1, 999999999999999.9, 1e16],
            [123456789.1234567, 12345678.1234567, 0.1234567, -0.0000001, 2.5e-7],
        ]
    )
    expected = [repr(float(v)) for v in values]
    assert float_text(values).to_pylist() == expected
    assert float_text(np.array([np.nan, 1.0])).to_pylist() == ["", "1.0"]
