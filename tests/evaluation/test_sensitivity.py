"""Alpha decay and cost sensitivity: the table equals direct backtests, a planted one-bar edge decays at once,
costs only ever hurt, and the figure shows the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tests.evaluation._backtest_reference import random_bars, session_bars
from workbench.evaluation import (
    SENSITIVITY_COLUMNS,
    Execution,
    MarketPrices,
    backtest_top_k,
    execution_sensitivity,
    sensitivity_figure,
)


@pytest.fixture(scope="module")
def market() -> MarketPrices:
    return MarketPrices.from_bars(random_bars(11, session_bars(1)[:120], 12, no_quote=0.2))


def random_signal(market: MarketPrices, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, names = len(market.index), list(market.columns)
    return pd.DataFrame({"ts": np.repeat(market.index, len(names)), "ticker": np.tile(names, n),
                         "p": rng.random(n * len(names))})


def test_table_equals_direct_backtests(market: MarketPrices) -> None:
    frame = random_signal(market, 0)
    execution = Execution(delay_bars=1, fill_price="vwap", fees_bps=1.0, impact_coef=0.1, capital=1e4)
    table = execution_sensitivity(frame, market, k=3, horizon_bars=4, long_short=True, execution=execution,
                                  delays=(0, 1, 3), cost_multipliers=(0.0, 1.0, 2.0))
    assert list(table.columns) == list(SENSITIVITY_COLUMNS)
    assert table[["scenario", "value"]].values.tolist() == [["delay", 0], ["delay", 1], ["delay", 3],
                                                              ["costs", 0], ["costs", 1], ["costs", 2]]
    assert table["fill"].tolist() == ["close of the signal bar", "vwap of bar t+1", "vwap of bar t+3",
                                      *["vwap of bar t+1"] * 3]
    settings = [Execution(**{**execution.to_dict(), "delay_bars": 0, "fill_price": "close"}),
                execution, Execution(**{**execution.to_dict(), "delay_bars": 3}),
                Execution(**{**execution.to_dict(), "cost_multiplier": 0.0}), execution,
                Execution(**{**execution.to_dict(), "cost_multiplier": 2.0})]
    for (_, row), setting in zip(table.iterrows(), settings, strict=True):
        direct = backtest_top_k(frame, prices=market, k=3, horizon_bars=4, long_short=True, execution=setting)
        assert row["sharpe"] == pytest.approx(direct.sharpe, rel=1e-12)
        assert row["gross_sharpe"] == pytest.approx(direct.gross_sharpe, rel=1e-12)
        assert row["mean_trade_bps"] == pytest.approx(direct.mean_trade_return * 1e4, rel=1e-12)
        assert row["gross_mean_trade_bps"] == pytest.approx(direct.gross_mean_trade_return * 1e4, rel=1e-12)
        assert row["total_return"] == pytest.approx(direct.total_return, rel=1e-12)


def test_planted_one_bar_edge_decays_and_costs_are_monotone() -> None:
    """The signal is the next bar's close-to-close return: filled at the signal bar's close it earns it; one bar
    later it is gone. More costs never help: Sharpe and mean trade fall with the multiple, gross stays put."""
    index = session_bars(2)
    rng = np.random.default_rng(3)
    names = [f"S{j:02d}" for j in range(20)]
    close = pd.DataFrame(100 * np.exp(rng.normal(0, 1e-3, (len(index), 20)).cumsum(axis=0)), index=index,
                         columns=names)
    future = close.pct_change().shift(-1).stack().rename("p").reset_index().dropna()
    future.columns = ["ts", "ticker", "p"]
    execution = Execution(delay_bars=1, fill_price="close", fees_bps=0.5, fallback_spread_bps=2.0)
    table = execution_sensitivity(future, close, k=3, horizon_bars=1, long_short=True, execution=execution,
                                  flatten_at_close=True)
    delay = table[table["scenario"] == "delay"].set_index("value")
    costs = table[table["scenario"] == "costs"].set_index("value")
    assert delay.loc[0.0, "gross_sharpe"] > 100 and delay.loc[0.0, "gross_mean_trade_bps"] > 5
    assert delay.loc[0.0, "gross_sharpe"] > 10 * max(abs(delay.loc[1.0, "gross_sharpe"]), 1.0)
    assert delay.loc[0.0, "sharpe"] > 0 > delay.loc[1.0, "sharpe"]  # after costs the late fill only loses
    assert abs(delay.loc[1.0, "gross_mean_trade_bps"]) < 1 and abs(delay.loc[5.0, "gross_mean_trade_bps"]) < 1
    assert costs["sharpe"].is_monotonic_decreasing and costs["mean_trade_bps"].is_monotonic_decreasing
    assert costs["total_return"].is_monotonic_decreasing
    np.testing.assert_allclose(costs["gross_sharpe"], costs["gross_sharpe"].iloc[0], rtol=1e-12)
    assert costs.loc[0.0, "sharpe"] == pytest.approx(costs.loc[0.0, "gross_sharpe"], rel=1e-12)
    per_multiple = (costs["gross_mean_trade_bps"] - costs["mean_trade_bps"]) / costs.index.to_numpy()
    np.testing.assert_allclose(per_multiple.iloc[1:], 2 * (0.5 + 1.0), rtol=1e-9)  # 2 fills x (fees + half spread)


def test_figure_shows_the_table(market: MarketPrices) -> None:
    table = execution_sensitivity(random_signal(market, 1), market, k=2, horizon_bars=3)
    fig = sensitivity_figure(table)
    assert isinstance(fig, go.Figure) and len(fig.data) == 4
    delay = table[table["scenario"] == "delay"]
    np.testing.assert_array_equal(fig.data[0].x, delay["value"])
    np.testing.assert_allclose(fig.data[0].y, delay["sharpe"])
    np.testing.assert_allclose(fig.data[3].y, table[table["scenario"] == "costs"]["mean_trade_bps"])
    assert fig.layout.xaxis.title.text == "delay (bars)" and fig.layout.xaxis2.title.text == "cost multiple"
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sharpe'"):
        sensitivity_figure(table.drop(columns=["sharpe"]))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"delays": (1, 1)}, "delays must be distinct integers >= 0"), ({"delays": (-1,)}, "delays must be"),
    ({"delays": ()}, "delays must be"), ({"cost_multipliers": (-0.5,)}, "cost_multipliers must be distinct"),
    ({"cost_multipliers": (float("nan"),)}, "cost_multipliers must be"),
    ({"execution": {"delay_bars": 1}}, "execution must be a workbench.evaluation.Execution"),
])
def test_bad_grid_is_a_clear_error(market: MarketPrices, kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        execution_sensitivity(random_signal(market, 2), market, k=2, horizon_bars=3, **kwargs)
