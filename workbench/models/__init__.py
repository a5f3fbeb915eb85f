"""Models: a standardized logistic-regression baseline, LightGBM with native categoricals and purged early
stopping, the volatility-only reference, Optuna tuning whose study lives in a shared storage URL, and the
registry that names them in a pipeline config (``{"kind": "lightgbm", "params": {...}}``)."""

from workbench.models._baseline import LogisticBaseline
from workbench.models._lightgbm import LightGBMModel
from workbench.models._registry import MODEL_KINDS, ModelConfigError, ModelKind, model_kind
from workbench.models._tuning import TuningResult, tune_lightgbm
from workbench.models._volatility_reference import VolatilityReference

__all__ = [
    "MODEL_KINDS",
    "LightGBMModel",
    "LogisticBaseline",
    "ModelConfigError",
    "ModelKind",
    "TuningResult",
    "VolatilityReference",
    "model_kind",
    "tune_lightgbm",
]
