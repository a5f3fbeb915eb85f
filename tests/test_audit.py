"""The causality audit passes trailing features and names each feature that looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.audit import DEFAULT_N_CUTS, CausalityReport, check_causality, cut_times, perturb_after
from workbench.data import EXCHANGE_TZ, Dataset, bar_problems
from workbench.errors import DataValidationError, LookAheadError, WorkbenchError

LEAKY = {"next_close", "centered", "zscore", "final_close", "next_xs", "next_sign"}


def _bars(n_tickers: int = 3, n_minutes: int = 40, seed: int = 1) -> pd.DataFrame:
    """Valid hand-made bars sorted by ticker, ts, with some nulls in the nullable columns."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-11-25 14:31", periods=n_minutes, freq="1min", tz="UTC")
    frames = []
    for i in range(n_tickers):
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n_minutes)))
        open_ = np.r_[close[0], close[:-1]]
        high, low = np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999
        frames.append(
            pd.DataFrame(
                {
                    "ts": ts,
                    "ticker": f"T{i}",
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": rng.integers(100, 1000, n_minutes).astype(float),
                    "vwap": (high + low) / 2,
                    "trades": pd.array(rng.integers(1, 50, n_minutes), dtype="Int64"),
                    "bid": close * 0.9995,
                    "ask": close * 1.0005,
                    "bid_size": rng.integers(1, 500, n_minutes).astype(float),
                    "ask_size": rng.integers(1, 500, n_minutes).astype(float),
                }
            )
        )
    bars = pd.concat(frames, ignore_index=True)
    bars.loc[::7, "vwap"] = np.nan
    bars.loc[::5, ["bid", "ask"]] = np.nan
    bars.loc[::9, "trades"] = pd.NA
    return bars


