"""The dashboard's pages and the way it is served: `streamlit run app.py` (a checkout) and
`iszones app` (any install) both run `run`, and `iszones app` passes the server defaults."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENTRY = HERE / "entry.py"
# The server's defaults (as .streamlit/config.toml in a checkout; a test keeps them equal):
# this machine only, no usage statistics, no error details or Deploy button for users.
SERVER_FLAGS = (
    "--server.headless=true",
    "--server.address=127.0.0.1",
    "--server.enableXsrfProtection=true",
    "--browser.gatherUsageStats=false",
    "--client.showErrorDetails=none",
    "--client.toolbarMode=viewer",
)


# `iszones app` runs this beside the server: geometry.warm fills the disk cache.
WARM_COMMAND = (sys.executable, "-c", "from iszones.web.geometry import warm; warm()")


def run() -> None:
    """The pages, Map and Check my sites; the embed view hides the page list."""
    import streamlit as st

    embed = st.query_params.get("view", "").strip().casefold() == "embed"
    pages = [
        st.Page(HERE / "dashboard.py", title="Map", default=True),
        st.Page(HERE / "check_page.py", title="Check my sites", url_path="Check_my_sites"),
    ]
    st.navigation(pages, position="hidden" if embed else "sidebar").run()


def streamlit_command(extra: tuple[str, ...] = ()) -> list[str]:
    """The command that serves the dashboard: streamlit run the entry script with the defaults
    and the user's own flags after them (a later flag wins)."""
    from iszones.inputs.limits import MAX_UPLOAD_MB

    flags = (*SERVER_FLAGS, f"--server.maxUploadSize={MAX_UPLOAD_MB}")
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY), *flags, *extra]
