"""``wb bench features``: batch throughput of the catalog against a plain-pandas and a TA-Lib baseline
run in the same process on the same bars, and the online engine's latency for one cross-section."""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import talib

from workbench.bench.pandas_features import pandas_features
from workbench.data import EXCHANGE_TZ, Dataset
from workbench.data.synth import SynthConfig, build_synthetic_market
from workbench.features import BarBatch, FeatureSpec, OnlineFeatureEngine, compute, dataset_inputs
from workbench.features._lanes import default_threads

#: the families the pandas baseline also computes
PANDAS_KINDS = ("log_return", "roc", "rsi", "macd", "bollinger", "atr", "realized_vol", "obv_z", "volume_z_tod",
                "vwap_dev")
#: the families whose indicator TA-Lib also computes
TALIB_KINDS = ("roc", "rsi", "macd", "bollinger", "atr", "obv_z")


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Fastest wall time of ``repeats`` runs (the usual benchmark estimate: noise only adds time)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def talib_loop(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """ROC, RSI, MACD, Bollinger, ATR and OBV by TA-Lib, ticker by ticker, into columns aligned with
    ``bars`` (sorted by ticker, ts, as the lake returns them): the same job ``compute`` does."""
    symbols = bars["ticker"]
    bounds = np.flatnonzero(symbols.ne(symbols.shift()).to_numpy()[1:]) + 1  # Arrow compare: a few ms
    high, low, close, volume = (bars[c].to_numpy(dtype=float) for c in ("high", "low", "close", "volume"))
    names = ("roc", "rsi", "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "atr", "obv")
    out = {name: np.empty(len(bars)) for name in names}
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(bars)], strict=True):
        c = close[a:b]
        out["roc"][a:b] = talib.ROC(c, 10)
        out["rsi"][a:b] = talib.RSI(c, 14)
        out["macd"][a:b], out["macd_signal"][a:b], out["macd_hist"][a:b] = talib.MACD(c, 12, 26, 9)
        out["bb_upper"][a:b], out["bb_middle"][a:b], out["bb_lower"][a:b] = talib.BBANDS(c, 20, 2.0, 2.0)
        out["atr"][a:b] = talib.ATR(high[a:b], low[a:b], c, 14)
        out["obv"][a:b] = talib.OBV(c, volume[a:b])
    return out


def _latencies(update: Callable[[Any], object], inputs: list[Any]) -> np.ndarray:
    gc.collect()
    spent = np.empty(len(inputs))
    for k, item in enumerate(inputs):
        started = time.perf_counter()
        update(item)
        spent[k] = time.perf_counter() - started
    return spent * 1e3


def online_latency(dataset: Dataset, spec: FeatureSpec, *, minutes: int, threads: int | None = None
                   ) -> dict[str, float]:
    """p50/p99 of ``update`` (a DataFrame per minute), ``update_batch`` (pre-unpacked arrays) and the
    buffered path (``submit_batch`` then ``advance_watermark_batch`` closing the minute) for each
    minute's full cross-section of the dataset's second session, after the whole first session has
    filled every window (the longest, FFD's, is 282 bars): the steady state a live scorer runs in."""
    bars = dataset.bars(adjust="raw")
    first_session = dataset.dates[0]
    by_minute = [frame for _, frame in bars.groupby("ts", sort=True)]
    warmup = sum(1 for frame in by_minute if frame["ts"].iloc[0].tz_convert(EXCHANGE_TZ).date() == first_session)
    timed = by_minute[warmup:warmup + minutes]
    if len(timed) < minutes:
        raise ValueError(f"the online dataset has {len(by_minute) - warmup} minutes after its first session; "
                         f"need {minutes}")
    inputs = dataset_inputs(dataset)
    inputs.pop("context")  # the engine is fed context with update_context; none is timed here
    universe = inputs.pop("universe")
    result: dict[str, float] = {"online_tickers": int(timed[0]["ticker"].nunique()), "online_minutes": len(timed)}
    for prefix in ("online", "online_batch", "online_buffered"):
        engine = OnlineFeatureEngine(spec, universe, **inputs, threads=threads)
        for frame in by_minute[:warmup]:
            engine.update(frame)
        if prefix == "online":
            spent = _latencies(engine.update, timed)
        elif prefix == "online_batch":
            spent = _latencies(engine.update_batch, [engine.batch(frame) for frame in timed])
        else:
            def submit_and_close(batch: BarBatch, engine: OnlineFeatureEngine = engine) -> None:
                engine.submit_batch(batch)
                engine.advance_watermark_batch(int(batch.ts[0]))

            spent = _latencies(submit_and_close, [engine.batch(frame) for frame in timed])
        result[f"{prefix}_p50_ms"] = round(float(np.percentile(spent, 50)), 3)
        result[f"{prefix}_p99_ms"] = round(float(np.percentile(spent, 99)), 3)
    return result


