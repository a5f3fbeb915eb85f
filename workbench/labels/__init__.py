"""Labels for supervised learning on bars (López de Prado, *Advances in Financial Machine Learning*, ch. 2-4).

Everything here except :func:`ewm_volatility` and :func:`cusum_filter` is forward-looking by design: a label
at t0 reads closes after t0, so use labels as targets (and their spans to purge and weight), never as features.

- :func:`fixed_horizon`: sign of the return over the next ``horizon`` bars (AFML 3.2).
- :func:`ewm_volatility`: causal EWM std of one-bar returns, the barrier ``target`` (AFML snippet 3.1).
- :func:`triple_barrier`: first of profit-taking / stop-loss / vertical barrier (AFML 3.4); its ``side=``
  argument is the meta-labelling API (AFML 3.6).
- :func:`triple_barrier_panel`: the same kernel over many tickers at once, row-aligned with lake bars.
- :func:`cusum_filter`: event sampling (AFML 2.5.2.1).
- :func:`average_uniqueness` / :func:`average_uniqueness_panel`: sample weights of overlapping labels (AFML 4.4).
"""

from workbench.labels._cusum import cusum_filter
from workbench.labels._fixed_horizon import fixed_horizon
from workbench.labels._panel import triple_barrier_panel
from workbench.labels._triple_barrier import BARRIERS, triple_barrier
from workbench.labels._uniqueness import average_uniqueness, average_uniqueness_panel
from workbench.labels._volatility import ewm_volatility

__all__ = [
    "BARRIERS",
    "average_uniqueness",
    "average_uniqueness_panel",
    "cusum_filter",
    "ewm_volatility",
    "fixed_horizon",
    "triple_barrier",
    "triple_barrier_panel",
]
