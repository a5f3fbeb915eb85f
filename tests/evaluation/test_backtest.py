"""Top-k backtest: the cohort schedule and vectorbt's accounting against a plain loop, the metrics against their
formulas, and the honesty of the construction on noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import vectorbt as vbt
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data import bar_times, sessions
from workbench.errors import DataValidationError
from workbench.evaluation import (
    MINUTES_PER_YEAR,
    backtest_top_k,
    buy_and_hold,
    equity_figure,
    max_drawdown,
    sharpe_ratio,
)

START = pd.Timestamp("2024-11-25 14:31", tz="UTC")
HAND_CLOSE = pd.DataFrame(
    {"A": [10, 11, 12, 11, 10, 10.5, 11, 12], "B": [20, 19, 21, 22, 21, 20, 20.5, 21],
     "C": [5, 5.5, 5, 5.2, 5.4, 5.0, 5.1, 5.3]},
    index=pd.date_range(START, periods=8, freq="1min"))
# signals at bars 0..4; bar 3 ties A and B at the top (A, the first column, wins)
HAND_SIGNAL = {"A": [0.9, 0.2, 0.6, 0.5, 0.1], "B": [0.1, 0.8, 0.3, 0.5, 0.2], "C": [0.5, 0.5, 0.7, 0.1, 0.3]}


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame([(HAND_CLOSE.index[t], name, values[t]) for name, values in HAND_SIGNAL.items()
                         for t in range(5)], columns=["ts", "ticker", "p"])


def reference_targets(frame: pd.DataFrame, close: pd.DataFrame, k: int, horizon: int, long_short: bool,
                      delay: int) -> tuple[np.ndarray, int, int]:
    """The schedule by loops: per signal bar sort the eligible names, then add each cohort to the H bars it lives.
    Returns bars x names target weights over the traded span and the span's first and last bar."""
    bars = list(close.index)
    names = [c for c in close.columns if c in set(frame["ticker"])]
    cohorts = {}
    for ts, minute in frame.groupby("ts"):
        r = bars.index(ts) + delay
        if r >= len(bars):
            continue
        eligible = [(row.p, names.index(row.ticker)) for row in minute.itertuples()
                    if not np.isnan(close.iloc[r][row.ticker])]
        if len(eligible) < (2 * k if long_short else k):
            continue
        ranked = sorted(eligible, key=lambda e: (-e[0], e[1]))
        members = {j: 1 for _, j in ranked[:k]}
        if long_short:
            members.update({j: -1 for _, j in ranked[-k:]})
        cohorts[r] = members
    scale = (0.5 if long_short else 1.0) / (k * horizon)
    weights = np.zeros((len(bars), len(names)))
    for r, members in cohorts.items():
        for t in range(r, min(r + horizon, len(bars))):
            for j, side in members.items():
                weights[t, j] += side * scale
    first, last = min(cohorts), min(len(bars) - 1, max(cohorts) + horizon)
    return weights[first:last + 1], first, last


def reference_pnl(close: np.ndarray, weights: np.ndarray, fee: float, slip: float) -> tuple[np.ndarray, float]:
    """Equity per bar of rebalancing to ``weights`` at each close, starting from 1; and the mean traded value
    (at the close) / equity per bar. Fills are at close * (1 +- slip) plus ``fee`` of the filled value. Orders
    go smallest value first (sells, then buys, the biggest last) and a buy is cut to the cash left: no borrowing.
    """
    cash, shares = 1.0, np.zeros(close.shape[1])
    equity, turnover = [], []
    for price, weight in zip(close, weights, strict=True):
        held = shares != 0
        value = cash + shares[held] @ price[held]
        target = np.zeros_like(shares)
        wanted = weight != 0
        target[wanted] = weight[wanted] * value / price[wanted]
        delta = target - shares
        moved = np.flatnonzero(delta != 0)
        traded = 0.0
        order_value = weight * value - shares * np.nan_to_num(price)  # target value - held value
        for j in moved[np.argsort(order_value[moved], kind="stable")]:
            fill = price[j] * (1 + slip * np.sign(delta[j]))
            size = min(delta[j], cash / (fill * (1 + fee))) if delta[j] > 0 else delta[j]
            cash -= size * fill + fee * abs(size) * fill
            shares[j] += size
            traded += abs(size) * price[j]
        held = shares != 0
        equity.append(cash + shares[held] @ price[held])
        turnover.append(traded / equity[-1])
    return np.array(equity), float(np.mean(turnover))


