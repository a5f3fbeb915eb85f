"""The research pipeline's configuration: data selection, features, labels, cross-validation, model and
tuning, evaluation — one JSON-serializable object whose content hash names a run. Unknown keys are refused
so a typo fails at once instead of silently running the default."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workbench.data.synth import SynthConfig
from workbench.evaluation import Execution
from workbench.features import FeatureSpec
from workbench.models import ModelConfigError, model_kind

#: settings that moved, and where to: an old config gets the way forward, not just "unknown"
MOVED_SETTINGS = {
    "evaluation.fees_bps": "execution.fees_bps",
    "evaluation.slippage_bps": "execution (fills pay the quoted half-spread; execution.fallback_spread_bps "
                               "where no quote is known)",
}


def _build(cls: type, data: dict[str, Any] | None, where: str) -> Any:
    data = dict(data or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    moved = [f"{where}.{key} is now {MOVED_SETTINGS[f'{where}.{key}']}" for key in unknown
             if f"{where}.{key}" in MOVED_SETTINGS]
    if moved:
        raise ValueError("; ".join(moved))
    if unknown:
        raise ValueError(f"unknown {where} setting(s) {unknown}; known: {sorted(known)}")
    return cls(**data)


@dataclass(frozen=True)
class DataConfig:
    """Which bars: a lake dataset (built from the synthetic defaults when ``synth`` is set and it is absent),
    optionally a ticker subset and a date range (New York session dates, inclusive). ``features_all_nan``: what
    to do with a feature this data leaves entirely NaN (no quotes, sectors, VIX or market caps, or a warm-up
    longer than the data) — ``"drop"`` it from the model inputs and say so in the run's metrics and report, or
    make it an ``"error"`` naming the columns."""

    dataset: str = "default"
    tickers: tuple[str, ...] | None = None
    start: str | None = None
    end: str | None = None
    synth: dict[str, Any] | None = None  # SynthConfig fields used to build the dataset when it is missing
    features_all_nan: str = "drop"

    def __post_init__(self) -> None:
        if self.features_all_nan not in ("drop", "error"):
            raise ValueError(f"data.features_all_nan must be 'drop' or 'error', got {self.features_all_nan!r}")
        if self.synth is not None:
            known = {f.name for f in dataclasses.fields(SynthConfig)}
            unknown = sorted(set(self.synth) - known)
            if unknown:
                raise ValueError(f"unknown data.synth setting(s) {unknown}; known: {sorted(known)}")


@dataclass(frozen=True)
class LabelConfig:
    """Triple-barrier labels at every ``event_every``-th minute of the clock (all tickers at the same
    minutes, so each has a full cross-section; fewer, less overlapping events), barriers at ``pt_sl`` times
    the EWM volatility of one-bar returns, the vertical one ``vertical_bars`` bars of returns after the entry
    and never past the close. Labels enter where the backtest fills: ``entry_delay_bars`` after the event
    (None: the execution's ``delay_bars``) at the execution's fill price, on prices adjusted for corporate
    actions so a split or dividend is never a barrier touch."""

    pt_sl: tuple[float, float] = (1.0, 1.0)
    vertical_bars: int = 5
    min_ret: float = 0.0
    volatility_span: int = 100
    event_every: int = 5
    clip_to_session: bool = True
    entry_delay_bars: int | None = None

    def __post_init__(self) -> None:
        if self.vertical_bars < 1 or self.event_every < 1:
            raise ValueError("labels.vertical_bars and labels.event_every must be >= 1")
        if self.entry_delay_bars is not None and (isinstance(self.entry_delay_bars, bool) or not isinstance(
                self.entry_delay_bars, int) or self.entry_delay_bars < 0):
            raise ValueError(f"labels.entry_delay_bars must be an integer >= 0 or null (= execution.delay_bars), "
                             f"got {self.entry_delay_bars!r}")


@dataclass(frozen=True)
class CVConfig:
    """Walk-forward folds in sessions, purged by label end and embargoed by ``embargo_bars`` minutes."""

    train_days: int = 10
    test_days: int = 2
    step_days: int | None = None
    embargo_bars: int = 5
    expanding: bool = False


#: the models every run scores unless ``model.models`` says otherwise: LightGBM, the logistic baseline and the
#: volatility-only reference, under the names the metrics, the CLI and the report use
DEFAULT_MODELS: tuple[dict[str, Any], ...] = ({"kind": "lightgbm"}, {"kind": "logistic"}, {"kind": "volatility"})
_ENTRY_KEYS = ("kind", "name", "params")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a run: the name its metrics are reported under, its registered kind and its parameters."""

    name: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ModelConfig:
    """The models a run fits on every fold, by registered kind (:data:`workbench.models.MODEL_KINDS`):
    ``models`` lists ``{"kind": ..., "name": ..., "params": {...}}`` entries (name defaults to the kind's
    metric name: lightgbm, baseline, volatility); the first is the primary model (its long-short backtest,
    sensitivity, saved fold models and SHAP). ``params`` is a shortcut for the parameters of the first
    LightGBM entry. Optional Optuna tuning of that entry on the first fold's training window (``n_trials`` =
    0: no tuning). Every kind and parameter is checked here, before any data is loaded."""

    params: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 0
    tuning_folds: int = 3
    storage: str | None = None  # Optuna storage URL; default: a SQLite file in the run folder
    models: tuple[dict[str, Any], ...] = DEFAULT_MODELS

    def __post_init__(self) -> None:
        self.specs  # noqa: B018 - validates every entry now, not mid-run

    @property
    def specs(self) -> tuple[ModelSpec, ...]:
        """The validated models, in order (``params`` merged into the first LightGBM entry)."""
        if not self.models:
            raise ModelConfigError("model.models is empty; list at least one model, e.g. [{\"kind\": \"lightgbm\"}]")
        specs, shortcut_used = [], False
        for k, entry in enumerate(self.models):
            where = f"model.models[{k}]"
            if not isinstance(entry, dict) or "kind" not in entry:
                raise ModelConfigError(f"{where} must be an object with a 'kind', got {entry!r}")
            unknown = sorted(set(entry) - set(_ENTRY_KEYS))
            if unknown:
                raise ModelConfigError(f"unknown {where} key(s) {unknown}; known: {list(_ENTRY_KEYS)}")
            kind = model_kind(entry["kind"], f"{where}.kind")
            params = dict(entry.get("params") or {})
            kind.check_params(params, f"{where}.params")
            if kind.kind == "lightgbm" and not shortcut_used and self.params:
                kind.check_params(self.params, "model.params")
                both = sorted(set(params) & set(self.params))
                if both:
                    raise ModelConfigError(f"model.params and {where}.params both set {both}; set them in one place")
                params, shortcut_used = {**self.params, **params}, True
            specs.append(ModelSpec(name=str(entry.get("name", kind.default_name)), kind=kind.kind, params=params))
        if self.params and not shortcut_used:
            raise ModelConfigError("model.params sets LightGBM parameters but model.models has no lightgbm entry; "
                                   "put them in an entry's params")
        names = [spec.name for spec in specs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ModelConfigError(f"model.models names {repeated} more than once; give each entry its own 'name'")
        if self.n_trials > 0 and not any(spec.kind == "lightgbm" for spec in specs):
            raise ModelConfigError("model.n_trials tunes a lightgbm entry but model.models has none; set n_trials to 0")
        return tuple(specs)


@dataclass(frozen=True)
class EvalConfig:
    """Top-K portfolios, the significance level of the skill verdicts, the alpha-decay and cost-sensitivity
    grid, and how many rows SHAP explains. Execution (delay, fill price, costs) is its own section."""

    top_k: int = 10
    shap_rows: int = 3000
    min_names: int = 20
    alpha: float = 0.05
    loss_test: str = "hac"
    decay_delays: tuple[int, ...] = (0, 1, 2, 5)
    cost_multipliers: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"evaluation.alpha must be in (0, 0.5), got {self.alpha!r}")
        if self.loss_test not in ("hac", "block_bootstrap"):
            raise ValueError(f"evaluation.loss_test must be 'hac' or 'block_bootstrap', got {self.loss_test!r}")


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
    execution: Execution = field(default_factory=Execution)
    evaluation: EvalConfig = field(default_factory=EvalConfig)

    @property
    def spec(self) -> FeatureSpec:
        """The feature spec."""
        return FeatureSpec.from_dict(self.features)

    @property
    def label_entry_delay(self) -> int:
        """Bars from an event to the bar its label enters at (the backtest's fill bar by default)."""
        delay = self.labels.entry_delay_bars
        return self.execution.delay_bars if delay is None else delay

    @property
    def label_entry_price(self) -> str:
        """The price labels enter at: the execution's fill price, or the close when they enter at the event."""
        return self.execution.fill_price if self.label_entry_delay > 0 else "close"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Inverse of :meth:`to_dict`; unknown keys anywhere are refused."""
        data = dict(data)
        sections = {"data": DataConfig, "labels": LabelConfig, "cv": CVConfig, "model": ModelConfig,
                    "execution": Execution, "evaluation": EvalConfig}
        for key, section in sections.items():
            raw = dict(data.get(key) or {})
            for name in ("tickers", "pt_sl", "decay_delays", "cost_multipliers", "models"):
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