def honest(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars.groupby("ticker")["close"]
    ret1 = bars["close"] / close.shift(1) - 1
    return pd.DataFrame(
        {
            "mean5": close.rolling(5, min_periods=1).mean().droplevel(0),
            "ret1": ret1,
            "expanding": close.expanding().mean().droplevel(0),
            "sign": np.where(ret1 > 0, "up", "down"),
        },
        index=bars.index,
    )


def leaky(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars.groupby("ticker")["close"]
    day = bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date
    ret1 = bars["close"] / close.shift(1) - 1
    next_ret = close.shift(-1) / bars["close"] - 1
    return pd.DataFrame(
        {
            "ret1": ret1,
            "next_close": close.shift(-1),
            "centered": close.transform(lambda s: s.rolling(3, center=True).mean()),
            "zscore": (bars["close"] - bars["close"].mean()) / bars["close"].std(),
            "final_close": bars.groupby([bars["ticker"], day])["close"].transform("last"),
            "next_xs": bars["ts"].map(ret1.groupby(bars["ts"]).mean().shift(-1)),
            "next_sign": pd.Categorical(np.where(next_ret > 0, "up", "down")),
        },
        index=bars.index,
    )


def test_trailing_features_pass() -> None:
    bars = _bars()
    report = check_causality(honest, bars)
    assert report.ok and not report.leaky_columns
    n = DEFAULT_N_CUTS
    assert len(report.cuts) == n and report.cuts == sorted(report.cuts) and len(set(report.cuts)) == n
    assert max(report.cuts) < bars["ts"].max()
    assert report.channels == ("values", "bars", "quotes")  # no context or corporate actions given
    assert report.checked_rows == 3 * sum(int((bars["ts"] <= cut).sum()) for cut in report.cuts)
    assert "no look-ahead" in str(report)


def test_each_leaky_feature_is_named() -> None:
    report = check_causality(leaky, _bars(), raise_on_leak=False)
    assert isinstance(report, CausalityReport) and not report.ok
    assert set(report.leaky_columns) == LEAKY
    for name in ("next_close", "centered", "next_xs"):  # first wrong at the cut bar itself
        assert report.leaky_columns[name].ts == report.leaky_columns[name].cut, name
    first_bar = _bars()["ts"].min()
    assert report.leaky_columns["zscore"].ts == first_bar and report.leaky_columns["final_close"].ts == first_bar
    text = str(report)
    assert all(repr(name) in text for name in LEAKY) and "ret1" not in text


def test_shift_minus_one_raises_with_column_ticker_and_times() -> None:
    bars = _bars()

    def next_close(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.groupby("ticker")["close"].shift(-1).to_frame("next_close")

    with pytest.raises(LookAheadError) as caught:
        check_causality(next_close, bars)
    leak = check_causality(next_close, bars, raise_on_leak=False).leaky_columns["next_close"]
    message = str(caught.value)
    assert "'next_close'" in message and f"ticker {leak.ticker} at {leak.ts}" in message
    assert f"cut {leak.cut}" in message and leak.base_value != leak.perturbed_value
    assert leak.ticker == "T0" and leak.base_value == bars.loc[bars["ts"] > leak.cut, "close"].iloc[0]
    assert isinstance(caught.value, AssertionError) and isinstance(caught.value, WorkbenchError)


def test_series_outputs_work() -> None:
    bars = _bars()
    assert check_causality(lambda b: b.groupby("ticker")["close"].shift(1), bars).ok
    report = check_causality(lambda b: b.groupby("ticker")["close"].shift(-1), bars, raise_on_leak=False)
    assert set(report.leaky_columns) == {"close"}
    report = check_causality(
        lambda b: pd.Series(-b["close"].to_numpy()[::-1], index=b.index), bars, raise_on_leak=False
    )
    assert set(report.leaky_columns) == {"output"}


def test_constant_function_is_fine() -> None:
    assert check_causality(lambda b: pd.DataFrame({"one": 1.0, "nan": np.nan}, index=b.index), _bars()).ok


def test_cuts_are_seeded() -> None:
    bars = _bars()
    assert check_causality(honest, bars, seed=4).cuts == cut_times(bars, seed=4) == cut_times(bars, seed=4)
    assert cut_times(bars, seed=4) != cut_times(bars, seed=5)
    assert len(check_causality(honest, bars.iloc[[0, 1, 2]], n_cuts=5).cuts) == 2  # only two usable times


def test_misaligned_or_unstable_outputs_are_refused() -> None:
    bars = _bars()
    with pytest.raises(ValueError, match=r"aligned on the index of the bars.*droplevel"):
        check_causality(lambda b: b.groupby("ticker")["close"].rolling(3).mean(), bars)
    with pytest.raises(ValueError, match="aligned on the index of the bars"):
        check_causality(lambda b: b["close"].iloc[::-1], bars)
    with pytest.raises(ValueError, match="returned columns"):
        check_causality(lambda b: b[["close"]] if b.equals(bars) else b[["open"]], bars)
    with pytest.raises(TypeError, match="DataFrame or Series"):
        check_causality(lambda b: b["close"].to_numpy(), bars)


def test_bad_inputs_are_refused() -> None:
    bars = _bars()
    with pytest.raises(DataValidationError, match=r"\['ticker'\]"):
        check_causality(honest, bars.drop(columns="ticker"))
    with pytest.raises(ValueError, match="'ts' must hold tz-aware"):
        check_causality(honest, bars.assign(ts=bars["ts"].dt.tz_localize(None)))
    for n_cuts in (0, -1, 2.5):
        with pytest.raises(ValueError, match="n_cuts must be a positive integer"):
            check_causality(honest, bars, n_cuts=n_cuts)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two distinct timestamps"):
        check_causality(honest, bars[bars["ts"] == bars["ts"].min()])


def test_perturbation_changes_only_the_future_and_keeps_bars_valid() -> None:
    bars = _bars()
    cut = bars["ts"].sort_values().iloc[len(bars) // 2]
    out = perturb_after(bars, cut, np.random.default_rng(0))
    past, future = (bars["ts"] <= cut).to_numpy(), (bars["ts"] > cut).to_numpy()
    pd.testing.assert_frame_equal(out[past], bars[past])
    assert out.dtypes.equals(bars.dtypes)
    for column in ("open", "high", "low", "close", "volume", "bid_size", "ask_size"):
        assert (out.loc[future, column] != bars.loc[future, column]).all(), column
    assert (bar_problems(out) == "").all()
    for column in ("vwap", "bid", "ask", "trades"):
        assert out[column].isna().equals(bars[column].isna()), column
    quoted = out["bid"].notna()
    assert (out.loc[quoted, "bid"] < out.loc[quoted, "ask"]).all() and (out.loc[quoted, "bid"] > 0).all()
    priced = out["vwap"].notna()
    assert out.loc[priced, "vwap"].between(out.loc[priced, "low"], out.loc[priced, "high"]).all()
    again = perturb_after(bars, cut, np.random.default_rng(0))
    pd.testing.assert_frame_equal(out, again)
    with pytest.raises(ValueError, match="no timezone"):
        perturb_after(bars, "2024-11-25 15:00", np.random.default_rng(0))


def test_realistic_run_on_the_synthetic_market(market: Dataset) -> None:
    tickers = ["SPY", *market.tickers.loc[~market.tickers["is_index"], "ticker"].iloc[:9]]
    bars = market.bars(tickers, market.dates[0], market.dates[1])
    assert bars["ticker"].nunique() == 10 and bars["ts"].dt.tz_convert(EXCHANGE_TZ).dt.date.nunique() == 2
    cut = bars["ts"].sort_values().iloc[len(bars) // 3]
    perturbed = perturb_after(bars, cut, np.random.default_rng(7))
    assert (bar_problems(perturbed) == "").all()
    assert (perturbed["trades"] > 0).all() and perturbed["trades"].dtype == bars["trades"].dtype
    assert check_causality(honest, bars).ok
    report = check_causality(leaky, bars, raise_on_leak=False)
    assert set(report.leaky_columns) == LEAKY
