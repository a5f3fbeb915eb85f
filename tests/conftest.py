"""Session fixtures: a private lake with a small synthetic market and its no-signal control."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.data import Dataset
from workbench.data.synth import SynthConfig, build_synthetic_market

# Six sessions from 2024-11-25 cover Thanksgiving (a holiday) and its half day (2024-11-29).
MARKET = SynthConfig(n_tickers=80, n_days=6, seed=11)


@pytest.fixture(scope="session")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lake folder of its own for the whole session (``$WB_DATASETS`` points at it)."""
    root = tmp_path_factory.mktemp("lake")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WB_DATASETS", str(root))
        yield root


@pytest.fixture(scope="session")
def market(lake_root: Path) -> Dataset:
    """The synthetic market with its planted signal and lead-lag."""
    build_synthetic_market(MARKET, "market", progress=False)
    return Dataset("market")


@pytest.fixture(scope="session")
def control(lake_root: Path) -> Dataset:
    """The same draws with nothing planted (``--no-signal``)."""
    build_synthetic_market(SynthConfig(**{**MARKET.to_dict(), "signal": False}), "control", progress=False)
    return Dataset("control")


@pytest.fixture(scope="session")
def market_manifest(market: Dataset) -> dict[str, Any]:
    """What the generator planted (``synth.json``)."""
    return json.loads((market.path / "synth.json").read_text())
