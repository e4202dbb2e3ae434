"""Regenerate the site-check fixtures in this folder (see README.md): `python make_fixtures.py`.

Everything is hand-made around one point near Derby, (X0, Y0) in British National Grid, so the
expected answers can be checked by eye; the WGS84 files are the same places converted with pyproj.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping

HERE = Path(__file__).resolve().parent
X0, Y0 = 435_000, 335_000
TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def square(x: float, y: float, size: float) -> Polygon:
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def wgs84(geom):
    """The geometry in WGS84, vertex by vertex, to 9 decimals (about 0.1 mm)."""

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = TO_WGS84.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), 9)

    return shapely.transform(geom, convert)


ZONES = [
    (
        1,
        "Holed",
        "freeport",
        "indicative",
        Polygon(square(0, 0, 1000).exterior.coords, [square(400, 400, 200).exterior.coords]),
    ),
    (2, "East", "investment_zone", "admin_area", square(1000, 0, 1000)),
    (
        3,
        "Two parts",
        "both",
        "indicative",
        MultiPolygon([square(5000, 0, 1000), square(8000, 0, 1000)]),
    ),
    (4, "Overlap", "freeport", "indicative", square(1500, 0, 1000)),
]

# ref, name, easting, northing (offsets from X0, Y0; None = left empty or bad on purpose)
POINTS = [
    ("P1", "=1+1", 100, 100),  # zone 1; the name must stay text in Excel
    ("P2", "In the hole", 500, 500),  # outside: 100 m from the hole's edge
    ("P3", "Shared border", 1000, 500),  # zones 1 and 2
    ("P4", "Overlap", 1700, 500),  # zones 2 and 4
    ("P5", "Second part", 8500, 500),  # zone 3 (second square)
    ("P6", "Outside", 3000, 500),  # 500 m east of zone 4
    ("P7", "Far", 20000, 500),  # 11 km east of zone 3
    ("P8", "<img src=x onerror=alert(1)>", 200, 800),  # zone 1; a name that must stay text
]


def zone_properties(zone_id: int, name: str, programme: str, precision: str) -> dict:
    return {
        "zone_id": zone_id,
        "name": name,
        "programme": programme,
        "nation": "England",
        "status": "operational",
        "lead_body": "Test fixture",
        "sectors": ["Advanced Manufacturing"],
        "sector_qualifiers": [],
        "funding": [],
        "jobs": None,
        "tax_sites": [],
        "sources": [
            {"document": "iszones test fixture", "section": None, "url": None, "date": None}
        ],
        "geometry_method": "hand-made square(s) near Derby",
        "geometry_precision": precision,
        "last_checked": "2025-01-01",
    }


def feature(props: dict, geom) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": None if geom is None else mapping(geom),
    }


def write_json(name: str, features: list[dict]) -> None:
    doc = {"type": "FeatureCollection", "features": features}
    lines = [json.dumps(f, ensure_ascii=False) for f in doc["features"]]
    (HERE / name).write_text(
        '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n",
        encoding="utf-8",
    )


def main() -> None:
    zones = [feature(zone_properties(i, n, p, q), wgs84(g)) for i, n, p, q, g in ZONES]
    doc = {"type": "FeatureCollection", "features": zones}
    (HERE / "zones.geojson").write_text(
        json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8"
    )

    bng = ["ref,name,Easting,Northing"]
    geo = ["ref;name;Latitude;Longitude"]
    for ref, name, dx, dy in POINTS:
        lon, lat = TO_WGS84.transform(X0 + dx, Y0 + dy)
        quoted = '"' + name.replace('"', '""') + '"'
        bng.append(f"{ref},{quoted},{X0 + dx},{Y0 + dy}")
        geo.append(f"{ref};{quoted};{lat:.9f};{lon:.9f}".replace(".", ","))  # decimal commas
    bng += [
        "B1,Letter O for zero,4351OO,335000",
        "B2,No coordinates,,",
        "B3,Negative easting,-5,335000",
    ]
    geo += ["B1;Latitude 95;95;-1,4", "B2;No coordinates;;", "B3;Swapped;-1,48;52,91"]
    (HERE / "sites_bng.csv").write_text("\n".join(bng) + "\n", encoding="utf-8")
    (HERE / "sites_wgs84.csv").write_text("\ufeff" + "\n".join(geo) + "\n", encoding="utf-8")

    polygons = [
        ({"site": "Straddle", "expect": "zone 3, half inside"}, square(5800, 0, 400)),
        (
            {"site": "Adjacent", "expect": "touches zone 3 only: outside, 0 m"},
            square(6000, 200, 200),
        ),
        ({"site": "Within", "expect": "zone 3, all inside"}, square(8100, 100, 200)),
        (
            {"site": "Bow tie", "expect": "invalid, repaired; in zone 2"},
            Polygon(
                [
                    (X0 + 1100, Y0 + 100),
                    (X0 + 1300, Y0 + 300),
                    (X0 + 1300, Y0 + 100),
                    (X0 + 1100, Y0 + 300),
                ]
            ),
        ),
        ({"site": "Point", "expect": "outside, 500 m"}, square(3000, 500, 0).centroid),
        ({"site": "Nowhere", "expect": "no geometry: a problem"}, None),
    ]
    write_json(
        "polygons.geojson", [feature(p, None if g is None else wgs84(g)) for p, g in polygons]
    )

    official = [({"name": "Official tax site", "zone_id": 1}, square(0, 0, 300))]
    write_json("official_boundary.geojson", [feature(p, wgs84(g)) for p, g in official])


if __name__ == "__main__":
    main()
