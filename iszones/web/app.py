"""The dashboard's pages and the way it is served: `streamlit run app.py` (a checkout) and
`iszones app` (any install) both run `run`, and `iszones app` passes the server defaults."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENTRY = HERE / "entry.py"
# The server's defaults (as .streamlit/config.toml in a checkout; a test keeps them equal):
# this machine only, no usage statistics, no error details or Deploy button for users, no
# agent API (the app driven over HTTP without a browser).
SERVER_FLAGS = (
    "--server.headless=true",
    "--server.address=127.0.0.1",
    "--server.enableXsrfProtection=true",
    "--server.enableAgentApi=false",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
    "--client.toolbarMode=viewer",
)


# `iszones app` runs this beside the server: geometry.warm fills the disk cache.
WARM_COMMAND = (sys.executable, "-c", "from iszones.web.geometry import warm; warm()")
# ...and imports what the Map page needs before the server answers, so the first page does
# not wait for them (Streamlit runs every page in the server's own process). Not
# streamlit_folium: it registers its component only when imported by a running page.
PAGE_MODULES = (
    "geopandas",
    "folium",
    "iszones.render.webmap",
    "iszones.web.geometry",
    "iszones.web.search",
    "iszones.web.urlstate",
)


def run() -> None:
    """The pages, Map and Check my sites; the embed view hides the page list."""
    import streamlit as st

    embed = st.query_params.get("view", "").strip().casefold() == "embed"
    pages = [
        st.Page(HERE / "dashboard.py", title="Map", default=True),
        st.Page(HERE / "check_page.py", title="Check my sites", url_path="Check_my_sites"),
    ]
    st.navigation(pages, position="hidden" if embed else "sidebar").run()


def serve(extra: tuple[str, ...] = ()) -> int:
    """`iszones app`: fill the disk cache in a second process, import the pages' modules, then
    serve in this process (as `streamlit run` with the defaults and the user's flags); the
    server's exit code."""
    from streamlit.web import bootstrap
    from streamlit.web.cli import main as streamlit_main

    command = streamlit_command(extra)[3:]  # `run ENTRY flags...`, after `python -m streamlit`
    # Streamlit's own parser reads the flags (a bad one stops here with its usage line); set
    # them before the imports read the config, so the server starts with them, unwarned.
    params = streamlit_main.commands["run"].make_context("iszones app", command[1:]).params
    flags = {key: value for key, value in params.items() if key not in ("target", "args")}
    bootstrap.load_config_options(flag_options=flags)
    warm = subprocess.Popen(WARM_COMMAND, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        for name in PAGE_MODULES:
            importlib.import_module(name)
        code = streamlit_main.main(args=command, prog_name="streamlit", standalone_mode=False)
        return int(code or 0)
    finally:
        warm.kill()


def streamlit_command(extra: tuple[str, ...] = ()) -> list[str]:
    """The command that serves the dashboard: streamlit run the entry script with the defaults
    and the user's own flags after them (a later flag wins)."""
    from iszones.inputs.limits import MAX_UPLOAD_MB

    flags = (*SERVER_FLAGS, f"--server.maxUploadSize={MAX_UPLOAD_MB}")
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY), *flags, *extra]
