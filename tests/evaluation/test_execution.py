"""Execution settings and market prices: validation, the JSON round trip, and every cost component of a fill
(fees, the half spread of the last quote known before the fill, the fallback, square-root impact) against hand
computations and slow loops."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.evaluation._backtest_reference import (
    START,
    random_bars,
    reference_half_spread,
    reference_impact_inputs,
    session_bars,
)
from workbench.data._calendar import session_index
from workbench.errors import DataValidationError
from workbench.evaluation import IMPACT_WINDOW, Execution, MarketPrices, backtest_top_k, buy_and_hold
from workbench.evaluation._execution import fill_costs, fill_prices, impact_inputs, known_half_spread

INDEX = pd.date_range(START, periods=4, freq="1min")


def toy_bars() -> pd.DataFrame:
    """Two names over four bars. A: quotes at bars 0, 1, 3 (none at 2); B: no quote at bar 0, a bar missing at 2."""
    nan = np.nan
    rows = [
        (0, "A", 9.8, 10.0, 100.0, 9.9, 9.9, 10.1), (1, "A", 10.0, 10.5, 200.0, 10.2, 10.3, 10.7),
        (2, "A", 10.5, 10.2, 300.0, 10.4, nan, nan), (3, "A", 10.2, 10.0, 400.0, 10.1, 9.95, 10.05),
        (0, "B", 20.0, 20.4, 50.0, 20.2, nan, nan), (1, "B", 20.4, 20.0, 60.0, 20.1, 19.9, 20.1),
        (3, "B", 20.2, 20.6, 70.0, 20.5, 20.5, 20.7),
    ]
    frame = pd.DataFrame(rows, columns=["row", "ticker", "open", "close", "volume", "vwap", "bid", "ask"])
    return frame.assign(ts=INDEX[frame["row"]]).drop(columns="row")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"delay_bars": -1}, r"Execution.delay_bars must be an integer >= 0, got -1"),
    ({"delay_bars": 1.5}, r"Execution.delay_bars must be an integer"),
    ({"delay_bars": True}, r"Execution.delay_bars must be an integer"),
    ({"fill_price": "mid"}, r"Execution.fill_price must be one of \['open', 'vwap', 'close'\], got 'mid'"),
    ({"spread": "none"}, r"Execution.spread must be one of \['quoted', 'fixed'\]"),
    ({"fees_bps": -0.5}, r"Execution.fees_bps must be a finite number >= 0"),
    ({"fallback_spread_bps": math.inf}, r"Execution.fallback_spread_bps must be a finite number"),
    ({"impact_coef": "0.1"}, r"Execution.impact_coef must be a finite number"),
    ({"cost_multiplier": -1}, r"Execution.cost_multiplier must be"),
    ({"capital": 0}, r"Execution.capital must be > 0"),
    ({"delay_bars": 0}, r"delay_bars=0, fill_price='open'\) fills before the signal existed.*fill_price='close'"),
    ({"delay_bars": 0, "fill_price": "vwap"}, r"fill_price='vwap'\) fills before the signal existed"),
])
def test_bad_execution_is_a_one_line_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        Execution(**kwargs)
    assert "\n" not in str(error.value)


def test_delay_zero_at_the_close_is_the_idealized_reference() -> None:
    ideal = Execution(delay_bars=0, fill_price="close")
    assert ideal.describe().startswith("fill at the close of the signal bar; 0.5 bp fees + quoted half spread")
    assert Execution().describe() == ("fill at the open of bar t+1; 0.5 bp fees + quoted half spread (fallback "
                                      "10 bp spread)")


@settings(max_examples=50, deadline=None)
@given(delay=st.integers(0, 10), fill=st.sampled_from(["open", "vwap", "close"]),
       spread=st.sampled_from(["quoted", "fixed"]), fees=st.floats(0, 50), fallback=st.floats(0, 100),
       impact=st.floats(0, 2), capital=st.floats(1, 1e9), multiplier=st.floats(0, 5))
def test_execution_round_trips_through_json(delay: int, fill: str, spread: str, fees: float, fallback: float,
                                            impact: float, capital: float, multiplier: float) -> None:
    fill = "close" if delay == 0 else fill
    execution = Execution(delay_bars=delay, fill_price=fill, fees_bps=fees, spread=spread,
                          fallback_spread_bps=fallback, impact_coef=impact, capital=capital,
                          cost_multiplier=multiplier)
    assert Execution.from_dict(json.loads(json.dumps(execution.to_dict()))) == execution
    assert hash(Execution.from_dict(execution.to_dict())) == hash(execution)


def test_unknown_execution_key_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown Execution setting\(s\) \['slippage_bps'\]; known: \['delay_bars'"):
        Execution.from_dict({"slippage_bps": 1.0})


def test_from_bars_builds_aligned_wide_frames() -> None:
    bars = toy_bars()
    market = MarketPrices.from_bars(bars.sample(frac=1.0, random_state=0).assign(high=1.0, low=1.0))
    assert list(market.columns) == ["A", "B"] and market.index.equals(INDEX)
    for column in ("open", "close", "volume", "vwap", "bid", "ask"):
        expected = bars.pivot(index="ts", columns="ticker", values=column).rename_axis(None, axis=1)
        pd.testing.assert_frame_equal(getattr(market, column), expected, check_names=False, check_freq=False)
    assert np.isnan(market.close.loc[INDEX[2], "B"])  # the missing bar
    assert market.has_quotes and market.quoted_share == pytest.approx(5 / 7)
    assert market.select(["B"]).columns.tolist() == ["B"]
    assert market.since(INDEX[2]).index.equals(INDEX[2:])
    assert market.between(INDEX[1], INDEX[2]).index.equals(INDEX[1:3])
    assert market.between(INDEX[1], INDEX[2]).bid.shape == (2, 2)
    null = MarketPrices.from_bars(bars.assign(bid=np.nan, ask=np.nan))
    assert null.bid is None and not null.has_quotes and null.quoted_share == 0.0
    bare = MarketPrices.from_bars(bars.drop(columns=["bid", "ask", "vwap"]))
    assert bare.vwap is None and not bare.has_quotes
    close_only = MarketPrices.from_close(market.close)
    assert close_only.open is None and close_only.volume is None and close_only.quoted_share == 0.0


def test_bad_bars_are_clear_errors() -> None:
    bars = toy_bars()
    with pytest.raises(DataValidationError, match=r"bars is missing required column\(s\) \['open'\]"):
        MarketPrices.from_bars(bars.drop(columns="open"))
    with pytest.raises(DataValidationError, match="bars 'ts' must be timezone-aware"):
        MarketPrices.from_bars(bars.assign(ts=bars["ts"].dt.tz_localize(None)))
    with pytest.raises(DataValidationError, match=r"1 duplicate \(ts, ticker\) row"):
        MarketPrices.from_bars(pd.concat([bars, bars.iloc[:1]]))
    with pytest.raises(DataValidationError, match="open has 1 non-positive or infinite value"):
        MarketPrices.from_bars(bars.assign(open=bars["open"].where(bars.index != 3, 0.0)))
    with pytest.raises(DataValidationError, match="volume has 1 negative or infinite value"):
        MarketPrices.from_bars(bars.assign(volume=bars["volume"].where(bars.index != 3, -1.0)))
    with pytest.raises(DataValidationError, match="quotes have 0 one-sided and 1 crossed"):
        MarketPrices.from_bars(bars.assign(bid=bars["bid"].where(bars.index != 0, 10.2)))
    with pytest.raises(DataValidationError, match="quotes have 1 one-sided"):
        MarketPrices.from_bars(bars.assign(ask=bars["ask"].where(bars.index != 0)))
    market = MarketPrices.from_bars(bars)
    with pytest.raises(DataValidationError, match="MarketPrices.open must be a DataFrame with close's index"):
        MarketPrices(close=market.close, open=market.open.iloc[1:])
    with pytest.raises(DataValidationError, match="both bid and ask or neither"):
        MarketPrices(close=market.close, bid=market.bid)
    with pytest.raises(TypeError, match="wide pandas DataFrame of closes"):
        MarketPrices(close=market.close["A"])
    with pytest.raises(DataValidationError, match=r"1 bar\(s\) have no vwap, first A at"):
        fill_prices(MarketPrices.from_bars(bars.assign(vwap=bars["vwap"].where(bars.index != 1))), "vwap")


def test_fill_prices_carry_the_last_close_over_a_missing_bar() -> None:
    market = MarketPrices.from_bars(toy_bars())
    np.testing.assert_array_equal(fill_prices(market, "open")[:, 1], [20.0, 20.4, 20.0, 20.2])  # bar 2: 1's close
    np.testing.assert_array_equal(fill_prices(market, "vwap")[:, 0], [9.9, 10.2, 10.4, 10.1])


def test_fees_alone() -> None:
    market = MarketPrices.from_bars(toy_bars())
    costs = fill_costs(market, Execution(fees_bps=3.0, spread="fixed", fallback_spread_bps=0.0), np.ones((4, 2)))
    np.testing.assert_allclose(costs.rate, np.full((4, 2), 3e-4), rtol=1e-15)
    assert costs.fallback.all()


def test_half_spread_is_the_last_quote_before_the_fill() -> None:
    """Open fill of bar f: the quote at bar f - 1's close, carried within the session; close fill: bar f's own."""
    market = MarketPrices.from_bars(toy_bars())
    fallback = 8e-4 / 2
    a0, a1, a3 = 0.2 / 20.0, 0.4 / 21.0, 0.1 / 20.0
    b1, b3 = 0.2 / 40.0, 0.2 / 41.2
    for kind in ("open", "vwap"):
        half, used = known_half_spread(market, Execution(fill_price=kind, fallback_spread_bps=8.0))
        np.testing.assert_allclose(half, [[fallback, fallback], [a0, fallback], [a1, b1], [a1, b1]], rtol=1e-12)
        np.testing.assert_array_equal(used, [[True, True], [False, True], [False, False], [False, False]])
    half, used = known_half_spread(market, Execution(fill_price="close", fallback_spread_bps=8.0))
    np.testing.assert_allclose(half, [[a0, fallback], [a1, b1], [a1, b1], [a3, b3]], rtol=1e-12)
    assert used.tolist() == [[False, True], [False, False], [False, False], [False, False]]
    fixed, used = known_half_spread(market, Execution(spread="fixed", fallback_spread_bps=8.0))
    assert (fixed == fallback).all() and used.all()


def test_quotes_are_not_carried_across_sessions() -> None:
    index = session_bars(2)
    market = MarketPrices.from_bars(random_bars(0, index, 3, no_quote=0.5))
    session = session_index().locate(index.as_unit("ns").asi8)
    for kind in ("open", "close"):
        half, used = known_half_spread(market, Execution(fill_price=kind, fallback_spread_bps=6.0))
        expected, expected_used = reference_half_spread(market.bid.to_numpy(), market.ask.to_numpy(), session,
                                                        kind, 6.0)
        np.testing.assert_allclose(half, expected, rtol=1e-12)
        np.testing.assert_array_equal(used, expected_used)
    half, used = known_half_spread(market, Execution(fill_price="open"))
    assert used[390].all()  # the next session's first open knows no quote of its session


def test_fallback_when_quotes_are_null() -> None:
    """No quote anywhere: every fill pays half the fallback spread, and the backtest reports it."""
    bars = toy_bars().assign(bid=np.nan, ask=np.nan)
    market = MarketPrices.from_bars(bars)
    costs = fill_costs(market, Execution(fees_bps=1.0, fallback_spread_bps=12.0), np.ones((4, 2)))
    np.testing.assert_allclose(costs.rate, 1e-4 + 6e-4, rtol=1e-12)
    frame = pd.DataFrame({"ts": INDEX[0], "ticker": ["A", "B"], "p": [0.2, 0.8]})
    result = backtest_top_k(frame, prices=market, k=1, horizon_bars=2, execution=Execution(fallback_spread_bps=12.0))
    assert result.fallback_share == 1.0 and result.mean_half_spread_bps == pytest.approx(6.0)
    assert result.fallback_note() == "no quotes: 100 % of fills used the fallback spread (12 bp)"
    # with quotes: B is bought at bar 1's open (no quote before it: fallback), not traded at bar 2 (no bar) and
    # sold at bar 3's open (bar 1's quote carried over bar 2)
    quoted = backtest_top_k(frame, prices=MarketPrices.from_bars(toy_bars()), k=1, horizon_bars=2,
                            execution=Execution(fallback_spread_bps=12.0))
    assert quoted.portfolio.orders.values["idx"].tolist() == [0, 2]  # bars 1 and 3 of the prices
    assert quoted.fallback_share == pytest.approx(1 / 2)
    assert quoted.mean_half_spread_bps == pytest.approx((6.0 + 0.2 / 40.0 * 1e4) / 2)
    assert quoted.fallback_note() == "no quotes: 50 % of fills used the fallback spread (12 bp)"
    assert backtest_top_k(frame.assign(ts=INDEX[1]), prices=MarketPrices.from_bars(toy_bars()), k=1,
                          horizon_bars=1).fallback_note() is None  # B has no bar 2, so A: quotes known


def test_impact_formula_by_hand() -> None:
    """A's fill at bar 2 for half the book: coef * RMS(log returns of bars 0, 1) * sqrt(Q / mean dollar volume)."""
    market = MarketPrices.from_bars(toy_bars())
    execution = Execution(fees_bps=1.0, impact_coef=0.5, capital=2_000.0, spread="fixed", fallback_spread_bps=4.0)
    order = np.zeros((4, 2))
    order[2, 0] = 0.5
    costs = fill_costs(market, execution, order)
    sigma = math.sqrt((math.log(10.0 / 9.8) ** 2 + math.log(10.5 / 10.0) ** 2) / 2)  # bar 0: log(close / open)
    dollars = (100.0 * 9.9 + 200.0 * 10.2) / 2
    assert costs.rate[2, 0] == pytest.approx(1e-4 + 2e-4 + 0.5 * sigma * math.sqrt(0.5 * 2_000.0 / dollars),
                                             rel=1e-12)
    assert costs.rate[1, 0] == pytest.approx(3e-4) and costs.rate[2, 1] == pytest.approx(3e-4)  # no order: no impact
    doubled = fill_costs(market, Execution(**{**execution.to_dict(), "cost_multiplier": 2.0}), order)
    np.testing.assert_allclose(doubled.rate, 2 * costs.rate, rtol=1e-12)
    np.testing.assert_allclose(doubled.half_spread, 2 * costs.half_spread, rtol=1e-12)
    order[0, 1] = 0.1  # B at bar 0: nothing is known before it
    with pytest.raises(DataValidationError, match="needs an earlier bar with volume before every fill; B at"):
        fill_costs(market, execution, order)


