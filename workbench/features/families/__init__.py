"""The registry of feature families: ``kind`` → the class that defines it (batch and online alike)."""

from __future__ import annotations

from workbench.features._spec import Feature
from workbench.features.families._base import Family, State
from workbench.features.families.context import (
    Categories,
    LogMarketCap,
    MacroEventProximity,
    SessionClock,
    ShortRate,
    VolatilityIndex,
)
from workbench.features.families.cross_asset import Beta, IndexLags, SectorLags
from workbench.features.families.memory import FracDiff
from workbench.features.families.microstructure import Imbalance, SpreadBps
from workbench.features.families.momentum import MACD, RSI, LogReturn, RateOfChange
from workbench.features.families.volatility import ATR, Bollinger, RealizedVol
from workbench.features.families.volume import OBVZ, VolumeZTimeOfDay, VWAPDeviation

FAMILIES: dict[str, type[Family]] = {
    cls.kind: cls
    for cls in (LogReturn, RateOfChange, RSI, MACD, Bollinger, ATR, RealizedVol, OBVZ, VolumeZTimeOfDay,
                VWAPDeviation, SpreadBps, Imbalance, FracDiff, IndexLags, SectorLags, Beta, SessionClock,
                VolatilityIndex, ShortRate, MacroEventProximity, LogMarketCap, Categories)
}


def family_for(feature: Feature, index_ticker: str = "SPY") -> Family:
    """Instantiate (and so validate) the family that computes ``feature``."""
    cls = FAMILIES.get(feature.kind)
    if cls is None:
        raise ValueError(f"unknown feature kind {feature.kind!r}; known kinds: {sorted(FAMILIES)}")
    return cls(feature, index_ticker)


__all__ = ["FAMILIES", "Family", "State", "family_for"]
