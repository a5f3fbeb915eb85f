"""FeatureSpec: a declarative, JSON-serializable, hashable list of features and their parameters.

A spec names *what* to compute; the family registry (``workbench.features.families``) holds the one
definition of *how*, shared by batch :func:`~workbench.features.compute` and the online engine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SPEC_VERSION = 1


@dataclass(frozen=True)
class Feature:
    """One feature family with its parameters, e.g. ``Feature("rsi", {"period": 14})``."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frozen = tuple(sorted((str(k), _freeze(v)) for k, v in dict(self.params).items()))
        object.__setattr__(self, "params", _FrozenParams(frozen))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., **params}`` with lists for tuples (JSON-ready)."""
        return {"kind": self.kind, **{k: _thaw(v) for k, v in self.params.items()}}


class _FrozenParams(dict):
    """A read-only, hashable parameter mapping (so specs can be dict keys and cache keys)."""

    def __init__(self, items: tuple[tuple[str, Any], ...]) -> None:
        super().__init__(items)
        self._items = items

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._items)

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("feature parameters are read-only; build a new Feature instead")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly  # type: ignore[assignment]


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class FeatureSpec:
    """An ordered list of features plus the instrument that plays "the index" for cross-asset features.

    Examples
    --------
    >>> spec = FeatureSpec.default()
    >>> FeatureSpec.from_json(spec.to_json()) == spec
    True
    """

    features: tuple[Feature, ...]
    index_ticker: str = "SPY"

    def __post_init__(self) -> None:
        from workbench.features.families import family_for  # the registry validates kinds and params

        object.__setattr__(self, "features", tuple(self.features))
        if not self.features:
            raise ValueError("a FeatureSpec needs at least one feature")
        for feature in self.features:
            family_for(feature)
        names = self.columns
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"feature columns {duplicated} are produced twice; drop or re-parameterize one")

    @classmethod
    def default(cls) -> FeatureSpec:
        """The catalog: momentum, volatility, volume, microstructure, memory, cross-asset and context."""
        return cls(tuple(Feature(kind, params) for kind, params in DEFAULT_CATALOG))

    @classmethod
    def of(cls, *features: tuple[str, Mapping[str, Any]] | str, index_ticker: str = "SPY") -> FeatureSpec:
        """Shorthand: ``FeatureSpec.of("rsi", ("log_return", {"periods": [1, 5]}))``."""
        items = [Feature(f) if isinstance(f, str) else Feature(*f) for f in features]
        return cls(tuple(items), index_ticker=index_ticker)

    @property
    def columns(self) -> list[str]:
        """Output column names, in order."""
        return list(self._columns)

    @cached_property
    def _columns(self) -> tuple[str, ...]:
        from workbench.features.families import family_for

        return tuple(c for f in self.features for c in family_for(f).columns)

    def select(self, kinds: Iterable[str]) -> FeatureSpec:
        """The sub-spec of the given feature kinds (order kept)."""
        wanted = set(kinds)
        return FeatureSpec(tuple(f for f in self.features if f.kind in wanted), self.index_ticker)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable key order)."""
        return {"version": SPEC_VERSION, "index_ticker": self.index_ticker,
                "features": [f.to_dict() for f in self.features]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`; unknown keys or versions are refused."""
        unknown = set(data) - {"version", "index_ticker", "features"}
        if unknown:
            raise ValueError(f"unknown FeatureSpec key(s) {sorted(unknown)}")
        if data.get("version", SPEC_VERSION) != SPEC_VERSION:
            raise ValueError(f"FeatureSpec version {data['version']} is not supported (expected {SPEC_VERSION})")
        features = []
        for item in data["features"]:
            params = dict(item)
            kind = params.pop("kind", None)
            if kind is None:
                raise ValueError(f"feature entry {item!r} has no 'kind'")
            features.append(Feature(kind, params))
        return cls(tuple(features), index_ticker=data.get("index_ticker", "SPY"))

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), so equal specs serialize identically."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    @property
    def fingerprint(self) -> str:
        """Content hash of the spec: a cache key and a guard against restoring the wrong engine state."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


DEFAULT_CATALOG: tuple[tuple[str, dict[str, Any]], ...] = (
    ("log_return", {"periods": (1, 5, 15, 30)}),
    ("roc", {"period": 10}),
    ("rsi", {"period": 14}),
    ("macd", {"fast": 12, "slow": 26, "signal": 9}),
    ("bollinger", {"period": 20, "nbdev": 2.0}),
    ("atr", {"period": 14}),
    ("realized_vol", {"window": 15}),
    ("realized_vol", {"window": 60}),
    ("obv_z", {"window": 20}),
    ("volume_z_tod", {"span_sessions": 20, "min_sessions": 5}),
    ("vwap_dev", {}),
    ("spread_bps", {}),
    ("imbalance", {"mean_window": 5}),
    ("ffd", {"d": 0.4, "threshold": 1e-4}),
    ("index_lags", {"lags": (0, 1, 2, 3)}),
    ("sector_lags", {"lags": (1, 2, 3)}),
    ("beta", {"window": 60}),
    ("session_clock", {}),
    ("vix", {}),
    ("log_mcap", {}),
    ("categories", {}),
)
