"""The one choke point between text and the maps' HTML, script and templates.

folium and branca compile the *output* of every element as a new Jinja2 template when a map is
rendered (`branca.element.MacroElement.render` wraps each macro's output in `Element(...)`), so
a `{{ ... }}` in a site name would run on the server. Two guards, both here:

1. Every string on its way into a map passes `esc` (HTML) or `js_literal` (script), which write
   `{` and `}` as `&#123;`/`&#125;` or `\\u007b`/`\\u007d`: the browser shows them as typed and
   Jinja never sees a delimiter. `esc` also drops bidirectional controls (`inputs.text`).
2. Importing this module makes `MacroElement.render` add its output as plain text, never compiled,
   so a string that skipped guard 1 still cannot run. `tests/render/test_safe.py` pins the upstream
   method, so an upgrade that moves the compile is noticed.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import json
import re
from typing import Any

from branca.element import Element, Figure, MacroElement

from iszones.inputs.text import clean_text

_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
# A JSON string literal: the only place braces can be text rather than structure.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def esc(value: Any) -> str:
    """Text for HTML: escaped, braces as character references, bidi controls dropped."""
    if value is None:
        return ""
    return html.escape(clean_text(str(value)), quote=True).translate(_BRACES)


def js_literal(value: Any) -> str:
    """A JSON literal safe inside a <script> element and inert to Jinja.

    Braces inside strings become \\u007b/\\u007d (JSON's own escapes, so the browser reads the
    same text); `</` and `<!--` cannot end or confuse the script element.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = _JSON_STRING.sub(
        lambda m: m.group(0).replace("{", "\\u007b").replace("}", "\\u007d"), text
    )
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


class PlainText(Element):
    """An element whose text is output exactly as given, never compiled as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "PlainText"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def _render_as_text(self: MacroElement, **kwargs: Any) -> None:
    """branca's MacroElement.render, adding each macro's output as PlainText."""
    figure = self.get_root()
    assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
    for part in ("header", "html", "script"):
        macro = self._template.module.__dict__.get(part)
        if macro is not None:
            getattr(figure, part).add_child(PlainText(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _render_figure(self: Figure, **kwargs: Any) -> str:
    """branca's Figure.render, after turning every text that folium's own render methods
    (Popup, Vega, class includes) wrapped in a template-compiling Element into PlainText."""
    for child in self._children.values():
        child.render(**kwargs)
    for part in (self.header, self.html, self.script):
        for name, child in list(part._children.items()):
            if type(child) is Element and child._template_str is not None:
                text = PlainText(child._template_str)
                text._parent = part
                part._children[name] = text
    return self._template.render(this=self, kwargs=kwargs)


def _install(cls: type, name: str, replacement: Any) -> Any:
    """Replace `cls.name` once (re-imports keep the first upstream); returns the upstream."""
    current = getattr(cls, name)
    upstream = getattr(current, "upstream", current)
    replacement.upstream = upstream
    setattr(cls, name, replacement)
    return upstream


UPSTREAM = {
    "MacroElement.render": _install(MacroElement, "render", _render_as_text),
    "Figure.render": _install(Figure, "render", _render_figure),
}


def upstream_digests() -> dict[str, str]:
    """sha256 of the source of each branca method replaced here (pinned by a test)."""
    return {
        name: hashlib.sha256(inspect.getsource(method).encode()).hexdigest()
        for name, method in UPSTREAM.items()
    }


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def md(value: Any) -> str:
    """Text shown literally by st.markdown and friends: no HTML, links, images, emphasis, emoji
    shortcodes or LaTeX; bidi controls dropped."""
    return _MARKDOWN.sub(r"\\\1", clean_text(str(value)))
