"""Top-k backtest: the cohort schedule, fills and costs, and vectorbt's accounting against plain loops, the metrics
against their formulas, causality of the fills, and the honesty of the construction on noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import vectorbt as vbt
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.evaluation._backtest_reference import (
    START,
    random_bars,
    reference_exit,
    reference_fills,
    reference_half_spread,
    reference_impact_inputs,
    reference_order_weights,
    reference_pnl,
    reference_targets,
    reference_trade_returns,
    session_bars,
)
from workbench.errors import DataValidationError
from workbench.evaluation import (
    IMPACT_WINDOW,
    MINUTES_PER_YEAR,
    Execution,
    MarketPrices,
    backtest_top_k,
    buy_and_hold,
    equity_figure,
    max_drawdown,
    sharpe_ratio,
)

#: the idealized reference fill: at the close the signal was computed at, free
FREE = Execution(delay_bars=0, fill_price="close", fees_bps=0.0, fallback_spread_bps=0.0)
HAND_CLOSE = pd.DataFrame(
    {"A": [10, 11, 12, 11, 10, 10.5, 11, 12], "B": [20, 19, 21, 22, 21, 20, 20.5, 21],
     "C": [5, 5.5, 5, 5.2, 5.4, 5.0, 5.1, 5.3]},
    index=pd.date_range(START, periods=8, freq="1min"))
# signals at bars 0..4; bar 3 ties A and B at the top (A, the first column, wins)
HAND_SIGNAL = {"A": [0.9, 0.2, 0.6, 0.5, 0.1], "B": [0.1, 0.8, 0.3, 0.5, 0.2], "C": [0.5, 0.5, 0.7, 0.1, 0.3]}


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame([(HAND_CLOSE.index[t], name, values[t]) for name, values in HAND_SIGNAL.items()
                         for t in range(5)], columns=["ts", "ticker", "p"])


def test_hand_example_schedule() -> None:
    """k=1, H=2, long-only: each cohort holds half the capital for two bars, then the book goes flat; one bar of
    delay shifts the whole schedule one bar later."""
    result = backtest_top_k(hand_frame(), prices=HAND_CLOSE, k=1, horizon_bars=2, execution=FREE)
    expected = pd.DataFrame({"A": [0.5, 0.5, 0, 0.5, 0.5, 0, np.nan], "B": [np.nan, 0.5, 0.5, 0, np.nan, np.nan,
                                                                             np.nan],
                             "C": [np.nan, np.nan, 0.5, 0.5, 0.5, 0.5, 0]}, index=HAND_CLOSE.index[:7])
    pd.testing.assert_frame_equal(result.weights, expected, check_freq=False)
    late = backtest_top_k(hand_frame(), prices=HAND_CLOSE, k=1, horizon_bars=2,
                          execution=Execution(delay_bars=1, fill_price="close"))
    np.testing.assert_array_equal(late.weights.to_numpy(), expected.to_numpy())
    assert late.weights.index.equals(HAND_CLOSE.index[1:8])
    long_short = backtest_top_k(hand_frame(), prices=HAND_CLOSE, k=1, horizon_bars=2, long_short=True,
                                execution=FREE)
    np.testing.assert_allclose(long_short.weights.fillna(0.0).to_numpy(), [
        [0.25, -0.25, 0], [0, 0, 0], [-0.25, 0, 0.25], [0.25, -0.25, 0], [0, 0, 0], [-0.25, 0, 0.25], [0, 0, 0]])


@pytest.mark.parametrize("long_short", [False, True])
def test_hand_example_pnl_equals_loop(long_short: bool) -> None:
    weights, cohorts = reference_targets(hand_frame(), HAND_CLOSE, 1, 2, long_short, 0)
    first, last = min(cohorts), max(cohorts) + 2
    prices = HAND_CLOSE.to_numpy()[first:last + 1]
    paid = Execution(delay_bars=0, fill_price="close", fees_bps=5.0, spread="fixed", fallback_spread_bps=6.0)
    result = backtest_top_k(hand_frame(), prices=HAND_CLOSE, k=1, horizon_bars=2, long_short=long_short,
                            execution=paid)
    span = weights[first:last + 1]
    gross, _ = reference_pnl(prices, prices, np.zeros(prices.shape), span)
    net, turnover = reference_pnl(prices, prices, np.full(prices.shape, 8e-4), span)  # 5 bp + half of 6 bp
    np.testing.assert_allclose(result.gross_equity.to_numpy(), gross, rtol=1e-12)
    np.testing.assert_allclose(result.equity.to_numpy(), net, rtol=1e-12)
    assert result.turnover == pytest.approx(turnover, rel=1e-12)
    assert result.returns.iloc[0] == pytest.approx(result.equity.iloc[0] - 1.0)
    np.testing.assert_allclose(result.returns.iloc[1:], result.equity.pct_change().iloc[1:], rtol=1e-9)
    assert result.mean_half_spread_bps == pytest.approx(3.0) and result.fallback_share == 1.0
    assert result.fallback_note() == "no quotes: 100 % of fills used the fallback spread (6 bp)"


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000), n_bars=st.integers(3, 25), n_names=st.integers(2, 5), k=st.integers(1, 2),
       horizon=st.integers(1, 4), long_short=st.booleans(), delay=st.integers(0, 2),
       fill_price=st.sampled_from(["open", "vwap", "close"]), fees=st.sampled_from([0.0, 4.0]),
       spread=st.sampled_from(["quoted", "fixed"]), impact=st.booleans(),
       multiplier=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_schedule_costs_and_pnl_equal_loops(seed: int, n_bars: int, n_names: int, k: int, horizon: int,
                                            long_short: bool, delay: int, fill_price: str, fees: float, spread: str,
                                            impact: bool, multiplier: float) -> None:
    """Random bars with missing bars and quotes, every execution setting: vectorbt's equity, turnover, trade
    returns and spread statistics equal the loops at 1e-10."""
    fill_price = "close" if delay == 0 else fill_price
    impact = impact and delay > 0  # impact needs a bar before every fill
    index = pd.date_range(START, periods=n_bars, freq="1min")
    market = MarketPrices.from_bars(random_bars(seed, index, n_names, missing=0.2, no_quote=0.3))
    execution = Execution(delay_bars=delay, fill_price=fill_price, fees_bps=fees, spread=spread,
                          fallback_spread_bps=8.0, impact_coef=0.2 if impact else 0.0, capital=1e5,
                          cost_multiplier=multiplier)
    rng = np.random.default_rng(seed + 1)
    rows = [(ts, name, round(rng.random(), 1)) for ts in index if rng.random() < 0.8 for name in market.columns
            if rng.random() < 0.9]
    frame = pd.DataFrame(rows, columns=["ts", "ticker", "p"])
    weights, cohorts = reference_targets(frame, market.close, k, horizon, long_short, delay)
    if not cohorts:  # no cohort could open: the function must say so
        with pytest.raises((DataValidationError, ValueError)):
            backtest_top_k(frame, prices=market, k=k, horizon_bars=horizon, long_short=long_short,
                           execution=execution)
        return
    result = backtest_top_k(frame, prices=market, k=k, horizon_bars=horizon, long_short=long_short,
                            execution=execution)
    traded = [c for c in market.columns if c in set(frame["ticker"])]  # names without a prediction are left out
    close = market.close[traded].to_numpy()
    present = ~np.isnan(close)
    exits = [reference_exit(present, r, horizon, j) for r, members in cohorts.items() for j in members]
    first, last = min(cohorts), min(n_bars - 1, max(exits))
    assert result.equity.index.equals(index[first:last + 1])
    sent = np.where(present, weights, 0.0)[first:last + 1]  # no order where a name has no bar
    np.testing.assert_array_equal(result.weights.fillna(0.0).to_numpy(), sent)
    fill = reference_fills(close, getattr(market, fill_price)[traded].to_numpy())
    if spread == "quoted":
        half, fallback = reference_half_spread(market.bid[traded].to_numpy(), market.ask[traded].to_numpy(),
                                               np.zeros(n_bars), fill_price, 8.0)
    else:
        half, fallback = np.full(close.shape, 4e-4), np.ones(close.shape, dtype=bool)
    order = reference_order_weights(weights, present)
    rate = fees * 1e-4 + half
    if impact:
        sigma, dollars = reference_impact_inputs(market.open[traded].to_numpy(), close,
                                                 market.vwap[traded].to_numpy(), market.volume[traded].to_numpy(),
                                                 np.zeros(n_bars), IMPACT_WINDOW)
        rate = rate + np.where(order > 0, 0.2 * sigma * np.sqrt(order * 1e5 / dollars), 0.0)
    rate = rate * multiplier
    span = slice(first, last + 1)
    mark = pd.DataFrame(close).ffill().to_numpy()
    net, turnover = reference_pnl(mark[span], fill[span], rate[span], weights[span], present[span])
    gross, _ = reference_pnl(mark[span], fill[span], np.zeros(close.shape)[span], weights[span], present[span])
    np.testing.assert_allclose(result.gross_equity.to_numpy(), gross, rtol=1e-10)
    np.testing.assert_allclose(result.equity.to_numpy(), net, rtol=1e-10)
    assert result.turnover == pytest.approx(turnover, rel=1e-10, abs=1e-15)
    mean_net, mean_gross = reference_trade_returns(cohorts, fill, rate, horizon, present)
    if np.isnan(mean_net):
        assert np.isnan(result.mean_trade_return) and np.isnan(result.gross_mean_trade_return)
    else:
        assert result.mean_trade_return == pytest.approx(mean_net, rel=1e-10, abs=1e-15)
        assert result.gross_mean_trade_return == pytest.approx(mean_gross, rel=1e-10, abs=1e-15)
    orders = result.portfolio.orders.values
    at = (orders["idx"] + first, orders["col"])
    assert present[at].all()  # never a fill where the name has no bar
    assert result.mean_half_spread_bps == pytest.approx(half[at].mean() * multiplier * 1e4, rel=1e-10, abs=1e-12)
    assert result.fallback_share == pytest.approx(fallback[at].mean())
    np.testing.assert_allclose(orders["price"], fill[at], rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100_000), t=st.integers(0, 12), delay=st.integers(1, 3),
       fill_price=st.sampled_from(["open", "vwap", "close"]), horizon=st.integers(1, 5), long_short=st.booleans())
def test_fills_never_use_prices_up_to_the_signal_bar(seed: int, t: int, delay: int, fill_price: str, horizon: int,
                                                     long_short: bool) -> None:
    """A signal at bar t with delay >= 1: scrambling every price (open, vwap, close) of bars <= t after the signal
    changes no fill, so neither the equity nor the trade returns. At delay 0 the same scramble does change them."""
    index = pd.date_range(START, periods=20, freq="1min")
    bars = random_bars(seed, index, 4, no_quote=0.3)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"ts": index[t], "ticker": [f"N{j}" for j in range(4)], "p": rng.random(4)})
    scrambled = bars.copy()
    early = (scrambled["ts"] <= index[t]).to_numpy()
    for column in ("open", "vwap", "close"):
        scrambled.loc[early, column] *= np.exp(rng.normal(0, 0.05, early.sum()))
    execution = Execution(delay_bars=delay, fill_price=fill_price, fees_bps=1.0)
    results = [backtest_top_k(frame, prices=MarketPrices.from_bars(b), k=1, horizon_bars=horizon,
                              long_short=long_short, execution=execution) for b in (bars, scrambled)]
    pd.testing.assert_series_equal(results[0].equity, results[1].equity, rtol=1e-13)
    pd.testing.assert_series_equal(results[0].gross_equity, results[1].gross_equity, rtol=1e-13)
    assert results[0].mean_trade_return == results[1].mean_trade_return
    assert results[0].equity.index[0] == index[t + delay]
    ideal = [backtest_top_k(frame, prices=MarketPrices.from_bars(b), k=1, horizon_bars=horizon,
                            long_short=long_short, execution=FREE) for b in (bars, scrambled)]
    assert ideal[0].gross_mean_trade_return != ideal[1].gross_mean_trade_return


def test_fill_prices_are_the_chosen_kind_of_the_fill_bar() -> None:
    """One signal at bar 2, delay 2, H 3: bought at bar 4's open (vwap, close), rebalanced to a third of the book
    at bars 5 and 6 at their own, sold at bar 7's; the trade return is bar 7's over bar 4's price."""
    index = pd.date_range(START, periods=10, freq="1min")
    market = MarketPrices.from_bars(random_bars(3, index, 2))
    frame = pd.DataFrame({"ts": index[2], "ticker": ["N0", "N1"], "p": [0.9, 0.1]})
    for kind in ("open", "vwap", "close"):
        result = backtest_top_k(frame, prices=market, k=1, horizon_bars=3,
                                execution=Execution(delay_bars=2, fill_price=kind, fees_bps=0.0,
                                                    fallback_spread_bps=0.0, spread="fixed"))
        orders = result.portfolio.orders.values
        price = getattr(market, kind)["N0"]
        np.testing.assert_array_equal(orders["idx"] + 4, [4, 5, 6, 7])
        np.testing.assert_allclose(orders["price"], price.iloc[4:8].to_numpy(), rtol=1e-15)
        assert result.gross_mean_trade_return == pytest.approx(price.iloc[7] / price.iloc[4] - 1, rel=1e-12)
        value = 2 / 3 + market.close["N0"].iloc[4] / price.iloc[4] / 3  # a third of the capital in the sleeve
        assert result.equity.iloc[0] == pytest.approx(value, rel=1e-12)


