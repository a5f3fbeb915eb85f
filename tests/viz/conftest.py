"""Shared inputs of the label view tests: three stocks of the suite's market over two sessions."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.data import Dataset


@pytest.fixture(scope="module")
def bars(market: Dataset) -> pd.DataFrame:
    """Three stocks (one with many skipped minutes) over two sessions, back-adjusted."""
    return market.bars(["AKT", "CQW", "FPY"], "2024-11-25", "2024-11-26", adjust="backward")
