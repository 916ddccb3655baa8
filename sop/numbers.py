"""The one rule for a number that may be missing: finite float, or None."""

from __future__ import annotations

import math


def finite_or_none(value: object) -> float | None:
    """`value` as a float, or None when it is missing, not a number, NaN or infinite.

    Stored KPIs (JSON has no NaN), chart points and printed figures all treat an
    infinite ratio (a load over zero capacity) as unknown, like a NaN one.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
