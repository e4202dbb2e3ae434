"""The dashboard's server defaults (.streamlit/config.toml): private by default, no tracebacks
for users, no usage statistics, and the upload limit the readers enforce."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from iszones.inputs.limits import MAX_UPLOAD_MB
from tests.conftest import ROOT

CONFIG = ROOT / ".streamlit" / "config.toml"


def test_config_keeps_the_server_private_and_quiet():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableAgentApi"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["browser"]["gatherUsageStats"] is False


def test_upload_limit_is_stated_once():
    """Streamlit's limit and the readers' limit are the same number."""
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    page = (ROOT / "iszones" / "web" / "check_page.py").read_text(encoding="utf-8")
    assert "max_mb=MAX_UPLOAD_MB" in page and "MAX_UPLOAD_MB = " not in page


def test_streamlit_accepts_every_value():
    """The installed Streamlit reads the file and takes each value (a typo would be ignored)."""
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "streamlit"), "config", "show"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for line in (
        'showErrorDetails = "none"',
        'address = "127.0.0.1"',
        f"maxUploadSize = {MAX_UPLOAD_MB}",
        "enableXsrfProtection = true",
        "enableAgentApi = false",
        "gatherUsageStats = false",
        'toolbarMode = "viewer"',
    ):
        assert f"\n{line}\n" in shown, line


def test_iszones_app_serves_with_the_same_defaults_as_the_checkout():
    """`iszones app` (any install, no config file) passes what .streamlit/config.toml says."""
    from iszones.web.app import streamlit_command

    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    flags = dict(f.removeprefix("--").split("=", 1) for f in streamlit_command()[5:])
    for section, values in config.items():
        for key, value in values.items():
            if f"{section}.{key}" in ("server.enableCORS",):
                continue  # Streamlit's own default
            text = str(value).lower() if isinstance(value, bool) else str(value)
            assert flags[f"{section}.{key}"] == text, f"{section}.{key}"
