"""Plotly plumbing shared by the figure builders: the time-axis breaks of a minute-bar chart, and a FigureWidget
that a widget callback redraws in place.

Redrawing in place rather than through an ``ipywidgets.Output`` matters headless: papermill's client mimics an
Output widget by sending every captured display back to the kernel, and a large plotly figure sent that way can
stall the cell until it times out (jupyter/nbclient#312). A FigureWidget's updates only flow kernel -> front end.
"""

from __future__ import annotations

import plotly.graph_objects as go

#: x-axis breaks that hide nights and weekends on a New York clock axis of bar-end times (09:31 ... 16:00; the
#: night break starts just after 16:00 so the closing bar stays visible)
SESSION_BREAKS = ({"bounds": ["sat", "mon"]}, {"bounds": [16.01, 9.5], "pattern": "hour"})


def redraw(target: go.FigureWidget, figure: go.Figure) -> go.FigureWidget:
    """Replace ``target``'s traces and layout by ``figure``'s, in one update; returns ``target``."""
    with target.batch_update():
        target.data = []
        target.add_traces(list(figure.data))
        target.layout = figure.layout
    return target
