"""01_explore executes on the suite's market with small parameters and shows the summary and quality tables,
the intraday profile, the lead-lag heatmap, a candlestick across a split and the bar picker."""

from __future__ import annotations

import pandas as pd

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.data import Dataset

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_explore_shows_every_view(run_notebook: ExecutedNotebook, market: Dataset) -> None:
    actions = market.corporate_actions
    split = actions[actions["split_ratio"] != 1.0].iloc[0]
    ex_date = str(pd.Timestamp(split["ex_date"]).date())
    stocks = sorted(market.tickers.loc[~market.tickers["is_index"], "ticker"])
    followers = stocks[:6]
    notebook = run_notebook("01_explore", dataset="market", start="2024-11-25", end="2024-11-26",
                            profile_tickers=stocks[:4], followers=followers, lags=[-2, -1, 0, 1, 2],
                            ticker=split["ticker"], session=ex_date, adjust="splits")

    tables = cell_outputs(notebook, "text/html")
    assert "missing_bar_share" in tables[0] and "market" in tables[0]  # the overview
    assert all(column in tables[1] for column in ("missing_minutes", "halts", "quarantined_rows", "splits"))

    figures = {figure["layout"]["title"]["text"]: figure for figure in cell_outputs(notebook, PLOTLY)}
    profile = figures["Intraday profile"]
    assert len(profile["data"]) == 4 and len(profile["data"][0]["x"]) == 390
    heatmap = next(f for title, f in figures.items() if title.startswith("Lead-lag"))["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["x"] == ["-2", "-1", "0", "1", "2"]
    sectors = set(market.tickers.set_index("ticker").loc[followers, "sector"])
    assert heatmap["y"] == ["SPY", *sorted(f"sector:{s}" for s in sectors)]
    candles = figures[f"{split['ticker']} minute bars (splits)"]
    assert [trace["type"] for trace in candles["data"]] == ["candlestick", "scatter", "scatter", "bar"]
    assert all(x.startswith(ex_date) for x in candles["data"][0]["x"])

    assert len(cell_outputs(notebook, WIDGET)) == 1  # the bar picker
