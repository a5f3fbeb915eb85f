"""Top-k backtest of a prediction panel with overlapping holding cohorts, accounted by vectorbt.

Construction of :func:`backtest_top_k` (``H = horizon_bars``, ``d = execution.delay_bars``, bars are the rows of
the prices):

* The signal at bar t forms a cohort filled at bar f = t + d (:class:`~workbench.evaluation.Execution`: at bar
  f's open, vwap or close; d = 0 only at the close of t, the idealized reference): the k names with the highest
  signal, equal weight ``1/k`` (and, with ``long_short``, the k lowest at ``-1/k``). Only names with a
  prediction at t and a bar at f are eligible; ties go to the name that comes first in the prices' columns. A
  bar with fewer than k (2k for long-short) eligible names opens no cohort and its sleeve stays in cash.
* Capital is split into H sleeves; a cohort lives for H bars (filled at bar f, exited at bar f + H at the same
  kind of fill price), so the book's target weight is the sum of the live cohorts' weights divided by H.
  Long-short books scale both legs by 1/2 so that gross exposure is 1 (net 0), like the long-only book's.
* Every bar the whole book is rebalanced to that target at the bar's fill price (vectorbt ``from_orders`` with
  ``targetpercent`` sizes, per-element ``price`` and ``fees``, one cash-sharing group, the book valued at the
  fill prices to size the orders), so weights do not drift within a cohort's life: the Jegadeesh-Titman
  overlapping portfolio as a rebalancing schedule. The portfolio is valued at closes. The first H - 1 bars
  ramp up (part of the capital in cash); after the last cohort expires the book is flat.
* With ``flatten_at_close`` a cohort also expires at its NYSE session's last bar (leaving at that bar's fill
  price, so at its close at the latest) and a cohort whose fill bar would be its session's last bar or in a
  later session than its signal is not traded: the book is flat at every close and never carries the overnight
  gap (as intraday labels capped at the close assume).
* Orders within a bar go smallest value first (vectorbt ``call_seq="auto"``: sells, then buys). There is no
  borrowing: when costs leave a fully invested long-only book short of cash, the last buy is filled in part,
  so costs come out of invested capital. Short sales fund their own collateral, so long-short books fill fully.
* Costs: fees + the half spread known before the fill + optional square-root impact, times the cost multiplier
  (:mod:`workbench.evaluation._execution`), as a fraction of every buy's and sell's traded value. The gross run
  is the same schedule at the same fill prices with zero costs.
* A missing bar (NaN close: a halt, an illiquid minute) makes a name ineligible for a new cohort filled at that
  bar, and sends no order for it there: a held name keeps its shares (valued at its last close) and is
  rebalanced, or leaves, at its next bar, so no fill is ever at a stale price (a position due to leave at a
  session's last bar the name does not trade in is carried to the name's next bar). With impact on, a name with
  no earlier bar to measure the impact from (the first bar of the prices) is not eligible either.

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
from workbench.errors import DataValidationError
from workbench.evaluation._execution import (
    DEFAULT_EXECUTION,
    Execution,
    FillCosts,
    MarketPrices,
    as_market_prices,
    fill_costs,
    fill_prices,
    impact_inputs,
    impact_known,
    session_last_rows,
    session_positions,
)
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
    bars of traded value (buys plus sells, at the fill prices) divided by the book's value at the close, so
    costs per bar are about ``turnover`` times the mean cost rate. ``n_trades`` counts positions opened and
    closed (round trips, netted per name by vectorbt), ``n_orders`` every fill including the small rebalancing
    ones. ``costs`` is what the fills paid, per unit of starting capital.

    ``mean_trade_return`` is the mean over every completed (cohort, name) position of ``side * (exit fill /
    entry fill - 1)`` minus the cost rates of its entry and exit bars (each position pays its own way, even where
    the book nets an entry against another cohort's exit; a position whose name has no bar at its exit leaves at
    the name's next bar); ``gross_mean_trade_return`` leaves the costs out; positions still open at the last bar
    are not counted (``n_positions`` are). ``mean_half_spread_bps`` is the
    mean half spread charged per fill (times the cost multiplier) and ``fallback_share`` the share of fills
    priced with the fallback spread. ``portfolio`` is the net vectorbt Portfolio for further analysis.
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
    mean_trade_return: float
    gross_mean_trade_return: float
    n_positions: int
    mean_half_spread_bps: float
    fallback_share: float
    execution: Execution
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

    def fallback_note(self) -> str | None:
        """The report's sentence when some fills had no known quote, e.g. ``no quotes: 100 % of fills used the
        fallback spread (10 bp)``; None when every fill paid a quoted spread."""
        if not self.fallback_share > 0:
            return None
        return (f"no quotes: {100 * self.fallback_share:.0f} % of fills used the fallback spread "
                f"({self.execution.fallback_spread_bps:g} bp)")

    def summary(self) -> pd.Series:
        """The scalar metrics as one Series."""
        return pd.Series({"total_return": self.total_return, "gross_total_return": self.gross_total_return,
                          "sharpe": self.sharpe, "gross_sharpe": self.gross_sharpe,
                          "max_drawdown": self.max_drawdown, "turnover": self.turnover, "n_trades": self.n_trades,
                          "n_orders": self.n_orders, "costs": self.costs,
                          "mean_trade_return": self.mean_trade_return,
                          "gross_mean_trade_return": self.gross_mean_trade_return, "n_positions": self.n_positions,
                          "mean_half_spread_bps": self.mean_half_spread_bps, "fallback_share": self.fallback_share,
                          "n_bars": len(self.equity)}, name="backtest")


def _check_count(name: str, value: object) -> None:
    """Raise a ValueError unless ``value`` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_setup(execution: object, periods_per_year: float) -> None:
    """Raise for a non-Execution ``execution`` or a non-positive annualisation factor."""
    if not isinstance(execution, Execution):
        raise TypeError(f"execution must be a workbench.evaluation.Execution, got {type(execution).__name__}")
    if not periods_per_year > 0:
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


