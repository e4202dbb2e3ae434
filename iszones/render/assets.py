"""The map's browser assets (Leaflet, Leaflet.markercluster) served offline, and standalone HTML.

folium's pages load Leaflet and its plugins from CDNs that locked-down networks (and the test
machines) cannot reach. The same files come from PyPI packages installed with iszones
(XStatic-Leaflet, XStatic-Leaflet-MarkerCluster), so nothing is fetched at run time and nothing
is committed to the repository. This module owns reading those files (package data, found
through the installed packages); it imports streamlit only in `serve_in_streamlit`.
"""

from __future__ import annotations

import base64
import importlib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import folium
from branca.element import Element

from iszones.errors import IszonesError
from iszones.render import safe as _safe  # noqa: F401  (renders macro output as text, never as a template)


class AssetError(IszonesError):
    """Raised when a map needs a browser asset that iszones does not ship, or a file is missing."""


@dataclass(frozen=True)
class Asset:
    """One browser file: folium's name for it, the package that ships it, and its file name."""

    name: str  # folium's key in default_js/default_css, e.g. "leaflet" or "markerclustercss"
    kind: str  # "js" or "css"
    package: str  # xstatic.pkg.<package>
    file: str


# Every name folium uses for the files iszones maps need, mapped to the shipped copy.
ASSETS: tuple[Asset, ...] = (
    Asset("leaflet", "js", "leaflet", "leaflet.js"),
    Asset("leaflet_css", "css", "leaflet", "leaflet.css"),
    Asset("markerclusterjs", "js", "leaflet_markercluster", "leaflet.markercluster.js"),
    Asset("markerclustercss", "css", "leaflet_markercluster", "MarkerCluster.css"),
    Asset("markerclusterdefaultcss", "css", "leaflet_markercluster", "MarkerCluster.Default.css"),
)
_BY_NAME = {asset.name: asset for asset in ASSETS}
PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(asset.package for asset in ASSETS))
_FIX = "Reinstall iszones (`pip install -e .`), which installs XStatic-Leaflet and friends."


@cache
def serve_in_streamlit() -> str:
    """Have the running Streamlit server serve every asset package, as a component folder of
    this module (/component/iszones.render.assets.vendor_<package>/); returns the url template for
    `localise` as seen from streamlit-folium's frame (/component/streamlit_folium.st_folium/),
    so the links hold under any server.baseUrlPath and nothing leaves the app. Declaring from
    this module, not from a page script, gives every page the same names (Streamlit cannot
    name a component declared in a page script)."""
    from streamlit.components.v1 import declare_component

    for package in PACKAGES:
        declare_component(f"vendor_{package}", path=str(package_dir(package)))
    return f"../{__name__}.vendor_{{package}}/{{file}}"


def package_dir(package: str) -> Path:
    """The folder of an asset package's files ('leaflet' -> .../xstatic/pkg/leaflet/data)."""
    try:
        module = importlib.import_module(f"xstatic.pkg.{package}")
    except ImportError as err:
        raise AssetError(
            f"The browser asset package xstatic.pkg.{package} is missing. {_FIX}"
        ) from err
    return Path(module.BASE_DIR)


def package_version(package: str) -> str:
    """The upstream version of the files an asset package ships (e.g. '1.9.3')."""
    package_dir(package)
    return str(importlib.import_module(f"xstatic.pkg.{package}").VERSION)


def asset_path(asset: Asset) -> Path:
    """The installed file of an asset; AssetError when it is missing."""
    path = package_dir(asset.package) / asset.file
    if not path.is_file():
        raise AssetError(f"{path}: browser asset {asset.name!r} is missing. {_FIX}")
    return path


def _elements(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _elements(child)


def _asset_for(name: str, url: str, owner: Element) -> Asset:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise AssetError(
            f"{type(owner).__name__} needs the browser asset {name!r} ({url}), which iszones does"
            f" not ship, so the map would break offline. Use only: {', '.join(_BY_NAME)}."
        ) from None


def localise(fmap: folium.Map, url_template: str) -> folium.Map:
    """Point every script and stylesheet of `fmap` at locally served copies; returns `fmap`.

    `url_template` has `{package}` and `{file}` fields, e.g.
    `"../app.vendor_{package}/{file}"`. Raises AssetError naming any asset iszones does not
    ship (such as jQuery or Font Awesome), rather than leaving a CDN link behind.
    """
    for element in _elements(fmap):
        for attribute in ("default_js", "default_css"):
            links = getattr(element, attribute, None)
            if not links:
                continue
            local = []
            for name, url in links:
                asset = _asset_for(name, url, element)
                local.append((name, url_template.format(package=asset.package, file=asset.file)))
            setattr(element, attribute, local)  # on the instance: folium's lists are class-wide
    return fmap


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(asset: Asset) -> str:
    path = asset_path(asset)
    text = path.read_text(encoding="utf-8")

    def embed(match: re.Match[str]) -> str:
        target = path.parent / match.group(1)
        return f"url({_data_uri(target)})" if target.is_file() else match.group(0)

    # Leaflet's CSS names its control images relatively; embed them so the file stands alone.
    text = re.sub(r"url\((?!#|data:)['\"]?([^)'\"]+)['\"]?\)", embed, text)
    return text.replace("</", "<\\/")


def _inline_js(asset: Asset) -> str:
    text = asset_path(asset).read_text(encoding="utf-8")
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)  # the map file is not inlined
    return text.replace("</script", "<\\/script")


def _head_links(html: str) -> Iterator[tuple[str, str]]:
    for match in re.finditer(r'<script src="([^"]+)"></script>', html):
        yield match.group(0), match.group(1)
    for match in re.finditer(r'<link rel="stylesheet" href="([^"]+)"/>', html):
        yield match.group(0), match.group(1)


def standalone_html(fmap: folium.Map, *, offline: bool) -> str:
    """The map as one HTML page that opens from disk with no server.

    offline=True inlines Leaflet, Leaflet.markercluster and their images from the installed
    packages (about 200 KB), so the page works with no network at all; offline=False links
    them from public CDNs (folium's defaults), for a small file that needs the internet.
    Raises AssetError if the map uses a browser asset iszones does not ship.
    """
    by_url: dict[str, Asset] = {}
    for element in _elements(fmap):
        for attribute in ("default_js", "default_css"):
            for name, url in getattr(element, attribute, None) or ():
                by_url[url] = _asset_for(name, url, element)
    html = fmap.get_root().render()
    if not offline:
        return html
    for tag, url in list(_head_links(html)):
        asset = by_url.get(url)
        if asset is None:
            raise AssetError(f"The map links {url!r}, which cannot be inlined for offline use.")
        body = _inline_js(asset) if asset.kind == "js" else _inline_css(asset)
        inline = f"<script>{body}</script>" if asset.kind == "js" else f"<style>{body}</style>"
        html = html.replace(tag, inline, 1)
    return html
