"""A suite of leaky and honest features covering every channel the causality audit perturbs.

Each leak is one a researcher could write by accident: a future bar's value, a window or a sample
statistic that reaches past the bar, which bars or quotes exist later, a VIX joined on the minute it
describes instead of when it was published, corporate actions not yet effective. The honest
features read the same channels, point in time.

``python -m tests.audit._suite [n_seeds]`` prints how often the audit (default cuts) catches each
leak and flags each honest feature, on the suite's slice of the test market.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from functools import lru_cache

import numpy as np
import pandas as pd

from workbench.audit import check_causality
from workbench.data import EXCHANGE_TZ, Dataset, first_sessions, sessions

MINUTE = pd.Timedelta(minutes=1)

#: leak name -> the channel it leaks through (the one the audit should name)
LEAKY: dict[str, str] = {
    "next_close": "values",
    "centered_mean": "values",
    "full_sample_z": "values",
    "session_last_close": "values",
    "next_session_open": "values",
    "start_labelled_5min": "values",
    "next_volume": "values",
    "next_xs_return": "values",
    "last_4_minutes": "values",
    "opening_range": "values",
    "minutes_to_next_bar": "bars",
    "bars_left_in_session": "bars",
    "session_bar_count": "bars",
    "tickers_next_minute": "bars",
    "next_bar_unquoted": "quotes",
    "session_quote_share": "quotes",
    "vix_on_its_minute": "context",
    "next_minute_vix": "context",
    "session_max_vix": "context",
    "action_next_5_sessions": "corporate_actions",
    "back_adjusted_close": "corporate_actions",
}
HONEST = ("trailing_mean_10", "expanding_mean", "ewm_20", "xs_rank_ret_5", "calendar_minutes_to_close",
          "vix_as_published", "split_adjusted_close", "minutes_since_prev_bar", "prev_bar_unquoted")


def suite_inputs(market: Dataset) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(bars, vix, corporate actions) of 6 tickers over 3 sessions (the half day last): the index, the
    names with corporate actions, the two that skip the most minutes, then the first others."""
    dates = market.dates[1:4]
    counts = market.sql("SELECT ticker, count(*) AS n FROM bars WHERE date BETWEEN ? AND ? GROUP BY ticker",
                        [dates[0], dates[-1]]).sort_values(["n", "ticker"])
    actions = market.corporate_actions
    picked = ["SPY", *sorted(actions["ticker"].unique())[:2], *counts["ticker"].iloc[:2]]
    picked += [t for t in market.tickers["ticker"] if t not in picked][: 6 - len(picked)]
    bars = market.bars(picked, dates[0], dates[-1])
    return bars, market.context("vix"), actions


