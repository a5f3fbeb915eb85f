"""Does the configuration fit the dataset? Checked before any work, from the lake's metadata and one count
query, so a setting that cannot work on this data (an index it lacks, more names or sessions than it has, a
LightGBM leaf larger than half a fold) fails at once with the setting and a value that fits, not after the
features and a walk-forward."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.data import EXCHANGE_TZ, Dataset
from workbench.errors import WorkbenchError
from workbench.features import FeatureSpec
from workbench.features.families import family_for
from workbench.models import MODEL_KINDS
from workbench.pipeline._config import PipelineConfig

#: feature families that read the index instrument: left out of a run on a dataset without one
INDEX_FAMILIES = ("index_lags", "beta")


class ConfigFitError(WorkbenchError, ValueError):
    """A setting of the configuration does not fit the dataset (the message names the setting and a value
    that fits)."""


@dataclass(frozen=True)
class DatasetFit:
    """What the run will use of the dataset: its index instrument (None: none), the spec without the index
    features when there is none, the names (tickers other than the index) and sessions of the selection, and
    what was left out because of the dataset."""

    index_ticker: str | None
    spec: FeatureSpec
    names: tuple[str, ...]
    sessions: tuple[dt.date, ...]
    skipped_index_features: tuple[str, ...]
    index_note: str | None


def resolve_index(spec: FeatureSpec, dataset: Dataset) -> tuple[str | None, str | None]:
    """The run's index instrument and, when the dataset has none, the note saying what the run goes without.

    The index is a dataset property (``is_index`` in tickers.parquet, set at import with ``--index``); a
    spec naming another one is refused, naming the dataset's.
    """
    index = dataset.index_ticker
    if index is not None and index != spec.index_ticker:
        raise ConfigFitError(f"features.index_ticker is {spec.index_ticker!r} but dataset {dataset.name!r} has index "
                             f"{index!r} (tickers.parquet is_index); set features.index_ticker to {index!r}")
    if index is not None:
        return index, None
    present = spec.index_ticker in set(dataset.tickers["ticker"].astype(str))
    hint = (f"; {spec.index_ticker} is in the dataset but not flagged as its index: re-import its tickers with "
            f"is_index or --index {spec.index_ticker}" if present else
            "; import one and flag it with --index SYMBOL to add them")
    note = (f"Dataset {dataset.name!r} has no index instrument (tickers.parquet is_index): this run goes without the "
            f"index features and the buy-and-hold benchmark{hint}.")
    return None, note


def check_fit(config: PipelineConfig, dataset: Dataset) -> DatasetFit:
    """Refuse settings that cannot work on ``dataset``'s selection; return what the run will use of it."""
    spec = config.spec
    index, note = resolve_index(spec, dataset)
    skipped: tuple[str, ...] = ()
    if index is None:
        skipped = tuple(c for f in spec.features if f.kind in INDEX_FAMILIES for c in family_for(f).columns)
        spec = spec.select(f.kind for f in spec.features if f.kind not in INDEX_FAMILIES)
    counts = _event_counts(config, dataset, index)
    names = tuple(sorted(counts.attrs["names"]))
    if not names:  # the lake says what it covers when the selection holds no bars at all
        dataset.bars(config.data.tickers, config.data.start, config.data.end, columns=["ticker"])
        raise ConfigFitError(f"dataset {dataset.name!r} has no tickers other than its index {index!r} in the "
                             "selection (data.tickers, data.start, data.end): nothing to rank")
    sessions = tuple(counts.index)
    train_days, cv_problem = _check_cv(config, dataset.name, len(sessions))
    first_fold = int(counts["events"].iloc[:train_days].sum())
    problems = [cv_problem, *_check_evaluation(config, dataset.name, len(names)),
                _check_model(config, dataset.name, first_fold, train_days, len(names))]
    problems = [p for p in problems if p is not None]
    if problems:  # every setting that does not fit, at once: one fix per run attempt is a slow loop
        raise ConfigFitError(". Also: ".join(problems))
    return DatasetFit(index_ticker=index, spec=spec, names=names, sessions=sessions,
                      skipped_index_features=skipped, index_note=note)


