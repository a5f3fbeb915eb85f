"""Features: one definition per feature, computed in batch over history (:func:`compute`) and
incrementally on a stream (:class:`OnlineFeatureEngine`) by the same kernels, with identical numbers."""

from workbench.features._arrival import REFUSAL_REASONS, Submission
from workbench.features._compute import compute
from workbench.features._context import CONTEXTS, ContextSeries
from workbench.features._engine import OnlineFeatureEngine
from workbench.features._inputs import compute_dataset, dataset_inputs
from workbench.features._rows import BarBatch
from workbench.features._spec import Feature, FeatureSpec
from workbench.features._universe import AdjustmentBook, FeatureUniverse
from workbench.features.frac_diff import MinOrderResult, ffd_weights, frac_diff_ffd, min_ffd_order

__all__ = [
    "AdjustmentBook",
    "BarBatch",
    "CONTEXTS",
    "ContextSeries",
    "Feature",
    "FeatureSpec",
    "FeatureUniverse",
    "MinOrderResult",
    "OnlineFeatureEngine",
    "REFUSAL_REASONS",
    "Submission",
    "compute",
    "compute_dataset",
    "dataset_inputs",
    "ffd_weights",
    "frac_diff_ffd",
    "min_ffd_order",
]