def all_features(bars: pd.DataFrame, vix: pd.DataFrame, corporate_actions: pd.DataFrame) -> pd.DataFrame:
    """Every leaky and honest column of the suite, one row per bar (same index)."""
    frame = pd.DataFrame(index=bars.index)
    ts, close = bars["ts"], bars["close"]
    by = bars.groupby("ticker", sort=False)
    day = pd.Series(ts.dt.tz_convert(EXCHANGE_TZ).dt.date, index=bars.index)
    by_day = bars.groupby([bars["ticker"], day], sort=False)
    to_close = _calendar_minutes_to_close(ts, day)
    of_session = _calendar_minute_of_session(ts, day)
    ret1 = close / by["close"].shift(1) - 1

    frame["next_close"] = by["close"].shift(-1)
    frame["centered_mean"] = by["close"].transform(lambda s: s.rolling(5, center=True, min_periods=1).mean())
    frame["full_sample_z"] = (close - close.mean()) / close.std()
    last_close = by_day["close"].transform("last")
    frame["session_last_close"] = last_close
    first_open = by_day["open"].transform("first")
    opens = pd.DataFrame({"ticker": bars["ticker"], "day": day, "open": first_open}).drop_duplicates(["ticker", "day"])
    opens["next_open"] = opens.sort_values("day").groupby("ticker")["open"].shift(-1)
    frame["next_session_open"] = _per_ticker_day(bars, day, opens.set_index(["ticker", "day"])["next_open"])
    bucket = (ts - MINUTE).dt.floor("5min")  # a 5-minute resample labelled by its start, joined on start
    frame["start_labelled_5min"] = close.groupby([bars["ticker"], bucket]).transform("last")
    frame["next_volume"] = by["volume"].shift(-1)
    frame["next_xs_return"] = (ts + MINUTE).map(ret1.groupby(ts).mean())
    frame["last_4_minutes"] = np.where(to_close < 4, last_close, close)
    opening_high = by_day["high"].transform(lambda s: s.iloc[:5].max())
    frame["opening_range"] = np.where(of_session <= 5, opening_high, np.nan)

    frame["minutes_to_next_bar"] = (by["ts"].shift(-1) - ts) / MINUTE
    frame["bars_left_in_session"] = by_day.cumcount(ascending=False).astype(float)
    frame["session_bar_count"] = by_day["close"].transform("size").astype(float)
    frame["tickers_next_minute"] = (ts + MINUTE).map(ts.value_counts()).fillna(0.0).astype(float)
    frame["next_bar_unquoted"] = by["bid"].shift(-1).isna().astype(float)
    frame["session_quote_share"] = bars["bid"].notna().groupby([bars["ticker"], day]).transform("mean")

    frame["vix_on_its_minute"] = _asof(vix, "ts", ts)
    frame["next_minute_vix"] = _asof(vix, "available_at", ts + MINUTE)
    frame["session_max_vix"] = day.map(_session_max(vix))

    actions = corporate_actions.assign(ex_date=[pd.Timestamp(d).date() for d in corporate_actions["ex_date"]])
    frame["action_next_5_sessions"] = _per_ticker_day(bars, day, _actions_ahead(actions, bars, day))
    frame["back_adjusted_close"] = close * _per_ticker_day(bars, day, _split_factor(actions, bars, day, later=True))

    frame["trailing_mean_10"] = by["close"].rolling(10, min_periods=1).mean().droplevel(0)
    frame["expanding_mean"] = by["close"].expanding().mean().droplevel(0)
    frame["ewm_20"] = by["close"].transform(lambda s: s.ewm(span=20).mean())
    ret5 = close / by["close"].shift(5) - 1
    frame["xs_rank_ret_5"] = ret5.groupby(ts).rank(pct=True)
    frame["calendar_minutes_to_close"] = to_close
    frame["vix_as_published"] = _asof(vix, "available_at", ts)
    frame["split_adjusted_close"] = close * _per_ticker_day(bars, day, _split_factor(actions, bars, day, later=False))
    frame["minutes_since_prev_bar"] = (ts - by["ts"].shift(1)) / MINUTE
    frame["prev_bar_unquoted"] = by["bid"].shift(1).isna().astype(float)
    return frame


def _asof(vix: pd.DataFrame, on: str, at: pd.Series) -> np.ndarray:
    """The last VIX value with ``vix[on] <= at`` (a later row wins a tie), NaN before the first."""
    times = pd.DatetimeIndex(vix[on]).as_unit("ns").asi8
    order = np.argsort(times, kind="stable")
    where = np.searchsorted(times[order], pd.DatetimeIndex(at).as_unit("ns").asi8, side="right") - 1
    values = vix["vix"].to_numpy(dtype=float)[order]
    return np.where(where >= 0, values[np.maximum(where, 0)], np.nan)


def _session_table(day: pd.Series) -> pd.DataFrame:
    days = sorted(set(day))
    return sessions(days[0], days[-1]).set_index("date")


def _calendar_minutes_to_close(ts: pd.Series, day: pd.Series) -> np.ndarray:
    """NYSE calendar minutes from the bar's end to its session's close (0 at the close; honest)."""
    close = day.map(_session_table(day)["close"])
    return ((close - ts) / MINUTE).to_numpy(dtype=float)