def test_hand_example_schedule() -> None:
    """k=1, H=2, long-only: each cohort holds half the capital for two bars, then the book goes flat."""
    result = backtest_top_k(hand_frame(), close=HAND_CLOSE, k=1, horizon_bars=2, fees_bps=0, slippage_bps=0)
    expected = pd.DataFrame({"A": [0.5, 0.5, 0, 0.5, 0.5, 0, np.nan], "B": [np.nan, 0.5, 0.5, 0, np.nan, np.nan,
                                                                             np.nan],
                             "C": [np.nan, np.nan, 0.5, 0.5, 0.5, 0.5, 0]}, index=HAND_CLOSE.index[:7])
    pd.testing.assert_frame_equal(result.weights, expected, check_freq=False)
    long_short = backtest_top_k(hand_frame(), close=HAND_CLOSE, k=1, horizon_bars=2, long_short=True)
    np.testing.assert_allclose(long_short.weights.fillna(0.0).to_numpy(), [
        [0.25, -0.25, 0], [0, 0, 0], [-0.25, 0, 0.25], [0.25, -0.25, 0], [0, 0, 0], [-0.25, 0, 0.25], [0, 0, 0]])


@pytest.mark.parametrize("long_short", [False, True])
def test_hand_example_pnl_equals_loop(long_short: bool) -> None:
    weights, first, last = reference_targets(hand_frame(), HAND_CLOSE, 1, 2, long_short, 0)
    prices = HAND_CLOSE.to_numpy()[first:last + 1]
    result = backtest_top_k(hand_frame(), close=HAND_CLOSE, k=1, horizon_bars=2, long_short=long_short,
                            fees_bps=5, slippage_bps=3)
    gross, _ = reference_pnl(prices, weights, 0.0, 0.0)
    net, turnover = reference_pnl(prices, weights, 5e-4, 3e-4)
    np.testing.assert_allclose(result.gross_equity.to_numpy(), gross, rtol=1e-12)
    np.testing.assert_allclose(result.equity.to_numpy(), net, rtol=1e-12)
    assert result.turnover == pytest.approx(turnover, rel=1e-12)
    assert result.returns.iloc[0] == pytest.approx(result.equity.iloc[0] - 1.0)
    np.testing.assert_allclose(result.returns.iloc[1:], result.equity.pct_change().iloc[1:], rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100_000), n_bars=st.integers(3, 25), n_names=st.integers(2, 6), k=st.integers(1, 3),
       horizon=st.integers(1, 4), long_short=st.booleans(), delay=st.integers(0, 2), costs=st.booleans())
