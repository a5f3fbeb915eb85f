"""02_triple_barrier executes on the suite's market with small parameters and shows the barriers on the price
path, the label grid, the slider explorer, the fixed-horizon comparison and the uniqueness weights."""

from __future__ import annotations

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.data import Dataset

PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_triple_barrier_shows_every_view(run_notebook: ExecutedNotebook, market: Dataset) -> None:
    notebook = run_notebook("02_triple_barrier", dataset="market", n_tickers=2, start="2024-11-25",
                            end="2024-11-26", pt_sl=[1.5, 1.5], vertical_bars=20, pt_sl_values=[1.0, 2.0],
                            vertical_values=[10, 20])
    largest = market.tickers[~market.tickers["is_index"]].nlargest(2, "market_cap")["ticker"].sort_values()

    figures = list(cell_outputs(notebook, PLOTLY))
    titles = [figure["layout"]["title"]["text"] for figure in figures]
    assert len(figures) == 4
    barriers, grid, comparison, uniqueness = figures
    assert titles[0].startswith(f"{largest.iloc[0]}: triple barriers pt/sl = 1.5/1.5, vertical 20 bars")
    shapes = {shape["name"] for shape in barriers["layout"]["shapes"]}
    assert shapes == {"pt", "sl", "vertical"} and len(barriers["layout"]["shapes"]) == 3 * 8
    assert [trace["name"] for trace in barriers["data"]] == ["close", "pt", "sl", "vertical"]
    assert titles[1] == "Label balance and holding time by barrier setting"
    assert [trace["type"] for trace in grid["data"]] == ["heatmap"] * 4 and grid["data"][0]["y"] == ["1/1", "2/2"]
    assert titles[2].startswith("Fixed-horizon vs triple-barrier labels: agree on")
    assert titles[3] == "Average uniqueness of labels over time"
    assert [trace["type"] for trace in uniqueness["data"]] == ["scatter", "bar"]

    grid_table = cell_outputs(notebook, "text/html")[0]
    assert "mean_holding_bars" in grid_table and "share_vertical" in grid_table
    assert len(cell_outputs(notebook, WIDGET)) == 1  # the slider explorer
