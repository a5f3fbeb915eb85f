"""Windowed variances are accurate: Bollinger %B and width and the OBV z-score agree with a two-pass
exact reference (rationals, then 50-digit decimals) to 1e-9 on inputs built to break running sums (a
large price with a tiny spread, constant stretches, jumps that roll out of the window, splits), and
batch = online on them.

The reference sees exactly the numbers the kernel sees: past closes and increments rescaled on an
ex-date by the same float multiplications (``close * (1 / ratio)``), so what it measures is the
variance arithmetic, not the rounding of adjusted prices. Relative error is taken against
``max(|reference|, 1)`` for %B and the z-score (both cross zero; %B's unit is the band) and against
``|reference|`` for the width, which must be exactly zero on a constant window.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import bar_times, sessions
from workbench.features import FeatureSpec, OnlineFeatureEngine

WINDOW = 20
NBDEV = 2.0
TOLERANCE = 1e-9
SPEC = FeatureSpec.of(("bollinger", {"period": WINDOW, "nbdev": NBDEV}), ("obv_z", {"window": WINDOW}))
DAYS = sessions("2024-12-02", "2024-12-06")  # five full sessions, no half day
KINDS = ("noise", "constant", "jump", "trend", "ticks", "walk")


def _segments_to_closes(level: float, segments: list[tuple[str, int, float]], seed: int) -> np.ndarray:
    """A positive close series from (kind, length, size) segments, each continuing the last close."""
    rng = np.random.default_rng(seed)
    closes: list[float] = []
    last = level
    for kind, length, size in segments:
        if kind == "noise":  # level ± a relative spread of ``size`` (5000 ± 0.0001 is 2e-8)
            values = last * (1.0 + size * rng.standard_normal(length))
        elif kind == "constant":
            values = np.full(length, last)
        elif kind == "jump":  # a step of ``size`` × 100 %, then a stretch far tighter than the step
            last = last * (1.0 + 100 * size)
            values = last * (1.0 + size * 1e-6 * rng.standard_normal(length))
        elif kind == "trend":  # strictly rising: every OBV increment is +volume
            values = last * (1.0 + size * np.arange(1, length + 1))
        elif kind == "ticks":  # a cent grid: many exactly equal closes
            values = np.maximum(np.round(last + 0.01 * np.cumsum(rng.integers(-1, 2, length)), 2), 0.01)
        else:
            values = last * np.exp(np.cumsum(size * rng.standard_normal(length)))
        closes.extend(float(v) for v in values)
        last = closes[-1]
    return np.asarray(closes)


def _bars(closes: np.ndarray, volumes: np.ndarray, splits: dict[int, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One ticker's raw bars over consecutive full sessions (``closes`` are split-adjusted to the last
    session; before an ex-session they trade ``ratio`` times higher), and its corporate actions."""
    stamps = pd.DatetimeIndex(np.concatenate([bar_times(day["open"], day["close"]) for _, day in DAYS.iterrows()]))
    n = len(closes)
    session = np.arange(n) // 390
    raw = closes.copy()
    for ex, ratio in splits.items():
        raw[session < ex] *= ratio
    bars = pd.DataFrame({"ts": stamps[:n], "ticker": "X", "open": raw, "high": raw, "low": raw, "close": raw,
                         "volume": volumes, "vwap": raw, "trades": 1, "bid": np.nan, "ask": np.nan,
                         "bid_size": np.nan, "ask_size": np.nan})
    actions = pd.DataFrame({"ticker": "X", "ex_date": [DAYS["date"].iloc[ex] for ex in splits],
                            "split_ratio": list(splits.values()), "cash_dividend": 0.0})
    return bars, actions


def _exact_moments(values: list[float], dof: int) -> tuple[Fraction, Fraction]:
    """Exact mean and sum of squared deviations / ``dof`` (two passes in rationals)."""
    window = [Fraction(v) for v in values]
    mean = sum(window, Fraction(0)) / len(window)
    return mean, sum(((v - mean) ** 2 for v in window), Fraction(0)) / dof


def _decimal(value: Fraction) -> Decimal:
    """A rational to the context's precision."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def _reference(bars: pd.DataFrame, splits: dict[int, float]) -> pd.DataFrame:
    """%B, width and the OBV z-score from the values the kernel holds, each window's mean and variance
    exact (two passes in rationals), square roots and ratios in 50-digit decimals."""
    close = bars["close"].to_numpy()
    volume = bars["volume"].to_numpy()
    session = np.arange(len(close)) // 390
    prices: list[float] = []
    steps: list[float] = []
    last = np.nan
    rows = []
    with localcontext() as ctx:
        ctx.prec = 50
        for r, (c, v) in enumerate(zip(close, volume, strict=True)):
            if r > 0 and session[r] != session[r - 1] and session[r] in splits:
                price_factor, volume_factor = 1.0 / splits[session[r]], splits[session[r]]
                prices = [p * price_factor for p in prices]
                steps = [s * volume_factor for s in steps]
                last *= price_factor
            if r > 0:
                steps = [*steps, v if c > last else (-v if c < last else 0.0)][-WINDOW:]
            last = c
            prices = [*prices, c][-WINDOW:]
            pctb = width = z = np.nan
            if len(prices) == WINDOW:
                mean, var = _exact_moments(prices, WINDOW)
                band = 2 * Decimal(NBDEV) * _decimal(var).sqrt()
                pctb = float(_decimal(Fraction(c) - mean) / band + Decimal("0.5")) if var > 0 else np.nan
                width = float(band / _decimal(mean))
            if len(steps) == WINDOW:
                mean, var = _exact_moments(steps, WINDOW - 1)
                z = float(_decimal(mean) / (_decimal(var) / WINDOW).sqrt()) if var > 0 else np.nan
            rows.append((pctb, width, z))
    return pd.DataFrame(rows, columns=[f"bb_pctb_{WINDOW}", f"bb_width_{WINDOW}", f"obv_z_{WINDOW}"],
                        index=bars.index)


def _features(bars: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """All bars in one update: the single batch pass ``compute`` makes, through the engine's public API."""
    return OnlineFeatureEngine(SPEC, ["X"], corporate_actions=actions).update(bars)


def _worst_errors(ours: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Worst relative error per column (after asserting the same NaN pattern)."""
    worst = {}
    for column in reference.columns:
        a, b = ours[column].to_numpy(float), reference[column].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=column)
        valid = ~np.isnan(b)
        scale = np.abs(b[valid]) if column.startswith("bb_width") else np.maximum(np.abs(b[valid]), 1.0)
        errors = np.abs(a[valid] - b[valid])
        assert np.all(errors[scale == 0.0] == 0.0), column  # a constant window's width is exactly 0
        worst[column] = float(np.max(errors[scale > 0] / scale[scale > 0], initial=0.0))
    return worst


segment = st.tuples(st.sampled_from(KINDS), st.integers(1, 90),
                    st.sampled_from([2e-8, 1e-9, 1e-12, 1e-6, 1e-3, 0.02]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(level=st.sampled_from([5000.0, 0.0123, 87.31, 2.5e5]), segments=st.lists(segment, min_size=1, max_size=12),
       seed=st.integers(0, 2**31 - 1), volume_level=st.sampled_from([100.0, 1e6, 1e9]),
       volume_spread=st.sampled_from([0, 1, 3, 1000]),
       splits=st.dictionaries(st.integers(1, 2), st.sampled_from([2.0, 0.5, 3.0, 7.0]), max_size=2))
def test_windowed_variances_match_a_decimal_reference(level: float, segments: list, seed: int, volume_level: float,
                                                      volume_spread: int, splits: dict[int, float]) -> None:
    closes = _segments_to_closes(level, segments, seed)[: 3 * 390]
    volumes = volume_level + np.random.default_rng(seed + 1).integers(0, volume_spread + 1, len(closes))
    bars, actions = _bars(closes, volumes.astype(float), splits)
    ours = _features(bars, actions)
    worst = _worst_errors(ours, _reference(bars, splits))
    assert max(worst.values()) <= TOLERANCE, worst


def test_large_price_tiny_spread_is_accurate() -> None:
    """The issue's case: 5000 ± 0.0001 over five sessions, with constant stretches and a split."""
    rng = np.random.default_rng(3)
    closes = 5000.0 + 1e-4 * rng.standard_normal(5 * 390)
    closes[400:460] = closes[399]  # a constant stretch: NaN %B, zero width
    closes[900:] += 25.0  # a jump whose window then rolls over a spread 250,000 times smaller
    volumes = 1e6 + rng.integers(0, 3, len(closes)).astype(float)
    bars, actions = _bars(closes, volumes, {3: 2.0})
    ours = _features(bars, actions)
    reference = _reference(bars, {3: 2.0})
    worst = _worst_errors(ours, reference)
    assert max(worst.values()) <= TOLERANCE, worst
    assert reference[f"bb_pctb_{WINDOW}"].iloc[WINDOW:].isna().any()  # the constant stretch was exercised


@pytest.mark.parametrize("splits", [{}, {2: 7.0}])
def test_online_equals_batch_on_adversarial_inputs(splits: dict[int, float]) -> None:
    """The re-sums that accuracy triggers happen at the same bars online (minute by minute, with a
    snapshot and restore midway) as in batch: the outputs are identical."""
    rng = np.random.default_rng(11)
    closes = _segments_to_closes(5000.0, [("noise", 200, 2e-8), ("constant", 50, 0.0), ("jump", 300, 0.02),
                                          ("trend", 100, 1e-9), ("noise", 400, 1e-12)], 5)
    volumes = 1e6 + rng.integers(0, 2, len(closes)).astype(float)
    bars, actions = _bars(closes, volumes, splits)
    batch = _features(bars, actions)
    engine = OnlineFeatureEngine(SPEC, ["X"], corporate_actions=actions)
    pieces = []
    for r in range(len(bars)):
        if r == len(bars) // 2:
            blob = engine.snapshot()
            engine = OnlineFeatureEngine(SPEC, ["X"], corporate_actions=actions)
            engine.restore(blob)
        pieces.append(engine.update(bars.iloc[[r]]))
    online = pd.concat(pieces)
    np.testing.assert_array_equal(online[batch.columns].to_numpy(float), batch.to_numpy(float))
    assert batch[f"bb_pctb_{WINDOW}"].isna().sum() > WINDOW and batch[f"obv_z_{WINDOW}"].notna().sum() > 900


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), level=st.floats(1.0, 1000.0))
def test_pctb_and_width_equal_talib_bbands_on_ordinary_bars(seed: int, level: float) -> None:
    """%B and width come from the deviation and the std now, not from the bands: on ordinary bars they
    still equal what TA-Lib's BBANDS gives."""
    rng = np.random.default_rng(seed)
    closes = level * np.exp(np.cumsum(rng.normal(0, 0.002, 2 * 390)))
    bars, actions = _bars(closes, rng.integers(100, 10_000, len(closes)).astype(float), {})
    ours = _features(bars, actions)
    upper, middle, lower = talib.BBANDS(closes, WINDOW, NBDEV, NBDEV, 0)
    valid = ~np.isnan(middle)
    np.testing.assert_array_equal(ours[f"bb_pctb_{WINDOW}"].notna().to_numpy(), valid)
    np.testing.assert_allclose(ours[f"bb_pctb_{WINDOW}"].to_numpy()[valid],
                               ((closes - lower) / (upper - lower))[valid], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours[f"bb_width_{WINDOW}"].to_numpy()[valid], ((upper - lower) / middle)[valid],
                               rtol=1e-6, atol=1e-12)
