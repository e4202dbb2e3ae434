"""Geometry answers: which council district a point is in."""
