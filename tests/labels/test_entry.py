"""triple_barrier_panel with a delayed entry (the pipeline's labels start where its backtest fills) against a
slow event-by-event loop: the fill bar d bars after the event, entry at its close, open or vwap, barriers set
on the entry price with the event bar's target, the window H bars of returns long, never across a close."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.labels._data import random_panel
from workbench.data import EXCHANGE_TZ, sessions
from workbench.labels import triple_barrier_panel as panel

multiplier = st.sampled_from([0.0, 0.5, 1.0, 2.0])


def _with_open(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    out = bars.copy()
    out["open"] = out["close"] * np.exp(rng.normal(0, 0.002, len(out)))
    out["vwap"] = (out["open"] + out["close"]) / 2
    return out


def slow_delayed(bars: pd.DataFrame, events: np.ndarray, pt: float, sl: float, vertical_bars: int, span: int,
                 delay: int, entry_price: str, clip: bool) -> pd.DataFrame:
    """Event by event in plain Python: fill at the ticker's ``delay``-th next bar (same session when clipped)."""
    days = pd.DatetimeIndex(bars["ts"]).tz_convert(EXCHANGE_TZ).date
    table = sessions(min(days), max(days)).set_index("date")
    out = []
    for _, block in bars.groupby("ticker", sort=False):
        positions = [bars.index.get_loc(label) for label in block.index]
        close = block["close"].astype(float).tolist()
        entry_values = block[entry_price].astype(float).tolist()
        target = block["close"].pct_change().ewm(span=span).std().tolist()
        stamps = list(block["ts"])
        block_days = [days[p] for p in positions]
        n = len(close)
        for i in range(n):
            if not events[positions[i]] or math.isnan(target[i]) or not target[i] > 0:
                continue
            fill = i + delay
            last = max(j for j in range(n) if block_days[j] == block_days[i]) if clip else n - 1
            if fill > last:
                continue
            first = fill + 1 if entry_price == "close" else fill
            vertical = fill + vertical_bars if entry_price == "close" else fill + vertical_bars - 1
            if vertical <= last:
                end, finished = vertical, True
            elif clip:
                over = stamps[last] >= table.loc[block_days[i], "close"] or last < n - 1
                end, finished = last, over and first <= last
            else:
                end, finished = last, False
            p0, tg = entry_values[fill], target[i]
            upper = p0 * (1 + pt * tg) if pt > 0 else math.inf
            lower = p0 * (1 - sl * tg) if sl > 0 else -math.inf
            hit = None
            for j in range(fill, end + 1):
                if close[j] > upper:
                    hit = (j, "pt")
                    break
                if close[j] < lower:
                    hit = (j, "sl")
                    break
            if hit is None and finished:
                hit = (end, "vertical")
            if hit is None:
                continue
            out.append({"row": positions[i], "t1": stamps[hit[0]], "entry_ts": stamps[fill],
                        "ret": close[hit[0]] / p0 - 1, "barrier": hit[1], "y": int(hit[1] == "pt")})
    return pd.DataFrame(out, columns=["row", "t1", "entry_ts", "ret", "barrier", "y"])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tickers=st.integers(1, 3), pt=multiplier, sl=multiplier,
       vertical_bars=st.integers(1, 8), span=st.sampled_from([2, 5, 30]), delay=st.integers(0, 3),
       entry_price=st.sampled_from(["close", "open", "vwap"]), clip=st.booleans(), event_share=st.floats(0.3, 1.0))
def test_delayed_entry_equals_a_slow_loop(seed, n_tickers, pt, sl, vertical_bars, span, delay, entry_price, clip,
                                          event_share):
    if entry_price != "close" and delay == 0:
        delay = 1
    bars = _with_open(random_panel(seed, n_tickers), seed)
    events = np.random.default_rng(seed + 2).random(len(bars)) < event_share
    got = panel(bars, pt_sl=(pt, sl), vertical_bars=vertical_bars, span=span, events=events, clip_to_session=clip,
                entry_delay_bars=delay, entry_price=entry_price)
    want = slow_delayed(bars, events, pt, sl, vertical_bars, span, delay, entry_price, clip)
    labelled = got[got["y"].notna()]
    assert list(labelled.index) == list(want["row"])
    assert list(labelled["t1"]) == list(want["t1"])
    assert list(labelled["entry_ts"]) == list(want["entry_ts"])
    np.testing.assert_allclose(labelled["ret"].to_numpy(dtype=float), want["ret"].to_numpy(dtype=float),
                               rtol=1e-12)
    assert list(labelled["barrier"].astype(str)) == list(want["barrier"])
    assert list(labelled["y"].astype(int)) == list(want["y"])


def test_the_default_entry_is_the_event_close_and_a_delay_moves_it_to_the_fill_bar():
    bars = _with_open(random_panel(3, 1), 3)
    base = panel(bars, vertical_bars=3, clip_to_session=False)
    delayed = panel(bars, vertical_bars=3, clip_to_session=False, entry_delay_bars=1, entry_price="open")
    rows = base.index[base["y"].notna()]
    assert (base.loc[rows, "entry_ts"] == bars.loc[rows, "ts"]).all()
    moved = delayed.index[delayed["y"].notna()]
    assert (delayed.loc[moved, "entry_ts"].to_numpy() == bars["ts"].shift(-1).loc[moved].to_numpy()).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"entry_price": "open"}, "needs entry_delay_bars >= 1"),
    ({"entry_price": "mid", "entry_delay_bars": 1}, "entry_price must be one of"),
    ({"entry_delay_bars": -1}, "entry_delay_bars must be an integer >= 0"),
    ({"entry_delay_bars": 1.5}, "entry_delay_bars must be an integer >= 0"),
])
def test_bad_entry_settings_are_refused(kwargs, match):
    bars = _with_open(random_panel(1, 1), 1)
    with pytest.raises(ValueError, match=match):
        panel(bars, vertical_bars=3, **kwargs)


def test_an_entry_price_column_that_is_missing_is_named():
    bars = random_panel(1, 1)
    with pytest.raises(ValueError, match="no 'open' column"):
        panel(bars, vertical_bars=3, entry_delay_bars=1, entry_price="open")
