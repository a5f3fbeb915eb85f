"""Parameter checks shared by the splitters: each error names the parameter, the bad value and the range."""

from __future__ import annotations

import numbers


def check_count(value: object, name: str, minimum: int) -> int:
    """An integer parameter at least ``minimum``, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_embargo_pct(embargo_pct: object) -> float:
    """``embargo_pct`` as a float in [0, 1), else a ValueError naming it."""
    if isinstance(embargo_pct, bool) or not isinstance(embargo_pct, numbers.Real) or not 0 <= embargo_pct < 1:
        raise ValueError(
            f"embargo_pct must be a fraction of the bars in [0, 1) (e.g. 0.01), got {embargo_pct!r}"
        )
    return float(embargo_pct)
