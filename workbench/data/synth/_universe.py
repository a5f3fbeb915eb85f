"""The synthetic universe: tickers, sectors, market caps and each stock's planted exposures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INDEX_TICKER = "SPY"
INDEX_SECTOR = "Index"
MINUTES_PER_DAY = 390

SECTORS: dict[str, tuple[str, ...]] = {
    "Information Technology": ("Semiconductors", "Software", "Hardware"),
    "Health Care": ("Pharmaceuticals", "Biotechnology", "Medical Devices"),
    "Financials": ("Banks", "Insurance", "Capital Markets"),
    "Consumer Discretionary": ("Retail", "Automobiles", "Hotels & Leisure"),
    "Communication Services": ("Media", "Telecom"),
    "Industrials": ("Aerospace & Defense", "Machinery", "Transportation"),
    "Consumer Staples": ("Food & Beverage", "Household Products"),
    "Energy": ("Oil & Gas", "Energy Equipment"),
    "Utilities": ("Electric Utilities", "Gas Utilities"),
    "Real Estate": ("REITs", "Real Estate Services"),
    "Materials": ("Chemicals", "Metals & Mining"),
}
SECTOR_WEIGHTS = np.array([0.16, 0.13, 0.13, 0.11, 0.06, 0.13, 0.06, 0.05, 0.04, 0.06, 0.07])


@dataclass(frozen=True)
class Universe:
    """Per-stock parameters, arrays aligned with ``tickers`` (the index instrument is row 0)."""

    tickers: np.ndarray
    sector_id: np.ndarray  # -1 for the index
    industry: np.ndarray
    market_cap: np.ndarray
    beta: np.ndarray
    sector_loading: np.ndarray
    lag: np.ndarray  # minutes by which a follower lags the index and its sector leader (0 = leader)
    is_leader: np.ndarray
    idio_vol: np.ndarray  # one-minute idiosyncratic volatility, before intraday and regime scaling
    price0: np.ndarray
    volume_per_minute: np.ndarray
    spread_bps: np.ndarray
    depth: np.ndarray  # typical quoted size at the touch, shares
    missing_prob: np.ndarray  # chance a minute has no trade (illiquid names skip bars)

    @property
    def n(self) -> int:
        """Number of instruments, index included."""
        return len(self.tickers)

    def ticker_table(self) -> pd.DataFrame:
        """The lake's ``tickers.parquet`` content."""
        sector_names = np.array(list(SECTORS))
        sector = np.where(self.sector_id >= 0, sector_names[np.maximum(self.sector_id, 0)], INDEX_SECTOR)
        return pd.DataFrame(
            {
                "ticker": self.tickers,
                "sector": sector,
                "industry": self.industry,
                "market_cap": self.market_cap,
                "is_index": self.sector_id < 0,
            }
        )

    def truth_table(self) -> pd.DataFrame:
        """The planted truth per ticker (kept apart from ``tickers.parquet`` so features can't read it)."""
        return pd.DataFrame(
            {
                "ticker": self.tickers,
                "beta": self.beta,
                "sector_loading": self.sector_loading,
                "lag_minutes": self.lag,
                "is_sector_leader": self.is_leader,
                "idio_vol_daily": self.idio_vol * np.sqrt(MINUTES_PER_DAY),
            }
        )


def _ticker_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 3-4 letter symbols, never the index's."""
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    names: dict[str, None] = {}
    while len(names) < n:
        lengths = rng.choice([3, 4], size=2 * n, p=[0.35, 0.65])
        for length in lengths:
            name = "".join(rng.choice(letters, size=length))
            if name != INDEX_TICKER:
                names[name] = None
            if len(names) == n:
                break
    return np.array(list(names), dtype=object)


def make_universe(n_stocks: int, rng: np.random.Generator) -> Universe:
    """Draw ``n_stocks`` stocks across 11 sectors plus the index instrument."""
    n_sectors = len(SECTORS)
    sector_id = rng.choice(n_sectors, size=n_stocks, p=SECTOR_WEIGHTS / SECTOR_WEIGHTS.sum())
    if n_stocks >= n_sectors:  # every sector populated
        sector_id[:n_sectors] = rng.permutation(n_sectors)
    industries = np.array([rng.choice(SECTORS[list(SECTORS)[s]]) for s in sector_id], dtype=object)
    market_cap = np.clip(np.exp(rng.normal(np.log(6e9), 1.5, n_stocks)), 1.5e8, 3.5e12)
    is_leader = np.zeros(n_stocks, dtype=bool)
    for s in range(n_sectors):
        members = np.flatnonzero(sector_id == s)
        if len(members):
            is_leader[members[np.argmax(market_cap[members])]] = True
    lag = np.where(is_leader, 0, rng.integers(1, 4, n_stocks))
    beta = np.clip(rng.normal(1.0, 0.3, n_stocks), 0.3, 2.2)
    sector_loading = np.clip(rng.normal(1.0, 0.25, n_stocks), 0.3, 1.8)
    small = (1e10 / market_cap) ** 0.3  # > 1 for small caps
    idio_daily = np.clip(0.010 + 0.006 * small * rng.lognormal(0.0, 0.25, n_stocks), 0.008, 0.08)
    price0 = np.clip(np.exp(rng.normal(np.log(55), 0.8, n_stocks) + 0.15 * np.log(market_cap / 6e9)), 4, 900)
    turnover = 0.006 * rng.lognormal(0.0, 0.4, n_stocks)
    volume = turnover * market_cap / price0 / MINUTES_PER_DAY
    spread = np.clip(1.0 + 6.0 * small ** 1.6 * rng.lognormal(0.0, 0.2, n_stocks), 1.0, 60.0)
    depth = np.clip(volume * rng.uniform(0.15, 0.4, n_stocks), 100, None)
    missing = np.where(market_cap < 1.5e9, 0.04 * np.clip(1.5e9 / market_cap, 1, 4) ** 0.5, 0.0)

    def with_index(values: np.ndarray, index_value: object) -> np.ndarray:
        return np.concatenate([np.array([index_value], dtype=values.dtype), values])

    return Universe(
        tickers=with_index(_ticker_names(rng, n_stocks), INDEX_TICKER),
        sector_id=with_index(sector_id, -1),
        industry=with_index(industries, "Index Fund"),
        market_cap=with_index(market_cap, 5.5e11),
        beta=with_index(beta, 1.0),
        sector_loading=with_index(sector_loading, 0.0),
        lag=with_index(lag, 0),
        is_leader=with_index(is_leader, False),
        idio_vol=with_index(idio_daily / np.sqrt(MINUTES_PER_DAY), 0.00002),
        price0=with_index(price0, 450.0),
        volume_per_minute=with_index(volume, 2.0e5),
        spread_bps=with_index(spread, 0.3),
        depth=with_index(depth, 5.0e4),
        missing_prob=with_index(missing, 0.0),
    )
