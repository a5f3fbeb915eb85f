"""Widget plumbing shared by the figure builders: a plotly FigureWidget that a callback redraws in place.

Redrawing in place rather than through an ``ipywidgets.Output`` matters headless: papermill's client mimics an
Output widget by sending every captured display back to the kernel, and a large plotly figure sent that way can
stall the cell until it times out (jupyter/nbclient#312). A FigureWidget's updates only flow kernel -> front end.
"""

from __future__ import annotations

import plotly.graph_objects as go


def redraw(target: go.FigureWidget, figure: go.Figure) -> go.FigureWidget:
    """Replace ``target``'s traces and layout by ``figure``'s, in one update; returns ``target``."""
    with target.batch_update():
        target.data = []
        target.add_traces(list(figure.data))
        target.layout = figure.layout
    return target
