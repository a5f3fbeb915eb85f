"""How a backtest trades: the :class:`Execution` settings (when a signal is filled, at which price, at what cost)
and the :class:`MarketPrices` it fills at.

A signal computed at the close of bar t is filled at bar ``f = t + delay_bars`` at that bar's ``open``, ``vwap``
or ``close``. Every fill pays, as a fraction of its traded value and all scaled by ``cost_multiplier``:

* ``fees_bps`` (commission and exchange fees);
* half the quoted spread, ``(ask - bid) / (ask + bid)``, from the last quote known before the fill. Bars carry
  the L1 quote at their close, so an open or vwap fill of bar f uses the quote at the close of bar f - 1 (or the
  last one before it in the same session), a close fill uses bar f's own. Quotes are carried forward within a
  session only: where none is known yet (no quotes in the data, the first bar of a session for an open fill,
  ``spread="fixed"``) half of ``fallback_spread_bps`` is paid instead and the fill counts as a fallback;
* with ``impact_coef > 0``, square-root market impact ``impact_coef * sigma * sqrt(Q / V)``: ``Q`` is the
  scheduled order value ``|change of target weight| * capital``, ``sigma`` the root mean square of the name's
  one-bar log returns and ``V`` its mean dollar volume (``volume * vwap``, the close where vwap is missing),
  both over the :data:`IMPACT_WINDOW` bars before the fill bar (bar f itself is never used). Returns are
  intraday: a session's first bar contributes ``log(close / open)``, never the overnight gap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.data._calendar import session_index
from workbench.errors import DataValidationError
from workbench.evaluation._inputs import check_unique_keys, require_panel

FILL_PRICES: tuple[str, ...] = ("open", "vwap", "close")
SPREAD_MODES: tuple[str, ...] = ("quoted", "fixed")
#: bars before a fill over which the impact term's volatility and dollar volume are measured
IMPACT_WINDOW = 30
_FIELDS = ("open", "vwap", "volume", "bid", "ask")  # the optional wide frames of MarketPrices, besides close


def _non_negative(name: str, value: object) -> float:
    """``value`` as a float once it is a finite number >= 0 (raise a one-line ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"Execution.{name} must be a finite number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Execution:
    """When and at which price a signal trades and what each fill costs (module docstring for the formulas).

    JSON-friendly (:meth:`to_dict` / :meth:`from_dict`) and validated on construction. ``delay_bars=0`` is only
    allowed with ``fill_price="close"``: the idealized fill at the close the signal was computed at (an open or
    vwap of that bar came before the signal existed).
    """

    delay_bars: int = 1
    fill_price: str = "open"
    fees_bps: float = 0.5
    spread: str = "quoted"
    fallback_spread_bps: float = 10.0  # the FULL spread assumed where no quote is known; half of it is paid
    impact_coef: float = 0.0
    capital: float = 1_000_000.0  # book size in currency, used only by the impact term
    cost_multiplier: float = 1.0

    def __post_init__(self) -> None:
        delay = self.delay_bars
        if isinstance(delay, bool) or not isinstance(delay, int | np.integer) or delay < 0:
            raise ValueError(f"Execution.delay_bars must be an integer >= 0, got {delay!r}")
        object.__setattr__(self, "delay_bars", int(delay))
        if self.fill_price not in FILL_PRICES:
            raise ValueError(f"Execution.fill_price must be one of {list(FILL_PRICES)}, got {self.fill_price!r}")
        if self.spread not in SPREAD_MODES:
            raise ValueError(f"Execution.spread must be one of {list(SPREAD_MODES)}, got {self.spread!r}")
        for name in ("fees_bps", "fallback_spread_bps", "impact_coef", "cost_multiplier"):
            object.__setattr__(self, name, _non_negative(name, getattr(self, name)))
        if _non_negative("capital", self.capital) == 0:
            raise ValueError(f"Execution.capital must be > 0, got {self.capital!r}")
        object.__setattr__(self, "capital", float(self.capital))
        if self.delay_bars == 0 and self.fill_price != "close":
            raise ValueError(f"Execution(delay_bars=0, fill_price={self.fill_price!r}) fills before the signal "
                             f"existed (bar t's {self.fill_price} precedes its close); use delay_bars >= 1 or "
                             f"fill_price='close'")

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (JSON-serializable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Execution:
        """Settings from :meth:`to_dict`'s output; an unknown key is an error naming the known ones."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown Execution setting(s) {unknown}; known: {known}")
        return cls(**data)

    def describe(self) -> str:
        """One line for reports, e.g. ``open of bar t+1; 0.5 bp fees + quoted half spread (fallback 10 bp)``."""
        fill = "close of the signal bar" if self.delay_bars == 0 else f"{self.fill_price} of bar t+{self.delay_bars}"
        spread = (f"quoted half spread (fallback {self.fallback_spread_bps:g} bp spread)" if self.spread == "quoted"
                  else f"half of a fixed {self.fallback_spread_bps:g} bp spread")
        impact = f" + {self.impact_coef:g} x sqrt impact" if self.impact_coef > 0 else ""
        scale = f", costs x {self.cost_multiplier:g}" if self.cost_multiplier != 1.0 else ""
        return f"fill at the {fill}; {self.fees_bps:g} bp fees + {spread}{impact}{scale}"


#: the default settings (frozen, so one shared instance is safe as a keyword default)
DEFAULT_EXECUTION = Execution()


def check_close(close: object, what: str) -> None:
    """Raise unless ``close`` is indexed by increasing, unique, timezone-aware bar times with positive prices."""
    if not isinstance(close, pd.DataFrame | pd.Series):
        raise TypeError(f"{what} must be a pandas DataFrame (index ts, one column per ticker) or Series, "
                        f"got {type(close).__name__}")
    index = close.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataValidationError(f"{what} must be indexed by timezone-aware bar times (UTC bar ends), got "
                                  f"{type(index).__name__} {getattr(index, 'dtype', '')}")
    if len(index) < 2:
        raise DataValidationError(f"{what} has {len(index)} bar(s); a backtest needs at least 2")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataValidationError(f"{what}'s index must be increasing with no repeated bar time; sort it and "
                                  f"drop duplicates")
    _check_values(close, what, allow_zero=False)


def _check_values(frame: pd.DataFrame | pd.Series, what: str, *, allow_zero: bool) -> None:
    """Raise unless ``frame`` is numeric and every non-NaN value is finite and positive (>= 0 with allow_zero)."""
    dtypes = [frame.dtype] if isinstance(frame, pd.Series) else list(frame.dtypes)
    if not all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in dtypes):
        raise DataValidationError(f"{what} must hold numeric prices, got dtype(s) {sorted({str(d) for d in dtypes})}")
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isnan(values) & ~((values >= 0) if allow_zero else (values > 0)) | np.isinf(values)
    if bad.any():
        kind = "negative" if allow_zero else "non-positive"
        raise DataValidationError(f"{what} has {int(bad.sum())} {kind} or infinite value(s); they must be "
                                  f"{'>= 0' if allow_zero else 'positive'} (NaN marks a missing bar)")


def session_positions(index: pd.DatetimeIndex, why: str) -> np.ndarray:
    """The NYSE session of each bar (a position in the calendar); a bar outside every session is an error."""
    session = session_index().locate(index.tz_convert("UTC").as_unit("ns").asi8)
    if (session < 0).any():
        raise DataValidationError(f"{why} needs bars inside NYSE sessions; {index[session < 0][0]} is not")
    return session


def session_last_rows(session: np.ndarray) -> np.ndarray:
    """For each bar, the row of the last bar of its session (``session`` from :func:`session_positions`)."""
    last = np.flatnonzero(np.r_[session[1:] != session[:-1], True])
    return last[np.searchsorted(last, np.arange(len(session)))]


@dataclass(frozen=True, eq=False)
class MarketPrices:
    """Wide bar-time x ticker frames of what a backtest fills at: ``close`` always, and from the lake's bars
    ``open``, ``vwap``, ``volume`` and the L1 quote at each bar's close ``bid`` / ``ask`` (NaN: no quote).

    Build it with :meth:`from_bars` (a long lake frame) or :meth:`from_close` (closes only: fills at the close,
    every spread the fallback, no impact). A NaN close marks a missing bar; the other frames share its index
    and columns.
    """

    close: pd.DataFrame
    open: pd.DataFrame | None = None
    vwap: pd.DataFrame | None = None
    volume: pd.DataFrame | None = None
    bid: pd.DataFrame | None = None
    ask: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.close, pd.DataFrame):
            raise TypeError(f"prices must be a wide pandas DataFrame of closes (index ts, one column per ticker) "
                            f"or MarketPrices, got {type(self.close).__name__}")
        check_close(self.close, "close")
        for name in _FIELDS:
            frame = getattr(self, name)
            if frame is None:
                continue
            if not isinstance(frame, pd.DataFrame) or not frame.index.equals(self.close.index) \
                    or not frame.columns.equals(self.close.columns):
                raise DataValidationError(f"MarketPrices.{name} must be a DataFrame with close's index and columns")
            _check_values(frame, name, allow_zero=name == "volume")
        if (self.bid is None) != (self.ask is None):
            raise DataValidationError("MarketPrices needs both bid and ask or neither")
        if self.bid is not None:
            bid, ask = self.bid.to_numpy(dtype=np.float64), self.ask.to_numpy(dtype=np.float64)
            one_sided = np.isnan(bid) != np.isnan(ask)
            crossed = bid > ask
            if one_sided.any() or crossed.any():
                raise DataValidationError(f"quotes have {int(one_sided.sum())} one-sided and {int(crossed.sum())} "
                                          f"crossed (bid > ask) value(s); fix or null those quotes")

    @classmethod
    def from_close(cls, close: pd.DataFrame) -> MarketPrices:
        """Closes only (index ts, one column per ticker): fills must be at the close, spreads are the fallback."""
        return cls(close=close)

    @classmethod
    def from_bars(cls, bars: pd.DataFrame) -> MarketPrices:
        """From a long lake frame (``ts, ticker, open, close, volume`` and optionally ``vwap, bid, ask``; other
        columns are ignored). ``bid``/``ask`` may be absent or all null: every fill then uses the fallback spread.
        """
        panel = require_panel(bars, ["ts", "ticker", "open", "close", "volume"], "bars")
        if not isinstance(panel["ts"].dtype, pd.DatetimeTZDtype):
            raise DataValidationError(f"bars 'ts' must be timezone-aware timestamps (UTC bar ends), got dtype "
                                      f"{panel['ts'].dtype}")
        check_unique_keys(panel, "ts", "bars")
        columns = ["close", "open", "volume", *(c for c in ("vwap", "bid", "ask") if c in panel.columns)]
        long = panel[["ts", "ticker", *columns]].assign(ticker=panel["ticker"].astype(str))
        wide = long.pivot(index="ts", columns="ticker", values=columns).sort_index()
        frames = {c: wide[c].rename_axis(columns=None).astype(np.float64) for c in columns}
        if "bid" in frames and frames["bid"].isna().all().all() and frames["ask"].isna().all().all():
            del frames["bid"], frames["ask"]
        return cls(**frames)

    @property
    def index(self) -> pd.DatetimeIndex:
        """The bar times (UTC bar ends)."""
        return self.close.index

    @property
    def columns(self) -> pd.Index:
        """The tickers."""
        return self.close.columns

    @property
    def has_quotes(self) -> bool:
        """Whether any bid/ask is known (otherwise every fill pays the fallback spread)."""
        return self.bid is not None and bool(self.bid.notna().to_numpy().any())

    @property
    def quoted_share(self) -> float:
        """Share of the bars (non-NaN closes) that carry a quote; 0.0 without quotes."""
        bars = self.close.notna().to_numpy()
        if self.bid is None or not bars.any():
            return 0.0
        return float((self.bid.notna().to_numpy() & bars).sum() / bars.sum())

    def _each(self, pick: Callable[[pd.DataFrame], pd.DataFrame]) -> MarketPrices:
        """``pick`` applied to every frame held (rows or columns of each)."""
        return MarketPrices(**{name: None if getattr(self, name) is None else pick(getattr(self, name))
                               for name in ("close", *_FIELDS)})

    def select(self, columns: list[str]) -> MarketPrices:
        """The same prices for ``columns`` only, in that order."""
        return self._each(lambda frame: frame[columns])

    def since(self, start: pd.Timestamp | str) -> MarketPrices:
        """The bars at or after ``start`` (a timezone-aware time)."""
        return self._each(lambda frame: frame.loc[pd.Timestamp(start):])

    def between(self, start: pd.Timestamp | str, end: pd.Timestamp | str) -> MarketPrices:
        """The bars from ``start`` to ``end``, both included (timezone-aware times)."""
        return self._each(lambda frame: frame.loc[pd.Timestamp(start):pd.Timestamp(end)])

    def check_supports(self, execution: Execution) -> None:
        """Raise when ``execution`` needs data these prices lack (open/vwap fills or impact from closes only)."""
        if getattr(self, execution.fill_price) is None:
            raise DataValidationError(f"fill_price={execution.fill_price!r} needs {execution.fill_price} prices but "
                                      f"these MarketPrices hold closes only; use MarketPrices.from_bars(bars) or "
                                      f"Execution(fill_price='close')")
        if execution.impact_coef > 0 and self.volume is None:
            raise DataValidationError("impact_coef > 0 needs bar volumes but these MarketPrices hold closes only; use "
                                      "MarketPrices.from_bars(bars) or impact_coef=0")


def as_market_prices(prices: object) -> MarketPrices:
    """``prices`` as MarketPrices (a wide close DataFrame means :meth:`MarketPrices.from_close`)."""
    if isinstance(prices, MarketPrices):
        return prices
    if isinstance(prices, pd.DataFrame):
        return MarketPrices.from_close(prices)
    raise TypeError(f"prices must be MarketPrices or a wide pandas DataFrame of closes (index ts, one column per "
                    f"ticker), got {type(prices).__name__}")


def fill_prices(prices: MarketPrices, fill_price: str) -> np.ndarray:
    """Bars x names fill prices: the bar's ``fill_price`` where the bar exists, else the last close before it
    (a held name is rebalanced at its last price), NaN before a name's first bar."""
    close = prices.close.to_numpy(dtype=np.float64)
    present = ~np.isnan(close)
    kind = getattr(prices, fill_price).to_numpy(dtype=np.float64)
    lacking = present & np.isnan(kind)
    if lacking.any():
        row, col = np.argwhere(lacking)[0]
        raise DataValidationError(f"{int(lacking.sum())} bar(s) have no {fill_price}, first {prices.columns[col]} "
                                  f"at {prices.index[row]}; fill at another price or repair the bars")
    return np.where(present, kind, prices.close.ffill().to_numpy(dtype=np.float64))


def known_half_spread(prices: MarketPrices, execution: Execution) -> tuple[np.ndarray, np.ndarray]:
    """Bars x names half spread (a fraction of the mid) known for a fill at each bar, and where it is the fallback.

    Open and vwap fills of bar f see the quotes up to bar f - 1's close, close fills bar f's own; a quote is
    carried forward within its session only.
    """
    shape = prices.close.shape
    fallback_half = execution.fallback_spread_bps / 2 * 1e-4
    if execution.spread == "fixed" or not prices.has_quotes:
        return np.full(shape, fallback_half), np.ones(shape, dtype=bool)
    bid, ask = prices.bid.to_numpy(dtype=np.float64), prices.ask.to_numpy(dtype=np.float64)
    session = session_positions(prices.index, "spread='quoted'")
    known = pd.DataFrame((ask - bid) / (ask + bid)).groupby(session).ffill().to_numpy()
    if execution.fill_price != "close":
        before = np.full(shape, np.nan)
        before[1:] = np.where((session[1:] == session[:-1])[:, None], known[:-1], np.nan)
        known = before
    fallback = np.isnan(known)
    return np.where(fallback, fallback_half, known), fallback


def impact_inputs(prices: MarketPrices) -> tuple[np.ndarray, np.ndarray]:
    """Bars x names ``sigma`` (RMS of intraday one-bar log returns) and mean dollar volume over the
    :data:`IMPACT_WINDOW` bars before each bar (NaN where no earlier bar is known)."""
    close = prices.close.to_numpy(dtype=np.float64)
    session = session_positions(prices.index, "impact_coef > 0")
    earlier = np.full(close.shape, np.nan)  # the last close before each bar within its session
    carried = prices.close.groupby(session).ffill().to_numpy(dtype=np.float64)
    earlier[1:] = np.where((session[1:] == session[:-1])[:, None], carried[:-1], np.nan)
    start = np.where(np.isnan(earlier), prices.open.to_numpy(dtype=np.float64), earlier)
    squared = pd.DataFrame(np.log(close / start) ** 2)
    vwap = prices.vwap.to_numpy(dtype=np.float64) if prices.vwap is not None else np.full(close.shape, np.nan)
    dollars = pd.DataFrame(prices.volume.to_numpy(dtype=np.float64) * np.where(np.isnan(vwap), close, vwap))
    sigma = np.sqrt(squared.rolling(IMPACT_WINDOW, min_periods=1).mean().shift(1).to_numpy())
    return sigma, dollars.rolling(IMPACT_WINDOW, min_periods=1).mean().shift(1).to_numpy()


@dataclass(frozen=True, eq=False)
class FillCosts:
    """Bars x names cost of a fill as a fraction of its traded value (fees + half spread + impact, times the
    cost multiplier), the half spread part alone (also scaled) and whether that half spread was the fallback."""

    rate: np.ndarray
    half_spread: np.ndarray
    fallback: np.ndarray

    def rows(self, span: slice) -> FillCosts:
        """The costs of the bars in ``span``."""
        return FillCosts(self.rate[span], self.half_spread[span], self.fallback[span])


def impact_known(impact: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Where :func:`impact_inputs` can price an order: some earlier bar with a return and dollar volume > 0."""
    sigma, dollar_volume = impact
    return np.isfinite(sigma) & (dollar_volume > 0)


def fill_costs(prices: MarketPrices, execution: Execution, order_weight: np.ndarray,
               impact: tuple[np.ndarray, np.ndarray] | None = None) -> FillCosts:
    """Cost rates of fills at every bar for orders of ``order_weight`` (bars x names, |change of target weight|,
    0 where nothing trades); the impact term values an order at ``order_weight * execution.capital``.
    ``impact`` is :func:`impact_inputs` of ``prices`` if already computed."""
    half, fallback = known_half_spread(prices, execution)
    rate = execution.fees_bps * 1e-4 + half
    if execution.impact_coef > 0:
        sigma, dollar_volume = impact if impact is not None else impact_inputs(prices)
        traded = order_weight > 0
        unknown = traded & ~impact_known((sigma, dollar_volume))
        if unknown.any():
            row, col = np.argwhere(unknown)[0]
            raise DataValidationError(f"impact_coef > 0 needs an earlier bar with volume before every fill; "
                                      f"{prices.columns[col]} at {prices.index[row]} has none. Start the prices "
                                      f"earlier than the first signal or set impact_coef=0")
        impact = np.zeros(rate.shape)
        impact[traded] = execution.impact_coef * sigma[traded] * np.sqrt(
            order_weight[traded] * execution.capital / dollar_volume[traded])
        rate = rate + impact
    return FillCosts(rate * execution.cost_multiplier, half * execution.cost_multiplier, fallback)
