"""The synthetic market is realistic and plants exactly the truth it claims (and nothing in the control)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from workbench.data import EXCHANGE_TZ, Dataset, sessions
from workbench.data import stylized_facts as sf
from workbench.data.synth import SynthConfig, build_synthetic_market


def _without_crash(bars: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """Drop the flash-crash session: a crash and its rebound move every name together, in both markets."""
    day = bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date.astype(str)
    return bars[day != manifest["flash_crash"]["session"]]


def _stocks(ds: Dataset) -> pd.DataFrame:
    bars = ds.bars(adjust="backward")
    return bars[bars["ticker"] != "SPY"]


def test_layout_and_tables(market: Dataset) -> None:
    for item in ("bars", "tickers.parquet", "corporate_actions.parquet", "context/vix.parquet",
                 "context/rates.parquet", "context/macro_events.parquet"):
        assert (market.path / item).exists(), item
    tickers = market.tickers
    assert list(tickers.columns) == ["ticker", "sector", "industry", "market_cap", "is_index"]
    assert tickers["ticker"].is_unique and len(tickers) == 81
    assert tickers.loc[tickers["is_index"], "ticker"].tolist() == ["SPY"]
    assert tickers.loc[~tickers["is_index"], "sector"].nunique() == 11
    for table in ("vix", "rates", "macro_events"):
        context = market.context(table)
        assert str(context["available_at"].dt.tz) == "UTC", table


def test_bars_are_utc_bar_end_stamps_inside_regular_sessions(market: Dataset) -> None:
    bars = market.bars(["SPY"])
    assert str(bars["ts"].dt.tz) == "UTC"
    table = sessions(market.dates[0], market.dates[-1])
    assert [d for d in table["date"]] == market.dates  # Thanksgiving skipped, nothing else
    local = bars["ts"].dt.tz_convert(EXCHANGE_TZ)
    per_day = local.groupby(local.dt.date).agg(["min", "max", "size"])
    for date, row in per_day.iterrows():
        assert row["min"].strftime("%H:%M") == "09:31", date  # the first bar ends one minute after the open
        half_day = str(date) == "2024-11-29"
        assert row["max"].strftime("%H:%M") == ("13:00" if half_day else "16:00"), date
        assert row["size"] == (210 if half_day else 390), date


def test_ohlc_and_quotes_are_consistent(market: Dataset) -> None:
    bars = market.bars()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["volume"] > 0).all() and (bars["trades"] > 0).all()
    stocks = bars[bars["ticker"] != "SPY"]
    assert (stocks["bid"] < stocks["ask"]).all()
    assert ((stocks["bid_size"] > 0) & (stocks["ask_size"] > 0)).all()
    assert not bars.duplicated(["ticker", "ts"]).any()


def test_volatility_clusters(market: Dataset, market_manifest: dict[str, Any]) -> None:
    stocks = _without_crash(_stocks(market), market_manifest)
    assert sf.abs_return_autocorrelation(stocks) > 0.05


def test_returns_are_fat_tailed(market: Dataset, market_manifest: dict[str, Any]) -> None:
    stocks = _without_crash(_stocks(market), market_manifest)
    returns = sf.minute_log_returns(stocks)
    standardized = (returns / returns.groupby(stocks["ticker"]).transform("std")).dropna()
    excess_kurtosis = float(((standardized - standardized.mean()) ** 4).mean() / standardized.var() ** 2 - 3)
    assert excess_kurtosis > 1.0


def test_intraday_volume_is_u_shaped(market: Dataset) -> None:
    profile = sf.intraday_volume_profile(_stocks(market))
    midday = profile.loc[150:240].mean()
    assert profile.loc[1:30].mean() > 1.8 * midday
    assert profile.loc[361:390].mean() > 1.4 * midday


def test_index_leads_followers_at_their_planted_lag(market: Dataset, market_manifest: dict[str, Any]) -> None:
    bars = _without_crash(market.bars(adjust="backward"), market_manifest)
    truth = pd.read_parquet(market.path / "synth_truth.parquet")
    for lag in (1, 2, 3):
        followers = truth.loc[(truth["lag_minutes"] == lag) & (truth["ticker"] != "SPY"), "ticker"].tolist()
        assert followers, lag
        profile = sf.lead_lag_profile(bars[bars["ticker"].isin(["SPY", *followers])], "SPY", followers, 5)
        lagged = profile.drop(index=0)
        assert lagged.idxmax() == lag, profile.to_dict()
        assert lagged.max() > 0.1 and (lagged.drop(index=lag).abs() < 0.06).all(), profile.to_dict()


def test_control_market_has_no_lead_lag(control: Dataset, market_manifest: dict[str, Any]) -> None:
    bars = _without_crash(control.bars(adjust="backward"), market_manifest)
    followers = [t for t in control.tickers["ticker"] if t != "SPY"]
    profile = sf.lead_lag_profile(bars, "SPY", followers, 3)
    assert profile.loc[0] > 0.2  # the index still moves the market at the same minute
    assert (profile.drop(index=0).abs() < 0.04).all(), profile.to_dict()
    assert abs(sf.return_autocorrelation(bars[bars["ticker"] != "SPY"])) < 0.02


def test_planted_imbalance_signal_is_recoverable(market: Dataset) -> None:
    ic, t_stat = sf.imbalance_rank_ic(_stocks(market), horizon=5)
    assert ic > 0.03 and t_stat > 5


def test_control_market_has_no_imbalance_signal(control: Dataset) -> None:
    ic, t_stat = sf.imbalance_rank_ic(_stocks(control), horizon=5)
    assert abs(ic) < 0.01 and abs(t_stat) < 3


def test_spreads_widen_for_small_caps(market: Dataset) -> None:
    bars = _stocks(market)
    spread_bps = ((bars["ask"] - bars["bid"]) / ((bars["ask"] + bars["bid"]) / 2) * 1e4).groupby(bars["ticker"])
    per_ticker = spread_bps.median().to_frame("spread").join(market.tickers.set_index("ticker")["market_cap"])
    rho = per_ticker["spread"].rank().corr(per_ticker["market_cap"].rank())
    assert rho < -0.5


def test_halts_leave_a_gap_of_missing_bars(market: Dataset, market_manifest: dict[str, Any]) -> None:
    assert market_manifest["halts"]
    for halt in market_manifest["halts"]:
        bars = market.bars([halt["ticker"]], halt["session"], halt["session"])
        minute = sf.minute_of_session(bars["ts"])
        halted = set(range(halt["start_minute"] + 1, halt["start_minute"] + halt["minutes"] + 1))
        assert not halted & set(minute), halt
        assert {halt["start_minute"], halt["start_minute"] + halt["minutes"] + 1} <= set(minute), halt


def test_flash_crash_drops_and_recovers_within_minutes(market: Dataset, market_manifest: dict[str, Any]) -> None:
    crash = market_manifest["flash_crash"]
    spy = market.bars(["SPY"], crash["session"], crash["session"]).set_index(
        sf.minute_of_session(market.bars(["SPY"], crash["session"], crash["session"])["ts"]))["close"]
    before = spy.loc[crash["start_minute"]]
    trough = spy.loc[crash["start_minute"]: crash["start_minute"] + crash["down_minutes"] + 2].min()
    after = spy.loc[crash["start_minute"] + crash["down_minutes"] + crash["up_minutes"] + 5]
    assert trough / before - 1 < -0.03
    assert after / trough - 1 > 0.02


def test_vix_tracks_realized_market_volatility(market: Dataset) -> None:
    vix = market.context("vix")
    spy = market.bars(["SPY"])
    realized = sf.minute_log_returns(spy).abs().groupby(spy["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date).mean()
    level = vix.groupby(pd.to_datetime(vix["ts"]).dt.tz_convert(EXCHANGE_TZ).dt.date)["vix"].mean()
    both = pd.concat([realized, level], axis=1, join="inner").dropna()
    assert len(both) == len(market.dates)
    assert both.iloc[:, 0].corr(both.iloc[:, 1]) > 0.3
    assert (vix["available_at"] > pd.to_datetime(vix["ts"])).all()


def test_splits_are_recorded_and_adjusted_away(market: Dataset) -> None:
    actions = market.corporate_actions
    splits = actions[actions["split_ratio"] != 1.0]
    assert len(splits) >= 1
    for _, split in splits.iterrows():
        raw = market.bars([split["ticker"]])
        adjusted = market.bars([split["ticker"]], adjust="backward")
        ex_open = pd.Timestamp(split["ex_date"]).tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=9, minutes=31)
        last_before = raw.index[raw["ts"] < ex_open][-1]
        raw_jump = raw.loc[last_before + 1, "open"] / raw.loc[last_before, "close"]
        assert raw_jump == pytest.approx(1 / split["split_ratio"], rel=0.05)
        adjusted_jump = adjusted.loc[last_before + 1, "open"] / adjusted.loc[last_before, "close"]
        assert abs(np.log(adjusted_jump)) < 0.05
        returns = sf.minute_log_returns(adjusted).abs()
        assert returns.max() < 0.1
        assert raw["volume"].iloc[-1] > 0 and adjusted["close"].iloc[-1] == raw["close"].iloc[-1]


def test_dividends_are_recorded_and_adjusted_as_total_return(market: Dataset) -> None:
    actions = market.corporate_actions
    dividends = actions[actions["cash_dividend"] > 0]
    assert len(dividends) >= 1
    ticker, ex_date, cash = dividends.iloc[0][["ticker", "ex_date", "cash_dividend"]]
    raw = market.bars([ticker], adjust="raw")
    adjusted = market.bars([ticker], adjust="backward")
    before = raw["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date < ex_date
    prev_close = raw.loc[before, "close"].iloc[-1]
    ratio = adjusted.loc[before, "close"] / raw.loc[before, "close"]
    splits_after = actions[(actions["ticker"] == ticker) & (actions["ex_date"] > ex_date)]["split_ratio"].prod()
    assert ratio.to_numpy() == pytest.approx((1 - cash / prev_close) / splits_after, rel=1e-9)
    assert (adjusted.loc[~before, "close"] <= raw.loc[~before, "close"] + 1e-12).all()


def test_build_is_deterministic_by_seed(lake_root) -> None:
    small = SynthConfig(n_tickers=12, n_days=2, seed=5)
    first = Dataset(build_synthetic_market(small, "seed-a", progress=False)).bars()
    again = Dataset(build_synthetic_market(small, "seed-b", progress=False)).bars()
    other = Dataset(build_synthetic_market(SynthConfig(n_tickers=12, n_days=2, seed=6), "seed-c",
                                           progress=False)).bars()
    pd.testing.assert_frame_equal(first, again)
    assert not first["close"].equals(other["close"])


def test_existing_dataset_is_not_overwritten_by_accident(market: Dataset) -> None:
    with pytest.raises(FileExistsError, match="already exists"):
        build_synthetic_market(SynthConfig(n_tickers=5, n_days=1), "market", progress=False)


@pytest.mark.parametrize(("field", "value"), [("n_tickers", 0), ("n_days", 0), ("seed", -1),
                                              ("lead_lag_strength", 1.5), ("signal_strength", -0.1)])
def test_bad_config_is_refused_with_its_name(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        SynthConfig(**{field: value})