def run_feature_benchmark(n_tickers: int = 500, n_days: int = 5, *, online_tickers: int = 5000,
                          online_minutes: int = 300, repeats: int = 3, seed: int = 7,
                          report: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the synthetic markets in a temporary folder, measure, and return the numbers.

    Ours runs with the engine's default threads (see ``threads``) and with one thread; the pandas and
    TA-Lib baselines are single-threaded libraries, so both ratios are reported.
    """
    spec = FeatureSpec.default()
    with tempfile.TemporaryDirectory(prefix="wb-bench-features-") as folder:
        report(f"building {n_tickers} tickers x {n_days} sessions and {online_tickers} tickers x 2 sessions ...")
        batch_set = Dataset(build_synthetic_market(SynthConfig(n_tickers=n_tickers, n_days=n_days, seed=seed),
                                                   str(Path(folder) / "batch"), progress=False))
        online_set = Dataset(build_synthetic_market(SynthConfig(n_tickers=online_tickers, n_days=2, seed=seed),
                                                    str(Path(folder) / "online"), progress=False))
        bars = batch_set.bars(adjust="raw")
        inputs = dataset_inputs(batch_set)
        rows = len(bars)
        compute(bars.head(5000), spec, **inputs)  # compile (or load) the numba kernels outside the timings

        def ours(kinds: tuple[str, ...] | None, threads: int | None) -> float:
            chosen = spec if kinds is None else spec.select(kinds)
            return best_of(repeats, lambda: compute(bars, chosen, **inputs, threads=threads))

        report(f"batch: {rows:,} bars, full catalog ({len(spec.columns)} columns), best of {repeats} ...")
        full, full_1 = ours(None, None), ours(None, 1)
        pandas_set, pandas_set_1 = ours(PANDAS_KINDS, None), ours(PANDAS_KINDS, 1)
        report("pandas groupby-rolling baseline ...")
        pandas_time = best_of(repeats, lambda: pandas_features(bars))
        talib_set, talib_set_1 = ours(TALIB_KINDS, None), ours(TALIB_KINDS, 1)
        report("TA-Lib ticker-by-ticker loop ...")
        talib_time = best_of(repeats, lambda: talib_loop(bars))

        report(f"online: {online_tickers} tickers, {online_minutes} timed minutes of the second session ...")
        online = online_latency(online_set, spec, minutes=online_minutes)
    return {
        "tickers": n_tickers, "days": n_days, "rows": rows, "threads": default_threads(),
        "batch_seconds": round(full, 3), "batch_rows_per_s": round(rows / full),
        "batch_rows_per_s_1thread": round(rows / full_1),
        "pandas_subset_seconds": round(pandas_time, 3), "ours_pandas_subset_seconds": round(pandas_set, 3),
        "ratio_vs_pandas": round(pandas_time / pandas_set, 2),
        "ratio_vs_pandas_1thread": round(pandas_time / pandas_set_1, 2),
        "talib_seconds": round(talib_time, 3), "ours_talib_subset_seconds": round(talib_set, 3),
        "ratio_vs_talib": round(talib_time / talib_set, 2),
        "ratio_vs_talib_1thread": round(talib_time / talib_set_1, 2),
        **online,
    }


def format_feature_benchmark(result: dict[str, Any]) -> str:
    """Human-readable lines of :func:`run_feature_benchmark`'s result."""
    return "\n".join([
        f"batch   full catalog: {result['rows']:,} bars in {result['batch_seconds']:.2f}s = "
        f"{result['batch_rows_per_s']:,} rows/s on {result['threads']} threads "
        f"({result['batch_rows_per_s_1thread']:,} rows/s on 1)",
        f"pandas  momentum/volatility/volume: pandas {result['pandas_subset_seconds']:.2f}s vs ours "
        f"{result['ours_pandas_subset_seconds']:.3f}s -> {result['ratio_vs_pandas']:.1f}x faster "
        f"({result['ratio_vs_pandas_1thread']:.1f}x on 1 thread; goal >= 10x)",
        f"talib   ROC/RSI/MACD/BBANDS/ATR/OBV, frame to aligned columns: TA-Lib loop "
        f"{result['talib_seconds']:.3f}s vs ours {result['ours_talib_subset_seconds']:.3f}s -> speed ratio "
        f"{result['ratio_vs_talib']:.2f} ({result['ratio_vs_talib_1thread']:.2f} on 1 thread; goal >= 0.5)",
        f"online  {result['online_tickers']:,}-ticker cross-section, {result['online_minutes']} minutes in steady "
        f"state: update(DataFrame) p50 {result['online_p50_ms']:.2f} ms p99 {result['online_p99_ms']:.2f} ms; "
        f"update_batch(arrays) p50 {result['online_batch_p50_ms']:.2f} ms p99 {result['online_batch_p99_ms']:.2f} ms "
        "(goal p99 <= 2 ms)",
        f"online  buffered arrival, submit_batch + advance_watermark_batch of one minute: p50 "
        f"{result['online_buffered_p50_ms']:.2f} ms p99 {result['online_buffered_p99_ms']:.2f} ms",
    ])
