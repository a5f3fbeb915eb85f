"""The lead-lag matrix against a per-session np.corrcoef loop, and the synthetic market's planted lead-lag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import Dataset, bar_times, sessions
from workbench.viz.lead_lag import lead_lag_heatmap, lead_lag_matrix

DAYS = ("2024-11-25", "2024-12-03")


def session_returns(ds: Dataset, ticker: str, day: object) -> pd.Series:
    """log(close_t / close_{t-1 minute}) on the session's full minute grid (NaN next to an absent bar)."""
    row = sessions(day, day).iloc[0]
    bars = ds.bars([ticker], day, day).set_index("ts")["close"]
    bars.index = bars.index.as_unit("us")
    return np.log(bars.reindex(bar_times(row["open"], row["close"]))).diff()


def slow_corr(leader: list[pd.Series], follower: list[pd.Series], lag: int) -> float:
    """Median over sessions of np.corrcoef(leader_t, follower_{t+lag}) on each session's shifted series."""
    values = []
    for x, y in zip(leader, follower, strict=True):
        pair = pd.DataFrame({"x": x.to_numpy(), "y": y.shift(-lag).to_numpy()}).dropna()
        values.append(np.corrcoef(pair["x"], pair["y"])[0, 1])
    return float(np.median(values))


def test_cells_equal_a_per_session_corrcoef_loop(market: Dataset) -> None:
    days = [d for d in market.dates if DAYS[0] <= str(d) <= DAYS[1]][:3]
    table = market.tickers
    sector = table.loc[~table["is_index"], "sector"].value_counts().index[0]  # the largest sector
    members = sorted(table.loc[table["sector"] == sector, "ticker"])
    followers = members[:3]
    lags = [-2, 0, 1, 3]
    matrix = lead_lag_matrix(market, ["SPY", f"sector:{sector}"], followers, lags, start=days[0], end=days[-1])

    spy = [session_returns(market, "SPY", d) for d in days]
    ret = {t: [session_returns(market, t, d) for d in days] for t in members}
    caps = table.set_index("ticker")["market_cap"]
    for lag in lags:
        expected = np.mean([slow_corr(spy, ret[f], lag) for f in followers])
        assert matrix.loc["SPY", lag] == pytest.approx(expected, abs=1e-12)
        per_follower = []
        for f in followers:
            others = [t for t in members if t != f]
            aggregate = []
            for k in range(len(days)):
                frame = pd.DataFrame({t: ret[t][k] for t in others})
                weights = frame.notna() * caps[others]
                aggregate.append((frame.fillna(0) * caps[others]).sum(axis=1) / weights.sum(axis=1))
            per_follower.append(slow_corr(aggregate, ret[f], lag))
        assert matrix.loc[f"sector:{sector}", lag] == pytest.approx(np.mean(per_follower), abs=1e-12)


def test_mean_combine_and_per_follower_rows(market: Dataset) -> None:
    days = market.dates[:2]
    followers = sorted(market.tickers["ticker"])[1:3]
    rows = lead_lag_matrix(market, ["SPY"], followers, [1], start=days[0], end=days[-1], combine="mean",
                           per_follower=True)
    spy = [session_returns(market, "SPY", d) for d in days]
    for f in followers:
        y = [session_returns(market, f, d) for d in days]
        expected = np.mean([np.corrcoef(*pd.DataFrame({"x": x.to_numpy(), "y": v.shift(-1).to_numpy()})
                                        .dropna().to_numpy().T)[0, 1] for x, v in zip(spy, y, strict=True)])
        assert rows.loc[("SPY", f), 1] == pytest.approx(expected, abs=1e-12)


def test_the_planted_lead_lag_shows_at_its_lag_and_not_before(market: Dataset, control: Dataset) -> None:
    truth = pd.read_parquet(market.path / "synth_truth.parquet").set_index("ticker")["lag_minutes"]
    lags = range(-5, 6)
    for ds, planted in ((market, True), (control, False)):
        rows = lead_lag_matrix(ds, ["SPY"], lags=lags, per_follower=True).droplevel("leader")
        by_lag = rows.groupby(truth.reindex(rows.index).to_numpy()).mean()
        for lag_minutes, profile in by_lag.iterrows():
            negative = profile.loc[-5:-1].abs().max()
            assert negative < 0.05, (lag_minutes, profile.round(3).to_dict())
            if lag_minutes == 0:
                continue
            if planted:
                assert profile.loc[lag_minutes] > 0.2 and profile.loc[lag_minutes] > 4 * negative
                others = profile.drop([0, lag_minutes])
                assert profile.loc[lag_minutes] > 3 * others.abs().max()
            else:
                assert abs(profile.loc[lag_minutes]) < 0.05


def test_the_index_row_of_the_default_matrix_peaks_at_positive_lags(market: Dataset) -> None:
    matrix = lead_lag_matrix(market)
    assert matrix.index[0] == "SPY" and all(name.startswith("sector:") for name in matrix.index[1:])
    assert len(matrix) == 1 + market.tickers.loc[~market.tickers["is_index"], "sector"].nunique()
    assert matrix.loc["SPY", [1, 2, 3]].min() > 0.05 > matrix.loc["SPY", [-3, -2, -1]].abs().max()


def test_heatmap_and_bad_input(market: Dataset) -> None:
    matrix = lead_lag_matrix(market, ["SPY"], sorted(market.tickers["ticker"])[1:4], range(-2, 3),
                             start=market.dates[0], end=market.dates[0])
    figure = lead_lag_heatmap(matrix)
    assert figure.data[0].type == "heatmap" and list(figure.data[0].x) == ["-2", "-1", "0", "1", "2"]
    np.testing.assert_allclose(np.asarray(figure.data[0].z, dtype=float), matrix.to_numpy())
    with pytest.raises(ValueError, match="unknown sector"):
        lead_lag_matrix(market, ["sector:Nope"])
    with pytest.raises(ValueError, match="combine"):
        lead_lag_matrix(market, ["SPY"], combine="max")
