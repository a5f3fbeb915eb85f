"""Validation: time-ordered cross-validation splitters for panels (walk-forward, purged k-fold, CPCV)."""

from workbench.validation._combinatorial import CombinatorialPurgedCV
from workbench.validation._purged_kfold import PurgedKFold
from workbench.validation._walk_forward import WalkForward

__all__ = [
    "CombinatorialPurgedCV",
    "PurgedKFold",
    "WalkForward",
]
