"""Entry script for `streamlit run` inside an install (`iszones app` runs this)."""

from iszones.web.app import run

run()
