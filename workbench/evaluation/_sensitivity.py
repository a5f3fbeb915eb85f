"""Alpha decay and cost sensitivity of a top-k backtest: the same book filled later and paying more or less.

A signal whose edge lives only in the bar it was computed at shows a large Sharpe at delay 0 (the idealized
fill at the signal bar's close) that vanishes at delay 1; a strategy that survives only at zero costs is not
tradable. :func:`execution_sensitivity` reruns :func:`~workbench.evaluation.backtest_top_k` over a grid of
delays (at the configured costs) and cost multiples (at the configured delay) so every report shows both.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.evaluation._backtest import MINUTES_PER_YEAR, BacktestResult, backtest_top_k
from workbench.evaluation._execution import DEFAULT_EXECUTION, Execution, MarketPrices, as_market_prices

SENSITIVITY_COLUMNS: tuple[str, ...] = ("scenario", "value", "fill", "sharpe", "gross_sharpe", "mean_trade_bps",
                                        "gross_mean_trade_bps", "total_return")


def _scenario_execution(execution: Execution, delay: int | None = None, multiplier: float | None = None) -> Execution:
    """``execution`` with another delay (0 fills at the signal bar's close) or another cost multiple."""
    if delay is not None:
        return dataclasses.replace(execution, delay_bars=delay,
                                   fill_price="close" if delay == 0 else execution.fill_price)
    return dataclasses.replace(execution, cost_multiplier=multiplier)


def _fill_label(execution: Execution) -> str:
    """Where a scenario fills, e.g. ``open of bar t+1`` or ``close of the signal bar``."""
    if execution.delay_bars == 0:
        return "close of the signal bar"
    return f"{execution.fill_price} of bar t+{execution.delay_bars}"


def _check_grid(delays: tuple[int, ...], cost_multipliers: tuple[float, ...]) -> None:
    """Raise unless the delays are distinct integers >= 0 and the multiples distinct finite numbers >= 0."""
    if not delays or any(isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 0 for d in delays) \
            or len(set(delays)) != len(delays):
        raise ValueError(f"delays must be distinct integers >= 0, got {delays!r}")
    if not cost_multipliers or len(set(cost_multipliers)) != len(cost_multipliers) or any(
            isinstance(m, bool) or not isinstance(m, int | float | np.integer | np.floating) or not math.isfinite(m)
            or m < 0 for m in cost_multipliers):
        raise ValueError(f"cost_multipliers must be distinct finite numbers >= 0, got {cost_multipliers!r}")


def execution_sensitivity(frame: pd.DataFrame, prices: MarketPrices | pd.DataFrame, *, k: int, horizon_bars: int,
                          long_short: bool = False, execution: Execution = DEFAULT_EXECUTION,
                          flatten_at_close: bool = False, delays: tuple[int, ...] = (0, 1, 2, 5),
                          cost_multipliers: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0), signal: str = "p",
                          periods_per_year: float = MINUTES_PER_YEAR) -> pd.DataFrame:
    """Net and gross Sharpe, mean return per trade (bps) and total return per delay and per cost multiple.

    One row per scenario (columns :data:`SENSITIVITY_COLUMNS`): ``scenario="delay"`` rows use ``execution``'s
    costs and fill price with ``delay_bars=value`` (delay 0 at the signal bar's close, as the ``fill`` column
    says); ``scenario="costs"`` rows use its delay with ``cost_multiplier=value``. Other arguments as in
    :func:`~workbench.evaluation.backtest_top_k`; identical scenarios are run once.
    """
    _check_grid(tuple(delays), tuple(cost_multipliers))
    if not isinstance(execution, Execution):
        raise TypeError(f"execution must be a workbench.evaluation.Execution, got {type(execution).__name__}")
    market = as_market_prices(prices)
    runs: dict[Execution, BacktestResult] = {}
    rows = []
    grid = [("delay", d, _scenario_execution(execution, delay=int(d))) for d in delays]
    grid += [("costs", m, _scenario_execution(execution, multiplier=float(m))) for m in cost_multipliers]
    for scenario, value, setting in grid:
        if setting not in runs:
            runs[setting] = backtest_top_k(frame, prices=market, k=k, horizon_bars=horizon_bars,
                                           long_short=long_short, execution=setting, signal=signal,
                                           flatten_at_close=flatten_at_close, periods_per_year=periods_per_year)
        result = runs[setting]
        rows.append({"scenario": scenario, "value": float(value), "fill": _fill_label(setting),
                     "sharpe": result.sharpe, "gross_sharpe": result.gross_sharpe,
                     "mean_trade_bps": result.mean_trade_return * 1e4,
                     "gross_mean_trade_bps": result.gross_mean_trade_return * 1e4,
                     "total_return": result.total_return})
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def sensitivity_figure(table: pd.DataFrame, *, title: str = "Alpha decay and cost sensitivity") -> go.Figure:
    """Two panels from :func:`execution_sensitivity`'s table: net Sharpe (left axis) and net mean return per
    trade in bps (right axis) against the delay in bars, and against the multiple of the configured costs."""
    missing = [c for c in ("scenario", "value", "sharpe", "mean_trade_bps") if c not in getattr(table, "columns", [])]
    if not isinstance(table, pd.DataFrame) or missing:
        raise ValueError(f"table must be execution_sensitivity's DataFrame; missing column(s) {missing}")
    fig = make_subplots(rows=1, cols=2, specs=[[{"secondary_y": True}, {"secondary_y": True}]],
                        subplot_titles=("vs delay (bars)", "vs cost multiple"))
    for col, (scenario, axis) in enumerate([("delay", "delay (bars)"), ("costs", "cost multiple")], start=1):
        part = table[table["scenario"] == scenario].sort_values("value")
        first = col == 1
        fig.add_trace(go.Scatter(x=part["value"], y=part["sharpe"], mode="lines+markers", name="net Sharpe",
                                 line={"color": "#1f77b4"}, legendgroup="sharpe", showlegend=first),
                      row=1, col=col, secondary_y=False)
        fig.add_trace(go.Scatter(x=part["value"], y=part["mean_trade_bps"], mode="lines+markers",
                                 name="mean trade (bps)", line={"color": "#ff7f0e", "dash": "dash"},
                                 legendgroup="trade", showlegend=first), row=1, col=col, secondary_y=True)
        fig.update_xaxes(title_text=axis, row=1, col=col)
        fig.update_yaxes(title_text="net Sharpe", row=1, col=col, secondary_y=False)
        fig.update_yaxes(title_text="mean trade (bps)", row=1, col=col, secondary_y=True)
    fig.update_layout(title=title, template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig
