"""One session of the synthetic market: factor returns with volatility clustering, lead-lag, the planted
imbalance signal, then bars and L1 quotes built from the latent price path.

Model, per stock ``i`` and minute ``t`` (log returns)::

    r[t,i] = beta_i * ((1-lam_i) m[t] + lam_i m[t-L_i])            market, lagged for followers
           + g_i    * ((1-lam_i) s[t,k] + lam_i s[t-L_i,k])         sector k
           + e[t,i]                                               idiosyncratic
           + kappa * sigma[t,i] * sum_j w_j a[t-j,i]              planted signal, j = 1..5

``m``, ``s`` and ``e`` are GARCH(1,1) processes with Student-t innovations, scaled by an intraday
U-shape, the session's volatility regime and macro/crash shocks. ``a`` is a latent AR(1) order-flow
pressure; the quoted book imbalance at the close of bar ``t`` is a noisy view of ``a[t]``, so it
predicts the next 1-5 minutes and nothing before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data._calendar import bar_times
from workbench.data.synth._config import SynthConfig
from workbench.data.synth._schedule import Schedule
from workbench.data.synth._universe import MINUTES_PER_DAY, Universe

GARCH_ALPHA, GARCH_BETA = 0.06, 0.92
OVERNIGHT_REVERSION = 0.3  # share of the variance shock that survives the night
T_DOF = 4.0  # fat tails: Student-t degrees of freedom
T_CLIP = 8.0  # cap single-minute shocks at 8 sigma: without news, larger moves are not seen in practice
MARKET_VOL_DAILY, SECTOR_VOL_DAILY = 0.009, 0.005
SIGNAL_AR, SIGNAL_WEIGHTS = 0.6, np.array([0.35, 0.25, 0.18, 0.12, 0.10])
EVENT_SHOCK = np.array([3.5, 2.4, 1.8, 1.4, 1.2])  # volatility multiplier after an in-session release


@dataclass
class MarketState:
    """What carries from one session to the next."""

    log_price: np.ndarray  # latent total-return log price at the last close
    raw_mult: np.ndarray  # raw price = exp(log_price) * raw_mult (splits, dividends)
    share_mult: np.ndarray  # share counts scale with splits
    h_market: float
    h_sector: np.ndarray
    h_idio: np.ndarray
    vix_var: float

    @classmethod
    def initial(cls, universe: Universe, n_sectors: int) -> MarketState:
        """State before the first session."""
        return cls(
            log_price=np.log(universe.price0),
            raw_mult=np.ones(universe.n),
            share_mult=np.ones(universe.n),
            h_market=1.0,
            h_sector=np.ones(n_sectors),
            h_idio=np.ones(universe.n),
            vix_var=(MARKET_VOL_DAILY**2) / MINUTES_PER_DAY,
        )

    def raw_close(self) -> np.ndarray:
        """Last raw close of every instrument."""
        return np.exp(self.log_price) * self.raw_mult


@dataclass(frozen=True)
class SessionResult:
    """A simulated session: its bars, the volatility-index minutes and realized dividends."""

    bars: pd.DataFrame
    vix: pd.DataFrame
    dividends: list[tuple[int, float]]  # (ticker index, cash amount)


def _student_t(rng: np.random.Generator, size: tuple[int, ...] | int) -> np.ndarray:
    """Unit-variance Student-t draws, capped at ``T_CLIP``."""
    return np.clip(rng.standard_t(T_DOF, size=size) / np.sqrt(T_DOF / (T_DOF - 2.0)), -T_CLIP, T_CLIP)


def _garch_scales(z: np.ndarray, h0: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Conditional variance path h[t] of a unit GARCH(1,1) driven by innovations z[t]; returns (h, h_next)."""
    h = np.empty_like(z)
    current = np.asarray(h0, dtype=float)
    omega = 1.0 - GARCH_ALPHA - GARCH_BETA
    for t in range(z.shape[0]):
        h[t] = current
        current = omega + current * (GARCH_ALPHA * z[t] ** 2 + GARCH_BETA)
    return h, current


def intraday_shapes(n_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """(volatility, volume) multipliers by minute of session: U-shaped, averaging ~1 on a full day."""
    tau = np.arange(n_minutes, dtype=float)
    to_close = n_minutes - 1 - tau
    vol = 0.8 + 1.1 * np.exp(-tau / 20.0) + 0.35 * np.exp(-to_close / 15.0)
    volume = 0.55 + 2.2 * np.exp(-tau / 25.0) + 1.6 * np.exp(-to_close / 12.0)
    full = np.arange(MINUTES_PER_DAY, dtype=float)
    vol_norm = np.mean(0.8 + 1.1 * np.exp(-full / 20.0) + 0.35 * np.exp(-full[::-1] / 15.0))
    volume_norm = np.mean(0.55 + 2.2 * np.exp(-full / 25.0) + 1.6 * np.exp(-full[::-1] / 12.0))
    return vol / vol_norm, volume / volume_norm


def _lagged(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` rows, zeros before the session starts."""
    if lag == 0:
        return x
    out = np.zeros_like(x)
    out[lag:] = x[:-lag]
    return out


def _shock_multiplier(day: int, n_minutes: int, schedule: Schedule) -> np.ndarray:
    """Per-minute volatility multiplier from in-session macro releases and the flash crash."""
    mult = np.ones(n_minutes)
    for minute, importance in schedule.in_session_events(day):
        span = EVENT_SHOCK[: max(0, min(len(EVENT_SHOCK), n_minutes - minute))]
        mult[minute : minute + len(span)] *= 1.0 + (span - 1.0) * importance / 3.0
    crash = schedule.flash_crash
    if crash is not None and crash.day == day:
        end = crash.start + crash.down_minutes + crash.up_minutes
        mult[crash.start : end] *= 3.0
    return mult


def simulate_session(day: int, config: SynthConfig, universe: Universe, schedule: Schedule,
                     state: MarketState, rng: np.random.Generator) -> SessionResult:
    """Simulate session ``day`` from ``state`` (updated in place to the session's close)."""
    session = schedule.sessions.iloc[day]
    n_min, n = int(session["minutes"]), universe.n
    n_sectors = len(state.h_sector)
    regime = schedule.regime[day]
    dividends = _apply_corporate_actions(day, schedule, state)

    # overnight gap (bigger after a pre-open macro release), variance shocks partly decay overnight
    if day > 0:
        pre_open = schedule.macro[(schedule.macro["day"] == day) & (schedule.macro["minute"] < 0)]
        gap_scale = 1.0 + 0.5 * len(pre_open)
        market_gap = 0.004 * regime * gap_scale * _student_t(rng, 1)[0]
        stock_gap = universe.beta * market_gap + universe.idio_vol * 8.0 * _student_t(rng, n)
        stock_gap[0] = market_gap
        state.log_price = state.log_price + stock_gap
        state.h_market = 1.0 + OVERNIGHT_REVERSION * (state.h_market - 1.0)
        state.h_sector = 1.0 + OVERNIGHT_REVERSION * (state.h_sector - 1.0)
        state.h_idio = 1.0 + OVERNIGHT_REVERSION * (state.h_idio - 1.0)

    vol_shape, volume_shape = intraday_shapes(n_min)
    shock = _shock_multiplier(day, n_min, schedule)
    scale = (vol_shape * shock * regime)[:, None]  # (T, 1)

    z_market = _student_t(rng, (n_min, 1))
    h_market, state.h_market = _garch_scales(z_market, state.h_market)
    sigma_market = MARKET_VOL_DAILY / np.sqrt(MINUTES_PER_DAY) * scale * np.sqrt(h_market)
    market = sigma_market * z_market  # (T, 1)
    crash = schedule.flash_crash
    if crash is not None and crash.day == day:
        down = slice(crash.start, crash.start + crash.down_minutes)
        up = slice(down.stop, down.stop + crash.up_minutes)
        market[down] -= crash.depth / crash.down_minutes
        market[up] += crash.depth * crash.recovery / crash.up_minutes

    z_sector = _student_t(rng, (n_min, n_sectors))
    h_sector, state.h_sector = _garch_scales(z_sector, state.h_sector)
    sector = SECTOR_VOL_DAILY / np.sqrt(MINUTES_PER_DAY) * scale * np.sqrt(h_sector) * z_sector

    z_idio = _student_t(rng, (n_min, n))
    h_idio, state.h_idio = _garch_scales(z_idio, state.h_idio)
    sigma_idio = universe.idio_vol[None, :] * scale * np.sqrt(h_idio)
    idio = sigma_idio * z_idio

    # lead-lag: followers take part of the index and sector-leader moves L minutes late
    lam = np.where(universe.lag > 0, config.effective_lead_lag, 0.0)
    sector_of = np.maximum(universe.sector_id, 0)
    in_sector = (universe.sector_id >= 0).astype(float)
    systematic = np.zeros((n_min, n))
    for lag in np.unique(universe.lag):
        cols = np.flatnonzero(universe.lag == lag)
        m_now, m_late = market, _lagged(market, int(lag))
        s_now, s_late = sector[:, sector_of[cols]], _lagged(sector, int(lag))[:, sector_of[cols]]
        mix = lam[cols]
        systematic[:, cols] = universe.beta[cols] * ((1 - mix) * m_now + mix * m_late) + (
            universe.sector_loading[cols] * in_sector[cols] * ((1 - mix) * s_now + mix * s_late)
        )

    # planted signal: latent AR(1) order-flow pressure moves the next 1-5 minutes
    pressure = np.empty((n_min, n))
    pressure[0] = rng.standard_normal(n)
    innovations = rng.standard_normal((n_min, n)) * np.sqrt(1 - SIGNAL_AR**2)
    for t in range(1, n_min):
        pressure[t] = SIGNAL_AR * pressure[t - 1] + innovations[t]
    drift = np.zeros((n_min, n))
    for j, weight in enumerate(SIGNAL_WEIGHTS, start=1):
        drift += weight * _lagged(pressure, j)
    kappa = np.full(n, config.effective_signal_strength)
    kappa[0] = 0.0  # the index carries no planted signal
    drift *= kappa * sigma_idio
    imbalance = np.tanh(0.9 * pressure + 0.45 * rng.standard_normal((n_min, n)))

    returns = systematic + idio + drift
    returns[:, 0] = market[:, 0] + idio[:, 0]
    halted = np.zeros((n_min, n), dtype=bool)
    for halt in (h for h in schedule.halts if h.day == day):
        stop = min(halt.start + halt.minutes, n_min)
        halted[halt.start : stop, halt.ticker_index] = True
        if stop < n_min:
            returns[stop, halt.ticker_index] += halt.jump

    # prices: latent log path, raw = exp(path) * multiplier; open = previous minute's close
    log_close = state.log_price[None, :] + np.cumsum(returns, axis=0)
    raw_close = np.exp(log_close) * state.raw_mult
    raw_open = np.vstack([state.raw_close()[None, :], raw_close[:-1]])
    close = np.round(raw_close, 4)
    open_ = np.round(raw_open, 4)
    sigma_total = np.sqrt((universe.beta * sigma_market) ** 2 + sigma_idio**2)
    high = np.maximum(np.ceil(np.maximum(open_, close) * np.exp(0.6 * sigma_total
                                                               * np.abs(rng.standard_normal((n_min, n))))
                              * 1e4) / 1e4, np.maximum(open_, close))
    low = np.minimum(np.floor(np.minimum(open_, close) * np.exp(-0.6 * sigma_total
                                                               * np.abs(rng.standard_normal((n_min, n))))
                              * 1e4) / 1e4, np.minimum(open_, close))
    typical = (high + low + 2 * close) / 4 * np.exp(0.1 * sigma_total * rng.standard_normal((n_min, n)))
    vwap = np.round(np.clip(typical, low, high), 4)

    activity = 1.0 + 0.8 * np.abs(returns - drift) / sigma_total
    volume = np.round(
        universe.volume_per_minute * state.share_mult * volume_shape[:, None] * np.sqrt(regime)
        * shock[:, None] ** 0.7 * activity * rng.lognormal(0.0, 0.45, (n_min, n))
    ) + 1.0
    trade_size = np.clip(20_000.0 / np.exp(log_close[0]), 20.0, 400.0) * state.share_mult
    trades = np.maximum(1, rng.poisson(volume / trade_size))

    spread = (universe.spread_bps * (sigma_idio / universe.idio_vol) ** 0.6 * np.sqrt(shock)[:, None]
              * rng.lognormal(0.0, 0.15, (n_min, n)))
    half = close * spread / 2e4
    bid = np.floor((close - half) * 1e4) / 1e4
    ask = np.maximum(np.ceil((close + half) * 1e4) / 1e4, bid + 1e-4)
    depth = universe.depth * state.share_mult * rng.lognormal(0.0, 0.35, (n_min, n)) / shock[:, None] ** 0.3
    bid_size = np.maximum(1.0, np.round(depth * (1 + imbalance)))
    ask_size = np.maximum(1.0, np.round(depth * (1 - imbalance)))

    missing = rng.random((n_min, n)) < universe.missing_prob
    keep = ~(missing | halted)
    stamps = bar_times(session["open"], session["close"])
    bars = _assemble(universe, stamps, keep, open_, high, low, close, volume, vwap, trades, bid, ask,
                     bid_size, ask_size)

    state.log_price = log_close[-1].copy()
    vix = _volatility_index(stamps, market[:, 0] / (vol_shape * shock), state, rng)
    return SessionResult(bars=bars, vix=vix, dividends=dividends)


def _apply_corporate_actions(day: int, schedule: Schedule, state: MarketState) -> list[tuple[int, float]]:
    """Apply this session's splits and ex-dividends to the raw-price and share multipliers."""
    prev_close = state.raw_close()
    paid = []
    for (when, ticker), dividend_yield in schedule.dividend_yields.items():
        if when == day and (day, ticker) not in schedule.splits:
            cash = round(dividend_yield * prev_close[ticker], 2)
            if cash > 0:
                state.raw_mult[ticker] *= 1.0 - cash / prev_close[ticker]
                paid.append((ticker, cash))
    for (when, ticker), ratio in schedule.splits.items():
        if when == day:
            state.raw_mult[ticker] /= ratio
            state.share_mult[ticker] *= ratio
    return paid


def _assemble(universe: Universe, stamps: pd.DatetimeIndex, keep: np.ndarray, *columns: np.ndarray) -> pd.DataFrame:
    """Long frame (ticker-major) of the kept (minute, ticker) cells."""
    names = ("open", "high", "low", "close", "volume", "vwap", "trades", "bid", "ask", "bid_size", "ask_size")
    keep_flat = keep.T.ravel()
    n_min = len(stamps)
    frame = {
        "ts": pd.DatetimeIndex(np.tile(stamps.tz_convert(None).to_numpy(), universe.n)[keep_flat], tz="UTC"),
        "ticker": np.repeat(universe.tickers, n_min)[keep_flat],
    }
    for name, values in zip(names, columns, strict=True):
        frame[name] = values.T.ravel()[keep_flat]
    out = pd.DataFrame(frame)
    out["trades"] = out["trades"].astype("int64")
    return out


def _volatility_index(stamps: pd.DatetimeIndex, deseasoned_market: np.ndarray, state: MarketState,
                      rng: np.random.Generator) -> pd.DataFrame:
    """A VIX-like level tracking realized market volatility, published a few seconds after each minute."""
    levels = np.empty(len(stamps))
    var = state.vix_var
    for t, move in enumerate(deseasoned_market):
        var = 0.985 * var + 0.015 * move**2
        levels[t] = 100.0 * np.sqrt(var * 252 * MINUTES_PER_DAY) * 1.15
    state.vix_var = var
    levels = np.round(levels + 0.25 * np.cumsum(rng.standard_normal(len(stamps))) / np.sqrt(len(stamps)), 2)
    delay = pd.to_timedelta(rng.integers(1_000, 20_000, len(stamps)), unit="ms")
    return pd.DataFrame({"ts": stamps, "vix": levels, "available_at": stamps + delay})
