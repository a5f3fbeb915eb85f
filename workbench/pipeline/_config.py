"""The research pipeline's configuration: data selection, features, labels, cross-validation, model and
tuning, evaluation — one JSON-serializable object whose content hash names a run. Unknown keys are refused
so a typo fails at once instead of silently running the default."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workbench.features import FeatureSpec


def _build(cls: type, data: dict[str, Any] | None, where: str) -> Any:
    data = dict(data or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {where} setting(s) {unknown}; known: {sorted(known)}")
    return cls(**data)


@dataclass(frozen=True)
class DataConfig:
    """Which bars: a lake dataset (built from the synthetic defaults when ``synth`` is set and it is absent),
    optionally a ticker subset and a date range (New York session dates, inclusive)."""

    dataset: str = "default"
    tickers: tuple[str, ...] | None = None
    start: str | None = None
    end: str | None = None
    synth: dict[str, Any] | None = None  # SynthConfig fields used to build the dataset when it is missing


@dataclass(frozen=True)
class LabelConfig:
    """Triple-barrier labels at every ``event_every``-th minute of the clock (all tickers at the same
    minutes, so each has a full cross-section; fewer, less overlapping events), barriers at ``pt_sl`` times
    the EWM volatility of one-bar returns, the vertical one ``vertical_bars`` later and never past the close."""

    pt_sl: tuple[float, float] = (1.0, 1.0)
    vertical_bars: int = 5
    min_ret: float = 0.0
    volatility_span: int = 100
    event_every: int = 5
    clip_to_session: bool = True

    def __post_init__(self) -> None:
        if self.vertical_bars < 1 or self.event_every < 1:
            raise ValueError("labels.vertical_bars and labels.event_every must be >= 1")


@dataclass(frozen=True)
class CVConfig:
    """Walk-forward folds in sessions, purged by label end and embargoed by ``embargo_bars`` minutes."""

    train_days: int = 10
    test_days: int = 2
    step_days: int | None = None
    embargo_bars: int = 5
    expanding: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """LightGBM parameters (see :class:`workbench.models.LightGBMModel`) and optional Optuna tuning on the
    first fold's training window (``n_trials`` = 0: no tuning)."""

    params: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 0
    tuning_folds: int = 3
    storage: str | None = None  # Optuna storage URL; default: a SQLite file in the run folder


@dataclass(frozen=True)
class EvalConfig:
    """Top-K portfolios, costs, and how many rows SHAP explains."""

    top_k: int = 10
    fees_bps: float = 0.5
    slippage_bps: float = 1.0
    shap_rows: int = 3000
    min_names: int = 20


@dataclass(frozen=True)
class PipelineConfig:
    """Everything a run depends on; equal configs (and seed) give identical runs."""

    name: str = "research"
    seed: int = 7
    data: DataConfig = field(default_factory=DataConfig)
    features: dict[str, Any] = field(default_factory=lambda: FeatureSpec.default().to_dict())
    labels: LabelConfig = field(default_factory=LabelConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)

    @property
    def spec(self) -> FeatureSpec:
        """The feature spec."""
        return FeatureSpec.from_dict(self.features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Inverse of :meth:`to_dict`; unknown keys anywhere are refused."""
        data = dict(data)
        sections = {"data": DataConfig, "labels": LabelConfig, "cv": CVConfig, "model": ModelConfig,
                    "evaluation": EvalConfig}
        for key, section in sections.items():
            raw = dict(data.get(key) or {})
            for name in ("tickers", "pt_sl"):
                if isinstance(raw.get(name), list):
                    raw[name] = tuple(raw[name])
            data[key] = _build(section, raw, key)
        config = _build(cls, data, "pipeline")
        config.spec  # noqa: B018 - validates the feature spec now, not mid-run
        return config

    @classmethod
    def from_json(cls, text: str) -> PipelineConfig:
        """From :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    def to_json(self) -> str:
        """Canonical JSON (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @property
    def fingerprint(self) -> str:
        """Content hash: the run folder's suffix."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
