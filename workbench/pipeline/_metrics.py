"""A run's metrics as one typed object: what the CLI prints, the report shows and ``metrics.json`` holds
(:meth:`RunMetrics.to_dict`), read from fields instead of nested string keys in three places."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists and NaN/inf as None (JSON null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    return value


@dataclass(frozen=True)
class RunMetrics:
    """Every number of a run, per model name (``lightgbm``, ``baseline``, ``volatility`` by default).

    Attributes
    ----------
    name, fingerprint
        The config's name and content hash.
    n_events
        Labelled events (rows of the research table).
    models
        ``[{"name", "kind"}]`` in config order; the first is the primary model.
    classification, classification_horizontal
        Per model, :func:`workbench.evaluation.classification_report` on all events and on the events that
        touched a horizontal barrier (where ``y`` is pure direction).
    cross_section
        Per model, ``{"ic": rank-IC summary, "precision_at_k": precision@K summary}``.
    skill
        Per model, the direction verdict: ``ic``, ``ci_low``, ``ci_high``, ``level``, ``skill`` and, for the
        models compared with a volatility reference, ``beats_volatility``.
    loss_tests
        ``"a vs b"`` → the paired log-loss test's summary and ``text``.
    backtests
        Strategy name → backtest summary (net of costs; ``gross_sharpe`` before them).
    sensitivity
        ``{"strategy", "table": [{"scenario", "value", "sharpe", "gross_sharpe", "mean_trade_bps", ...}]}``.
    execution, index, dropped_features
        The execution settings with ``quoted_share``; the index instrument, the features it feeds that were
        skipped and the note; features left out as all-NaN with the reason.
    folds, fold_metrics
        Per walk-forward fold its windows and sizes; per fold and model ``log_loss``, ``roc_auc`` and the
        mean per-minute ``rank_ic`` of its test rows.
    daily_ic
        Per model, the mean per-minute rank IC of each New York session date.
    explained_fold
        The fold whose primary model SHAP explains, on that fold's test rows.
    primary_backtest
        The ``backtests`` key of the primary model's long-short: the run's headline strategy (its per-minute
        returns are ``returns.parquet``'s rows of that ``backtest``).
    tuning, timings, identity
        Optuna's result (None: no tuning); seconds per stage; what identifies the run (run id, dataset and its
        fingerprint, code version, git commit, package versions, start time).
    """

    name: str
    fingerprint: str
    n_events: int
    models: list[dict[str, str]]
    classification: dict[str, dict[str, Any]]
    classification_horizontal: dict[str, dict[str, Any]]
    cross_section: dict[str, dict[str, dict[str, Any]]]
    skill: dict[str, dict[str, Any]]
    loss_tests: dict[str, dict[str, Any]]
    backtests: dict[str, dict[str, Any]]
    sensitivity: dict[str, Any]
    execution: dict[str, Any]
    index: dict[str, Any]
    dropped_features: dict[str, str]
    folds: list[dict[str, Any]]
    fold_metrics: list[dict[str, Any]]
    daily_ic: dict[str, dict[str, float | None]]
    explained_fold: int | None = None
    primary_backtest: str | None = None
    tuning: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        """The first model's name: the one traded long-short, stress-tested and explained."""
        return self.models[0]["name"]

    @property
    def lightgbm_beats_baseline_log_loss(self) -> bool | None:
        """Whether LightGBM's log-loss is significantly below the baseline's (None: not both in the run)."""
        test = self.loss_tests.get("lightgbm vs baseline")
        return None if test is None else bool(test["model_better"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``metrics.json``); NaN becomes null."""
        data = dataclasses.asdict(self)
        data["lightgbm_beats_baseline_log_loss"] = self.lightgbm_beats_baseline_log_loss
        return jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetrics:
        """Inverse of :meth:`to_dict` (derived keys are recomputed, not read)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def render_text(self) -> str:
        """The headline numbers as the CLI prints them: direction skill (rank IC of the signed label return, with
        its interval), the paired log-loss tests, executable backtests and their alpha decay / cost
        sensitivity, then the classification metrics on all events and on the horizontal-barrier ones."""
        execution = self.execution
        lines = [f"{self.n_events:,} labelled events, {len(self.folds)} purged walk-forward folds; fills at the "
                 f"{execution['fill_price']} of bar t+{execution['delay_bars']}, {execution['fees_bps']:g} bp fees "
                 f"+ quoted half-spread (quotes known for {execution['quoted_share']:.0%} of bars)"]
        for model, skill in self.skill.items():
            ic, top = self.cross_section[model]["ic"], self.cross_section[model]["precision_at_k"]
            beats = skill.get("beats_volatility")
            timer = "" if "beats_volatility" not in skill else f"  beats the volatility timer: {beats}"
            lines.append(f"{model:10s} rank IC {skill['ic']:+.4f} [{skill['ci_low']:+.4f}, {skill['ci_high']:+.4f}] "
                         f"(Newey-West t {ic['t_stat_nw']:.1f}) direction skill: {skill['skill']}{timer}  precision@K "
                         f"{top['precision']:.3f} vs base rate {top['base_rate']:.3f}")
        lines += [test["text"] for test in self.loss_tests.values()]
        if self.index.get("note"):
            lines.append(self.index["note"])
        if self.dropped_features:
            lines.append("left out of the model inputs (no values in this dataset): " + ", ".join(
                f"{column} ({reason})" for column, reason in self.dropped_features.items()))
        for name, backtest in self.backtests.items():
            trade = backtest["mean_trade_return"]
            known = trade is not None and math.isfinite(trade)  # no trade: NaN here, null in metrics.json
            per_trade = f"mean trade {1e4 * trade:+.2f} bp, " if known else ""
            lines.append(f"backtest {name}: net Sharpe {backtest['sharpe']:.2f} (gross "
                         f"{backtest['gross_sharpe']:.2f}), {per_trade}return {backtest['total_return']:+.2%}, "
                         f"max drawdown {backtest['max_drawdown']:.2%}")
        lines.append(f"alpha decay and cost sensitivity of {self.sensitivity['strategy']}:")
        lines.append(f"  {'scenario':9s} {'value':>8s} {'net Sharpe':>11s} {'mean trade bp':>14s}")
        for row in self.sensitivity["table"]:
            value = f"{row['value']:g} bars" if row["scenario"] == "delay" else f"{row['value']:g}x costs"
            lines.append(f"  {row['scenario']:9s} {value:>8s} {row['sharpe']:>11.2f} {row['mean_trade_bps']:>+14.2f}")
        lines.append("classification (all events | horizontal-barrier events):")
        for model, report in self.classification.items():
            horizontal = self.classification_horizontal[model]
            lines.append(f"  {model:10s} log-loss {report['log_loss']:.4f} | {horizontal['log_loss']:.4f}  ROC-AUC "
                         f"{report['roc_auc']:.3f} | {horizontal['roc_auc']:.3f}")
        return "\n".join(lines)
