"""SeedVR / SeedVR2 video restoration: model, sampling, video I/O, stitching and quality scores.

This package never imports Spark, Delta or MLflow; the `udfs` and `jobs` packages build on it.
"""

__version__ = "0.1.0"
