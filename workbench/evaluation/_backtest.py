"""Top-k backtest of a prediction panel with overlapping holding cohorts, accounted by vectorbt.

Construction of :func:`backtest_top_k` (``H = horizon_bars``, bars are the rows of ``close``):

* At each bar t with predictions, a cohort is opened: the k names with the highest signal, equal weight
  ``1/k`` (and, with ``long_short``, the k lowest at ``-1/k``). Only names with a prediction and a price at
  the execution bar are eligible; ties go to the name that comes first in ``close``'s columns. A bar with
  fewer than k (2k for long-short) eligible names opens no cohort and its sleeve stays in cash.
* Capital is split into H sleeves; a cohort lives for H bars (opened at bar t, closed at bar t + H), so the
  book's target weight is the sum of the live cohorts' weights divided by H. Long-short books scale both
  legs by 1/2 so that gross exposure is 1 (net 0), like the long-only book's.
* Every bar the whole book is rebalanced to that target at the bar's close (vectorbt ``from_orders`` with
  ``targetpercent`` sizes valued at the bar's close, one cash-sharing group), so weights do not drift within
  a cohort's life: the Jegadeesh-Titman overlapping portfolio as a rebalancing schedule. The first H - 1 bars
  ramp up (part of the capital in cash); after the last cohort expires the book is flat. ``delay_bars``
  shifts every trade later by that many bars (0: trade at the close the prediction was made at). With
  ``flatten_at_close`` a cohort also expires at its NYSE session's last bar, so the book is flat at every
  close and never carries the overnight gap (as intraday labels capped at the close assume).
* Orders within a bar go smallest value first (vectorbt ``call_seq="auto"``: sells, then buys). There is no
  borrowing: when costs leave a fully invested long-only book short of cash, the last buy is filled in part,
  so costs come out of invested capital. Short sales fund their own collateral, so long-short books fill fully.
* Costs: ``fees_bps`` of the traded value plus ``slippage_bps`` on the fill price, both per unit traded, on
  every buy and sell. The gross run is the same schedule with zero costs.
* A missing bar (NaN close) makes a name ineligible for a new cohort at that bar; a name already held is
  valued and rebalanced at its last price.

Sharpe is ``mean / std`` (ddof 1) of per-bar simple returns times ``sqrt(periods_per_year)``, by default
``252 * 390`` minute bars a year; the overnight gap counts as one bar (its return runs from the last close of
one session to the first bar's close of the next), the usual convention for intraday books. vectorbt's own
ratios assume a 365-day year; they are not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.data import EXCHANGE_TZ
from workbench.data._calendar import session_index
from workbench.errors import DataValidationError
from workbench.evaluation._inputs import check_unique_keys, float_column, require_panel

if TYPE_CHECKING:
    import vectorbt as vbt

#: regular-session minutes in a trading year: 252 sessions of 390 minutes
MINUTES_PER_YEAR = 252 * 390
_INIT_CASH = 1_000_000.0  # vectorbt works in currency; results are reported per unit of starting capital


def sharpe_ratio(returns: pd.Series | np.ndarray, periods_per_year: float = MINUTES_PER_YEAR) -> float:
    """Annualised Sharpe ratio of per-period simple returns (risk-free 0): ``mean / std * sqrt(periods_per_year)``.

    ``std`` uses ddof 1; a constant series has no defined ratio (NaN).
    """
    values = np.asarray(returns, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return np.nan
    std = values.std(ddof=1)
    return float(values.mean() / std * math.sqrt(periods_per_year)) if std > 0 else np.nan


def max_drawdown(equity: pd.Series | np.ndarray) -> float:
    """Largest fall from a running peak as a (negative) fraction; the starting capital 1.0 counts as a peak."""
    values = np.asarray(equity, dtype=np.float64)
    peaks = np.maximum.accumulate(np.concatenate([[1.0], values]))[1:]
    return float(np.min(values / peaks - 1.0, initial=0.0))


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """A backtest's equity (per unit of starting capital), net and gross of costs, and its summary metrics.

    ``weights`` are the target weights sent to vectorbt (NaN: no order that bar). ``turnover`` is the mean over
    bars of traded value (buys plus sells, at the close) divided by the book's value, so costs per bar are
    about ``turnover * (fees + slippage)``. ``n_trades`` counts positions opened and closed (round trips),
    ``n_orders`` every fill including the small rebalancing ones. ``costs`` is fees plus slippage paid, per
    unit of starting capital. ``portfolio`` is the net vectorbt Portfolio for further analysis.
    """

    equity: pd.Series = field(repr=False)
    returns: pd.Series = field(repr=False)
    gross_equity: pd.Series = field(repr=False)
    gross_returns: pd.Series = field(repr=False)
    weights: pd.DataFrame = field(repr=False)
    turnover: float
    n_trades: int
    n_orders: int
    costs: float
    periods_per_year: float
    portfolio: vbt.Portfolio = field(repr=False)

    @property
    def total_return(self) -> float:
        """Net return over the whole backtest."""
        return float(self.equity.iloc[-1] - 1.0)

    @property
    def gross_total_return(self) -> float:
        """Return over the whole backtest before costs."""
        return float(self.gross_equity.iloc[-1] - 1.0)

    @property
    def sharpe(self) -> float:
        """Annualised net Sharpe ratio (see :func:`sharpe_ratio`)."""
        return sharpe_ratio(self.returns, self.periods_per_year)

    @property
    def gross_sharpe(self) -> float:
        """Annualised Sharpe ratio before costs."""
        return sharpe_ratio(self.gross_returns, self.periods_per_year)

    @property
    def max_drawdown(self) -> float:
        """Net maximum drawdown, a negative fraction (see :func:`max_drawdown`)."""
        return max_drawdown(self.equity)

    def summary(self) -> pd.Series:
        """The scalar metrics as one Series."""
        return pd.Series({"total_return": self.total_return, "gross_total_return": self.gross_total_return,
                          "sharpe": self.sharpe, "gross_sharpe": self.gross_sharpe,
                          "max_drawdown": self.max_drawdown, "turnover": self.turnover, "n_trades": self.n_trades,
                          "n_orders": self.n_orders, "costs": self.costs, "n_bars": len(self.equity)},
                         name="backtest")


def _check_close(close: object, what: str) -> None:
    """Raise unless ``close`` is indexed by increasing, unique, timezone-aware bar times with positive prices."""
    if not isinstance(close, pd.DataFrame | pd.Series):
        raise TypeError(f"{what} must be a pandas DataFrame (index ts, one column per ticker) or Series, "
                        f"got {type(close).__name__}")
    index = close.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataValidationError(f"{what} must be indexed by timezone-aware bar times (UTC bar ends), got "
                                  f"{type(index).__name__} {getattr(index, 'dtype', '')}")
    if len(index) < 2:
        raise DataValidationError(f"{what} has {len(index)} bar(s); a backtest needs at least 2")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataValidationError(f"{what}'s index must be increasing with no repeated bar time; sort it and "
                                  f"drop duplicates")
    dtypes = [close.dtype] if isinstance(close, pd.Series) else list(close.dtypes)
    if not all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in dtypes):
        raise DataValidationError(f"{what} must hold numeric prices, got dtype(s) {sorted({str(d) for d in dtypes})}")
    values = close.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isnan(values) & ~(values > 0) | np.isinf(values)
    if bad.any():
        raise DataValidationError(f"{what} has {int(bad.sum())} non-positive or infinite price(s); prices must "
                                  f"be positive (NaN marks a missing bar)")


def _check_costs(fees_bps: float, slippage_bps: float, periods_per_year: float) -> None:
    """Raise a ValueError for negative costs or a non-positive annualisation factor."""
    if fees_bps < 0 or slippage_bps < 0:
        raise ValueError(f"fees_bps and slippage_bps must be >= 0, got {fees_bps} and {slippage_bps}")
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")


def _bar_freq(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The typical spacing of the bars (vectorbt wants a frequency for its index)."""
    if len(index) < 2:
        return pd.Timedelta(minutes=1)
    return pd.Timedelta(int(np.median(np.diff(index.as_unit("ns").asi8))), unit="ns")


