"""A researcher's real data end to end without touching Python: a Polygon flat file of stocks only (trades,
no quotes, no index instrument) is imported with ``wb data import`` and run with ``wb run`` and the sample
small-universe config (tests/fixtures/pipeline/small_universe.json); the default config, made for 200 names
× 20 sessions, is refused in one line naming the settings to change."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.pipeline._real_data import small_market
from workbench.cli import main
from workbench.data import Dataset

CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline" / "small_universe.json"


@pytest.fixture(scope="module")
def real(lake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The small market's stocks as a vendor would ship them: a Polygon minute-aggregates flat file (bar start
    in ns, no quotes), imported into the dataset ``real`` the sample config names."""
    bars = small_market(lake_root).bars(None)
    bars = bars[bars["ticker"] != "SPY"]
    flat = pd.DataFrame({"ticker": bars["ticker"], "volume": bars["volume"], "open": bars["open"],
                         "close": bars["close"], "high": bars["high"], "low": bars["low"],
                         "window_start": (bars["ts"] - pd.Timedelta(minutes=1)).array.as_unit("ns").asi8,
                         "transactions": bars["trades"]})
    path = tmp_path_factory.mktemp("vendor") / "minute_aggs.csv.gz"
    flat.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["data", "import", "--format", "polygon", str(path), "--name", "real"])
    assert result.exit_code == 0, result.output
    return Dataset("real")


def test_the_sample_config_runs_on_imported_stocks_without_an_index_or_quotes(
        real: Dataset, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert real.index_ticker is None and len(real.dates) == 4
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="workbench.pipeline"):
        result = CliRunner().invoke(main, ["run", str(CONFIG), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "buy and hold" not in result.output and "quotes known for 0% of bars" in result.output
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "has no index instrument" in warned and "spread_bps: no quotes" in warned
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["index"]["ticker"] is None
    assert {"spread_bps", "imbalance", "imbalance_mean_5"} <= set(metrics["dropped_features"])


def test_the_default_config_is_refused_in_one_line_with_values_that_fit(real: Dataset, tmp_path: Path) -> None:
    config = tmp_path / "default.json"
    config.write_text(json.dumps({"data": {"dataset": "real"}}))
    result = CliRunner().invoke(main, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ConfigFitError: cv.train_days = 10"), result.output
    assert "set cv.train_days to 2" in lines[0] and "Traceback" not in result.output
