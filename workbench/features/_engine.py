"""The online feature engine: per-ticker state in preallocated arrays, advanced bar by bar by the same
family kernels that :func:`~workbench.features.compute` runs over history."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType

import numpy as np
import pandas as pd

from workbench.errors import DataValidationError
from workbench.features._arrival import NO_WATERMARK, MinuteBuffer, Submission, check_direct_arrival
from workbench.features._context import CONTEXTS, ContextSeries, check_context_names
from workbench.features._lanes import PARALLEL_MIN_ROWS, KernelLanes, default_threads
from workbench.features._rows import NS_PER_MINUTE, BarBatch, Rows, TickerClock, prepare_rows
from workbench.features._spec import FeatureSpec
from workbench.features._universe import AdjustmentBook, FeatureUniverse
from workbench.features.families import Family, State, family_for

#: 2: previous closes held as log closes; 3: the minute buffer and watermark; 4: every context table
#: (``context.<name>.*``) in place of the VIX alone
SNAPSHOT_VERSION = 4


class OnlineFeatureEngine:
    """Incremental features for a fixed universe, equal to :func:`~workbench.features.compute` on the
    same bars whatever order they arrive in.

    Work per bar and feature is O(1) in the length of history (fixed windows and recursive averages).
    Two ways in:

    - buffered, for a stream whose bars straggle: :meth:`submit` buffers the bars of open minutes and
      refuses bad ones row by row with a reason (a :class:`~workbench.features.Submission`), and
      :meth:`advance_watermark` closes every minute up to a time, processing each as one
      cross-section (the index first) and returning its feature rows; a bar for a closed minute is
      then refused as ``late`` and never alters state;
    - direct, for callers that already hold whole minutes in order: :meth:`update` (or
      :meth:`update_batch`) computes at once. Any number of bars per call (a minute's cross-section, or
      one bar), each newer than what its ticker already had, no bar older than the newest minute
      processed, and the index's bar of a minute before the stocks' bars of that minute; a batch that
      breaks this is refused with an error (nothing advances), because computing it would diverge from
      batch.

    Parameters
    ----------
    spec
        What to compute.
    tickers
        The universe: a ``tickers.parquet``-like frame (ticker, sector, market_cap, is_index), a list of
        symbols, or a prepared :class:`FeatureUniverse`.
    corporate_actions
        ``ticker, ex_date, split_ratio, cash_dividend``; state is adjusted on each ex-date.
    ref_close, ref_date
        Close (by ticker) and session at which ``market_cap`` was measured, for ``log_mcap``.
    threads
        Feature families advance side by side on this many threads for batches of 1,000 bars or more
        (default: 2 where the machine has them); results do not depend on it.
    """

    def __init__(self, spec: FeatureSpec, tickers: pd.DataFrame | list[str] | FeatureUniverse, *,
                 corporate_actions: pd.DataFrame | None = None, ref_close: pd.Series | None = None,
                 ref_date: object = None, threads: int | None = None) -> None:
        self.spec = spec
        self.universe = tickers if isinstance(tickers, FeatureUniverse) else FeatureUniverse.build(
            tickers, spec.index_ticker, ref_close, ref_date)
        self.book = AdjustmentBook.build(corporate_actions, self.universe)
        self.families: list[Family] = [family_for(f, spec.index_ticker) for f in spec.features]
        self.states: list[State] = [f.new_state(self.universe) for f in self.families]
        self.clock = TickerClock.empty(self.universe.n)
        self._buffer = MinuteBuffer(self.universe.n)
        self._context = {name: ContextSeries(name) for name in CONTEXTS}
        self._columns = tuple(c for f in self.families for c in f.columns)
        self._reads_context = tuple(name for name in CONTEXTS if any(name in f.reads_context for f in self.families))
        self._lanes = KernelLanes(default_threads() if threads is None else threads)
        bounds = np.cumsum([0] + [len(f.columns) for f in self.families])
        self._slices = list(zip(bounds[:-1], bounds[1:], strict=True))
        self._categories = {column: pd.CategoricalDtype(categories) for f in self.families
                             for column, categories in f.categories(self.universe).items()}

    @property
    def columns(self) -> list[str]:
        """Output columns, in spec order."""
        return list(self._columns)

    # -- context ---------------------------------------------------------------------------------

    def update_context(self, name: str, table: pd.DataFrame) -> None:
        """Append newly published rows of context table ``name`` (a key of
        :data:`~workbench.features._context.CONTEXTS`: ``vix``, ``rates``, ``macro_events``), in
        publication order: ``available_at`` (tz-aware) and the table's value columns.

        A bar sees the rows published at or before its end that were appended before it was processed; to
        equal batch, feed each row before the bars of the minutes after its ``available_at``. A row
        published before the last one held is refused (see :meth:`ContextSeries.append`).
        """
        check_context_names([name])
        self._context[name].append(table)

    @property
    def context(self) -> Mapping[str, ContextSeries]:
        """The context series held, by table name (read-only; grow them with :meth:`update_context`)."""
        return MappingProxyType(self._context)

    # -- bars ------------------------------------------------------------------------------------

    def update(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Feature rows for ``bars`` (same index and order as the input). Raw, as-traded prices."""
        batch = self.batch(bars)
        check_direct_arrival(batch, self.universe, self.clock, self._buffer)
        return self._to_frame(self._advance(batch), bars.index)

    def update_batch(self, batch: BarBatch) -> np.ndarray:
        """The live scorer's fast path: the feature matrix of an unpacked batch, in its order (float64,
        categoricals as codes, NaN for none)."""
        check_direct_arrival(batch, self.universe, self.clock, self._buffer)
        return self._advance(batch)

    def batch(self, bars: pd.DataFrame) -> BarBatch:
        """Unpack a bar frame for :meth:`update_batch` (validates columns, timestamps and tickers)."""
        return BarBatch.from_frame(bars, self.universe)

    # -- buffered arrival ------------------------------------------------------------------------

    @property
    def watermark(self) -> pd.Timestamp | None:
        """End of the last closed (or directly processed) minute: bars ending at or before it are late.
        None before any."""
        mark = self._watermark_ns()
        return None if mark == NO_WATERMARK else pd.Timestamp(mark, tz="UTC")

    def _watermark_ns(self) -> int:
        processed = int(self.clock.last_ts.max()) if self.universe.n else NO_WATERMARK
        return max(self._buffer.closed, processed)

    def submit(self, bars: pd.DataFrame) -> Submission:
        """Buffer ``bars`` until their minute is closed; refuse, row by row with a reason, the bars that
        cannot be taken: ``late`` (minute closed), ``off_grid``, ``outside_session``, ``invalid_bar``,
        ``duplicate`` (the first arrival of a (ticker, ts) wins), ``unknown_ticker``, ``no_timestamp``.

        Refused rows change nothing. A frame without the bar columns, or with naive timestamps, is not a
        row problem and raises.
        """
        batch = BarBatch.from_frame(bars, self.universe, strict=False)
        return self._submit(batch, bars.index, lambda at: bars["ticker"].to_numpy(dtype=object)[at])

    def submit_batch(self, batch: BarBatch) -> Submission:
        """:meth:`submit` for unpacked arrays (engine rows: -1 or out of range for an unknown ticker);
        refused rows are labelled by their position in ``batch``."""
        def symbols(at: np.ndarray) -> np.ndarray:
            rows = batch.ticker[at]
            known = (rows >= 0) & (rows < self.universe.n)
            return np.where(known, self.universe.tickers[np.where(known, rows, 0)], None)  # unknown: None

        return self._submit(batch, pd.RangeIndex(len(batch)), symbols)

    def _submit(self, batch: BarBatch, labels: pd.Index, symbols: Callable[[np.ndarray], np.ndarray]) -> Submission:
        watermark = self._watermark_ns()
        codes = self._buffer.submit(batch, watermark)
        refused = np.flatnonzero(codes)
        return Submission(accepted=len(batch) - len(refused), labels=labels[refused], ts=batch.ts[refused],
                          tickers=symbols(refused), codes=codes[refused],
                          details=self._buffer.details(batch, refused, codes[refused], watermark))

    def open_minutes(self) -> pd.Series:
        """Bars buffered per open minute (index: bar end, UTC), for a watermark policy that closes a
        minute once every expected bar is in."""
        counts = self._buffer.counts()
        index = pd.DatetimeIndex(np.fromiter(counts, dtype=np.int64, count=len(counts)).astype("datetime64[ns]"))
        return pd.Series(list(counts.values()), index=index.tz_localize("UTC"), name="bars", dtype=np.int64)

    def advance_watermark(self, ts: object) -> pd.DataFrame:
        """Close every minute ending at or before ``ts`` (a timezone-aware time, e.g. now minus a grace
        period) and return its bars' feature rows, indexed by (ts, ticker) in time order.

        Each minute is processed as one cross-section, exactly as batch processes it; afterwards its
        bars are refused as late. The watermark never moves back (an earlier ``ts`` raises).
        """
        stamp = pd.Timestamp(ts)
        if stamp.tzinfo is None:
            raise DataValidationError(f"watermark {ts!r} must be timezone-aware (e.g. '2024-11-25 15:31Z')")
        batch, values = self.advance_watermark_batch(stamp.tz_convert("UTC").as_unit("ns").value)
        minutes, ts_codes = np.unique(batch.ts, return_inverse=True)
        index = pd.MultiIndex(levels=[pd.DatetimeIndex(minutes.astype("datetime64[ns]")).tz_localize("UTC"),
                                      pd.Index(self.universe.tickers, dtype=object)],
                              codes=[ts_codes, batch.ticker], names=["ts", "ticker"])
        return self._to_frame(values, index)

    def advance_watermark_batch(self, ts_ns: int) -> tuple[BarBatch, np.ndarray]:
        """:meth:`advance_watermark` for int64 UTC nanoseconds: the closed bars and their feature matrix
        (rows aligned, in time order, then arrival order within a minute)."""
        through = int(ts_ns) - int(ts_ns) % NS_PER_MINUTE
        if through < self._buffer.closed:
            raise ValueError(f"the watermark cannot move back from {pd.Timestamp(self._buffer.closed, tz='UTC')} "
                             f"to {pd.Timestamp(through, tz='UTC')}")
        batch = self._buffer.through(through)
        values = self._advance(batch) if len(batch) else np.empty((0, len(self._columns)))
        self._buffer.close(through)  # only once processed: a failure leaves the minutes open
        return batch, values

    # -- the kernels -----------------------------------------------------------------------------

    def _advance(self, batch: BarBatch) -> np.ndarray:
        rows = prepare_rows(batch, self.universe, self.book, self.clock,
                            {name: self._context[name] for name in self._reads_context})
        # feature-major storage: each kernel writes a column as one contiguous run of rows
        out = np.empty((len(self._columns), len(rows)))
        self._lanes.run(self._tasks(rows, out))
        if rows.in_input_order:
            return out.T
        values = np.empty_like(out)
        values[:, rows.order] = out
        return values.T

    def _tasks(self, rows: Rows, out: np.ndarray) -> list[tuple[tuple[int, int], Callable[[], None]]]:
        """One task per family, or, with threads, per family and ticker range for the per-ticker ones."""
        parts = [(0, len(rows))]
        if self._lanes.threads > 1 and len(rows) >= PARALLEL_MIN_ROWS:
            parts = rows.ticker_ranges(self._lanes.threads)
        pieces = {part: rows.slice(*part) for part in parts} if len(parts) > 1 else {parts[0]: rows}
        tasks = []
        for k, (family, state, (start, stop)) in enumerate(zip(self.families, self.states, self._slices,
                                                                strict=True)):
            target = out[start:stop]
            if family.cross_sectional or len(parts) == 1:
                tasks.append(((k, 0), partial(family.run, rows, state, target.T)))
                continue
            for h, (a, b) in enumerate(parts):
                tasks.append(((k, h), partial(family.run, pieces[(a, b)], state, target[:, a:b].T)))
        return tasks

    def _to_frame(self, values: np.ndarray, index: pd.Index) -> pd.DataFrame:
        # one zero-copy float block (feature-major underneath), then the categoricals swapped in
        frame = pd.DataFrame(values, index=index, columns=list(self._columns), copy=False)
        for k, name in enumerate(self._columns):
            dtype = self._categories.get(name)
            if dtype is not None:
                codes = np.where(np.isnan(values[:, k]), -1, values[:, k]).astype(np.int64)
                frame[name] = pd.Categorical.from_codes(codes, dtype=dtype)
        return frame

    # -- crash recovery --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Everything needed to resume exactly where this engine is (state, clock, context, buffered
        bars and watermark). Equal states give equal bytes."""
        arrays: dict[str, np.ndarray] = {
            "clock.last_ts": self.clock.last_ts, "clock.last_session": self.clock.last_session,
            "clock.last_close": self.clock.last_close, **self._buffer.state(),
        }
        for name, series in self._context.items():
            arrays.update({f"context.{name}.{key}": value for key, value in series.state().items()})
        for k, state in enumerate(self.states):
            arrays.update({f"family{k}.{name}": value for name, value in state.items()})
        meta = {"version": SNAPSHOT_VERSION, "spec": self.spec.to_json(), "fingerprint": self.spec.fingerprint,
                "tickers": [str(t) for t in self.universe.tickers]}
        return _npz({"__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays})

    def restore(self, blob: bytes) -> None:
        """Resume from :meth:`snapshot` output; refuses a snapshot of another spec or universe."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(data["__meta__"].tobytes().decode())
            if meta.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"snapshot version {meta.get('version')} is not supported (this engine writes and "
                                 f"reads version {SNAPSHOT_VERSION}); rebuild the engine from history and take a "
                                 "new snapshot")
            if meta["fingerprint"] != self.spec.fingerprint:
                raise ValueError(f"snapshot was taken with spec {meta['fingerprint']}, this engine runs "
                                 f"{self.spec.fingerprint}")
            if meta["tickers"] != [str(t) for t in self.universe.tickers]:
                raise ValueError("snapshot was taken with a different ticker universe")
            context = {name: ContextSeries.from_state(name, {
                key.removeprefix(f"context.{name}."): data[key] for key in data.files
                if key.startswith(f"context.{name}.")}) for name in CONTEXTS}
            self.clock = TickerClock(data["clock.last_ts"].copy(), data["clock.last_session"].copy(),
                                     data["clock.last_close"].copy())
            self._context = context
            self._buffer = MinuteBuffer.from_state(self.universe.n, {name: data[name] for name in data.files
                                                                     if name.startswith("buffer.")})
            for k, state in enumerate(self.states):
                for name in state:
                    state[name] = data[f"family{k}.{name}"].copy()


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """``np.savez`` with fixed member timestamps (it stamps the wall clock), so a snapshot is a function
    of the state alone and two snapshots can be compared byte for byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w",
                              force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return buffer.getvalue()
