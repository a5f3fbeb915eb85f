"""Figure builders for the notebooks and reports: plain functions from data (a Dataset, a run folder, a
frame) to plotly figures or ipywidgets, one module per topic, each tested, so a notebook is glue and the
suite can check what a click would draw. Import from the topic modules (``workbench.viz.explore`` ...)."""
