import numpy as np
import pyarrow as pa
import pytest
import shapely

from iszones.check.geopackage import point_wkb


@pytest.mark.parametrize("kept", ["all", "some", "none"])
def test_point_wkb_is_shapelys_wkb_and_null_where_a_row_has_no_point(kept):
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 3e5, 500), rng.normal(0, 3e5, 500)
    x[:3] = [0.0, -0.0, 700000.123456789]
    ok = {"all": np.ones(500, bool), "some": rng.random(500) > 0.4, "none": np.zeros(500, bool)}
    ok = ok[kept]
    want = np.full(500, None, dtype=object)
    want[ok] = shapely.to_wkb(shapely.points(x[ok], y[ok]), byte_order=1)
    got = point_wkb(x, y, ok)
    assert got.type == pa.binary() and got.null_count == int((~ok).sum())
    assert got.to_pylist() == want.tolist()
    assert shapely.equals_exact(
        shapely.from_wkb(got.to_numpy(zero_copy_only=False)[ok]),
        shapely.points(x[ok], y[ok]),
        tolerance=0,
    ).all()
