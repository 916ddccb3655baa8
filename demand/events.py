"""What events do to the numbers: the history they mark, the layer they add, the lift they had.

ORM-free. An event is a row of a frame with EVENT_COLUMNS; months are month numbers
(`sop.months.month_index`), `locations` a tuple of location ids (empty: every location).

- Marks: a past event's effect months and dip months are marked on each series of its
  scope; the engine fits its forecast on the history with them cleansed
  (`demand.forecasting.cleanse`).
- Layer: a planned event adds to the statistical baseline of each series and month of its
  scope: a percent of that baseline, or units per month split over the scope's series in
  proportion to their baseline (whole units, largest remainder, as a family override is
  split), then the dip, a percent of the baseline in the months after.
- Lift: the lift that really happened is the actual of the event's series and months
  against the cleansed baseline of the same months, in units and in percent of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demand.consensus import split_largest_remainder
from sop.choices import EffectKind, EventScope

EVENT_COLUMNS = [
    "event",
    "scope",
    "family",
    "product",
    "locations",
    "start",
    "end",
    "effect_kind",
    "effect_value",
    "dip_months",
    "dip_percent",
]
LIFT_COLUMNS = [
    "event",
    "baseline",
    "actual",
    "lift_units",
    "lift_pct",
    "planned_units",
    "planned_pct",
]


def in_scope(ev, product: np.ndarray, location: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Which series (product, location, family arrays) an event applies to."""
    if ev.scope == EventScope.PRODUCT:
        hit = product == ev.product
    elif ev.scope == EventScope.FAMILY:
        hit = family == ev.family
    else:
        hit = np.ones(len(product), bool)
    if len(ev.locations):
        hit &= np.isin(location, list(ev.locations))
    return hit


def history_event_mask(
    keys: list[tuple[int, int]],
    families: np.ndarray,
    first: int,
    n_months: int,
    events: pd.DataFrame,
) -> np.ndarray:
    """(series x months) mask of the months past events touch: effect and dip months.

    `keys` are (product, location) of the rows, `first` the month number of column 0.
    """
    mask = np.zeros((len(keys), n_months), bool)
    if not len(keys) or events.empty:
        return mask
    product = np.array([k[0] for k in keys])
    location = np.array([k[1] for k in keys])
    for ev in events.itertuples():
        rows = in_scope(ev, product, location, families)
        lo = max(ev.start - first, 0)
        hi = min(ev.end + ev.dip_months - first + 1, n_months)
        if rows.any() and lo < hi:
            mask[np.ix_(rows, np.arange(lo, hi))] = True
    return mask


def events_layer(stat: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """What planned events add to each row of `stat` (columns of `demand.consensus.STAT_COLUMNS`,
    months as month numbers); events that overlap add up.

    The layer never takes a row below zero: a unit effect larger than the baseline stops
    at it.
    """
    layer = np.zeros(len(stat))
    if stat.empty or events.empty:
        return layer
    base = stat["statistical"].to_numpy(float)
    month = stat["month"].to_numpy()
    product = stat["product"].to_numpy()
    location = stat["location"].to_numpy()
    family = stat["family"].to_numpy()
    for ev in events.itertuples():
        rows = in_scope(ev, product, location, family)
        for m in range(ev.start, ev.end + 1):
            hit = rows & (month == m)
            if not hit.any():
                continue
            if ev.effect_kind == EffectKind.UNITS:
                units = round(float(ev.effect_value))
                sign = 1 if units >= 0 else -1
                layer[hit] += sign * split_largest_remainder(abs(units), base[hit])
            else:
                layer[hit] += base[hit] * float(ev.effect_value) / 100
        dip = rows & (month > ev.end) & (month <= ev.end + ev.dip_months)
        layer[dip] += base[dip] * float(ev.dip_percent) / 100
    return np.maximum(layer, -base)


def measured_lift(
    keys: list[tuple[int, int]],
    families: np.ndarray,
    first: int,
    actual: np.ndarray,
    baseline: np.ndarray,
    events: pd.DataFrame,
) -> pd.DataFrame:
    """The lift of each past event over its effect months and series (LIFT_COLUMNS).

    `actual` and `baseline` are (series x months) from month number `first`; the baseline
    is the cleansed history. The planned lift is read the same way: a percent effect is
    that percent of the baseline, a unit effect its units per month. Events with no
    baseline in their months (no series, or none selling) have NaN percentages.
    """
    rows_out = []
    product = np.array([k[0] for k in keys])
    location = np.array([k[1] for k in keys])
    n = actual.shape[1] if actual.ndim == 2 else 0
    for ev in events.itertuples():
        rows = in_scope(ev, product, location, families) if len(keys) else np.zeros(0, bool)
        lo, hi = max(ev.start - first, 0), min(ev.end - first + 1, n)
        cols = np.arange(lo, hi) if lo < hi else np.zeros(0, int)
        base = float(baseline[np.ix_(rows, cols)].sum()) if rows.any() else 0.0
        act = float(actual[np.ix_(rows, cols)].sum()) if rows.any() else 0.0
        if ev.effect_kind == EffectKind.UNITS:
            planned = float(ev.effect_value) * len(cols)
        else:
            planned = base * float(ev.effect_value) / 100
        pct = base > 0
        rows_out.append(
            (
                ev.event,
                base,
                act,
                act - base,
                100 * (act - base) / base if pct else float("nan"),
                planned,
                100 * planned / base if pct else float("nan"),
            )
        )
    return pd.DataFrame(rows_out, columns=LIFT_COLUMNS)


def lift_error(lifts: pd.DataFrame) -> float:
    """Mean absolute difference, in percentage points, between planned and measured lift."""
    diff = (lifts["lift_pct"] - lifts["planned_pct"]).abs().dropna()
    return float(diff.mean()) if len(diff) else float("nan")