def _reached_before(target: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per bar and name, the target weight reached at the name's last bar before this one (0 before any)."""
    reached = pd.DataFrame(np.where(present, target, np.nan)).ffill().fillna(0.0).to_numpy()
    return np.vstack([np.zeros((1, target.shape[1])), reached[:-1]])


def _next_bar(present: np.ndarray) -> np.ndarray:
    """For each bar and name, the first row at or after it where the name has a bar (``len(present)`` if none)."""
    rows = np.where(present, np.arange(len(present))[:, None], len(present))
    return np.minimum.accumulate(rows[::-1], axis=0)[::-1]


def _positions(members: np.ndarray, expiry: np.ndarray,
               present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (cohort, name) position as its fill row, column and exit row: the cohort's expiry bar, or the name's
    next bar if it has none there (``len(present)``: still open at the end)."""
    rows, cols = np.nonzero(members)
    n_bars = len(present)
    exits = np.full(len(rows), n_bars)
    due = expiry[rows] < n_bars
    exits[due] = _next_bar(present)[expiry[rows][due], cols[due]]
    return rows, cols, exits


def _trade_returns(members: np.ndarray, positions: tuple[np.ndarray, np.ndarray, np.ndarray], fills: np.ndarray,
                   rate: np.ndarray) -> tuple[float, float, int]:
    """Mean net and gross return of the completed positions, and how many positions there are."""
    rows, cols, exits = positions
    done = exits < len(fills)
    if not done.any():
        return np.nan, np.nan, len(rows)
    rows, cols, exits = rows[done], cols[done], exits[done]
    gross = members[rows, cols] * (fills[exits, cols] / fills[rows, cols] - 1.0)
    net = gross - rate[rows, cols] - rate[exits, cols]
    return float(net.mean()), float(gross.mean()), len(done)


def _run(close: pd.DataFrame, price: np.ndarray, fees: np.ndarray | float, size: pd.DataFrame,
         direction: str) -> vbt.Portfolio:
    """vectorbt accounting of target-percent orders at ``price`` in one cash-sharing group, sells before buys."""
    import vectorbt as vbt  # imported on first use: it takes seconds, and the metrics above do not need it

    return vbt.Portfolio.from_orders(close=close, size=size, size_type="targetpercent", direction=direction,
                                     price=price, fees=fees, cash_sharing=True, group_by=True, call_seq="auto",
                                     init_cash=_INIT_CASH, freq=_bar_freq(close.index))


def _result(market: MarketPrices, fills: np.ndarray, costs: FillCosts, target: np.ndarray, span: slice,
            direction: str, trades: tuple[float, float, int], execution: Execution,
            periods_per_year: float) -> BacktestResult:
    """Run the schedule over ``span`` net and gross of costs and collect the metrics."""
    close = market.close.ffill().iloc[span]  # a missing bar is valued at its last close
    size = pd.DataFrame(target[span], index=close.index, columns=close.columns)
    price, paid = fills[span], costs.rows(span)
    net = _run(close, price, paid.rate, size, direction)
    gross = _run(close, price, 0.0, size, direction)
    value = net.value()
    orders = net.orders.values
    traded = np.bincount(orders["idx"], weights=orders["size"] * orders["price"], minlength=len(close))
    half = paid.half_spread[orders["idx"], orders["col"]]
    fallback = paid.fallback[orders["idx"], orders["col"]]
    mean_trade, gross_mean_trade, n_positions = trades
    return BacktestResult(
        equity=(value / _INIT_CASH).rename("equity"), returns=net.returns().rename("returns"),
        gross_equity=(gross.value() / _INIT_CASH).rename("gross_equity"),
        gross_returns=gross.returns().rename("gross_returns"), weights=size,
        turnover=float(np.mean(traded / value.to_numpy())), n_trades=int(len(net.positions.values)),
        n_orders=len(orders), costs=float(orders["fees"].sum() / _INIT_CASH), mean_trade_return=mean_trade,
        gross_mean_trade_return=gross_mean_trade, n_positions=n_positions,
        mean_half_spread_bps=float(half.mean() * 1e4) if len(half) else np.nan,
        fallback_share=float(fallback.mean()) if len(fallback) else np.nan, execution=execution,
        periods_per_year=float(periods_per_year), portfolio=net)


def _align(frame: pd.DataFrame, market: MarketPrices, signal: str, k: int,
           long_short: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Validate the prediction panel against the prices: each prediction's price row and universe column, its
    score, and the universe (the priced names with a prediction, in the prices' column order)."""
    panel = require_panel(frame, ["ts", "ticker", signal], "frame")
    if not isinstance(panel["ts"].dtype, pd.DatetimeTZDtype):
        raise DataValidationError(f"frame 'ts' must be timezone-aware timestamps (UTC bar ends), got dtype "
                                  f"{panel['ts'].dtype}")
    check_unique_keys(panel, "ts", "frame")
    scores = float_column(panel, signal, "frame", keys=["ts", "ticker"], allow_nan=False)
    row = market.index.get_indexer(panel["ts"])
    if (row < 0).any():
        first = panel["ts"].iloc[int(np.flatnonzero(row < 0)[0])]
        raise DataValidationError(f"{int((row < 0).sum())} prediction(s) at bar times missing from the prices' "
                                  f"index, first {first}; prices must hold every bar of the panel")
    named = set(panel["ticker"].unique())
    unknown = sorted(named - set(market.columns))
    if unknown:
        raise DataValidationError(f"{len(unknown)} ticker(s) in frame have no prices column, e.g. {unknown[:5]}")
    universe = [c for c in market.columns if c in named]
    legs = 2 if long_short else 1
    if legs * k > len(universe):
        raise ValueError(f"k={k} needs {legs * k} names{' (long and short legs)' if long_short else ''} but the "
                         f"panel has {len(universe)} ticker(s); choose k <= {len(universe) // legs}")
    return row, pd.Index(universe).get_indexer(panel["ticker"]), scores, universe


def backtest_top_k(frame: pd.DataFrame, *, prices: MarketPrices | pd.DataFrame, k: int, horizon_bars: int,
                   long_short: bool = False, execution: Execution = DEFAULT_EXECUTION, signal: str = "p",
                   flatten_at_close: bool = False, periods_per_year: float = MINUTES_PER_YEAR) -> BacktestResult:
    """Trade the top-k names by ``signal`` every bar, each cohort held ``horizon_bars`` bars (module docstring).

    ``frame`` has one row per (ts, ticker) with the signal; ``prices`` are the bars traded at
    (:class:`MarketPrices`, or a wide close DataFrame: fills at the close and the fallback spread). The cohort
    of bar t is filled at bar t + ``execution.delay_bars`` at ``execution.fill_price`` and pays
    ``execution``'s costs on every fill. k above the universe is an error.
    """
    _check_count("k", k)
    _check_count("horizon_bars", horizon_bars)
    _check_setup(execution, periods_per_year)
    market = as_market_prices(prices)
    market.check_supports(execution)
    row, col, scores_flat, universe = _align(frame, market, signal, k, long_short)
    market = market.select(universe)
    close = market.close.to_numpy(dtype=np.float64)
    n_bars = len(close)
    fill_row = row + execution.delay_bars
    traded = fill_row < n_bars
    expiry = np.arange(n_bars) + horizon_bars  # a cohort filled at bar f is gone from bar expiry[f] on
    if flatten_at_close:
        session = session_positions(market.index, "flatten_at_close")
        last = session_last_rows(session)
        expiry = np.minimum(expiry, last)
        fill = np.minimum(fill_row, n_bars - 1)
        traded &= (session[fill] == session[row]) & (fill < last[fill])  # same session, held at least one bar
    scores = np.full(close.shape, np.nan)
    scores[fill_row[traded], col[traded]] = scores_flat[traded]
    scores[np.isnan(close)] = np.nan  # no bar, no trade
    impact = impact_inputs(market) if execution.impact_coef > 0 else None
    if impact is not None:
        scores[~impact_known(impact)] = np.nan  # an order impact cannot be priced for (no earlier bar) is not sent
    members, opened = _cohorts(scores, k, long_short)
    if not opened.any():
        need = (2 if long_short else 1) * k
        raise DataValidationError(f"no bar has {need} names with a prediction and a bar to fill at "
                                  f"{execution.delay_bars} bar(s) later; check the panel against the prices or "
                                  f"lower k")
    change = members.astype(np.float64)
    np.subtract.at(change, np.minimum(expiry, n_bars - 1), np.where((expiry < n_bars)[:, None], members, 0.0))
    target = np.cumsum(change, axis=0) / (k * horizon_bars) * (0.5 if long_short else 1.0)
    present = ~np.isnan(close)
    before = _reached_before(target, present)
    order_weight = np.where(present, np.abs(target - before), 0.0)  # |change of weight| of each order sent
    target[(target == 0) & (before == 0)] = np.nan  # no position and none wanted: no order
    target[~present] = np.nan  # no bar, no order: a held name keeps its shares until its next bar
    fills = fill_prices(market, execution.fill_price)
    costs = fill_costs(market, execution, order_weight, impact)
    positions = _positions(members, expiry, present)
    trades = _trade_returns(members, positions, fills, costs.rate)
    first_bar = int(np.flatnonzero(opened)[0])
    last_bar = min(n_bars - 1, int(positions[2].max()))  # until the last position has left
    return _result(market, fills, costs, target, slice(first_bar, last_bar + 1),
                   "both" if long_short else "longonly", trades, execution, periods_per_year)


def buy_and_hold(close_or_prices: pd.Series | MarketPrices, *, execution: Execution = DEFAULT_EXECUTION,
                 periods_per_year: float = MINUTES_PER_YEAR) -> BacktestResult:
    """Buy one instrument (e.g. the index) with all capital and hold: the benchmark, same metrics and costs.

    The decision is taken at the first bar and filled ``execution.delay_bars`` bars later at
    ``execution.fill_price``; the equity starts at that fill bar. ``close_or_prices`` is a Series of closes or
    one-column :class:`MarketPrices` (``prices.select([ticker])``). Slice it to the strategy's bars to compare
    like with like.
    """
    _check_setup(execution, periods_per_year)
    if isinstance(close_or_prices, pd.Series):
        market = MarketPrices.from_close(close_or_prices.to_frame(
            close_or_prices.name if close_or_prices.name is not None else "close"))
    elif isinstance(close_or_prices, MarketPrices):
        market = close_or_prices
        if len(market.columns) != 1:
            raise DataValidationError(f"buy_and_hold needs one instrument, got {len(market.columns)} columns; pass "
                                      f"prices.select([ticker])")
    else:
        raise TypeError(f"close_or_prices must be a pandas Series of one instrument's closes or one-column "
                        f"MarketPrices, got {type(close_or_prices).__name__}")
    market.check_supports(execution)
    fill_bar = execution.delay_bars
    n_bars = len(market.index)
    if fill_bar >= n_bars - 1 or np.isnan(market.close.iat[fill_bar, 0]):
        raise DataValidationError(f"buy_and_hold fills at bar {fill_bar} (delay_bars={fill_bar}) and needs a price "
                                  f"there and a bar after it; drop the leading NaN bars or pass more bars")
    target = np.full((n_bars, 1), np.nan)
    target[fill_bar] = 1.0
    order_weight = np.zeros((n_bars, 1))
    order_weight[fill_bar] = 1.0
    fills = fill_prices(market, execution.fill_price)
    costs = fill_costs(market, execution, order_weight)
    return _result(market, fills, costs, target, slice(fill_bar, n_bars), "longonly", (np.nan, np.nan, 0),
                   execution, periods_per_year)


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
