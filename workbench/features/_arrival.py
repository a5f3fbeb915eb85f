"""The arrival contract of the online engine: bars are computed exactly as batch would compute the
same bars, whatever order they arrive in, because a minute is processed as one cross-section.

Two paths keep it. The buffered one (:meth:`OnlineFeatureEngine.submit`, then
:meth:`~OnlineFeatureEngine.advance_watermark`) holds the bars of open minutes in a
:class:`MinuteBuffer` until the caller's watermark closes them; each submitted row is accepted or
refused with a reason — data, not an exception, so a stream consumer can dead-letter it — and a
refused row never alters state. The direct one (``update``) takes bars as they come and refuses,
with an error, any batch that would make the cross-asset features diverge: a bar of a minute older
than one already processed, a bar of a closed minute, or the index bar of a minute whose stocks were
already processed (:func:`check_direct_arrival`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba as nb
import numpy as np
import pandas as pd

from workbench.data._calendar import session_index
from workbench.data._schema import BAR_VALUE_COLUMNS, PROBLEM_REASONS, problem_codes, read_only
from workbench.errors import DataValidationError
from workbench.features._rows import NAT, NS_PER_MINUTE, BarBatch, TickerClock, refuse_rows
from workbench.features._universe import FeatureUniverse

#: why a submitted row was refused; code k of :attr:`Submission.codes` is ``REFUSAL_REASONS[k]`` (0: accepted).
#: When a row breaks several rules, the first in this order is reported.
REFUSAL_REASONS: tuple[str, ...] = ("", "no_timestamp", "unknown_ticker", "off_grid", "outside_session", "late",
                                    "invalid_bar", "duplicate")
ACCEPTED, NO_TIMESTAMP, UNKNOWN_TICKER, OFF_GRID, OUTSIDE_SESSION, LATE, INVALID_BAR, DUPLICATE = range(8)
_DETAILS = {
    NO_TIMESTAMP: "the bar has no timestamp",
    UNKNOWN_TICKER: "the ticker is not in this engine's universe",
    OFF_GRID: "ts is not the end of a whole minute (bars are stamped at their minute's end, e.g. 15:31:00)",
    OUTSIDE_SESSION: "ts is not a bar end inside a regular NYSE session",
    DUPLICATE: "a bar with this (ticker, ts) was already accepted",
}
#: the watermark before any minute is closed (bar ends are always later)
NO_WATERMARK = -1


def _utc(ts_ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ts_ns), tz="UTC")


@dataclass(frozen=True)
class Submission:
    """What a submit did with each row: how many bars it buffered, and which rows it refused and why.

    ``labels``, ``ts`` (int64 UTC ns, ``NAT`` when missing), ``tickers`` (as given), ``codes``
    (:data:`REFUSAL_REASONS` codes) and ``details`` describe the refused rows, in input order;
    :attr:`refused` is the same as a frame.
    """

    accepted: int
    labels: pd.Index
    ts: np.ndarray
    tickers: np.ndarray
    codes: np.ndarray
    details: np.ndarray

    @property
    def n_refused(self) -> int:
        """Number of refused rows."""
        return len(self.codes)

    @cached_property
    def refused(self) -> pd.DataFrame:
        """The refused rows (index: their labels in the input) with ``ts``, ``ticker``, ``reason`` and a
        human-readable ``detail``, ready for a dead-letter queue."""
        return pd.DataFrame({
            "ts": pd.DatetimeIndex(self.ts.astype("datetime64[ns]")).tz_localize("UTC"),
            "ticker": self.tickers,
            "reason": np.asarray(REFUSAL_REASONS, dtype=object)[self.codes],
            "detail": self.details,
        }, index=self.labels)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _claim_nb(ticker, rows, seen, codes, duplicate):  # pragma: no cover - numba
    """Mark each of ``rows`` whose ticker is already ``seen`` in its minute as ``duplicate``, else claim it:
    the first arrival of a (ticker, minute) wins."""
    for r in rows:
        i = ticker[r]
        if seen[i]:
            codes[r] = duplicate
        else:
            seen[i] = True


def _take(batch: BarBatch, rows: np.ndarray) -> BarBatch:
    """A copy of ``rows`` of ``batch`` (never a view of the caller's arrays: the buffer outlives them)."""
    if len(rows) == len(batch):  # all of it (rows are increasing): a plain copy beats a gather
        return BarBatch(ts=read_only(batch.ts.copy()), ticker=read_only(batch.ticker.copy()),
                        columns=tuple(read_only(c.copy()) for c in batch.columns))
    return BarBatch(ts=read_only(batch.ts[rows]), ticker=read_only(batch.ticker[rows]),
                    columns=tuple(read_only(c[rows]) for c in batch.columns))


def _concat(chunks: list[BarBatch]) -> BarBatch:
    if len(chunks) == 1:
        return chunks[0]
    return BarBatch(ts=read_only(np.concatenate([c.ts for c in chunks])),
                    ticker=read_only(np.concatenate([c.ticker for c in chunks])),
                    columns=tuple(read_only(np.concatenate([c.columns[k] for c in chunks]))
                                  for k in range(len(BAR_VALUE_COLUMNS))))


class MinuteBuffer:
    """Accepted bars of the minutes not yet closed, by minute and in arrival order, and the watermark
    (the last closed minute's end) below which bars are refused as late."""

    def __init__(self, n_tickers: int) -> None:
        self.n_tickers = n_tickers
        self.closed = NO_WATERMARK
        self._chunks: dict[int, list[BarBatch]] = {}
        self._seen: dict[int, np.ndarray] = {}  # per open minute: which tickers already have a bar
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def counts(self) -> dict[int, int]:
        """Buffered bars per open minute (bar end in UTC ns), in time order."""
        return {m: sum(len(c) for c in self._chunks[m]) for m in sorted(self._chunks)}

    def submit(self, batch: BarBatch, watermark: int) -> np.ndarray:
        """Buffer the acceptable rows of ``batch``; return every row's :data:`REFUSAL_REASONS` code.

        ``watermark``: bars ending at or before it are late (their minute is closed or processed).
        Validation reads nothing but ``batch``, the watermark and the buffer's own claims, so it never
        changes what is already buffered.
        """
        ts, ticker = batch.ts, batch.ticker
        codes = np.zeros(len(batch), dtype=np.int8)
        if not len(batch):
            return codes
        one_minute = ts.min() == ts.max()  # the usual case: the time rules are checked once
        stamps = ts[:1] if one_minute else ts
        rules = ((ts == NAT, NO_TIMESTAMP), ((ticker < 0) | (ticker >= self.n_tickers), UNKNOWN_TICKER),
                 (stamps % NS_PER_MINUTE != 0, OFF_GRID), (session_index().locate(stamps) < 0, OUTSIDE_SESSION),
                 (stamps <= watermark, LATE), (problem_codes(batch.columns) != 0, INVALID_BAR))
        for broken, code in reversed(rules):  # the first rule a row breaks is the one it reports
            codes[np.broadcast_to(broken, codes.shape)] = code
        valid = np.flatnonzero(codes == ACCEPTED)
        if not len(valid):
            return codes
        if one_minute:
            groups = [(int(ts[0]), valid)]
        else:
            groups = [(int(m), valid[ts[valid] == m]) for m in np.unique(ts[valid])]
        for minute, rows in groups:
            seen = self._seen.get(minute)
            if seen is None:
                seen = self._seen[minute] = np.zeros(self.n_tickers, dtype=np.bool_)
            _claim_nb(ticker, rows, seen, codes, DUPLICATE)
            kept = rows[codes[rows] == ACCEPTED]
            if len(kept):
                self._chunks.setdefault(minute, []).append(_take(batch, kept))
                self._size += len(kept)
        return codes

    def details(self, batch: BarBatch, positions: np.ndarray, codes: np.ndarray, watermark: int) -> np.ndarray:
        """A human-readable explanation of each refusal (``codes`` of the rows at ``positions``)."""
        out = np.empty(len(positions), dtype=object)
        for k, (pos, code) in enumerate(zip(positions, codes, strict=True)):
            if code == LATE:
                out[k] = f"its minute is already closed (watermark {_utc(watermark)}): late"
            elif code == INVALID_BAR:
                out[k] = PROBLEM_REASONS[problem_codes(tuple(c[pos:pos + 1] for c in batch.columns))[0]]
            else:
                out[k] = _DETAILS[int(code)]
        return out

    def through(self, through: int) -> BarBatch:
        """The buffered bars of every minute ending at or before ``through``: time order, then arrival."""
        chunks = [c for m in sorted(self._chunks) if m <= through for c in self._chunks[m]]
        if not chunks:
            return BarBatch.from_arrays(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return _concat(chunks)

    def close(self, through: int) -> None:
        """Forget the minutes ending at or before ``through`` (processed) and raise the watermark to it."""
        for minute in [m for m in self._seen if m <= through]:
            self._size -= sum(len(c) for c in self._chunks.pop(minute, []))
            del self._seen[minute]
        self.closed = max(self.closed, through)

    def state(self) -> dict[str, np.ndarray]:
        """The buffer as arrays (for an engine snapshot), minutes in time order, bars in arrival order;
        ``buffer.values`` holds one row per bar column."""
        everything = self.through(np.iinfo(np.int64).max)
        return {"buffer.closed": np.array([self.closed], dtype=np.int64), "buffer.ts": np.asarray(everything.ts),
                "buffer.ticker": np.asarray(everything.ticker),
                "buffer.values": np.vstack(everything.columns)}

    @classmethod
    def from_state(cls, n_tickers: int, arrays: dict[str, np.ndarray]) -> MinuteBuffer:
        """Rebuild the buffer :meth:`state` described (claims are exactly the buffered bars)."""
        buffer = cls(n_tickers)
        ts, values = arrays["buffer.ts"], arrays["buffer.values"]
        batch = BarBatch.from_arrays(ts, arrays["buffer.ticker"],
                                     **dict(zip(BAR_VALUE_COLUMNS, values, strict=True)))
        if buffer.submit(batch, NO_WATERMARK).any():
            raise ValueError("snapshot holds an invalid bar buffer")
        buffer.closed = int(arrays["buffer.closed"][0])
        return buffer


def check_direct_arrival(batch: BarBatch, universe: FeatureUniverse, clock: TickerClock,
                         buffer: MinuteBuffer) -> None:
    """The arrival contract of ``update``: raise a :class:`~workbench.errors.DataValidationError`
    (naming the bars) for a batch whose bars would be computed differently from batch.

    Refused: any call while submitted bars wait in ``buffer`` (one path at a time); bars of a closed
    minute; bars older than the newest minute already processed (a minute is one cross-section once a
    later one has started: sector means and index returns are published); and the index bar of the
    newest minute when stocks' bars of that minute were processed before it (they got NaN beta; taking
    it now would give later bars betas that batch, with the index first, never computes).
    """
    if len(buffer):
        raise DataValidationError(f"{len(buffer)} submitted bar(s) of open minutes are buffered: close them with "
                                  "advance_watermark() before calling update(), or use one path only")
    if not len(batch):
        return
    first = int(batch.ts.min())
    if first <= buffer.closed:
        refuse_rows(f"bars of a closed minute (watermark {_utc(buffer.closed)}): late", batch, universe,
                    np.flatnonzero(batch.ts <= buffer.closed))
    processed = int(clock.last_ts.max()) if len(clock.last_ts) else NO_WATERMARK
    if first < processed:
        # bars not newer than their own ticker's last one are left to prepare_rows, whose message says so
        late = np.flatnonzero((batch.ts < processed) & (batch.ts > clock.last_ts[batch.ticker]))
        if len(late):
            refuse_rows(f"bars older than minute {_utc(processed)}, which was already processed (late: the "
                        "cross-asset features of a minute are final once a later minute starts)", batch, universe,
                        late)
    index = universe.index_row
    if first == processed and index >= 0 and clock.last_ts[index] < processed:
        late = np.flatnonzero((batch.ticker == index) & (batch.ts == processed))
        if len(late):
            refuse_rows("the index bar of a minute whose stocks' bars were already processed without it (late: "
                        "send the index bar of a minute first)", batch, universe, late)
