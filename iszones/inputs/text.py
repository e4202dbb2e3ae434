"""Text hygiene for user-supplied strings: one place that neutralises bidi controls."""

from __future__ import annotations

import re

# Unicode bidirectional embedding/override/isolate controls and the implicit marks.
# They can make a name display reversed or hide part of it ("Trojan Source", CVE-2021-42574);
# a site name never needs them, so they are removed rather than escaped.
BIDI_CONTROLS = (
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
)
_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")


def clean_text(s: str) -> str:
    """Return ``s`` with Unicode bidirectional control characters removed.

    Everything else, braces, quotes and markup included, is kept exactly as typed:
    escaping for HTML, templates or spreadsheets is the job of each output's own choke point.
    """
    if not isinstance(s, str):
        return s
    return _BIDI_RE.sub("", s)
