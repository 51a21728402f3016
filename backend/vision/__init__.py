"""Helpers of the image tasks: OWL detection by example (by_example.py), depth maps to 3D files (point_cloud.py)."""
