"""Models: a standardized logistic-regression baseline, LightGBM with native categoricals and purged early
stopping, and Optuna tuning whose study lives in a shared storage URL."""

from workbench.models._baseline import LogisticBaseline
from workbench.models._lightgbm import LightGBMModel
from workbench.models._tuning import TuningResult, tune_lightgbm
from workbench.models._volatility_reference import VolatilityReference

__all__ = ["LightGBMModel", "LogisticBaseline", "TuningResult", "VolatilityReference", "tune_lightgbm"]
