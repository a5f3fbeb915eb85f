"""SHAP explanations of a fitted LightGBM model (TreeExplainer, exact TreeSHAP in log-odds): global
importance, importance by volatility regime, dependence and interaction views, as plotly figures."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import shap
from shap.utils import approximate_interactions

from workbench.models._lightgbm import LightGBMModel

REGIMES = ("calm", "normal", "stressed")


@dataclass(frozen=True)
class ShapResult:
    """SHAP values (one column per feature, log-odds) of the explained rows, with those rows."""

    values: pd.DataFrame
    data: pd.DataFrame
    base_value: float

    def global_importance(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first."""
        return self.values.abs().mean().sort_values(ascending=False).rename("mean_abs_shap")

    def importance_by(self, groups: pd.Series) -> pd.DataFrame:
        """Mean |SHAP| per feature within each group (e.g. volatility regime): features × groups."""
        if len(groups) != len(self.values):
            raise ValueError(f"groups has {len(groups)} rows; the explanation has {len(self.values)}")
        table = self.values.abs().groupby(np.asarray(groups), observed=True).mean().T
        return table.loc[self.global_importance().index]


def explain(model: LightGBMModel, X: pd.DataFrame, *, max_rows: int = 5000, seed: int = 0) -> ShapResult:
    """TreeSHAP values of ``model`` on (a seeded sample of at most ``max_rows`` of) ``X``."""
    rows = X if len(X) <= max_rows else X.sample(n=max_rows, random_state=seed).sort_index()
    rows = rows[list(model.feature_names_in_)]
    explainer = shap.TreeExplainer(model.booster_)
    with warnings.catch_warnings():  # shap notes a change of its LightGBM output type on every call
        warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")
        values = np.asarray(explainer.shap_values(rows))
    if values.ndim == 3:  # per-class output: keep the positive class
        values = values[..., -1] if values.shape[-1] == 2 else values[-1]
    base = np.asarray(explainer.expected_value).ravel()[-1]
    return ShapResult(values=pd.DataFrame(values, index=rows.index, columns=rows.columns), data=rows,
                      base_value=float(base))


def volatility_regimes(volatility: pd.Series) -> pd.Series:
    """Calm / normal / stressed terciles of a volatility feature (e.g. ``rv_60``), NaN left unassigned."""
    ranked = volatility.rank(pct=True)
    regime = pd.cut(ranked, [0.0, 1 / 3, 2 / 3, 1.0], labels=list(REGIMES), include_lowest=True)
    return regime.rename("regime")


def importance_figure(result: ShapResult, top: int = 20) -> go.Figure:
    """Horizontal bars of mean |SHAP| for the ``top`` features."""
    importance = result.global_importance().head(top)[::-1]
    figure = go.Figure(go.Bar(x=importance.to_numpy(), y=importance.index.astype(str), orientation="h"))
    figure.update_layout(title="Global feature importance (mean |SHAP|, log-odds)", xaxis_title="mean |SHAP|",
                         height=max(300, 22 * len(importance) + 100))
    return figure


def importance_by_regime_figure(table: pd.DataFrame, top: int = 15) -> go.Figure:
    """Grouped bars of :meth:`ShapResult.importance_by` for the ``top`` features."""
    shown = table.head(top)
    figure = go.Figure([go.Bar(name=str(group), x=shown.index.astype(str), y=shown[group].to_numpy())
                        for group in shown.columns])
    figure.update_layout(barmode="group", title="Mean |SHAP| by volatility regime", yaxis_title="mean |SHAP|")
    return figure


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda c: c.cat.codes.where(c.notna()) if isinstance(c.dtype, pd.CategoricalDtype) else c)


def strongest_interaction(result: ShapResult, feature: str) -> str:
    """The feature that most changes ``feature``'s SHAP values (shap's approximate interaction ranking)."""
    position = list(result.values.columns).index(feature)
    order = approximate_interactions(position, result.values.to_numpy(), _numeric(result.data).to_numpy(float))
    return str(result.values.columns[[k for k in order if k != position][0]])


def dependence_figure(result: ShapResult, feature: str, color: str | None = None) -> go.Figure:
    """SHAP value of ``feature`` against its value, colored by ``color`` (default: its strongest
    interaction partner) — the dependence plot, and with the color, the interaction view."""
    if feature not in result.values.columns:
        raise ValueError(f"unknown feature {feature!r}; explained features: {list(result.values.columns)}")
    partner = color or strongest_interaction(result, feature)
    frame = pd.DataFrame({feature: result.data[feature].astype(object) if isinstance(
        result.data[feature].dtype, pd.CategoricalDtype) else result.data[feature],
        f"SHAP({feature})": result.values[feature], partner: _numeric(result.data[[partner]])[partner]})
    figure = px.scatter(frame, x=feature, y=f"SHAP({feature})", color=partner, opacity=0.6,
                        color_continuous_scale="RdBu_r",
                        title=f"SHAP dependence of {feature}, colored by {partner}")
    figure.update_traces(marker={"size": 4})
    return figure


def interaction_figure(result: ShapResult, top: int = 10) -> go.Figure:
    """Heatmap of how strongly each top feature's SHAP values vary with each other feature: the absolute
    correlation of SHAP(i) with feature j's value within bins of feature i (shap's approximation, used
    because exact interaction values are unavailable for LightGBM's categorical splits)."""
    features = list(result.global_importance().head(top).index)
    numeric = _numeric(result.data[features]).to_numpy(float)
    strength = np.zeros((len(features), len(features)))
    for i, name in enumerate(features):
        shap_i = result.values[name].to_numpy()
        order = np.argsort(numeric[:, i], kind="stable")
        bins = np.array_split(order, max(1, min(10, len(order) // 50)))
        for j in range(len(features)):
            if i == j:
                continue
            scores = []
            for part in bins:
                x, v = numeric[part, j], shap_i[part]
                ok = ~np.isnan(x)
                if ok.sum() > 3 and np.std(x[ok]) > 0 and np.std(v[ok]) > 0:
                    scores.append(abs(np.corrcoef(x[ok], v[ok])[0, 1]))
            strength[i, j] = float(np.mean(scores)) if scores else 0.0
    figure = go.Figure(go.Heatmap(z=strength, x=features, y=features, colorscale="Viridis"))
    figure.update_layout(title="Approximate SHAP interaction strength (row feature's SHAP vs column feature)")
    return figure