def _cohorts(scores: np.ndarray, k: int, long_short: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per bar, +1 for the top-k names, -1 for the bottom k (long-short), 0 otherwise; and which bars opened one.

    ``scores`` is bars x names with NaN for ineligible names. Ties keep column order (stable sort).
    """
    eligible = (~np.isnan(scores)).sum(axis=1)
    opened = eligible >= (2 * k if long_short else k)
    members = np.zeros(scores.shape, dtype=np.int64)
    rows = np.flatnonzero(opened)
    if len(rows) == 0:
        return members, opened
    order = np.argsort(-scores[rows], axis=1, kind="stable")  # NaN sorts last
    members[rows[:, None], order[:, :k]] = 1
    if long_short:
        last = eligible[rows, None] - k + np.arange(k)
        members[rows[:, None], np.take_along_axis(order, last, axis=1)] = -1
    return members, opened


def _run(close: pd.DataFrame, size: pd.DataFrame, fees: float, slippage: float,
         direction: str) -> vbt.Portfolio:
    """vectorbt accounting of target-percent orders in one cash-sharing group, sells before buys."""
    import vectorbt as vbt  # imported on first use: it takes seconds, and the metrics above do not need it

    return vbt.Portfolio.from_orders(close=close, size=size, size_type="targetpercent", direction=direction,
                                     fees=fees, slippage=slippage, cash_sharing=True, group_by=True,
                                     call_seq="auto", init_cash=_INIT_CASH, freq=_bar_freq(close.index))


def _result(close: pd.DataFrame, size: pd.DataFrame, fees_bps: float, slippage_bps: float, direction: str,
            periods_per_year: float) -> BacktestResult:
    """Run the schedule net and gross of costs and collect the metrics."""
    priced = close.ffill()  # a missing bar is valued (and a held name rebalanced) at its last price
    net = _run(priced, size, fees_bps * 1e-4, slippage_bps * 1e-4, direction)
    gross = _run(priced, size, 0.0, 0.0, direction)
    value = net.value()
    orders = net.orders.values
    at_close = priced.to_numpy()[orders["idx"], orders["col"]]
    traded = np.bincount(orders["idx"], weights=orders["size"] * at_close, minlength=len(priced))
    costs = orders["fees"].sum() + (orders["size"] * np.abs(orders["price"] - at_close)).sum()
    return BacktestResult(
        equity=(value / _INIT_CASH).rename("equity"), returns=net.returns().rename("returns"),
        gross_equity=(gross.value() / _INIT_CASH).rename("gross_equity"),
        gross_returns=gross.returns().rename("gross_returns"), weights=size,
        turnover=float(np.mean(traded / value.to_numpy())), n_trades=int(len(net.positions.values)),
        n_orders=len(orders), costs=float(costs / _INIT_CASH), periods_per_year=float(periods_per_year),
        portfolio=net)


def _session_last_rows(index: pd.DatetimeIndex) -> np.ndarray:
    """For each bar, the row of the last bar of its NYSE session in ``index`` (bars must be in sessions)."""
    session = session_index().locate(index.tz_convert("UTC").as_unit("ns").asi8)
    if (session < 0).any():
        raise DataValidationError(f"flatten_at_close needs bars inside NYSE sessions; {index[session < 0][0]} "
                                  "is not")
    last = np.flatnonzero(np.r_[session[1:] != session[:-1], True])
    return last[np.searchsorted(last, np.arange(len(index)))]


def backtest_top_k(frame: pd.DataFrame, *, close: pd.DataFrame, k: int, horizon_bars: int,
                   long_short: bool = False, fees_bps: float = 1.0, slippage_bps: float = 1.0,
                   signal: str = "p", delay_bars: int = 0, flatten_at_close: bool = False,
                   periods_per_year: float = MINUTES_PER_YEAR) -> BacktestResult:
    """Trade the top-k names by ``signal`` every bar, each cohort held ``horizon_bars`` bars (module docstring).

    ``frame`` has one row per (ts, ticker) with the signal; ``close`` is wide (index ts, one column per
    ticker) and holds the prices traded at. A cohort formed at bar t trades at the close of bar
    t + ``delay_bars`` (0: at the close the prediction was made, matching a label that starts there).
    Costs default to 1 bp fees plus 1 bp slippage per unit traded. k above the universe is an error.
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not isinstance(horizon_bars, int | np.integer) or horizon_bars < 1:
        raise ValueError(f"horizon_bars must be a positive integer, got {horizon_bars!r}")
    if not isinstance(delay_bars, int | np.integer) or delay_bars < 0:
        raise ValueError(f"delay_bars must be a non-negative integer, got {delay_bars!r}")
    _check_costs(fees_bps, slippage_bps, periods_per_year)
    panel = require_panel(frame, ["ts", "ticker", signal], "frame")
    if not isinstance(close, pd.DataFrame):
        raise TypeError(f"close must be a wide pandas DataFrame (index ts, one column per ticker), got "
                        f"{type(close).__name__}")
    _check_close(close, "close")
    if not isinstance(panel["ts"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"frame 'ts' must be timezone-aware timestamps (UTC bar ends), got dtype "
                                  f"{panel['ts'].dtype}")
    check_unique_keys(panel, "ts", "frame")
    scores_flat = float_column(panel, signal, "frame", keys=["ts", "ticker"], allow_nan=False)
    row = close.index.get_indexer(panel["ts"])
    if (row < 0).any():
        first = panel["ts"].iloc[int(np.flatnonzero(row < 0)[0])]
        raise DataValidationError(f"{int((row < 0).sum())} prediction(s) at bar times missing from close's "
                                  f"index, first {first}; close must hold every bar of the panel")
    unknown = sorted(set(panel["ticker"].unique()) - set(close.columns))
    if unknown:
        raise DataValidationError(f"{len(unknown)} ticker(s) in frame have no close column, e.g. {unknown[:5]}")
    present = set(panel["ticker"].unique())
    universe = [c for c in close.columns if c in present]
    legs = 2 if long_short else 1
    need = legs * k
    if need > len(universe):
        raise ValueError(f"k={k} needs {need} names{' (long and short legs)' if long_short else ''} but the "
                         f"panel has {len(universe)} ticker(s); choose k <= {len(universe) // legs}")
    prices = close[universe]
    col = pd.Index(universe).get_indexer(panel["ticker"])
    n_bars = len(prices)
    scores = np.full((n_bars, len(universe)), np.nan)
    traded_row = row + delay_bars
    inside = traded_row < n_bars
    scores[traded_row[inside], col[inside]] = scores_flat[inside]
    scores[np.isnan(prices.to_numpy(dtype=np.float64, na_value=np.nan))] = np.nan  # no bar, no trade
    members, opened = _cohorts(scores, k, long_short)
    if not opened.any():
        raise DataValidationError(f"no bar has {need} names with a prediction and a price to trade at; "
                                  f"check the panel against close or lower k")
    expiry = np.arange(n_bars) + horizon_bars  # a cohort opened at bar t is gone from bar expiry[t] on
    if flatten_at_close:
        expiry = np.minimum(expiry, _session_last_rows(prices.index))
    change = members.astype(np.float64)
    np.subtract.at(change, np.minimum(expiry, n_bars - 1), np.where((expiry < n_bars)[:, None], members, 0.0))
    live = np.cumsum(change, axis=0)
    target = live / (k * horizon_bars) * (0.5 if long_short else 1.0)
    held_before = np.vstack([np.zeros((1, target.shape[1])), target[:-1]])
    target[(target == 0) & (held_before == 0)] = np.nan  # no position and none wanted: no order
    first_bar = int(np.flatnonzero(opened)[0])
    last_bar = min(n_bars - 1, int(np.flatnonzero(opened)[-1]) + horizon_bars)
    span = slice(first_bar, last_bar + 1)
    size = pd.DataFrame(target[span], index=prices.index[span], columns=prices.columns)
    return _result(prices.iloc[span], size, fees_bps, slippage_bps, "both" if long_short else "longonly",
                   periods_per_year)


def buy_and_hold(close: pd.Series, *, fees_bps: float = 1.0, slippage_bps: float = 1.0,
                 periods_per_year: float = MINUTES_PER_YEAR) -> BacktestResult:
    """Buy ``close`` (e.g. the index) with all capital at its first bar and hold: the benchmark, same metrics.

    Slice ``close`` to the strategy's bars (``close.loc[result.equity.index]``) to compare like with like.
    """
    if not isinstance(close, pd.Series):
        raise TypeError(f"close must be a pandas Series of one instrument's prices, got {type(close).__name__}")
    _check_costs(fees_bps, slippage_bps, periods_per_year)
    _check_close(close, "close")
    prices = close.to_frame(close.name if close.name is not None else "close")
    if np.isnan(prices.iloc[0, 0]):
        raise DataValidationError("close has no price at its first bar; drop the leading NaN bars")
    size = pd.DataFrame(np.nan, index=prices.index, columns=prices.columns)
    size.iloc[0, 0] = 1.0
    return _result(prices, size, fees_bps, slippage_bps, "longonly", periods_per_year)


def _session_gaps(index: pd.DatetimeIndex) -> list[dict[str, list[pd.Timestamp]]]:
    """Plotly range breaks hiding the gaps (overnight, weekends) longer than ten typical bar spacings."""
    if len(index) < 3:
        return []
    spacing = np.diff(index.asi8)
    gaps = np.flatnonzero(spacing > 10 * np.median(spacing))
    return [{"bounds": [index[i] + (index[i + 1] - index[i]) / 100, index[i + 1] - (index[i + 1] - index[i]) / 100]}
            for i in gaps]


def equity_figure(results: dict[str, BacktestResult], *, gross: bool = False,
                  title: str = "Equity (per unit of capital)") -> go.Figure:
    """Equity curves of several backtests (strategy, baseline model, buy-and-hold, ...) over their drawdowns.

    Times are shown in exchange time with overnight gaps hidden; ``gross=True`` adds dashed gross-of-cost
    curves.
    """
    if not results:
        raise ValueError("results is empty: pass {name: BacktestResult}")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    local = {name: r.equity.index.tz_convert(EXCHANGE_TZ).tz_localize(None) for name, r in results.items()}
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for i, (name, result) in enumerate(results.items()):
        color, x = palette[i % len(palette)], local[name]
        fig.add_trace(go.Scatter(x=x, y=result.equity.to_numpy(), name=f"{name} (Sharpe {result.sharpe:.2f})",
                                 line={"color": color}, legendgroup=name), row=1, col=1)
        if gross:
            fig.add_trace(go.Scatter(x=x, y=result.gross_equity.to_numpy(), name=f"{name} gross",
                                     line={"color": color, "dash": "dash"}, legendgroup=name), row=1, col=1)
        peaks = np.maximum.accumulate(np.concatenate([[1.0], result.equity.to_numpy()]))[1:]
        fig.add_trace(go.Scatter(x=x, y=result.equity.to_numpy() / peaks - 1.0, name=f"{name} drawdown",
                                 line={"color": color, "width": 1}, legendgroup=name, showlegend=False),
                      row=2, col=1)
    union = pd.DatetimeIndex(np.unique(np.concatenate([x.to_numpy() for x in local.values()])))
    fig.update_xaxes(rangebreaks=_session_gaps(union))
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".1%", row=2, col=1)
    fig.update_layout(title=title, template="plotly_white", hovermode="x unified",
                      legend={"orientation": "h", "y": -0.15})
    return fig
