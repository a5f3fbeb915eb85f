"""The adversarial timeline against direct calls: each session's AUC is adversarial_validation on that session and
its lookback, the weekly timeline and its trigger markers are RegimeMonitor's, a planted shift drifts where it was
planted and a stationary panel never does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.validation import RegimeMonitor, adversarial_validation
from workbench.viz.adversarial import AdversarialTimeline, auc_timeline_figure, separating_features_figure

PARAMS = {"threshold": 0.6, "min_rows": 100, "max_rows": 400, "n_bootstrap": 50, "block_minutes": 10}


def panel(sessions: list[str], *, shift_from: str | None = None, again_from: str | None = None, n_tickers: int = 8,
          n_minutes: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three i.i.d. normal features per (minute, ticker) of each session from 09:30 New York; from ``shift_from``
    on, feature ``a`` is moved up by 2, and from ``again_from`` on by 3 more."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in sessions:
        opens = pd.Timestamp(f"{day} 09:30", tz="America/New_York").tz_convert("UTC")
        ts = pd.date_range(opens, periods=n_minutes, freq="min")
        index = pd.MultiIndex.from_product([ts, [f"T{k}" for k in range(n_tickers)]], names=["ts", "ticker"])
        frame = pd.DataFrame(rng.normal(size=(len(index), 3)), index=index, columns=["a", "b", "c"])
        if shift_from is not None and day >= shift_from:
            frame["a"] += 2.0
        if again_from is not None and day >= again_from:
            frame["a"] += 3.0
        frames.append(frame)
    return pd.concat(frames)


SESSIONS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11"]


def test_session_aucs_are_adversarial_validation_of_each_session_and_its_lookback() -> None:
    features = panel(SESSIONS, shift_from="2024-03-07", again_from="2024-03-08")
    timeline = AdversarialTimeline("session", 2, **PARAMS).fit(features).timeline_
    frame = features.reset_index()
    days = frame["ts"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    last_retrain = None
    blocks = pd.Series(pd.DatetimeIndex(frame["ts"]).as_unit("s").asi8 // 600, index=frame.index)
    for i, day in enumerate(SESSIONS):
        row = timeline.loc[pd.Timestamp(day).date()]
        if i < 2:
            assert np.isnan(row["auc"]) and not row["retrain"]
            continue
        new, history = days == day, days.isin(SESSIONS[i - 2:i])
        report = adversarial_validation(frame.loc[history, ["a", "b", "c"]], frame.loc[new, ["a", "b", "c"]],
                                        threshold=0.6, n_bootstrap=50, max_rows=400,
                                        groups_a=blocks[history].to_numpy(), groups_b=blocks[new].to_numpy())
        assert row["auc"] == report.auc and (row["ci_low"], row["ci_high"]) == report.auc_ci
        assert row["n_new"] == new.sum() and row["n_history"] == history.sum()
        assert row["drift"] == report.drift
        fires = report.drift and (last_retrain is None or i - last_retrain > 2)  # the monitor's cooldown rule
        assert row["retrain"] == fires
        last_retrain = i if fires else last_retrain
    assert (timeline["drift"] & ~timeline["retrain"]).any()  # the cooldown held back a trigger


def test_a_planted_shift_drifts_and_triggers_where_planted_and_a_stationary_panel_never_drifts() -> None:
    shifted = AdversarialTimeline("session", 2, **PARAMS).fit(panel(SESSIONS, shift_from="2024-03-07"))
    timeline = shifted.timeline_
    assert [str(p) for p in timeline.index[timeline["retrain"]]] == ["2024-03-07"]
    assert timeline.loc[pd.Timestamp("2024-03-07").date(), "ci_low"] > 0.6
    assert not timeline.loc[pd.Timestamp("2024-03-11").date(), "drift"]  # the lookback has caught up
    period, report = shifted.report()
    assert report.features.index[0] == "a" and report.features["direction"].iat[0] == "higher in B"
    assert str(period) in {"2024-03-07", "2024-03-08"}

    stationary = AdversarialTimeline("session", 2, **PARAMS).fit(panel(SESSIONS)).timeline_
    compared = stationary.dropna(subset=["auc"])
    assert len(compared) == 4 and not compared["drift"].any() and (compared["ci_low"] < 0.6).all()
    assert not stationary["retrain"].any()


def test_weekly_timeline_is_the_regime_monitor_and_the_markers_are_its_triggers() -> None:
    weeks = pd.bdate_range("2024-03-04", periods=25)  # 5 weeks of 5 sessions
    sessions = [str(d.date()) for d in weeks]
    features = panel(sessions, shift_from="2024-03-18", n_tickers=4, n_minutes=30)
    later = features.index.get_level_values("ts") >= pd.Timestamp("2024-03-25", tz="UTC")
    features.loc[later, "a"] += 3.0  # a second, larger shift a week after the first
    fitted = AdversarialTimeline("week", 2, **{k: v for k, v in PARAMS.items() if k != "block_minutes"})
    timeline = fitted.fit(features).timeline_

    monitor = RegimeMonitor(0.6, 2, 100, max_rows=400, n_bootstrap=50)
    expected = monitor.run(features.reset_index().drop(columns="ticker"))
    pd.testing.assert_frame_equal(timeline, expected.rename_axis("period"), check_dtype=False)
    fired = [str(w) for w in expected.index[expected["retrain"]]]
    assert fired == ["2024-03-18"]  # week 4 drifts again, inside the cooldown
    assert expected.loc[pd.Timestamp("2024-03-25").date(), "drift"]

    figure = auc_timeline_figure(timeline, 0.6, period="week")
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces["retrain trigger"].x) == fired
    assert list(traces["drift"].x) == ["2024-03-25"]
    assert list(traces["out-of-fold AUC"].y) == pytest.approx(list(expected["auc"]), nan_ok=True)
    assert list(traces["95% CI"].y) == pytest.approx(list(expected["ci_low"]), nan_ok=True)
    assert [shape.y0 for shape in figure.layout.shapes] == [0.6, 0.5]


def test_separating_features_figure_titles_the_period_and_ranks_the_planted_feature_first() -> None:
    fitted = AdversarialTimeline("session", 2, **PARAMS).fit(panel(SESSIONS, shift_from="2024-03-07"))
    period, report = fitted.report("2024-03-07")
    figure = separating_features_figure(report, period, top_n=3)
    assert figure.layout.title.text.startswith("2024-03-07 vs its lookback — Adversarial validation: AUC")
    assert list(figure.data[0].y)[-1] == "a"  # bars bottom-up: the top feature last


def test_bad_parameters_and_frames_get_one_line_errors() -> None:
    features = panel(SESSIONS[:3])
    with pytest.raises(ValueError, match="period must be one of"):
        AdversarialTimeline("month").fit(features)
    with pytest.raises(ValueError, match="lookback must be an integer >= 1"):
        AdversarialTimeline(lookback=0).fit(features)
    with pytest.raises(ValueError, match="lacks the columns \\['z'\\]"):
        AdversarialTimeline(columns=["z"]).fit(features)
    with pytest.raises(ValueError, match="lacks \\['ts', 'ticker'\\]"):
        AdversarialTimeline().fit(features.reset_index(drop=True))
    with pytest.raises(ValueError, match="no period was compared"):
        AdversarialTimeline("session", 4, **PARAMS).fit(features).report()
