"""Where the data lives: the bundled folder (package data of a wheel, the repository's data/
in a checkout) or the user's own folder, and the files in it. Cheap to import."""

from __future__ import annotations

import os
from pathlib import Path

# The bundled data: package data of an installed wheel (iszones/data/bundled), else the
# repository's data/ folder that it is built from (a checkout, an editable install).
BUNDLED = Path(__file__).resolve().parent / "bundled"
CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "data"
DATA_DIR_ENV = "ISZONES_DATA_DIR"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: `override`, else $ISZONES_DATA_DIR, else the bundled `data/`."""
    bundled = BUNDLED if (BUNDLED / "sites.geojson").is_file() else CHECKOUT_DATA
    chosen = override or os.environ.get(DATA_DIR_ENV) or bundled
    return Path(chosen)


def zones_path(folder: Path) -> Path:
    return folder / "boundaries" / "zones.geojson"


def sites_path(folder: Path) -> Path:
    return folder / "sites.geojson"


def admin_units_path(folder: Path) -> Path:
    return folder / "boundaries" / "uk_admin_units.geojson"


def districts_path(folder: Path) -> Path:
    return folder / "boundaries" / "districts.geojson"


def far_land_path(folder: Path) -> Path:
    """The land over 1 km from any postcode, written by `iszones build-geography`."""
    return folder / "boundaries" / "far_from_postcodes.geojson"
