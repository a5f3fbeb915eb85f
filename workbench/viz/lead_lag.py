"""Lead-lag cross-correlation of one-minute returns: does a leader (the index, a sector aggregate, any ticker)
move first and its followers after? ``corr(leader_t, follower_{t+lag})`` within sessions, never across the
overnight gap, as a table and a heatmap (notebook 01_explore)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.data import EXCHANGE_TZ, Dataset, bar_times, sessions

#: prefix of a leader name that means the market-cap-weighted return of a sector's stocks
SECTOR = "sector:"


def minute_returns(ds: Dataset, tickers: list[str], start: Any = None, end: Any = None
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """One-minute log returns on the full calendar grid of every session held between ``start`` and ``end``:
    a frame (bar-end times x ``tickers``; NaN where this bar or the one a minute earlier is absent, and on a
    session's first bar) and each row's session number, so a shift never pairs two sessions."""
    bars = ds.bars(tickers, start, end, columns=["ts", "ticker", "close"])
    close = bars.pivot(index="ts", columns="ticker", values="close")
    held = sorted(set(pd.DatetimeIndex(close.index).tz_convert(EXCHANGE_TZ).date))
    calendar = sessions(held[0], held[-1])
    calendar = calendar[calendar["date"].isin(held)]
    grids = [bar_times(row.open, row.close) for row in calendar.itertuples(index=False)]
    grid = grids[0].append(grids[1:]) if len(grids) > 1 else grids[0]
    session = np.repeat(np.arange(len(grids)), [len(g) for g in grids])
    close.index = pd.DatetimeIndex(close.index).tz_convert("UTC").as_unit("us")
    returns = np.log(close.reindex(grid)).diff()
    returns.loc[np.concatenate(([True], session[1:] != session[:-1]))] = np.nan
    return returns.reindex(columns=tickers), session


def _sector_leaders(ds: Dataset, followers: list[str]) -> dict[str, list[str]]:
    """``sector:<name>`` -> that sector's stocks, for every sector of the followers."""
    table = ds.tickers.assign(ticker=ds.tickers["ticker"].astype(str))
    table = table[~table["is_index"].fillna(False).astype(bool) & table["sector"].notna()]
    wanted = set(table.loc[table["ticker"].isin(followers), "sector"])
    return {f"{SECTOR}{sector}": sorted(group["ticker"]) for sector, group in table.groupby("sector")
            if sector in wanted}


COMBINE = ("median", "mean")
"""How the per-session correlations of a (leader, follower, lag) become one number."""


def _session_correlations(x: np.ndarray, y: np.ndarray, lag: int) -> np.ndarray:
    """Per column j, the Pearson correlation of x[t, j] with y[t + lag, j] over the t where both are finite, in
    one session's rows (``x`` may have one column, broadcast to ``y``'s); NaN with fewer than 3 pairs."""
    n = len(y)
    if abs(lag) >= n - 2:
        return np.full(y.shape[1], np.nan)
    a, b = (x[: n - lag], y[lag:]) if lag >= 0 else (x[-lag:], y[: n + lag])
    a, b = np.broadcast_arrays(a, b)
    keep = np.isfinite(a) & np.isfinite(b)
    count = keep.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(keep, a - np.where(keep, a, 0.0).sum(axis=0) / count, 0.0)
        db = np.where(keep, b - np.where(keep, b, 0.0).sum(axis=0) / count, 0.0)
        corr = (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    return np.where(count >= 3, corr, np.nan)


def _correlations(x: np.ndarray, y: np.ndarray, session: np.ndarray, lag: int, combine: str) -> np.ndarray:
    """:func:`_session_correlations` in every session, combined across sessions (NaN sessions skipped)."""
    per_session = np.vstack([_session_correlations(x[session == k], y[session == k], lag)
                             for k in np.unique(session)])
    with warnings.catch_warnings():  # a follower with no pair in any session: NaN, said by the value itself
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmedian(per_session, axis=0) if combine == "median" else np.nanmean(per_session, axis=0)


def lead_lag_matrix(ds: Dataset, leaders: Sequence[str] | None = None, followers: Sequence[str] | None = None,
                    lags: Iterable[int] = range(-5, 6), *, start: Any = None, end: Any = None,
                    combine: str = "median", per_follower: bool = False) -> pd.DataFrame:
    """``corr(leader_t, follower_{t+lag})`` of one-minute log returns (:func:`minute_returns`): a Pearson
    correlation within each session between ``start`` and ``end`` (never across the overnight gap), then the
    ``combine`` (median or mean) over sessions. The median is the default because one session of a flash
    crash or a macro shock (minutes of large same-sign moves) otherwise shows as lead-lag at every lag. A
    positive lag means the leader moves first.

    ``leaders``: tickers, or ``"sector:<name>"`` for the market-cap-weighted return of that sector's stocks
    (equal weights when a cap is missing), which each follower of the sector is compared with leaving itself
    out (a stock trivially correlates with an aggregate it is part of). Default: the index ticker and every
    sector of the followers. ``followers``: default every stock; a sector leader is compared with the
    followers of its sector only. Returns leader x lag, the mean over followers of their correlation, or with
    ``per_follower`` one row per (leader, follower).
    """
    lags = [int(k) for k in lags]
    if combine not in COMBINE:
        raise ValueError(f"combine must be one of {COMBINE}, got {combine!r}")
    if not lags:
        raise ValueError("lags is empty; pass e.g. range(-5, 6)")
    table = ds.tickers.assign(ticker=ds.tickers["ticker"].astype(str))
    stocks = sorted(table.loc[~table["is_index"].fillna(False).astype(bool), "ticker"])
    followers = stocks if followers is None else list(dict.fromkeys(followers))
    sectors = _sector_leaders(ds, followers)
    if leaders is None:
        leaders = ([ds.index_ticker] if ds.index_ticker else []) + list(sectors)
    unknown = [name for name in leaders if name.startswith(SECTOR) and name not in sectors]
    if unknown:
        raise ValueError(f"unknown sector leader(s) {unknown}: the followers' sectors are {sorted(sectors)}")
    members = sorted({t for name in leaders if name in sectors for t in sectors[name]})
    plain = [name for name in leaders if name not in sectors]
    tickers = list(dict.fromkeys([*plain, *followers, *members]))
    returns, session = minute_returns(ds, tickers, start, end)
    sector_of = table.set_index("ticker")["sector"]
    caps = table.set_index("ticker")["market_cap"]
    rows = []
    for leader in leaders:
        if leader in sectors:
            names = [f for f in followers if sector_of.get(f) == leader.removeprefix(SECTOR)]
            x = _leave_one_out(returns[sectors[leader]], caps.reindex(sectors[leader]), names)
        else:
            names = [f for f in followers if f != leader]
            x = returns[[leader]].to_numpy()
        y = returns[names].to_numpy()
        values = np.column_stack([_correlations(x, y, session, k, combine) for k in lags]) if names else \
            np.zeros((0, len(lags)))
        rows.append(pd.DataFrame(values, index=pd.MultiIndex.from_product([[leader], names],
                                                                          names=["leader", "follower"]),
                                 columns=pd.Index(lags, name="lag")))
    matrix = pd.concat(rows)
    if per_follower:
        return matrix
    return matrix.groupby(level="leader", sort=False).mean().reindex(list(leaders))


def _leave_one_out(returns: pd.DataFrame, caps: pd.Series, followers: list[str]) -> np.ndarray:
    """Per follower, the cap-weighted mean return of the other stocks (columns of ``returns``) each minute,
    over those that have a return that minute."""
    weights = caps.to_numpy(dtype=float)
    if not np.all(np.isfinite(weights) & (weights > 0)):
        weights = np.ones(len(weights))
    values = returns.to_numpy()
    present = np.isfinite(values)
    weighted = np.where(present, values * weights, 0.0)
    total, mass = weighted.sum(axis=1), (present * weights).sum(axis=1)
    out = np.empty((len(values), len(followers)))
    for j, follower in enumerate(followers):
        k = returns.columns.get_loc(follower)
        own, own_mass = weighted[:, k], present[:, k] * weights[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(mass - own_mass > 0, (total - own) / (mass - own_mass), np.nan)
    return out


def lead_lag_heatmap(matrix: pd.DataFrame, title: str = "Lead-lag: corr(leader at t, follower at t + lag)"
                     ) -> go.Figure:
    """A heatmap of :func:`lead_lag_matrix` (leaders down, lags across, diverging colours centred on 0)."""
    if isinstance(matrix.index, pd.MultiIndex):
        matrix = matrix.set_axis([f"{a} → {b}" for a, b in matrix.index], axis=0)
    z = matrix.to_numpy(dtype=float)
    figure = go.Figure(go.Heatmap(z=z, x=[str(k) for k in matrix.columns], y=[str(i) for i in matrix.index],
                                  colorscale="RdBu", zmid=0.0, colorbar={"title": "corr"},
                                  text=np.round(z, 3), texttemplate="%{text}"))
    figure.update_layout(title=title, xaxis_title="lag (minutes; > 0: the leader moves first)",
                         yaxis={"autorange": "reversed"}, height=max(300, 40 * len(matrix) + 150))
    return figure
