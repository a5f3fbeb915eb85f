"""Writing a run: the config, the out-of-sample predictions, every backtest's per-minute returns
(``returns.parquet``), the metrics (``metrics.json``), SHAP values, every
figure as its own offline HTML file and the report, into a folder prepared by
:func:`workbench.pipeline.prepare_run_folder`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from workbench.pipeline._config import PipelineConfig
from workbench.pipeline._explain import Explanation
from workbench.pipeline._metrics import RunMetrics
from workbench.pipeline._report import write_report


def write_run(folder: str | Path, config: PipelineConfig, metrics: RunMetrics, figures: dict[str, go.Figure],
              predictions: pd.DataFrame, explanation: Explanation | None = None,
              returns: pd.DataFrame | None = None) -> Path:
    """Write the run's files into ``folder`` (``returns``: the backtests' per-minute returns in long format,
    :func:`workbench.pipeline._evaluate.backtest_returns`); returns the report's path."""
    folder = Path(folder)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(config.to_json())
    predictions.to_parquet(folder / "predictions.parquet", index=False)
    if returns is not None:
        returns.to_parquet(folder / "returns.parquet", index=False)
    (folder / "metrics.json").write_text(json.dumps(metrics.to_dict(), indent=2))
    figures = dict(figures)
    if explanation is not None:
        explanation.shap.values.to_parquet(folder / "shap_values.parquet")
        figures.update(explanation.figures)
    for name, figure in figures.items():
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        figure.write_html(folder / "figures" / f"{slug}.html", include_plotlyjs="directory")  # offline
    return write_report(folder / "report.html", f"Research run {config.name} ({metrics.identity.get('run_id')})",
                        metrics, config.to_json(), figures, None if explanation is None else explanation.caption)
