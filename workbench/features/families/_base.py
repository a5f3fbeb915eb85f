"""The contract every feature family follows: declared output columns, per-ticker state arrays, and
one ``run`` that advances the state over time-ordered rows — the single definition used in batch
(all history in one call) and online (a minute, or a bar, per call)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from workbench.features._rows import Rows
from workbench.features._spec import Feature
from workbench.features._universe import FeatureUniverse

State = dict[str, np.ndarray]


class Family(ABC):
    """A group of features sharing one state machine (e.g. MACD line, signal and histogram).

    Subclasses declare ``kind``, ``param_defaults`` (every accepted parameter with its default),
    ``columns`` and ``state``; ``run`` must be causal: row ``r`` may read only rows ``<= r``. Rows come
    sorted by (ticker, ts); kernels that read other tickers' bars visit them in ``rows.time_order``.
    """

    kind: ClassVar[str]
    param_defaults: ClassVar[Mapping[str, Any]] = {}
    categorical: ClassVar[bool] = False
    #: reads other tickers' bars (visits ``rows.time_order``): never split by ticker range across threads
    cross_sectional: ClassVar[bool] = False
    #: the context tables (keys of ``workbench.features._context.CONTEXTS``) read from ``Rows.context``
    reads_context: ClassVar[tuple[str, ...]] = ()
    #: how the family treats session boundaries, halts/missing minutes and splits (documentation)
    semantics: ClassVar[str] = ""

    def __init__(self, feature: Feature, index_ticker: str = "SPY") -> None:
        unknown = sorted(set(feature.params) - set(self.param_defaults))
        if unknown:
            raise ValueError(f"feature {self.kind!r} has no parameter(s) {unknown}; "
                             f"it takes {sorted(self.param_defaults) or 'none'}")
        self.params: dict[str, Any] = {**self.param_defaults, **feature.params}
        self.index_ticker = index_ticker
        self.validate()

    def validate(self) -> None:  # noqa: B027 - an optional hook, most families have nothing to check
        """Check parameter values (raise ValueError naming the parameter)."""

    def _positive_int(self, name: str, minimum: int = 1) -> int:
        value = self.params[name]
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"feature {self.kind!r}: {name} must be an integer >= {minimum}, got {value!r}")
        return int(value)

    @property
    @abstractmethod
    def columns(self) -> tuple[str, ...]:
        """Output column names."""

    @abstractmethod
    def new_state(self, universe: FeatureUniverse) -> State:
        """Fresh state arrays (NaN/zero), first axis = ticker row where per-ticker."""

    @abstractmethod
    def run(self, rows: Rows, state: State, out: np.ndarray) -> None:
        """Advance ``state`` over ``rows`` and write one value per row and column into ``out``."""

    def categories(self, universe: FeatureUniverse) -> dict[str, list[str]]:
        """For categorical families: the fixed category list per column (codes index into it)."""
        return {}