def test_impact_inputs_equal_loops_across_sessions_and_missing_bars() -> None:
    index = session_bars(2)[350:430]  # the last 40 bars of a session and the first 40 of the next
    market = MarketPrices.from_bars(random_bars(2, index, 3, missing=0.3))
    sigma, dollars = impact_inputs(market)
    session = session_index().locate(index.as_unit("ns").asi8)
    expected_sigma, expected_dollars = reference_impact_inputs(
        market.open.to_numpy(), market.close.to_numpy(), market.vwap.to_numpy(), market.volume.to_numpy(), session,
        IMPACT_WINDOW)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-12)
    np.testing.assert_allclose(dollars, expected_dollars, rtol=1e-12)
    assert np.isnan(sigma[0]).all() and np.isfinite(sigma[1:]).all()


def test_buy_and_hold_pays_every_component_once() -> None:
    """One fill at bar 1's open: fees + the half spread of bar 0's quote + impact of the whole book."""
    market = MarketPrices.from_bars(toy_bars()).select(["A"])
    execution = Execution(fees_bps=2.0, impact_coef=0.3, capital=500.0)
    result = buy_and_hold(market, execution=execution)
    rate = 2e-4 + 0.2 / 20.0 + 0.3 * math.log(10.0 / 9.8) * math.sqrt(500.0 / (100.0 * 9.9))
    np.testing.assert_allclose(result.equity.to_numpy(), market.close["A"].iloc[1:] / (10.0 * (1 + rate)),
                               rtol=1e-12)
    assert result.costs == pytest.approx(rate / (1 + rate), rel=1e-12)


def test_with_impact_a_name_without_an_earlier_bar_is_not_traded() -> None:
    """The first bar has nothing to measure impact from: its cohort is skipped, the next bar's is traded."""
    market = MarketPrices.from_bars(toy_bars())
    frame = pd.DataFrame({"ts": np.repeat(INDEX[:2], 2), "ticker": ["A", "B"] * 2, "p": [0.9, 0.1] * 2})
    ideal = Execution(delay_bars=0, fill_price="close", impact_coef=0.1)
    result = backtest_top_k(frame, prices=market, k=1, horizon_bars=1, execution=ideal)
    assert result.equity.index[0] == INDEX[1] and result.n_positions == 1
    assert backtest_top_k(frame, prices=market, k=1, horizon_bars=1,
                          execution=Execution(delay_bars=0, fill_price="close")).equity.index[0] == INDEX[0]
    with pytest.raises(DataValidationError, match="needs an earlier bar with volume"):
        buy_and_hold(market.select(["A"]), execution=ideal)