def test_schedule_and_pnl_equal_loops(seed: int, n_bars: int, n_names: int, k: int, horizon: int,
                                      long_short: bool, delay: int, costs: bool) -> None:
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=n_bars, freq="1min")
    close = pd.DataFrame(np.exp(rng.normal(0, 0.01, (n_bars, n_names)).cumsum(axis=0)) * 50, index=index,
                         columns=[f"N{j}" for j in range(n_names)])
    close[close.columns[-1]] = close[close.columns[-1]].mask(rng.random(n_bars) < 0.2)  # missing bars
    rows = [(ts, name, round(rng.random(), 1)) for ts in index if rng.random() < 0.8 for name in close.columns
            if rng.random() < 0.9]
    frame = pd.DataFrame(rows, columns=["ts", "ticker", "p"])
    need = 2 * k if long_short else k
    fees, slip = (4.0, 2.0) if costs else (0.0, 0.0)
    try:
        weights, first, last = reference_targets(frame, close, k, horizon, long_short, delay)
    except ValueError:  # no cohort could open: the function must say so
        with pytest.raises((DataValidationError, ValueError)):
            backtest_top_k(frame, close=close, k=k, horizon_bars=horizon, long_short=long_short, delay_bars=delay)
        return
    if need > frame["ticker"].nunique():
        return
    result = backtest_top_k(frame, close=close, k=k, horizon_bars=horizon, long_short=long_short,
                            delay_bars=delay, fees_bps=fees, slippage_bps=slip)
    assert result.equity.index.equals(index[first:last + 1])
    np.testing.assert_array_equal(result.weights.fillna(0.0).to_numpy(), weights)
    traded = [c for c in close.columns if c in set(frame["ticker"])]  # names without a prediction are left out
    prices = close[traded].ffill().to_numpy()[first:last + 1]
    net, turnover = reference_pnl(prices, weights, fees * 1e-4, slip * 1e-4)
    gross, _ = reference_pnl(prices, weights, 0.0, 0.0)
    np.testing.assert_allclose(result.gross_equity.to_numpy(), gross, rtol=1e-10)
    np.testing.assert_allclose(result.equity.to_numpy(), net, rtol=1e-10)
    assert result.turnover == pytest.approx(turnover, rel=1e-10, abs=1e-15)


def test_sharpe_is_annualised_for_minutes() -> None:
    frame, close = noise_market(0, n_sessions=1)
    result = backtest_top_k(frame, close=close, k=5, horizon_bars=5, fees_bps=0, slippage_bps=0)
    r = result.returns.to_numpy()
    assert MINUTES_PER_YEAR == 98_280
    assert result.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252 * 390))
    assert result.sharpe == pytest.approx(result.gross_sharpe)
    by_vectorbt = result.returns.vbt.returns(freq="1min", year_freq=pd.Timedelta(minutes=252 * 390)).sharpe_ratio()
    assert result.sharpe == pytest.approx(by_vectorbt)
    assert vbt.settings.returns["year_freq"] == "365 days"  # vectorbt's default would inflate it sqrt(365*1440/98280)
    daily = r.mean() / r.std(ddof=1) * math.sqrt(252)
    assert sharpe_ratio(result.returns, periods_per_year=252) == pytest.approx(daily)
    assert np.isnan(sharpe_ratio(np.zeros(10)))


def test_max_drawdown_equals_loop() -> None:
    equity = np.array([1.02, 0.99, 1.05, 0.97, 1.01, 0.94, 1.10])
    worst, peak = 0.0, 1.0
    for value in equity:
        peak = max(peak, value)
        worst = min(worst, value / peak - 1)
    assert max_drawdown(equity) == pytest.approx(worst) == pytest.approx(0.94 / 1.05 - 1)
    assert max_drawdown(np.array([0.98, 1.0])) == pytest.approx(-0.02)  # below the starting capital counts