def test_sharpe_is_annualised_for_minutes() -> None:
    frame, close = noise_market(0, n_sessions=1)
    result = backtest_top_k(frame, prices=close, k=5, horizon_bars=5, execution=FREE)
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
    index = session_bars(n_sessions)
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
    execution = Execution(delay_bars=1, fill_price="close", fees_bps=1.0, fallback_spread_bps=2.0)
    result = backtest_top_k(frame, prices=close, k=5, horizon_bars=10, long_short=long_short, execution=execution)
    n = len(result.returns)
    t_gross = result.gross_sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(n)
    t_net = result.sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(n)
    assert abs(t_gross) < 3
    assert t_net < 2
    assert result.total_return < result.gross_total_return
    assert result.mean_trade_return < result.gross_mean_trade_return
    assert result.costs > 0
    assert result.turnover == pytest.approx(0.2, abs=0.05)  # 1/H of the book replaced: sells + buys


def test_foresight_pays_only_without_delay() -> None:
    """A signal equal to the next bar's return must win big at delay 0 (the trade earns exactly that return) and
    be noise at delay 1: the timing is as documented, no look-ahead and no lost bar."""
    frame, close = noise_market(4, n_sessions=1)
    future = close.pct_change().shift(-1).stack().rename("p").reset_index()
    future.columns = ["ts", "ticker", "p"]
    future = future.dropna()
    fast = backtest_top_k(future, prices=close, k=3, horizon_bars=1, execution=FREE)
    late = backtest_top_k(future, prices=close, k=3, horizon_bars=1,
                          execution=Execution(delay_bars=1, fill_price="close", fees_bps=0.0,
                                              fallback_spread_bps=0.0))
    assert fast.total_return > 0.3
    assert fast.sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(len(fast.returns)) > 10
    assert abs(late.gross_sharpe / math.sqrt(MINUTES_PER_YEAR) * math.sqrt(len(late.returns))) < 3


