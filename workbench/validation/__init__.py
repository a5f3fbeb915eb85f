"""Validation: time-ordered cross-validation splitters for panels (walk-forward, purged k-fold, CPCV),
adversarial validation between two feature samples, and a weekly regime monitor with a retrain trigger."""

from workbench.validation._adversarial import AdversarialReport, adversarial_validation
from workbench.validation._combinatorial import CombinatorialPurgedCV
from workbench.validation._purged_kfold import PurgedKFold
from workbench.validation._regime import RegimeMonitor
from workbench.validation._walk_forward import WalkForward

__all__ = [
    "AdversarialReport",
    "CombinatorialPurgedCV",
    "PurgedKFold",
    "RegimeMonitor",
    "WalkForward",
    "adversarial_validation",
]
