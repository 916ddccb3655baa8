"""Customer service OTIF: order lines on time and in full, ORM-free.

A line is judged once it is due: its requested date plus the on-time tolerance lies before
the day of measure (`as_of`). Lines not yet due are left out; a due line still open is a
miss. On time: shipped no later than the requested date plus the tolerance in days. In
full: shipped at least the requested quantity less the tolerance in percent. OTIF % is the
lines on time and in full over the lines due, by the month of the requested date (the month
the customer wanted the goods, as SAP IBP's and SCOR's delivery performance count).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# The columns a frame of order lines carries (`customer_otif_lines`).
LINE_COLUMNS = ("requested_date", "requested_quantity", "shipped_date", "shipped_quantity")
MEASURES = ("lines_due", "on_time", "in_full", "otif")


def customer_otif_lines(
    lines: pd.DataFrame, *, as_of: dt.date, tolerance_days: int, tolerance_percent: float
) -> pd.DataFrame:
    """The due lines of `lines`, each with its month and booleans on_time, in_full, otif."""
    requested = pd.to_datetime(lines["requested_date"])
    window_end = requested + pd.Timedelta(days=tolerance_days)
    due = (window_end < pd.Timestamp(as_of)).to_numpy()
    out = lines.loc[due].copy()
    shipped_on = pd.to_datetime(out["shipped_date"])
    shipped = shipped_on.notna().to_numpy()
    asked = out["requested_quantity"].astype(float).to_numpy()
    got = out["shipped_quantity"].fillna(0).astype(float).to_numpy()
    out["month"] = requested[due].dt.to_period("M").dt.to_timestamp().dt.date.to_numpy()
    out["on_time"] = shipped & (shipped_on <= window_end[due]).to_numpy()
    # A hair of slack: quantities come as decimals, the tolerance as a float.
    out["in_full"] = shipped & (got >= asked * (1 - tolerance_percent / 100) - 1e-9)
    out["otif"] = out["on_time"] & out["in_full"]
    return out


def customer_otif_summary(judged: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Lines due, on time, in full and OTIF with their % per group of `by` (judged lines)."""
    if judged.empty:
        return pd.DataFrame(columns=[*by, *MEASURES, "on_time_pct", "in_full_pct", "otif_pct"])
    counts = (
        judged.assign(lines_due=1)
        .groupby(by, sort=True)[list(MEASURES)]
        .sum()
        .astype(np.int64)
        .reset_index()
    )
    for measure in ("on_time", "in_full", "otif"):
        counts[f"{measure}_pct"] = 100 * counts[measure] / counts["lines_due"]
    return counts
