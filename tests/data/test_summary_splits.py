"""`wb data summary` flags overnight jumps that look like unrecorded splits, with the line and command that
record one; recorded splits are counted, not flagged."""

from __future__ import annotations

import math
import shlex
import shutil
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.data._split_market import import_split_market
from workbench.cli import FriendlyGroup
from workbench.cli_metadata import actions
from workbench.data import Dataset
from workbench.data._summary import SPLIT_RATIOS, SPLIT_TOLERANCE, split_like, summarize
from workbench.data._writer import write_corporate_actions
from workbench.data.importers import import_files

FIXTURES = Path(__file__).parents[1] / "fixtures" / "actions"


@click.group(cls=FriendlyGroup)
def data() -> None:
    """A throwaway `wb data` with the actions command attached, as workbench.cli attaches it."""


data.add_command(actions)


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def record(flag: dict, folder: Path) -> None:
    """Do what the flag says: the CSV line into actions.csv, then its command (run in ``folder``)."""
    (folder / "actions.csv").write_text("ticker,ex_date,split_ratio,cash_dividend\n" + flag["csv_line"] + "\n")
    args = shlex.split(flag["command"])
    assert args[:4] == ["wb", "data", "actions", "import"]
    args[4] = str(folder / args[4])
    result = CliRunner().invoke(data, args[2:])
    assert result.exit_code == 0, result.output


# -- the rule ----------------------------------------------------------------------------------------------


def slow_split_like(ratio: float) -> float:
    """Every candidate r with |log(ratio) + log(r)| <= tolerance, by a loop; at most one may match."""
    matches = [r for r in SPLIT_RATIOS if abs(math.log(ratio) + math.log(r)) <= SPLIT_TOLERANCE]
    assert len(matches) <= 1
    return matches[0] if matches else math.nan


@given(st.lists(st.floats(math.log(0.05), math.log(20.0)), min_size=1, max_size=40))
def test_split_like_equals_a_loop_over_the_candidates(log_ratios: list[float]) -> None:
    ratios = np.exp(np.asarray(log_ratios))
    expected = [slow_split_like(r) for r in ratios]
    np.testing.assert_array_equal(split_like(ratios), np.asarray(expected))


def test_the_tolerance_separates_candidates_and_ignores_ordinary_gaps() -> None:
    logs = np.sort(np.log(SPLIT_RATIOS))
    assert np.diff(logs).min() / 2 > SPLIT_TOLERANCE  # one candidate at most per jump
    ordinary = np.exp(np.linspace(-0.25, 0.25, 501))  # overnight moves up to ±25 %
    assert np.isnan(split_like(ordinary)).all()
    real = np.array([120.37 / 1208.88, 127.58 / 499.23, 444.61 / 2213.40])  # NVDA 10:1, AAPL 4:1, TSLA 5:1 (2020/24)
    assert split_like(real).tolist() == [10.0, 4.0, 5.0]


# -- end to end --------------------------------------------------------------------------------------------


def test_an_unrecorded_split_is_flagged_and_its_command_records_it(lake: Path, tmp_path: Path) -> None:
    import_files([FIXTURES / "aapl_split_bars.csv"], "csv", "split")
    summary = summarize(Dataset("split"), facts=False)
    assert summary["splits"] == 0
    [flag] = summary["unrecorded_splits"]
    assert (flag["ticker"], flag["date"], flag["looks_like"]) == ("AAPL", "2014-06-09", "7:1")
    assert flag["csv_line"] == "AAPL,2014-06-09,7,0"
    assert flag["command"] == "wb data actions import actions.csv --name split"
    assert flag["overnight_ratio"] == pytest.approx(flag["open"] / flag["previous_close"], rel=1e-6)
    assert abs(np.log(flag["overnight_ratio"] * 7)) < SPLIT_TOLERANCE
    record(flag, tmp_path)
    after = summarize(Dataset("split"), facts=False)
    assert after["splits"] == 1 and after["unrecorded_splits"] == []


@pytest.mark.parametrize(("ratio", "label", "written"), [(1 / 10, "1:10", "1/10"), (1.5, "3:2", "3/2"),
                                                          (1 / 3, "1:3", "1/3"), (10.0, "10:1", "10")])
def test_other_ratios_are_named_and_recorded_exactly(lake: Path, tmp_path: Path, ratio: float, label: str,
                                                     written: str) -> None:
    import_split_market(tmp_path, "other", ratio=ratio, minutes=5)
    [flag] = summarize(Dataset("other"), facts=False)["unrecorded_splits"]
    assert flag["looks_like"] == label and flag["csv_line"] == f"AAPL,2014-06-09,{written},0"
    record(flag, tmp_path)
    assert Dataset("other").corporate_actions["split_ratio"].tolist() == [ratio]
    assert summarize(Dataset("other"), facts=False)["unrecorded_splits"] == []


def test_a_split_recorded_on_a_session_the_ticker_missed_still_counts(lake: Path, tmp_path: Path) -> None:
    """AAPL has no bars on the ex-date (a halt): the jump shows at its next session and the split between
    the two sessions explains it."""
    bars = import_split_market(tmp_path, "halted", minutes=5)
    halted = Dataset("halted")
    keep = bars[~((bars["ticker"] == "AAPL") & (bars["ts"].dt.date == pd.Timestamp("2014-06-09").date()))]
    shutil.rmtree(halted.path)
    csv = tmp_path / "halted.csv"
    keep.assign(ts=keep["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(csv, index=False)
    import_files([csv], "csv", "halted")
    [flag] = summarize(Dataset("halted"), facts=False)["unrecorded_splits"]
    assert flag["date"] == "2014-06-10"
    write_corporate_actions(halted.path, pd.DataFrame({"ticker": ["AAPL"], "ex_date": [pd.Timestamp("2014-06-09")],
                                                       "split_ratio": [7.0], "cash_dividend": [0.0]}))
    assert summarize(Dataset("halted"), facts=False)["unrecorded_splits"] == []


def test_the_synthetic_markets_planted_splits_are_found_exactly_when_unrecorded(market: Dataset,
                                                                                  tmp_path: Path) -> None:
    """Recorded: none flagged. Recorded actions removed: every planted split is flagged at its ex-date with its
    ratio, and no ordinary overnight gap (nor a dividend) is."""
    planted = market.corporate_actions[market.corporate_actions["split_ratio"] != 1.0]
    assert len(planted) > 0
    summary = summarize(market, facts=False)
    assert summary["unrecorded_splits"] == [] and summary["splits"] == len(planted)
    copy = tmp_path / "unrecorded"
    shutil.copytree(market.path, copy)
    dividends_only = market.corporate_actions[market.corporate_actions["split_ratio"] == 1.0]
    write_corporate_actions(copy, dividends_only)
    flagged = summarize(Dataset(copy), facts=False)["unrecorded_splits"]
    found = {(f["ticker"], f["date"], f["csv_line"].split(",")[2]) for f in flagged}
    expected = {(str(t), str(pd.Timestamp(d).date()), s) for t, d, s in
                zip(planted["ticker"], planted["ex_date"], planted["split_ratio"].map(_written), strict=True)}
    assert found == expected


def _written(ratio: float) -> str:
    return {2.0: "2", 3.0: "3", 4.0: "4", 1.5: "3/2"}[ratio]