def _calendar_minute_of_session(ts: pd.Series, day: pd.Series) -> np.ndarray:
    """1 for the session's first bar end (09:31), from the calendar."""
    opened = day.map(_session_table(day)["open"])
    return ((ts - opened) / MINUTE).to_numpy(dtype=float)


def _per_ticker_day(bars: pd.DataFrame, day: pd.Series, values: pd.Series) -> np.ndarray:
    """``values`` indexed by (ticker, day), read for every bar."""
    keys = pd.MultiIndex.from_arrays([bars["ticker"].astype(str), day])
    return values.reindex(keys).to_numpy(dtype=float)


def _session_max(vix: pd.DataFrame) -> pd.Series:
    """The highest VIX published during each session (read by every bar of it: a leak)."""
    published = vix["available_at"].dt.tz_convert(EXCHANGE_TZ)
    return vix["vix"].groupby(published.dt.date).max()


@lru_cache(maxsize=64)
def _fifth_session_after(day: dt.date) -> dt.date:
    return first_sessions(day + dt.timedelta(days=1), 5)["date"].iloc[-1]


def _ticker_days(bars: pd.DataFrame, day: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"ticker": bars["ticker"].astype(str), "day": day}).drop_duplicates()


def _actions_ahead(actions: pd.DataFrame, bars: pd.DataFrame, day: pd.Series) -> pd.Series:
    """1 when the ticker has an action with ex-date in the next 5 sessions (not known yet: a leak)."""
    pairs = _ticker_days(bars, day)
    dates = actions.groupby(actions["ticker"].astype(str))["ex_date"].apply(list).to_dict()
    flags = [float(any(d < ex <= _fifth_session_after(d) for ex in dates.get(t, [])))
             for t, d in pairs.itertuples(index=False)]
    return pd.Series(flags, index=pd.MultiIndex.from_frame(pairs))


def _split_factor(actions: pd.DataFrame, bars: pd.DataFrame, day: pd.Series, *, later: bool) -> pd.Series:
    """Per (ticker, day): 1 / the product of later split ratios (back-adjustment: a leak), or the product
    of those already effective (point in time: honest)."""
    pairs = _ticker_days(bars, day)
    rows = {t: list(zip(g["ex_date"], g["split_ratio"], strict=True))
            for t, g in actions.groupby(actions["ticker"].astype(str))}
    factors = []
    for ticker, d in pairs.itertuples(index=False):
        ratios = [r for ex, r in rows.get(ticker, []) if (ex > d) == later]
        factors.append(1 / float(np.prod(ratios)) if later else float(np.prod(ratios)))
    return pd.Series(factors, index=pd.MultiIndex.from_frame(pairs))


def detection_counts(bars: pd.DataFrame, vix: pd.DataFrame, actions: pd.DataFrame,
                     seeds: range) -> dict[str, int]:
    """Per suite column, in how many audit runs (one per seed, default cuts) it was flagged."""
    counts = dict.fromkeys([*LEAKY, *HONEST], 0)
    for seed in seeds:
        report = check_causality(all_features, bars,
                                 context={"vix": vix}, corporate_actions=actions, seed=seed, raise_on_leak=False)
        for name in report.leaky_columns:
            counts[name] += 1
    return counts


def _main(n_seeds: int) -> None:
    from tests.conftest import MARKET
    from workbench.data.synth import build_synthetic_market

    with tempfile.TemporaryDirectory() as root:
        os.environ["WB_DATASETS"] = root
        build_synthetic_market(MARKET, "market", progress=False)
        bars, vix, actions = suite_inputs(Dataset("market"))
        counts = detection_counts(bars, vix, actions, range(n_seeds))
    for name, channel in LEAKY.items():
        print(f"leak    {name:<26} ({channel:<17}) caught  {counts[name]}/{n_seeds}")
    for name in HONEST:
        print(f"honest  {name:<26} {'':19} flagged {counts[name]}/{n_seeds}")


if __name__ == "__main__":
    _main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