def test_missing_price_makes_a_name_ineligible() -> None:
    close = HAND_CLOSE.copy()
    close.loc[close.index[0], "A"] = np.nan  # A has the top signal at bar 0 but no bar to trade at
    result = backtest_top_k(hand_frame(), prices=close, k=1, horizon_bars=1, execution=FREE)
    assert result.weights.iloc[0].fillna(0.0).tolist() == [0.0, 0.0, 1.0]  # C, the next best


def test_no_costs_means_net_equals_gross() -> None:
    result = backtest_top_k(hand_frame(), prices=HAND_CLOSE, k=2, horizon_bars=3, execution=FREE)
    pd.testing.assert_series_equal(result.equity, result.gross_equity, check_names=False)
    assert result.costs == 0.0
    assert result.mean_trade_return == result.gross_mean_trade_return
    assert result.n_trades >= 1 and result.n_orders >= result.n_trades
    assert set(result.summary().index) >= {"sharpe", "gross_sharpe", "max_drawdown", "turnover", "n_trades",
                                           "mean_trade_return", "gross_mean_trade_return", "mean_half_spread_bps",
                                           "fallback_share"}


def test_buy_and_hold_equals_formula() -> None:
    close = HAND_CLOSE["A"]
    free = buy_and_hold(close, execution=FREE)
    np.testing.assert_allclose(free.equity.to_numpy(), (close / close.iloc[0]).to_numpy(), rtol=1e-12)
    paid = buy_and_hold(close, execution=Execution(delay_bars=0, fill_price="close", fees_bps=5.0,
                                                   fallback_spread_bps=6.0))
    np.testing.assert_allclose(paid.equity.to_numpy(), (close / (close.iloc[0] * 1.0008)).to_numpy(), rtol=1e-12)
    assert paid.n_trades == 1 and paid.turnover == pytest.approx(1 / len(close), rel=1e-3)
    assert paid.sharpe == pytest.approx(sharpe_ratio(paid.returns))
    assert paid.max_drawdown == pytest.approx(max_drawdown(paid.equity))
    index = pd.date_range(START, periods=6, freq="1min")
    market = MarketPrices.from_bars(random_bars(1, index, 1))
    opened = buy_and_hold(market, execution=Execution(fees_bps=2.0))  # the default: bar 1's open
    half = (market.ask.iloc[0, 0] - market.bid.iloc[0, 0]) / (market.ask.iloc[0, 0] + market.bid.iloc[0, 0])
    expected = market.close.iloc[1:, 0] / (market.open.iloc[1, 0] * (1 + 2e-4 + half))
    np.testing.assert_allclose(opened.equity.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert opened.equity.index[0] == index[1] and np.isnan(opened.mean_trade_return)


def test_equity_figure_compares_curves() -> None:
    frame, close = noise_market(5)
    strategy = backtest_top_k(frame, prices=close, k=5, horizon_bars=10,
                              execution=Execution(fill_price="close"))
    index = buy_and_hold(close.mean(axis=1).rename("index"), execution=Execution(fill_price="close"))
    fig = equity_figure({"strategy": strategy, "buy & hold": index}, gross=True)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 6  # net, gross, drawdown for each
    np.testing.assert_allclose(fig.data[0].y, strategy.equity.to_numpy())
    assert len(fig.layout.xaxis.rangebreaks) == 1  # the overnight gap is hidden
    assert pd.Timestamp(fig.data[0].x[0]) == pd.Timestamp("2024-12-02 09:32")  # exchange time, one bar of delay
    with pytest.raises(ValueError, match="empty"):
        equity_figure({})


def test_bad_input_is_a_clear_error() -> None:
    frame = hand_frame()
    kwargs = {"k": 1, "horizon_bars": 2, "execution": FREE}
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['p'\]"):
        backtest_top_k(frame.drop(columns="p"), prices=HAND_CLOSE, **kwargs)
    with pytest.raises(DataValidationError, match="'p' has 1 NaN value.*first at ts="):
        backtest_top_k(frame.assign(p=frame["p"].where(frame.index != 2)), prices=HAND_CLOSE, **kwargs)
    with pytest.raises(ValueError, match="k=4 needs 4 names but the panel has 3 ticker"):
        backtest_top_k(frame, prices=HAND_CLOSE, **{**kwargs, "k": 4})
    with pytest.raises(ValueError, match=r"k=2 needs 4 names \(long and short legs\)"):
        backtest_top_k(frame, prices=HAND_CLOSE, long_short=True, **{**kwargs, "k": 2})
    with pytest.raises(DataValidationError, match="missing from the prices' index"):
        backtest_top_k(frame, prices=HAND_CLOSE.iloc[2:], **kwargs)
    with pytest.raises(DataValidationError, match=r"no prices column, e.g. \['C'\]"):
        backtest_top_k(frame, prices=HAND_CLOSE[["A", "B"]], **kwargs)
    with pytest.raises(DataValidationError, match="timezone-aware"):
        backtest_top_k(frame.assign(ts=frame["ts"].dt.tz_localize(None)), prices=HAND_CLOSE, **kwargs)
    with pytest.raises(DataValidationError, match="timezone-aware"):
        backtest_top_k(frame, prices=HAND_CLOSE.tz_localize(None), **kwargs)
    with pytest.raises(DataValidationError, match="increasing"):
        backtest_top_k(frame, prices=HAND_CLOSE.iloc[::-1], **kwargs)
    with pytest.raises(DataValidationError, match="numeric prices"):
        backtest_top_k(frame, prices=HAND_CLOSE.assign(A="10"), **kwargs)
    with pytest.raises(DataValidationError, match="non-positive"):
        backtest_top_k(frame, prices=HAND_CLOSE.assign(A=-1.0), **kwargs)
    with pytest.raises(DataValidationError, match="duplicate"):
        backtest_top_k(pd.concat([frame, frame.iloc[:1]]), prices=HAND_CLOSE, **kwargs)
    with pytest.raises(DataValidationError, match="no bar has 1 names with a prediction and a bar to fill at 8"):
        backtest_top_k(frame, prices=HAND_CLOSE, k=1, horizon_bars=2,
                       execution=Execution(delay_bars=8, fill_price="close"))
    with pytest.raises(TypeError, match="MarketPrices or a wide pandas DataFrame"):
        backtest_top_k(frame, prices=HAND_CLOSE["A"], **kwargs)
    with pytest.raises(TypeError, match="Execution"):
        backtest_top_k(frame, prices=HAND_CLOSE, k=1, horizon_bars=2, execution={"delay_bars": 1})
    with pytest.raises(DataValidationError, match="fill_price='open' needs open prices.*from_bars"):
        backtest_top_k(frame, prices=HAND_CLOSE, k=1, horizon_bars=2)  # the default fills at the open
    with pytest.raises(DataValidationError, match="impact_coef > 0 needs bar volumes"):
        backtest_top_k(frame, prices=HAND_CLOSE, k=1, horizon_bars=2,
                       execution=Execution(fill_price="close", impact_coef=0.1))
    with pytest.raises(TypeError, match="Series"):
        buy_and_hold(HAND_CLOSE, execution=FREE)
    with pytest.raises(DataValidationError, match="one instrument, got 3 columns.*select"):
        buy_and_hold(MarketPrices.from_close(HAND_CLOSE), execution=FREE)
    with pytest.raises(DataValidationError, match="needs a price there"):
        buy_and_hold(HAND_CLOSE["A"].mask(HAND_CLOSE.index < HAND_CLOSE.index[2]),
                     execution=Execution(fill_price="close"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k must be"), ({"horizon_bars": 0}, "horizon_bars"), ({"k": True}, "k must be"),
    ({"periods_per_year": 0}, "periods_per_year"),
])
def test_bad_parameters_are_value_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backtest_top_k(hand_frame(), prices=HAND_CLOSE, **{"k": 1, "horizon_bars": 2, "execution": FREE, **kwargs})


def test_flatten_at_close_leaves_no_position_overnight() -> None:
    index = session_bars(2)
    market = MarketPrices.from_bars(random_bars(4, index, 6))
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"ts": np.repeat(index, 6), "ticker": np.tile(list(market.columns), len(index)),
                          "p": rng.random(len(index) * 6)})
    kwargs = {"prices": market, "k": 2, "horizon_bars": 5}
    flat = backtest_top_k(frame, flatten_at_close=True, **kwargs)
    held = backtest_top_k(frame, **kwargs)
    first_close = index[389]
    assert (flat.portfolio.assets().loc[first_close].abs() < 1e-12).all()  # flat at the first session's close
    assert (held.portfolio.assets().loc[first_close].abs() > 0).any()  # the default carries the gap
    mid = index[100]
    np.testing.assert_allclose(flat.weights.loc[mid].to_numpy(), held.weights.loc[mid].to_numpy())
    assert flat.weights.loc[first_close].fillna(0.0).abs().sum() == 0  # everything left at the last bar's open
    # an open fill at a session's first bar knows no quote of that session (the flat book never fills there)
    assert flat.fallback_share == 0 < held.fallback_share < 0.01


