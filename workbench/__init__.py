"""Quant research workbench: data lake, features, labels, validation, models and evaluation.

The library the notebooks, papermill runs and the live scorer stand on. ``workbench`` never
imports ``live``.
"""

__version__ = "0.1.0"
