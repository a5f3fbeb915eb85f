"""Build a synthetic dataset in the lake, session by session (bounded memory at any length)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench._progress import progress as progress_bar
from workbench.data._calendar import EXCHANGE_TZ, first_sessions
from workbench.data._paths import dataset_path
from workbench.data._writer import (
    write_bars_partition,
    write_context,
    write_corporate_actions,
    write_parquet_atomic,
    write_tickers,
)
from workbench.data.synth._config import SynthConfig
from workbench.data.synth._schedule import Schedule, make_schedule
from workbench.data.synth._simulate import MarketState, simulate_session
from workbench.data.synth._universe import SECTORS, Universe, make_universe

UNIVERSE_STREAM, SCHEDULE_STREAM, SESSION_STREAM, CONTEXT_STREAM = 0, 1, 2, 3


def build_synthetic_market(config: SynthConfig, name: str, *, overwrite: bool = False,
                           progress: bool = True) -> Path:
    """Simulate ``config`` and write it as dataset ``name``; returns the dataset folder.

    The dataset appears atomically: it is built in a side folder and renamed when complete.
    """
    target = dataset_path(name, must_exist=False)
    if target.exists() and not overwrite:
        raise FileExistsError(f"dataset {name!r} already exists at {target}; pass overwrite=True "
                              "(CLI: --overwrite) to rebuild it")
    staging = target.with_name(f".{target.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)

    universe = make_universe(config.n_tickers, _rng(config.seed, UNIVERSE_STREAM))
    sessions = first_sessions(config.start, config.n_days)
    schedule = make_schedule(config, universe, sessions, _rng(config.seed, SCHEDULE_STREAM))
    state = MarketState.initial(universe, len(SECTORS))
    vix_parts, actions = [], []
    days = progress_bar(range(config.n_days), desc=f"synth {name}", unit="sessions", enabled=progress)
    for day in days:
        result = simulate_session(day, config, universe, schedule, state, _rng(config.seed, SESSION_STREAM, day))
        date = sessions["date"].iloc[day]
        write_bars_partition(staging, date, result.bars)
        vix_parts.append(result.vix)
        actions.extend(
            {"ticker": universe.tickers[i], "ex_date": date, "split_ratio": 1.0, "cash_dividend": cash}
            for i, cash in result.dividends
        )
        days.set_postfix(rows=len(result.bars))
    actions.extend(
        {"ticker": universe.tickers[i], "ex_date": sessions["date"].iloc[d], "split_ratio": r,
         "cash_dividend": 0.0}
        for (d, i), r in schedule.splits.items()
    )

    write_tickers(staging, universe.ticker_table())
    action_table = pd.DataFrame(actions, columns=["ticker", "ex_date", "split_ratio", "cash_dividend"])
    write_corporate_actions(staging, action_table.sort_values(["ex_date", "ticker"]))
    write_context(staging, "vix", pd.concat(vix_parts, ignore_index=True))
    write_context(staging, "rates", _short_rate(sessions, _rng(config.seed, CONTEXT_STREAM)))
    write_context(staging, "macro_events", schedule.macro.drop(columns=["day", "minute"]))
    write_parquet_atomic(pa.Table.from_pandas(universe.truth_table(), preserve_index=False),
                         staging / "synth_truth.parquet")
    (staging / "synth.json").write_text(json.dumps(_manifest(config, universe, schedule), indent=2, default=str))

    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the build."""
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def _short_rate(sessions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A daily overnight rate for the previous business day, published at 08:00 New York time."""
    rate = 0.0525 + np.cumsum(rng.normal(0.0, 0.0002, len(sessions)))
    dates = pd.to_datetime(sessions["date"])
    published = (dates + pd.Timedelta(hours=8)).dt.tz_localize(EXCHANGE_TZ).dt.tz_convert("UTC")
    return pd.DataFrame({"session_date": sessions["date"], "rate": np.round(rate, 5), "available_at": published})


def _manifest(config: SynthConfig, universe: Universe, schedule: Schedule) -> dict:
    """What was planted, for tests and for researchers checking that they recover it."""
    sessions = schedule.sessions["date"].astype(str).tolist()
    crash = schedule.flash_crash
    return {
        "generator": "workbench.data.synth",
        "config": config.to_dict(),
        "planted": {
            "signal_strength": config.effective_signal_strength,
            "lead_lag_strength": config.effective_lead_lag,
            "signal": "book imbalance at the close of bar t predicts the log return over bars t+1..t+5",
        },
        "sessions": sessions,
        "half_days": schedule.sessions.loc[schedule.sessions["minutes"] < 390, "date"].astype(str).tolist(),
        "volatility_regime": dict(zip(sessions, schedule.regime.tolist(), strict=True)),
        "flash_crash": None if crash is None else {
            "session": sessions[crash.day], "start_minute": crash.start, "down_minutes": crash.down_minutes,
            "up_minutes": crash.up_minutes, "depth": crash.depth, "recovery": crash.recovery,
        },
        "halts": [
            {"ticker": universe.tickers[h.ticker_index], "session": sessions[h.day], "start_minute": h.start,
             "minutes": h.minutes, "jump": h.jump}
            for h in schedule.halts
        ],
    }
