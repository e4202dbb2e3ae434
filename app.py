"""The dashboard: `streamlit run app.py` (or `make run`, or `iszones app` from any install)."""

from iszones.web.app import run

run()
