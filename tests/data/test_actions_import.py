"""Corporate actions in: tables and the vendors' response shapes -> import_actions / `wb data actions import` ->
corporate_actions.parquet, and what recording a split after the bars does to features and labels."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import FriendlyGroup
from workbench.cli_metadata import actions, tickers
from workbench.data import Dataset
from workbench.data._writer import write_corporate_actions
from workbench.data.importers import import_actions, import_files
from workbench.errors import DatasetNotFoundError, DataValidationError
from workbench.features import compute_dataset
from workbench.pipeline import CVConfig, DataConfig, EvalConfig, LabelConfig, ModelConfig, PipelineConfig
from workbench.pipeline._dataset import build_research_data

FIXTURES = Path(__file__).parents[1] / "fixtures" / "actions"
EX_DATE = dt.date(2014, 6, 9)
HEADER = "ticker,ex_date,split_ratio,cash_dividend\n"


@pytest.fixture(scope="module")
def base_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample bars (AAPL across its raw 7-for-1 split, SPY) imported once; tests work on copies."""
    root = tmp_path_factory.mktemp("actions-lake")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_DATASETS", str(root))
        import_files([FIXTURES / "aapl_split_bars.csv"], "csv", "split")
    return root


@pytest.fixture
def lake(base_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample dataset ``split`` (``$WB_DATASETS``)."""
    root = tmp_path / "lake"
    shutil.copytree(base_lake, root)
    monkeypatch.setenv("WB_DATASETS", str(root))
    return root


def stored() -> pd.DataFrame:
    frame = Dataset("split").corporate_actions
    return frame.assign(ex_date=pd.to_datetime(frame["ex_date"]).dt.date).sort_values(["ticker", "ex_date"])


def write(tmp_path: Path, body: str, name: str = "actions.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


# -- shapes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["actions.csv", "actions.parquet", "polygon_splits.json",
                                     "alpaca_corporate_actions.json"])
def test_every_shape_records_the_7_for_1_split(lake: Path, tmp_path: Path, fixture: str) -> None:
    path = FIXTURES / fixture
    if fixture.endswith(".parquet"):  # the same table as Parquet, ex_date a real date column
        path = tmp_path / fixture
        table = pd.read_csv(FIXTURES / "actions.csv")
        table.assign(ex_date=pd.to_datetime(table["ex_date"]).dt.date).to_parquet(path)
    report = import_actions(path, "split")
    split = stored().set_index(["ticker", "ex_date"]).loc[("AAPL", EX_DATE)]
    assert split["split_ratio"] == 7.0 and split["cash_dividend"] == 0.0
    assert report.splits_added == 1 and report.quarantined == 0
    if fixture == "polygon_splits.json":  # NVDA is not in the dataset: counted, skipped, not written
        assert report.skipped == 1 and "NVDA" in " ".join(report.warnings)
        assert "NVDA" not in set(stored()["ticker"])
    if fixture == "alpaca_corporate_actions.json":
        assert report.dividends_added == 1 and stored().set_index("ticker").loc["SPY", "cash_dividend"] == 0.8221
        assert any("ignored 1 spin_offs" in w for w in report.warnings)


def test_polygon_dividends_and_an_ex_date_outside_the_bars(lake: Path) -> None:
    report = import_actions(FIXTURES / "polygon_dividends.json", "split")
    table = stored().set_index(["ticker", "ex_date"])
    assert table.loc[("SPY", dt.date(2014, 6, 10)), "cash_dividend"] == 0.8221
    assert table.loc[("AAPL", dt.date(2014, 8, 7)), "cash_dividend"] == 0.47  # recorded all the same
    assert (table["split_ratio"] == 1.0).all()
    assert report.shape == "polygon dividends" and report.dividends_added == 2
    assert any("1 action(s) with an ex-date outside the bars" in w for w in report.warnings)


def test_a_split_and_a_dividend_of_one_day_combine_across_files(lake: Path, tmp_path: Path) -> None:
    import_actions(FIXTURES / "polygon_splits.json", "split")
    report = import_actions(write(tmp_path, "AAPL,2014-06-09,,0.47\n"), "split")
    assert report.dividends_added == 1 and report.splits_added == 0
    row = stored().set_index(["ticker", "ex_date"]).loc[("AAPL", EX_DATE)]
    assert (row["split_ratio"], row["cash_dividend"]) == (7.0, 0.47)


def test_an_alpaca_response_with_both_on_one_day_gives_one_row(lake: Path, tmp_path: Path) -> None:
    response = {"corporate_actions": {
        "forward_splits": [{"symbol": "AAPL", "ex_date": "2014-06-09", "old_rate": 1, "new_rate": 7}],
        "cash_dividends": [{"symbol": "AAPL", "ex_date": "2014-06-09", "rate": "0.47"}]}, "next_page_token": "abc"}
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(response))
    report = import_actions(path, "split")
    assert len(stored()) == 1 and tuple(stored().iloc[0][["split_ratio", "cash_dividend"]]) == (7.0, 0.47)
    assert any("next_page_token" in w for w in report.warnings)


def test_reverse_splits_and_exact_fractions(lake: Path, tmp_path: Path) -> None:
    response = {"corporate_actions": {"reverse_splits": [
        {"symbol": "AAPL", "ex_date": "2014-06-09", "old_rate": 3, "new_rate": 1}]}}
    path = tmp_path / "reverse.json"
    path.write_text(json.dumps(response))
    import_actions(path, "split")
    assert stored().iloc[0]["split_ratio"] == 1 / 3
    import_actions(write(tmp_path, "SPY,2014-06-10,3/2,0\n"), "split")
    assert stored().set_index("ticker").loc["SPY", "split_ratio"] == 1.5


# -- merging with what the dataset holds -------------------------------------------------------------------


def test_importing_the_same_file_again_reports_it_present_and_writes_nothing(lake: Path) -> None:
    import_actions(FIXTURES / "alpaca_corporate_actions.json", "split")
    target = lake / "split" / "corporate_actions.parquet"
    before = target.read_bytes()
    report = import_actions(FIXTURES / "alpaca_corporate_actions.json", "split")
    assert report.already_present == 2 and report.splits_added == report.dividends_added == 0
    assert target.read_bytes() == before
    assert "already present:     2" in str(report)


def test_a_different_ratio_for_a_stored_split_is_refused(lake: Path, tmp_path: Path) -> None:
    import_actions(FIXTURES / "actions.csv", "split")
    path = write(tmp_path, "AAPL,2014-06-09,2,0\n")
    with pytest.raises(DataValidationError, match=r"line 2: conflicts with the dataset's action of AAPL on "
                                                  r"2014-06-09 \(split_ratio 7 stored, 2 here\)"):
        import_actions(path, "split")
    assert stored().iloc[0]["split_ratio"] == 7.0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.tuples(st.sampled_from(["AAPL", "SPY"]), st.sampled_from(["2014-06-06", "2014-06-09", "2014-06-10",
                                                                 "2020-08-31"])),
    st.tuples(st.sampled_from(["1", "2", "7", "1/10", "3/2"]), st.sampled_from(["0", "0.25", "1.5"])),
    min_size=1, max_size=6), st.randoms())
def test_stored_table_equals_the_file_and_a_reimport_in_any_order_changes_nothing(
        lake: Path, tmp_path: Path, actions_by_key: dict, rng: object) -> None:
    lines = [f"{t},{d},{r},{c}" for (t, d), (r, c) in actions_by_key.items() if (r, c) != ("1", "0")]
    write_corporate_actions(lake / "split", pd.DataFrame(columns=["ticker", "ex_date", "split_ratio",
                                                                 "cash_dividend"]))  # examples share the lake
    if not lines:
        return
    path = tmp_path / "random.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    import_actions(path, "split")
    expected = sorted((t, dt.date.fromisoformat(d), float(Fraction(r)), float(c))
                      for (t, d), (r, c) in actions_by_key.items() if (r, c) != ("1", "0"))
    got = sorted(stored()[["ticker", "ex_date", "split_ratio", "cash_dividend"]].itertuples(index=False, name=None))
    assert got == expected
    rng.shuffle(lines)
    path.write_text(HEADER + "\n".join(lines) + "\n")
    assert import_actions(path, "split").already_present == len(lines)


# -- bad records -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "reason"), [
    ("AAPL,2014-06-09,0,0", "non-positive split_ratio '0'"),
    ("AAPL,2014-06-09,-2,0", "non-positive split_ratio '-2'"),
    ("AAPL,2014-06-09,nan,0", "NaN or infinite split_ratio 'nan'"),
    ("AAPL,2014-06-09,seven,0", "unparseable split_ratio 'seven'"),
    ("AAPL,2014-06-09,7/0,0", "unparseable split_ratio '7/0'"),
    ("AAPL,2014-06-09,1,-0.5", "negative cash_dividend '-0.5'"),
    ("AAPL,2014-06-09,1,inf", "NaN or infinite cash_dividend 'inf'"),
    ("AAPL,2014-13-01,7,0", "unparseable ex_date '2014-13-01'"),
    ("AAPL,06/09/2014,7,0", "unparseable ex_date '06/09/2014'"),
    ("AAPL,2014-06-07,7,0", "ex_date is not an NYSE session '2014-06-07'"),
    ("AAPL,2014-06-09,1,0", "records no action (split_ratio 1 and cash_dividend 0)"),
    ("AAPL,2014-06-06,1,700", "cash_dividend 700 is not below the last close before the ex-date (6"),
    (",2014-06-09,7,0", "missing ticker"),
    ("AAPL,2014-06-09,7,\nAAPL,2014-06-09,7,",
     "duplicate (ticker, ex_date) in the file: line 3 already gives its split_ratio"),
])
def test_a_bad_record_refuses_the_file_naming_line_and_reason(lake: Path, tmp_path: Path, line: str,
                                                               reason: str) -> None:
    path = write(tmp_path, f"SPY,2014-06-10,1,0.82\n{line}\n")
    bad_line = 2 + line.count("\n") + 1
    with pytest.raises(DataValidationError) as error:
        import_actions(path, "split")
    message = str(error.value)
    assert f"{path} line {bad_line}: {reason}" in message and "nothing written" in message
    assert "\n" not in message and stored().empty


def test_quarantine_writes_the_good_records_and_sets_the_bad_aside(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "SPY,2014-06-10,1,0.82\nAAPL,2014-06-09,-7,0\nAAPL,2014-06-09,7,0\n")
    report = import_actions(path, "split", on_bad="quarantine")
    assert report.quarantined == 1 and report.splits_added == 1 and report.dividends_added == 1
    assert len(stored()) == 2
    quarantine = pd.read_parquet(lake / "split" / "quarantine.parquet")
    assert quarantine[["line", "reason"]].values.tolist() == [[3, "non-positive split_ratio '-7'"]]
    assert quarantine["record"].iloc[0] == "line 3: AAPL,2014-06-09,-7,0"


def test_vendor_records_name_their_place_in_the_response(lake: Path, tmp_path: Path) -> None:
    response = {"results": [{"ticker": "AAPL", "execution_date": "2014-06-09", "split_from": 1, "split_to": 7},
                            {"ticker": "SPY", "execution_date": "2014-06-10", "split_from": 0, "split_to": 2},
                            {"ticker": "SPY", "execution_date": "2014-06-10", "split_from": 1}]}
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(response))
    with pytest.raises(DataValidationError, match=r"results\[1\]: unparseable split_ratio '2/0'; .* results\[2\]: "
                                                  r"split without split_to"):
        import_actions(path, "split")


def test_an_unknown_ticker_is_skipped_and_a_case_slip_is_matched(lake: Path, tmp_path: Path) -> None:
    report = import_actions(write(tmp_path, "aapl,2014-06-09,7,0\nAAPX,2014-06-09,7,0\n"), "split")
    assert stored()["ticker"].tolist() == ["AAPL"] and report.skipped == 1
    assert "'aapl' -> 'AAPL'" in str(report) and "AAPX" in str(report) and "did you mean ['AAPL']" in str(report)


def test_a_split_the_bars_do_not_show_is_a_warning(lake: Path, tmp_path: Path) -> None:
    report = import_actions(write(tmp_path, "AAPL,2014-06-09,1/7,0\n"), "split")  # direction swapped
    assert any("AAPL's 1:7 split on 2014-06-09 does not show in the bars" in w and "a split expects 7" in w
               for w in report.warnings)
    clean = import_actions(write(tmp_path, "AAPL,2014-06-10,0.25,0\n", "other.csv"), "split")
    assert any("AAPL's 1:4 split on 2014-06-10" in w for w in clean.warnings)


def test_file_level_errors_are_one_clear_line(lake: Path, tmp_path: Path) -> None:
    cases = [(tmp_path / "a.csv", "ticker,date,split_ratio\nAAPL,2014-06-09,7\n", "missing column(s) ['ex_date']"),
             (tmp_path / "b.csv", "ticker,ex_date\nAAPL,2014-06-09\n", "needs a split_ratio or a cash_dividend"),
             (tmp_path / "c.json", '{"splits": []}', "not a corporate-action response this importer knows"),
             (tmp_path / "d.json", "{oops", "not a CSV, Parquet or JSON file"),
             (tmp_path / "e.csv", HEADER, "no data rows")]
    for path, body, message in cases:
        path.write_text(body)
        with pytest.raises(DataValidationError, match=re.escape(message)):
            import_actions(path, "split")
    with pytest.raises(DatasetNotFoundError, match="no dataset at"):
        import_actions(FIXTURES / "actions.csv", "nowhere")
    with pytest.raises(ValueError, match="on_bad must be one of"):
        import_actions(FIXTURES / "actions.csv", "split", on_bad="skip")


# -- recording a split after the bars ----------------------------------------------------------------------


def test_recording_the_split_after_the_bars_fixes_features_and_labels(lake: Path) -> None:
    """Before: the raw 7-for-1 jump is a return of log(1/7) at the ex-date's first bar and a label spanning the
    night touches a barrier on it. After `actions import`: a normal return, and no label sees the jump."""
    first_bar = pd.Timestamp("2014-06-09 13:31", tz="UTC")
    config = PipelineConfig(data=DataConfig(dataset="split"),  # settings that fit four sessions of two names
                            labels=LabelConfig(clip_to_session=False, vertical_bars=5, event_every=1),
                            cv=CVConfig(train_days=2, test_days=1), evaluation=EvalConfig(min_names=2, top_k=1),
                            model=ModelConfig(params={"min_child_samples": 5}))

    def ret_1() -> pd.Series:
        return compute_dataset("split").xs("AAPL", level="ticker")["ret_1"]

    def overnight_labels() -> pd.DataFrame:
        frame = build_research_data(config).frame
        frame = frame[frame["ticker"] == "AAPL"]
        return frame[(frame["entry_ts"] < first_bar) & (frame["t1"] >= first_bar)]

    before = ret_1()
    assert before[first_bar] == pytest.approx(np.log(1 / 7), abs=0.02)
    spanning = overnight_labels()
    assert len(spanning) > 0 and (spanning["ret"] < -0.5).all() and set(spanning["y"]) == {0}

    import_actions(FIXTURES / "actions.csv", "split")
    after = ret_1()
    assert abs(after[first_bar]) < 0.02
    earlier = before.index < first_bar  # point in time: a split recorded later changes nothing before it
    pd.testing.assert_series_equal(after[earlier], before[earlier])
    spanning = overnight_labels()
    assert len(spanning) > 0 and (spanning["ret"].abs() < 0.05).all()


# -- command line ------------------------------------------------------------------------------------------


@click.group(cls=FriendlyGroup)
def data() -> None:
    """A throwaway `wb data` with the metadata commands attached, as workbench.cli attaches them."""


data.add_command(actions)
data.add_command(tickers)


def test_cli_imports_actions(lake: Path) -> None:
    result = CliRunner().invoke(data, ["actions", "import", str(FIXTURES / "polygon_splits.json"), "--name", "split"])
    assert result.exit_code == 0, result.output
    assert "splits added:        1" in result.output and "skipped (no bars):   1" in result.output


def test_cli_refuses_a_bad_file_in_one_line(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "AAPL,2014-06-09,0,0\n")
    result = CliRunner().invoke(data, ["actions", "import", str(path), "--name", "split"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0
    assert "DataValidationError: refused to import actions.csv" in result.output
    assert "line 2: non-positive" in result.output
    quarantine = CliRunner().invoke(data, ["actions", "import", str(path), "--name", "split", "--on-bad", "quarantine"])
    assert quarantine.exit_code == 0 and "quarantined:         1" in quarantine.output
