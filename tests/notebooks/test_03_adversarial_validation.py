"""03_adversarial_validation executes on the suite's market with small parameters and shows the AUC timeline
(band, threshold, trigger markers), the timeline table and the separating features of the chosen period."""

from __future__ import annotations

from tests.notebooks.conftest import ExecutedNotebook, cell_outputs
from workbench.data import Dataset

PLOTLY = "application/vnd.plotly.v1+json"


def test_adversarial_validation_shows_timeline_and_separating_features(run_notebook: ExecutedNotebook,
                                                                        market: Dataset) -> None:
    notebook = run_notebook("03_adversarial_validation", dataset="market", lookback=2, max_rows=1000,
                            n_bootstrap=50, top_n=5)
    sessions = [str(day) for day in market.dates]

    timeline, separating = cell_outputs(notebook, PLOTLY)
    title = "Adversarial validation by session: each session vs the ones before it"
    assert timeline["layout"]["title"]["text"] == title
    names = [trace["name"] for trace in timeline["data"]]
    assert names == ["CI high", "95% CI", "out-of-fold AUC", "drift", "retrain trigger"]
    assert list(timeline["data"][2]["x"]) == sessions
    assert [shape["y0"] for shape in timeline["layout"]["shapes"]] == [0.65, 0.5]
    trigger = timeline["data"][4]["x"]
    assert set(trigger) <= set(sessions[2:])  # only compared sessions can trigger

    table = cell_outputs(notebook, "text/html")[0]
    assert "ci_low" in table and "retrain" in table
    assert separating["layout"]["title"]["text"].split(" vs its lookback — ")[0] in sessions[2:]
    assert len(separating["data"][0]["y"]) == 5
    assert any("Out-of-fold ROC-AUC" in text for text in cell_outputs(notebook, "stream"))
