"""Template payloads and a copy of the bundled data with them in every free-text field.

folium/branca compile element output as Jinja templates; these payloads show whether any text
reached such a compile: evaluated, EXPR prints 1234000, LOOP prints zqzqzq, BROKEN raises a
syntax error and MKDIR creates a folder named iszones_pwned in the working directory.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
EXPR = "{{ 1234*1000 }}"
LOOP = "{% for x in range(3) %}zq{% endfor %}"
BROKEN = "Plot {{A"
MKDIR = "{{ cycler.__init__.__globals__.os.mkdir(dict(iszones_pwned=1)|first) }}"
PAYLOAD = f"{EXPR} {LOOP} {BROKEN} {MKDIR}"
EVALUATED = ("1234000", "zqzqzq")
PWNED = "iszones_pwned"

# Fields whose values are vocabularies, ids, dates or addresses that the loaders validate.
_CONTROLLED = {
    "site_id", "kind", "sectors", "programme", "nation", "status", "url", "date", "zone_id",
    "designated_zone_id", "last_checked", "geometry_precision", "tax_relief_until",
    "relief_until", "location_precision_m", "amount_gbp", "number", "included_in", "overlaps",
    "key",
}  # fmt: skip


def _plant(value: Any, key: str = "") -> Any:
    if key in _CONTROLLED:
        return value
    if isinstance(value, str):
        return f"{value} {PAYLOAD}"
    if isinstance(value, list):
        return [_plant(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _plant(v, k) for k, v in value.items()}
    return value


def make_template_data(folder: Path) -> Path:
    """Copy data/ to `folder` with PAYLOAD appended to every free-text field; returns `folder`."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    for path in (folder / "sites.geojson", folder / "boundaries" / "zones.geojson"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for feature in doc["features"]:
            feature["properties"] = _plant(feature["properties"])
        path.write_text(json.dumps(doc), encoding="utf-8")
    return folder


def shown_text(page: str) -> str:
    """What a reader sees of `page`: JSON \\u escapes, then HTML character references decoded."""
    return html.unescape(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), page))


def assert_inert(page: str, *payloads: str) -> None:
    """No payload was evaluated, and each shows exactly as typed."""
    for evaluated in EVALUATED:
        assert evaluated not in page
    text = shown_text(page)
    for payload in payloads or (EXPR, LOOP, BROKEN):
        assert payload in text
