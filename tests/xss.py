"""A copy of the bundled data with hostile text in it, for the escaping tests.

Ratcliffe-on-Soar (in zone 22) is renamed to an HTML payload, and other fields carry a script
end tag, a JavaScript template literal, a `javascript:` link and an event handler, so every
path from data to HTML (popups, tooltips, cards, legend, exports) is exercised.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
XSS_SITE_ID = "ratcliffe-on-soar"
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_DESIGNATION = "</script><script>alert(2)</script>"
XSS_DESCRIPTION = "`${alert(3)}` & <b>bold</b>"
XSS_URL = "javascript:alert(4)"
XSS_LEAD_BODY = "<b onmouseover=alert(5)>EMCCA</b>"


def make_xss_data(folder: Path) -> Path:
    """Copy data/ to `folder` and plant the payloads; returns `folder`."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    sites_file = folder / "sites.geojson"
    doc = json.loads(sites_file.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        props = feature["properties"]
        if props["site_id"] == XSS_SITE_ID:
            props["name"] = XSS_NAME
            props["designation"] = XSS_DESIGNATION
            props["description"] = XSS_DESCRIPTION
            props["sources"][0]["url"] = XSS_URL
    sites_file.write_text(json.dumps(doc), encoding="utf-8")
    zones_file = folder / "boundaries" / "zones.geojson"
    zdoc = json.loads(zones_file.read_text(encoding="utf-8"))
    for feature in zdoc["features"]:
        if feature["properties"]["zone_id"] == 22:
            feature["properties"]["lead_body"] = XSS_LEAD_BODY
    zones_file.write_text(json.dumps(zdoc), encoding="utf-8")
    return folder
