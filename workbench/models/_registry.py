"""Models by name: the kinds a pipeline config can list (``{"kind": "lightgbm", "params": {...}}``), each
with its estimator and how its parameters are checked. Adding a model is one entry in :data:`MODEL_KINDS`.

Parameters are checked against the estimator's constructor before any data is loaded, so a typo
(``num_leavs``) fails at once naming the close match and the valid names, not as a ``TypeError`` after the
features are built."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lightgbm.basic import _ConfigAliases

from workbench.errors import WorkbenchError
from workbench.models._baseline import LogisticBaseline
from workbench.models._lightgbm import LightGBMModel
from workbench.models._volatility_reference import VolatilityReference


class ModelConfigError(WorkbenchError, ValueError):
    """A model entry of the configuration names an unknown kind or parameter (the message names the valid
    ones)."""


@dataclass(frozen=True)
class ModelKind:
    """One registered model: its config ``kind``, the estimator class, the name its metrics are reported
    under by default, and whether its ``fit`` takes the label end times ``t1`` (purged early stopping)."""

    kind: str
    estimator: type
    default_name: str
    description: str
    takes_t1: bool = False

    @property
    def param_names(self) -> tuple[str, ...]:
        """The constructor's parameter names: what ``params`` may set."""
        signature = inspect.signature(self.estimator.__init__)
        return tuple(name for name in signature.parameters if name != "self")

    def default(self, param: str) -> Any:
        """The constructor's default of ``param``."""
        return inspect.signature(self.estimator.__init__).parameters[param].default

    def check_params(self, params: Mapping[str, Any], where: str) -> None:
        """Refuse a parameter the estimator does not take, naming the close match and the valid names."""
        known = self.param_names
        unknown = [name for name in params if name not in known]
        if not unknown:
            return
        problems = []
        for name in unknown:
            close = _close_match(name, known)
            hint = f": did you mean {close}?" if close else ""
            if not close and self.kind == "lightgbm" and name in _lightgbm_parameter_names():
                hint = f" (a LightGBM parameter {self.estimator.__name__} does not expose)"
            problems.append(f"{where}.{name}{hint}")
        raise ModelConfigError(f"unknown {self.kind} parameter(s) {'; '.join(problems)}; valid: {list(known)}")

    def build(self, params: Mapping[str, Any], seed: int) -> Any:
        """The estimator with ``params`` (and ``seed`` when it takes one and ``params`` does not set it)."""
        self.check_params(params, "params")
        arguments = dict(params)
        if "seed" in self.param_names:
            arguments.setdefault("seed", seed)
        return self.estimator(**arguments)

    def fit(self, model: Any, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray, t1: pd.Series) -> Any:
        """Fit ``model`` on one training window; ``t1`` only reaches estimators that purge with it."""
        if self.takes_t1:
            return model.fit(X, y, weight, t1=t1)
        return model.fit(X, y, weight)


MODEL_KINDS: dict[str, ModelKind] = {kind.kind: kind for kind in (
    ModelKind("lightgbm", LightGBMModel, "lightgbm", "gradient-boosted trees with purged early stopping",
              takes_t1=True),
    ModelKind("logistic", LogisticBaseline, "baseline", "standardized logistic regression on numeric features"),
    ModelKind("volatility", VolatilityReference, "volatility",
              "logistic regression on direction-free inputs only: the volatility-timing reference"),
)}
"""Every model a pipeline config can name, by ``kind``."""


def model_kind(kind: str, where: str = "model kind") -> ModelKind:
    """The registered kind ``kind``; an unknown one is refused naming the close match and the registered ones."""
    if kind in MODEL_KINDS:
        return MODEL_KINDS[kind]
    close = _close_match(str(kind), tuple(MODEL_KINDS))
    hint = f" (did you mean {close!r}?)" if close else ""
    raise ModelConfigError(f"{where} {kind!r} is not a registered model{hint}; registered kinds: {sorted(MODEL_KINDS)}")


def _close_match(name: str, known: tuple[str, ...]) -> str | None:
    """The known name closest to ``name`` ignoring case (``c`` → ``C``, ``num_leavs`` → ``num_leaves``)."""
    lowered = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _lightgbm_parameter_names() -> set[str]:
    """Every parameter name and alias LightGBM itself knows (to tell a typo from an unexposed setting)."""
    aliases = _ConfigAliases._get_all_param_aliases()  # the C library's own table (LGBM_DumpParamAliases)
    return {name for names in aliases.values() for name in names} | set(aliases)
