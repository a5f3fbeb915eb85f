"""A realistic synthetic market with planted, known structure (the workbench's embedded default)."""

from workbench.data.synth._build import build_synthetic_market
from workbench.data.synth._config import DEFAULT_START, SynthConfig
from workbench.data.synth._universe import INDEX_TICKER

__all__ = ["DEFAULT_START", "INDEX_TICKER", "SynthConfig", "build_synthetic_market"]