def _session_date(value: Any) -> dt.date | None:
    """A configured bound (a date, or a tz-aware time) as its New York session date."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(EXCHANGE_TZ) if stamp.tzinfo is not None else stamp).date()


def _event_counts(config: PipelineConfig, dataset: Dataset, index: str | None) -> pd.DataFrame:
    """Per session of the selection, the bars at event minutes of tickers other than the index (an upper
    bound on its labelled events); ``attrs["names"]``: the tickers that have bars."""
    where, params = ["ticker IS DISTINCT FROM ?"], [index]
    for bound, op in ((config.data.start, ">="), (config.data.end, "<=")):
        day = _session_date(bound)
        if day is not None:
            where.append(f"date {op} ?")
            params.append(day)
    if config.data.tickers is not None:
        where.append("ticker IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(config.data.tickers))
    every = config.labels.event_every
    frame = dataset.sql(f"SELECT date, ticker, count(*) FILTER (WHERE (epoch(ts)::BIGINT // 60) % {every} = 0) "
                        f"AS events FROM bars WHERE {' AND '.join(where)} GROUP BY date, ticker", params)
    counts = frame.groupby("date")["events"].sum().sort_index().to_frame()
    counts.index = [pd.Timestamp(d).date() for d in counts.index]
    counts.attrs["names"] = set(frame["ticker"].astype(str))
    return counts


def _check_cv(config: PipelineConfig, name: str, n_sessions: int) -> tuple[int, str | None]:
    """The training sessions of the first fold (the suggested value when the configured one does not fit) and
    the problem, if any."""
    cv = config.cv
    if cv.train_days + cv.test_days <= n_sessions:
        return cv.train_days, None
    if n_sessions >= 2:
        test = min(cv.test_days, n_sessions - 1)
        train = n_sessions - test
        fix = f"set cv.train_days to {train}" + (f" and cv.test_days to {test}" if test != cv.test_days else "")
    else:
        train = n_sessions
        fix = "a walk-forward needs at least 2 sessions: select more dates (data.start, data.end)"
    return train, (f"cv.train_days = {cv.train_days} and cv.test_days = {cv.test_days} need "
                   f"{cv.train_days + cv.test_days} sessions but dataset {name!r} has {n_sessions} in the "
                   f"selection; {fix}")


def _check_evaluation(config: PipelineConfig, name: str, n_names: int) -> list[str]:
    evaluation = config.evaluation
    problems = []
    if evaluation.min_names > n_names:
        problems.append(f"evaluation.min_names = {evaluation.min_names} but dataset {name!r} has {n_names} "
                        "names (tickers other than the index) in the selection, so every minute's cross-section "
                        f"would be skipped; set evaluation.min_names to {max(2, n_names // 2)}")
    if 2 * evaluation.top_k > n_names:
        problems.append(f"evaluation.top_k = {evaluation.top_k} needs {2 * evaluation.top_k} names for the "
                        f"top/bottom-{evaluation.top_k} long-short but dataset {name!r} has {n_names} in the "
                        f"selection; set evaluation.top_k to {max(1, n_names // 5)}")
    return problems


def _check_model(config: PipelineConfig, name: str, first_fold_events: int, train_days: int,
                 n_names: int) -> str | None:
    """Each LightGBM model's ``min_child_samples`` against the first fold: a split needs two leaves of that many
    events (after early stopping's held-out share), or every tree is a constant and the model says nothing."""
    kind = MODEL_KINDS["lightgbm"]
    lightgbm = [k for k, spec in enumerate(config.model.specs) if spec.kind == "lightgbm"]
    for k in lightgbm:
        spec = config.model.specs[k]
        setting = {param: spec.params.get(param, kind.default(param)) for param in
                   ("min_child_samples", "num_leaves", "validation_fraction", "early_stopping_rounds")}
        min_child, leaves = setting["min_child_samples"], setting["num_leaves"]
        held_out = setting["validation_fraction"] if setting["early_stopping_rounds"] else 0
        fitted = int(first_fold_events * (1.0 - held_out))
        if 2 * min_child <= fitted:
            continue
        own = "min_child_samples" in (config.model.models[k].get("params") or {})
        where = f"model.models[{k}].params" if own or k != lightgbm[0] else "model.params"
        suggestion = max(5, fitted // (2 * leaves))
        return (f"{where}.min_child_samples = {min_child} leaves no split possible for {spec.name}: the first fold "
                f"fits at most {fitted:,} events ({train_days} sessions of {n_names} names in dataset {name!r}, one "
                f"event every {config.labels.event_every} minutes) and a split needs 2 × min_child_samples; set "
                f"{where}.min_child_samples to {suggestion}")
    return None
