"""The documented limits on users' files, stated once (the README and the server config agree)."""

from __future__ import annotations

MAX_INPUT_MB = 100.0  # a file (or what a zip unpacks to) on the command line; --max-mb changes it
MAX_UPLOAD_MB = 50  # the dashboard's uploads; .streamlit/config.toml server.maxUploadSize too
MAX_PAGE_ROWS = 200_000  # rows the dashboard's Check page checks per upload (a few seconds)
MAX_PAGE_CELLS = 5_000_000  # rows x columns the Check page reads (a few hundred MB at worst)
MAX_ZIP_MEMBERS = 1000  # files in a zip (shapefile, KMZ, XLSX)
MAX_COLUMNS = 1000  # columns in a CSV file or an Excel sheet: a site list needs a handful
MAX_LINE_BYTES = 1_000_000  # one line of CSV, the header included
MAX_XLSX_ROWS = 1_000_000  # an Excel sheet's last row with a value (Excel's own is 1,048,576)


def check_max_mb(value: float, what: str = "max_mb") -> float:
    """`value` when it is a size limit in megabytes (finite, above 0), else DataFileError:
    nan, inf, 0 or a negative number would switch every size and zip-bomb check off."""
    from iszones.errors import DataFileError

    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise DataFileError(
            f"{what} must be a number of megabytes above 0, such as {MAX_INPUT_MB:g};"
            f" got {value!r}."
        )
    return float(value)
