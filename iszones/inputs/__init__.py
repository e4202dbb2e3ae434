"""User files: text hygiene, formats, size limits (grows as readers move here)."""
