"""Slow, obviously-right pure-Python versions of the label functions, used as test oracles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workbench.data import EXCHANGE_TZ, sessions


def scan_event(prices: list[float], i: int, end: int, finished: bool, tg: float, pt: float, sl: float, side: int):
    """(t1 position, barrier) of one event, or None: the first close in prices[i..end] strictly beyond a barrier."""
    c0 = prices[i]
    if side == 1:
        pt_level = c0 * (1 + pt * tg) if pt > 0 else None  # above t0
        sl_level = c0 * (1 - sl * tg) if sl > 0 else None  # below t0
    else:
        pt_level = c0 * (1 - pt * tg) if pt > 0 else None  # below t0 for a short
        sl_level = c0 * (1 + sl * tg) if sl > 0 else None  # above t0 for a short
    for j in range(i, end + 1):
        p = prices[j]
        if pt_level is not None and ((p > pt_level) if side == 1 else (p < pt_level)):
            return j, "pt"
        if sl_level is not None and ((p < sl_level) if side == 1 else (p > sl_level)):
            return j, "sl"
    return (end, "vertical") if finished else None


def outcome(prices: list[float], i: int, hit: tuple[int, str], side: int | None) -> dict:
    """ret, bin and y of an event touched at ``hit``."""
    j, barrier = hit
    ret = prices[j] / prices[i] - 1
    if side is None:
        bin_ = 1 if ret > 0 else (-1 if ret < 0 else 0)
    else:
        ret = ret * side
        bin_ = 1 if ret > 0 else 0
    return {"ret": ret, "barrier": barrier, "bin": bin_, "y": int(barrier == "pt")}


def slow_triple_barrier(close: pd.Series, events, target, pt: float, sl: float, vertical_bars: int,
                        min_ret: float, side: pd.Series | None) -> pd.DataFrame:
    """Event by event: barriers from close[t0] and target[t0], scan to the vertical bar, drop unfinished."""
    prices = [float(x) for x in close]
    times = list(close.index)
    n = len(prices)
    out = []
    for t0 in sorted(events):
        i = times.index(t0)
        tg = float(target) if np.isscalar(target) else float(target[t0])
        if math.isnan(tg) or not tg > min_ret:
            continue
        s = 1 if side is None else int(side[t0])
        vertical = i + vertical_bars
        hit = scan_event(prices, i, min(vertical, n - 1), vertical <= n - 1, tg, pt, sl, s)
        if hit is None:
            continue
        labels = outcome(prices, i, hit, None if side is None else s)
        out.append({"t0": t0, "t1": times[hit[0]], **labels, "target": tg})
    return pd.DataFrame(out, columns=["t0", "t1", "ret", "barrier", "bin", "y", "target"])


def slow_panel_clipped(bars: pd.DataFrame, events: np.ndarray, pt: float, sl: float, vertical_bars: int,
                       min_ret: float, span: int, side: np.ndarray | None) -> pd.DataFrame:
    """Per ticker, the vertical barrier capped at the last bar of t0's session (New York date), from the
    session table; a capped window is finished if the ticker has a bar at/after the close or a later session."""
    days = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).date
    table = sessions(min(days), max(days)).set_index("date")
    out = []
    for _, block in bars.groupby("ticker", sort=False):
        positions = [bars.index.get_loc(label) for label in block.index]
        prices = block["close"].astype(float).tolist()
        target = block["close"].pct_change().ewm(span=span).std().tolist()
        stamps = list(block["ts"])
        block_days = [days[p] for p in positions]
        n = len(prices)
        for i in range(n):
            row = positions[i]
            if not events[row] or math.isnan(target[i]) or not target[i] > min_ret:
                continue
            s_last = max(j for j in range(n) if block_days[j] == block_days[i])
            vertical = i + vertical_bars
            if vertical <= s_last:
                end, finished = vertical, True
            else:
                over = stamps[s_last] >= table.loc[block_days[i], "close"] or s_last < n - 1
                end, finished = s_last, over and s_last > i
            s = 1 if side is None else int(side[row])
            hit = scan_event(prices, i, end, finished, target[i], pt, sl, s)
            if hit is None:
                continue
            out.append({"row": row, "t1": stamps[hit[0]], **outcome(prices, i, hit, None if side is None else s)})
    return pd.DataFrame(out, columns=["row", "t1", "ret", "barrier", "bin", "y"])


def slow_cusum(close: pd.Series, threshold) -> list:
    """AFML snippet 2.4 as a plain loop over every log-price difference; NaN threshold resets and skips."""
    log = [math.log(x) for x in close]
    h = [float(threshold)] * len(log) if np.isscalar(threshold) else [float(x) for x in threshold]
    events, s_pos, s_neg = [], 0.0, 0.0
    for i in range(1, len(log)):
        if math.isnan(h[i]):
            s_pos = s_neg = 0.0
            continue
        d = log[i] - log[i - 1]
        s_pos, s_neg = max(0.0, s_pos + d), min(0.0, s_neg + d)
        if s_neg < -h[i]:
            s_neg = 0.0
            events.append(close.index[i])
        elif s_pos > h[i]:
            s_pos = 0.0
            events.append(close.index[i])
    return events


def slow_uniqueness(first: list[int], last: list[int]) -> list[float]:
    """For each span, mean over its bars of 1 / (number of spans covering that bar)."""
    out = []
    for a, b in zip(first, last, strict=True):
        shares = [1 / sum(1 for p, q in zip(first, last, strict=True) if p <= t <= q) for t in range(a, b + 1)]
        out.append(sum(shares) / len(shares))
    return out
