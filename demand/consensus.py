"""From statistical forecast and overrides to the consensus plan. ORM-free.

An override sets the total of its scope (a family, a SKU, or a SKU at one location) in a
month, as a quantity or a percent change of the statistical forecast. The most specific
override wins: a series override is kept as typed, a SKU override is spread over the
SKU's locations that have none, a family override over the family's remaining series.
Spreading follows the statistical forecast of that month with largest-remainder
rounding to whole units, so the parts add up to the typed total exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from demand.choices import OverrideKind, OverrideLevel

STAT_COLUMNS = ["product", "location", "family", "month", "statistical"]
OVERRIDE_COLUMNS = ["level", "family", "product", "location", "month", "kind", "value"]


def split_largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole-unit parts of `total` proportional to `weights` that sum to `total` exactly.

    Each part gets the floor of its share; the units left go to the largest fractional
    remainders (ties to the earlier part). Zero weights everywhere split evenly.
    """
    w = np.asarray(weights, float)
    if len(w) == 0:
        return w
    if not w.sum() > 0:
        w = np.ones_like(w)
    raw = total * w / w.sum()
    parts = np.floor(raw)
    short = round(total - parts.sum())
    if short > 0:
        parts[np.argsort(-(raw - parts), kind="stable")[:short]] += 1
    elif short < 0:
        # Float rounding pushed a share just over a whole number; take that unit back.
        parts[np.argsort(raw - parts, kind="stable")[:-short]] -= 1
    return parts


def override_target(kind: str, value: Decimal, statistical_total: float) -> int:
    """The whole-unit total an override asks for."""
    if kind == OverrideKind.PERCENT:
        exact = Decimal(str(statistical_total)) * (1 + Decimal(value) / 100)
    else:
        exact = Decimal(value)
    return int(max(exact, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _specificity(row) -> int:
    if row.level == OverrideLevel.FAMILY:
        return 2
    return 0 if pd.notna(row.location) else 1


def consensus_values(stat: pd.DataFrame, overrides: pd.DataFrame) -> np.ndarray:
    """Consensus quantity for each row of `stat` (columns STAT_COLUMNS)."""
    value = stat["statistical"].to_numpy(float).copy()
    if overrides.empty or stat.empty:
        return value
    base = stat["statistical"].to_numpy(float)
    locked = np.zeros(len(stat), bool)
    month = stat["month"].to_numpy()
    product = stat["product"].to_numpy()
    location = stat["location"].to_numpy()
    family = stat["family"].to_numpy()
    ordered = overrides.assign(_rank=[_specificity(r) for r in overrides.itertuples()])
    for ov in ordered.sort_values("_rank", kind="stable").itertuples():
        mask = month == ov.month
        if ov.level == OverrideLevel.FAMILY:
            mask &= family == ov.family
        else:
            mask &= product == ov.product
            if pd.notna(ov.location):
                mask &= location == ov.location
        if not mask.any():
            continue
        target = override_target(ov.kind, ov.value, float(base[mask].sum()))
        free = mask & ~locked
        if not free.any():
            continue  # every part already carries a more specific override
        remaining = max(target - value[mask & locked].sum(), 0)
        value[free] = split_largest_remainder(round(remaining), base[free])
        locked |= mask
    return value
