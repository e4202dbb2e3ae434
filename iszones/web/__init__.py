"""Helpers the Streamlit pages (and the CLI, where they share a job) call: browser geometry and
the place search."""
