"""The data-quality table and the intraday profile of 01_explore, against counts and groupbys written here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from workbench.data import Dataset
from workbench.data._quality import minute_gaps
from workbench.data._writer import write_bars_partition, write_corporate_actions, write_parquet_atomic
from workbench.data.synth import SynthConfig, build_synthetic_market
from workbench.viz.explore import data_quality_table, dataset_overview, intraday_figure, intraday_profile

NY = "America/New_York"
DAYS = ("2024-11-25", "2024-11-26")  # two full sessions: 390 minutes each


@pytest.fixture(scope="module")
def tiny(lake_root: Path) -> Dataset:
    """Three stocks and the index over two full sessions."""
    build_synthetic_market(SynthConfig(n_tickers=3, n_days=2, seed=5, n_halts=0, flash_crash=False), "tiny-quality",
                           progress=False, overwrite=True)
    return Dataset("tiny-quality")


def present_minutes(frame: pd.DataFrame) -> set[int]:
    """Minutes since the open (1 = 09:31) of the bars in ``frame``, by hand."""
    local = frame["ts"].dt.tz_convert(NY)
    return set((local.dt.hour * 60 + local.dt.minute - 570).tolist())


def runs_of_absent(minutes: set[int], total: int = 390) -> list[tuple[int, int]]:
    """(first absent minute, length) of every run of absent minutes strictly between two present ones."""
    runs, start = [], None
    for minute in range(1, total + 1):
        if minute not in minutes and start is None:
            start = minute
        elif minute in minutes and start is not None:
            if start > min(minutes):
                runs.append((start, minute - start))
            start = None
    return runs


@pytest.fixture(scope="module")
def cut(tiny: Dataset, lake_root: Path) -> tuple[Dataset, list[str]]:
    """A copy of ``tiny`` with a 12-minute hole in one stock, its first three minutes cut from another, a
    session dropped from the third, three quarantined records and a few corporate actions."""
    cut_path = lake_root / "tiny-cut"
    shutil.rmtree(cut_path, ignore_errors=True)
    shutil.copytree(tiny.path, cut_path)
    names = sorted(t for t in tiny.tickers["ticker"] if t != "SPY")
    a, b, c = names
    day1, day2 = (pd.read_parquet(next((cut_path / "bars" / f"date={d}").glob("*.parquet"))) for d in DAYS)
    local = day1["ts"].dt.tz_convert(NY)
    minute = local.dt.hour * 60 + local.dt.minute - 570
    halt = (day1["ticker"] == a) & minute.between(100, 111)  # a 12-minute hole inside the session
    opening = (day1["ticker"] == c) & (minute <= 3)  # the first three minutes: missing, not a halt
    write_bars_partition(cut_path, pd.Timestamp(DAYS[0]).date(), day1[~halt & ~opening])
    write_bars_partition(cut_path, pd.Timestamp(DAYS[1]).date(), day2[day2["ticker"] != b])  # b skips a session
    quarantine = pd.DataFrame({"source_file": "x.csv", "line": [3, 4, 9], "reason": "high < low",
                               "record": "...", "ticker": [a, a, "ZZZ"]})
    write_parquet_atomic(pa.Table.from_pandas(quarantine, preserve_index=False), cut_path / "quarantine.parquet")
    write_corporate_actions(cut_path, pd.DataFrame({"ticker": [a, a, c], "ex_date": list(DAYS) + [DAYS[1]],
                                                    "split_ratio": [2.0, 1.0, 1.0], "cash_dividend": [0, 0.5, 0.2]}))
    return Dataset("tiny-cut"), names


def test_missing_minutes_halts_quarantine_and_actions_counted_by_hand(cut: tuple[Dataset, list[str]]) -> None:
    ds, names = cut
    a, b, c = names
    table = data_quality_table(ds)

    by_day = {d: pd.read_parquet(next((ds.path / "bars" / f"date={d}").glob("*.parquet"))) for d in DAYS}
    for ticker in ["SPY", *names]:
        held = [by_day[d][by_day[d]["ticker"] == ticker] for d in DAYS]
        row = table.loc[ticker]
        assert row["bars"] == sum(len(h) for h in held)
        assert row["expected_minutes"] == 780
        assert row["missing_minutes"] == 780 - sum(len(h) for h in held)
        assert row["sessions"] == sum(len(h) > 0 for h in held)
        runs = [r for h in held if len(h) for r in runs_of_absent(present_minutes(h)) if r[1] >= 5]
        assert (row["halts"], row["halted_minutes"]) == (len(runs), sum(r[1] for r in runs))
    assert table.loc[a, "halts"] >= 1 and table.loc[a, "halted_minutes"] >= 12
    assert table.loc[b, "sessions"] == 1 and table.loc[b, "missing_minutes"] >= 390
    assert table.loc[c, "missing_minutes"] >= 3 and table.loc[c, "halts"] == table.loc["SPY", "halts"] == 0
    assert table.loc[a, "quarantined_rows"] == 2 and table.loc[b, "quarantined_rows"] == 0
    assert table.loc["ZZZ", "quarantined_rows"] == 1 and table.loc["ZZZ", "bars"] == 0
    assert table.loc["ZZZ", "missing_minutes"] == 780
    assert (table.loc[a, "splits"], table.loc[a, "dividends"], table.loc[c, "dividends"]) == (1, 1, 1)
    assert table.index[0] in (b, "ZZZ")  # worst first
    assert table.loc[a, "missing_share"] == pytest.approx(table.loc[a, "missing_minutes"] / 780)


def test_gaps_are_the_runs_of_absent_minutes(cut: tuple[Dataset, list[str]]) -> None:
    ds, names = cut
    gaps = minute_gaps(ds)
    for ticker in ["SPY", *names]:
        for day in DAYS:
            bars = pd.read_parquet(next((ds.path / "bars" / f"date={day}").glob("*.parquet")))
            held = present_minutes(bars[bars["ticker"] == ticker])
            mine = gaps[(gaps["ticker"] == ticker) & (gaps["date"].astype(str) == day)]
            if not held:
                assert mine.empty
                continue
            absent = sorted(set(range(1, 391)) - held)
            runs = [[m] for m in absent[:1]]
            for m in absent[1:]:
                if m == runs[-1][-1] + 1:
                    runs[-1].append(m)
                else:
                    runs.append([m])
            open_utc = pd.Timestamp(f"{day} 09:30", tz=NY).tz_convert("UTC")
            assert mine["first_missing"].tolist() == [open_utc + pd.Timedelta(minutes=r[0]) for r in runs]
            assert mine["minutes"].tolist() == [len(r) for r in runs]
            assert mine["where"].tolist() == ["open" if r[0] == 1 else "close" if r[-1] == 390 else "inside"
                                              for r in runs]
    c_open = gaps[(gaps["ticker"] == names[2]) & (gaps["where"] == "open")]
    assert c_open["first_missing"].iat[0] == pd.Timestamp(f"{DAYS[0]} 09:31", tz=NY)


def test_the_planted_halt_of_the_market_is_found(market: Dataset, market_manifest: dict) -> None:
    table = data_quality_table(market)
    for halt in market_manifest["halts"]:
        assert table.loc[halt["ticker"], "halts"] >= 1
        assert table.loc[halt["ticker"], "halted_minutes"] >= halt["minutes"]
    assert table["halts"].sum() == len(market_manifest["halts"])  # random skipped minutes are not halts
    half_day = 210
    assert set(table["expected_minutes"]) == {5 * 390 + half_day}


def test_overview_reports_the_summary(market: Dataset) -> None:
    overview = dataset_overview(market)
    assert overview.loc["tickers", "value"] == str(len(market.tickers))
    assert overview.loc["half_days", "value"] == "2024-11-29"
    assert overview.loc["sessions", "value"] == str(len(market.dates))


def test_intraday_profile_matches_a_groupby(market: Dataset) -> None:
    tickers = sorted(market.tickers["ticker"])[1:5]
    profile = intraday_profile(market, tickers, "2024-11-26", "2024-11-29")

    bars = market.bars(tickers, "2024-11-26", "2024-11-29")
    rows = []
    for (_, _), day in bars.groupby([bars["ticker"], bars["ts"].dt.tz_convert(NY).dt.date]):
        day = day.sort_values("ts")
        local = day["ts"].dt.tz_convert(NY)
        one_minute = day["ts"].diff() == pd.Timedelta(minutes=1)
        rows.append(pd.DataFrame({
            "minute": local.dt.hour * 60 + local.dt.minute - 570,
            "ret": np.where(one_minute, np.log(day["close"]).diff() * 1e4, np.nan),
            "share": day["volume"] / day["volume"].sum(),
            "spread": (day["ask"] - day["bid"]) / ((day["ask"] + day["bid"]) / 2) * 1e4,
        }))
    frame = pd.concat(rows)
    expected = frame.groupby("minute").agg(mean_abs=("ret", lambda r: r.abs().mean()), vol=("ret", "std"),
                                           share=("share", "mean"), spread=("spread", "mean"), n=("share", "size"))
    assert profile.index.tolist() == expected.index.tolist() == list(range(1, 391))
    np.testing.assert_allclose(profile["mean_abs_return_bp"], expected["mean_abs"], rtol=1e-9)
    np.testing.assert_allclose(profile["volatility_bp"], expected["vol"], rtol=1e-9)
    np.testing.assert_allclose(profile["volume_share"], expected["share"], rtol=1e-9)
    np.testing.assert_allclose(profile["spread_bp"], expected["spread"], rtol=1e-9)
    assert profile["observations"].tolist() == expected["n"].tolist()
    assert profile.loc[1, "time"] == "09:31" and profile.loc[390, "time"] == "16:00"
    assert profile.loc[211:, "observations"].max() <= 2 * len(tickers)  # the half day stops at 13:00


def test_intraday_figure_has_four_panels(market: Dataset) -> None:
    profile = intraday_profile(market, ["SPY"], "2024-11-25", "2024-11-25")
    figure = intraday_figure(profile)
    assert len(figure.data) == 4 and [t.name for t in figure.data][0] == "mean |return| (bp)"
    assert list(figure.data[3].y) == pytest.approx(profile["spread_bp"].tolist(), nan_ok=True)
    with pytest.raises(ValueError, match="intraday_profile"):
        intraday_figure(profile.drop(columns="spread_bp"))
