"""Bundled data: reading it and building it (districts from postcodes)."""
