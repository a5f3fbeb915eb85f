"""Per-row problem bookkeeping: one reason per row, the first one found wins ("" means no problem)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_SHOWN_CHARS = 40


def no_problems(n: int) -> np.ndarray:
    """A fresh reasons array for ``n`` rows."""
    return np.full(n, "", dtype=object)


def note(problems: np.ndarray, mask: np.ndarray, reason: str, values: pd.Series | None = None) -> None:
    """Record ``reason`` on the rows of ``mask`` that have no problem yet, quoting the value when given."""
    for i in np.flatnonzero(mask & (problems == "")):
        problems[i] = reason if values is None else f"{reason} {shown(values.iloc[i])}"


def merge(problems: np.ndarray, later: np.ndarray) -> None:
    """Fill rows that have no problem yet with the reasons of ``later``."""
    fresh = (problems == "") & (later != "")
    problems[fresh] = later[fresh]


def shown(value: object) -> str:
    """A short quoted form of a bad value, for messages."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
