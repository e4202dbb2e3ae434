"""Reading coordinate cells: the compiled number parser and the UK shortcut box."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from iszones.inputs import coordinates

# ---------------------------------------------------------------- readers' fast paths


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"\A[ ]?[+-]?\d{1,7}(\.\d{0,6})?([eE][+-]?\d{1,2})?[ ]?\Z"),
            st.text(alphabet="0123456789,.-+eE naif\t", max_size=8),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_compiled_numbers_equal_cell_by_cell_numbers(cells):
    """The compiled loop parses what it can; the rest goes cell by cell: the answers agree."""
    fast = coordinates._numbers(pa.array(cells, pa.string()), False)
    one_by_one = [coordinates._cell_number(cell, False) for cell in cells]
    np.testing.assert_array_equal(fast[0], [value for value, _ in one_by_one])
    np.testing.assert_array_equal(fast[1], [empty for _, empty in one_by_one])


def test_bng_shortcut_box_lies_inside_the_uk_box():
    """Points in _BNG_INSIDE_UK_BOX skip the conversion to longitude/latitude: the box must map
    wholly inside the UK longitude/latitude box (its boundary, densely, is enough)."""
    x0, y0, x1, y1 = coordinates._BNG_INSIDE_UK_BOX
    t = np.linspace(0, 1, 20_001)
    xs = np.concatenate(
        [x0 + t * (x1 - x0), np.full_like(t, x1), x0 + t * (x1 - x0), np.full_like(t, x0)]
    )
    ys = np.concatenate(
        [np.full_like(t, y0), y0 + t * (y1 - y0), np.full_like(t, y1), y0 + t * (y1 - y0)]
    )
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(xs, ys)
    assert coordinates.UK_LON[0] < lon.min() and lon.max() < coordinates.UK_LON[1]
    assert coordinates.UK_LAT[0] < lat.min() and lat.max() < coordinates.UK_LAT[1]


def test_degrees_in_easting_northing_columns_get_the_hint(tmp_path):
    from iszones.inputs.readers import read_site_file

    source = tmp_path / "sites.csv"
    source.write_text("name,easting,northing\nA,-1.47,52.9\nB,435000,335000\n")
    problems = read_site_file(source).problems.tolist()
    assert problems[0] == (
        "'easting' -1.47 and 'northing' 52.9 look like longitude/latitude values, not British"
        " National Grid metres: put them in longitude/latitude columns"
    )
    assert problems[1] == ""