def noise_market(seed: int, n_sessions: int = 2, n_names: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random-walk prices on real NYSE minute bars (overnight gaps included) and a signal unrelated to them."""
    rng = np.random.default_rng(seed)
    days = sessions("2024-12-02", "2024-12-31").iloc[:n_sessions]
    index = bar_times(days["open"].iloc[0], days["close"].iloc[0])
    for _, day in days.iloc[1:].iterrows():
        index = index.append(bar_times(day["open"], day["close"]))
    names = [f"S{j:02d}" for j in range(n_names)]
    close = pd.DataFrame(100 * np.exp(rng.normal(0, 1e-3, (len(index), n_names)).cumsum(axis=0)), index=index,
                         columns=names)
    frame = pd.DataFrame({"ts": np.repeat(index, n_names), "ticker": np.tile(names, len(index)),
                          "p": rng.random(len(index) * n_names)})
    return frame, close


@pytest.mark.parametrize(("seed", "long_short"), [(0, False), (1, False), (2, True), (3, True)])
def test_noise_has_no_edge_and_costs_only_hurt(seed: int, long_short: bool) -> None:
    """Random signal, random-walk prices: no meaningful Sharpe gross (|t| < 3), none net, and net < gross."""
    frame, close = noise_market(seed)
    result = backtest_top_k(frame, close=close, k=5, horizon_bars=10, long_short=long_short, fees_bps=1,
                            slippage_bps=1)
    n = len(result.returns)
    t_gross = result.gross_sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(n)
    t_net = result.sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(n)
    assert abs(t_gross) < 3
    assert t_net < 2
    assert result.total_return < result.gross_total_return
    assert result.costs > 0
    assert result.turnover == pytest.approx(0.2, abs=0.05)  # 1/H of the book replaced: sells + buys


def test_foresight_pays_only_without_delay() -> None:
    """A signal equal to the next bar's return must win big at delay 0 (the trade earns exactly that return) and
    be noise at delay 1: the timing is as documented, no look-ahead and no lost bar."""
    frame, close = noise_market(4, n_sessions=1)
    future = close.pct_change().shift(-1).stack().rename("p").reset_index()
    future.columns = ["ts", "ticker", "p"]
    future = future.dropna()
    fast = backtest_top_k(future, close=close, k=3, horizon_bars=1, fees_bps=0, slippage_bps=0)
    late = backtest_top_k(future, close=close, k=3, horizon_bars=1, fees_bps=0, slippage_bps=0, delay_bars=1)
    assert fast.total_return > 0.3
    assert fast.sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(len(fast.returns)) > 10
    assert abs(late.gross_sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(len(late.returns))) < 3


def test_missing_price_makes_a_name_ineligible() -> None:
    close = HAND_CLOSE.copy()
    close.loc[close.index[0], "A"] = np.nan  # A has the top signal at bar 0 but no bar to trade at
    result = backtest_top_k(hand_frame(), close=close, k=1, horizon_bars=1, fees_bps=0, slippage_bps=0)
    assert result.weights.iloc[0].fillna(0.0).tolist() == [0.0, 0.0, 1.0]  # C, the next best


def test_no_costs_means_net_equals_gross() -> None:
    result = backtest_top_k(hand_frame(), close=HAND_CLOSE, k=2, horizon_bars=3, fees_bps=0, slippage_bps=0)
    pd.testing.assert_series_equal(result.equity, result.gross_equity, check_names=False)
    assert result.costs == 0.0
    assert result.n_trades >= 1 and result.n_orders >= result.n_trades
    assert set(result.summary().index) >= {"sharpe", "gross_sharpe", "max_drawdown", "turnover", "n_trades"}


def test_buy_and_hold_equals_formula() -> None:
    close = HAND_CLOSE["A"]
    free = buy_and_hold(close, fees_bps=0, slippage_bps=0)
    np.testing.assert_allclose(free.equity.to_numpy(), (close / close.iloc[0]).to_numpy(), rtol=1e-12)
    paid = buy_and_hold(close, fees_bps=5, slippage_bps=3)
    np.testing.assert_allclose(paid.equity.to_numpy(), (close / (close.iloc[0] * 1.0003 * 1.0005)).to_numpy(),
                               rtol=1e-12)
    assert paid.n_trades == 1 and paid.turnover == pytest.approx(1 / len(close), rel=1e-3)
    assert paid.sharpe == pytest.approx(sharpe_ratio(paid.returns))
    assert paid.max_drawdown == pytest.approx(max_drawdown(paid.equity))


def test_equity_figure_compares_curves() -> None:
    frame, close = noise_market(5)
    strategy = backtest_top_k(frame, close=close, k=5, horizon_bars=10)
    index = buy_and_hold(close.mean(axis=1).rename("index"))
    fig = equity_figure({"strategy": strategy, "buy & hold": index}, gross=True)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 6  # net, gross, drawdown for each
    np.testing.assert_allclose(fig.data[0].y, strategy.equity.to_numpy())
    assert len(fig.layout.xaxis.rangebreaks) == 1  # the overnight gap is hidden
    assert pd.Timestamp(fig.data[0].x[0]) == pd.Timestamp("2024-12-02 09:31")  # exchange time
    with pytest.raises(ValueError, match="empty"):
        equity_figure({})


def test_bad_input_is_a_clear_error() -> None:
    frame = hand_frame()
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['p'\]"):
        backtest_top_k(frame.drop(columns="p"), close=HAND_CLOSE, k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="'p' has 1 NaN value.*first at ts="):
        backtest_top_k(frame.assign(p=frame["p"].where(frame.index != 2)), close=HAND_CLOSE, k=1, horizon_bars=2)
    with pytest.raises(ValueError, match="k=4 needs 4 names but the panel has 3 ticker"):
        backtest_top_k(frame, close=HAND_CLOSE, k=4, horizon_bars=2)
    with pytest.raises(ValueError, match=r"k=2 needs 4 names \(long and short legs\)"):
        backtest_top_k(frame, close=HAND_CLOSE, k=2, horizon_bars=2, long_short=True)
    with pytest.raises(DataValidationError, match="missing from close's index"):
        backtest_top_k(frame, close=HAND_CLOSE.iloc[2:], k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match=r"no close column, e.g. \['C'\]"):
        backtest_top_k(frame, close=HAND_CLOSE[["A", "B"]], k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="timezone-aware"):
        backtest_top_k(frame.assign(ts=frame["ts"].dt.tz_localize(None)), close=HAND_CLOSE, k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="timezone-aware"):
        backtest_top_k(frame, close=HAND_CLOSE.tz_localize(None), k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="increasing"):
        backtest_top_k(frame, close=HAND_CLOSE.iloc[::-1], k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="numeric prices"):
        backtest_top_k(frame, close=HAND_CLOSE.assign(A="10"), k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="non-positive"):
        backtest_top_k(frame, close=HAND_CLOSE.assign(A=-1.0), k=1, horizon_bars=2)
    with pytest.raises(DataValidationError, match="duplicate"):
        backtest_top_k(pd.concat([frame, frame.iloc[:1]]), close=HAND_CLOSE, k=1, horizon_bars=2)
    with pytest.raises(TypeError, match="wide pandas DataFrame"):
        backtest_top_k(frame, close=HAND_CLOSE["A"], k=1, horizon_bars=2)
    with pytest.raises(TypeError, match="Series"):
        buy_and_hold(HAND_CLOSE)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k must be"), ({"horizon_bars": 0}, "horizon_bars"), ({"delay_bars": -1}, "delay_bars"),
    ({"fees_bps": -1.0}, "fees_bps"), ({"periods_per_year": 0}, "periods_per_year"),
])
def test_bad_parameters_are_value_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backtest_top_k(hand_frame(), close=HAND_CLOSE, **{"k": 1, "horizon_bars": 2, **kwargs})


def test_flatten_at_close_leaves_no_position_overnight() -> None:
    days = sessions("2024-11-25", "2024-11-26")
    index = bar_times(days["open"].iloc[0], days["close"].iloc[0]).append(
        bar_times(days["open"].iloc[1], days["close"].iloc[1]))
    rng = np.random.default_rng(4)
    names = [f"N{k}" for k in range(6)]
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.001, (len(index), 6)), axis=0)), index=index,
                         columns=names)
    frame = pd.DataFrame({"ts": np.repeat(index, 6), "ticker": np.tile(names, len(index)),
                          "p": rng.random(len(index) * 6)})
    kwargs = {"close": close, "k": 2, "horizon_bars": 5, "fees_bps": 0.0, "slippage_bps": 0.0}
    flat = backtest_top_k(frame, flatten_at_close=True, **kwargs)
    held = backtest_top_k(frame, **kwargs)
    positions = flat.portfolio.assets()
    first_close = index[389]
    assert (positions.loc[first_close].abs() < 1e-12).all()  # flat at the first session's close
    assert (held.portfolio.assets().loc[first_close].abs() > 0).any()  # the default carries the gap
    mid = index[100]
    np.testing.assert_allclose(flat.weights.loc[mid].to_numpy(), held.weights.loc[mid].to_numpy())