def test_flatten_at_close_trades_no_cohort_filled_next_session_or_at_the_last_bar() -> None:
    index = session_bars(2)
    market = MarketPrices.from_bars(random_bars(5, index, 3))
    names = list(market.columns)
    at = {"last": index[389], "second_last": index[388], "third_last": index[387]}
    frames = {key: pd.DataFrame({"ts": ts, "ticker": names, "p": [0.9, 0.5, 0.1]}) for key, ts in at.items()}
    for key in ("last", "second_last"):  # filled at the next session's first bar / at the session's last bar
        with pytest.raises(DataValidationError, match="no bar has"):
            backtest_top_k(frames[key], prices=market, k=1, horizon_bars=3, flatten_at_close=True)
        assert backtest_top_k(frames[key], prices=market, k=1, horizon_bars=3).n_positions == 1
    cut = backtest_top_k(frames["third_last"], prices=market, k=1, horizon_bars=3, flatten_at_close=True)
    orders = cut.portfolio.orders.values  # bought at bar 388's open, sold at bar 389's open: cut by the close
    np.testing.assert_allclose(orders["price"], market.open["N0"].iloc[[388, 389]].to_numpy(), rtol=1e-15)


def test_a_halted_name_is_never_filled_at_a_stale_price() -> None:
    """A is bought at bar 1's open and due out at bar 3, but has no bars 3 and 4 (a halt): no order is sent
    while it is halted, and it leaves at its next bar's open, the price it really trades at again."""
    index = pd.date_range(START, periods=8, freq="1min")
    bars = random_bars(6, index, 2)
    bars = bars[~((bars["ticker"] == "N0") & bars["ts"].isin(index[3:5]))]
    market = MarketPrices.from_bars(bars)
    frame = pd.DataFrame({"ts": index[0], "ticker": ["N0", "N1"], "p": [0.9, 0.1]})
    result = backtest_top_k(frame, prices=market, k=1, horizon_bars=2, execution=Execution(fees_bps=1.0))
    orders = result.portfolio.orders.values
    np.testing.assert_array_equal(orders["idx"] + 1, [1, 2, 5])  # bought, rebalanced, sold after the halt
    np.testing.assert_allclose(orders["price"], market.open["N0"].iloc[[1, 2, 5]].to_numpy(), rtol=1e-15)
    assert result.gross_mean_trade_return == pytest.approx(market.open["N0"].iloc[5] / market.open["N0"].iloc[1] - 1)
    assert result.equity.index[-1] == index[5]  # the book runs until the last position has left
    held = result.portfolio.assets()["N0"]
    assert held.iloc[2] == held.iloc[1] == held.iloc[3] > 0 == held.iloc[4]
