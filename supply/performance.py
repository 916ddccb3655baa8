"""Supplier performance from goods receipts: OTIF and actual lead times. ORM-free.

The unit is the purchase-order line (order_ref, product, location), measured in the month
of its promised date:

- on time: it has a receipt, and its last receipt came no later than the promised date plus
  the on-time tolerance (days);
- in full: what it received adds up to at least the promised quantity less the in-full
  tolerance (%); more than promised is in full;
- OTIF: both. A line is measured once its on-time window has closed (promised date plus
  tolerance before the day measured) or once it is received in full; a line due and not
  received at all is late by the days since its promise and short by its whole quantity.

The actual lead time is measured per receipt (receipt date less order date), weighted by the
quantity received: the mean, the standard deviation and the 90th percentile are those of the
units delivered, which is what a safety stock against late supply has to cover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

LINE_KEY = ["order_ref", "product", "location"]
RECEIPT_COLUMNS = [
    *LINE_KEY,
    "supplier",
    "order_date",
    "promised_date",
    "promised_quantity",
    "receipt_date",
    "received_quantity",
]
LEAD_TIME_QUANTILE = 0.9


@dataclass(frozen=True)
class Tolerance:
    """How late (days) and how short (% of the promised quantity) still counts as met."""

    on_time_days: int = 0
    in_full_percent: float = 0.0


def order_lines(receipts: pd.DataFrame, *, as_of: dt.date, tolerance: Tolerance) -> pd.DataFrame:
    """One row per purchase-order line measured by `as_of`, with its outcome.

    `receipts` has RECEIPT_COLUMNS, one row per receipt (dates as datetime64, an open row's
    receipt date NaT). Returns the line's key, supplier, dates and quantities, `received`,
    `last_receipt`, `month` (first day of the promised date's month), `on_time`, `in_full`,
    `otif`, `days_late` (0 when on time by the promise) and `quantity_short`.
    """
    if receipts.empty:
        return _empty_lines()
    rows = receipts.assign(
        received_quantity=receipts["received_quantity"].astype(float),
        promised_quantity=receipts["promised_quantity"].astype(float),
    )
    lines = rows.groupby(LINE_KEY, sort=False, as_index=False).agg(
        supplier=("supplier", "first"),
        order_date=("order_date", "first"),
        promised_date=("promised_date", "first"),
        promised_quantity=("promised_quantity", "first"),
        received=("received_quantity", "sum"),
        last_receipt=("receipt_date", "max"),
    )
    day = pd.Timestamp(as_of)
    grace = pd.to_timedelta(tolerance.on_time_days, unit="D")
    needed = lines["promised_quantity"] * (1 - tolerance.in_full_percent / 100)
    in_full = lines["received"].to_numpy() >= needed.to_numpy()
    window_closed = (lines["promised_date"] + grace < day).to_numpy()
    lines = lines[window_closed | in_full].copy()
    in_full = in_full[window_closed | in_full]
    received_any = lines["last_receipt"].notna().to_numpy()
    on_time = received_any & (lines["last_receipt"] <= lines["promised_date"] + grace).to_numpy()
    until = lines["last_receipt"].where(lines["last_receipt"].notna(), day)
    lines["on_time"] = on_time
    lines["in_full"] = in_full
    lines["otif"] = on_time & in_full
    lines["days_late"] = (until - lines["promised_date"]).dt.days.clip(lower=0).astype(int)
    lines["quantity_short"] = (lines["promised_quantity"] - lines["received"]).clip(lower=0)
    lines["month"] = lines["promised_date"].dt.to_period("M").dt.to_timestamp()
    return lines.reset_index(drop=True)


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{c: pd.Series(dtype=object) for c in [*LINE_KEY, "supplier"]},
            **{
                c: pd.Series(dtype="datetime64[ns]")
                for c in ("order_date", "promised_date", "last_receipt", "month")
            },
            **{c: pd.Series(dtype=float) for c in ("promised_quantity", "received")},
            **{c: pd.Series(dtype=bool) for c in ("on_time", "in_full", "otif")},
            "days_late": pd.Series(dtype=int),
            "quantity_short": pd.Series(dtype=float),
        }
    )


def service(lines: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Lines measured and the % on time, in full and OTIF per group of `by`."""
    if lines.empty:
        return pd.DataFrame(columns=[*by, "lines", "on_time_pct", "in_full_pct", "otif_pct"])
    grouped = lines.groupby(by, as_index=False).agg(
        lines=("otif", "size"),
        on_time=("on_time", "sum"),
        in_full=("in_full", "sum"),
        otif=("otif", "sum"),
    )
    for measure in ("on_time", "in_full", "otif"):
        grouped[f"{measure}_pct"] = 100 * grouped.pop(measure) / grouped["lines"]
    return grouped


def lead_times(receipts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Quantity-weighted actual lead time in days per group of `by`: mean, std, p90.

    `receipts` are receipt rows (RECEIPT_COLUMNS plus the `by` columns); open rows and
    receipts of nothing are left out. The standard deviation is the population one of the
    units received; the 90th percentile is the lead time within which 90 % of them came.
    """
    columns = [*by, "lead_time_mean", "lead_time_std", "lead_time_p90"]
    received = receipts[
        receipts["receipt_date"].notna() & (receipts["received_quantity"].astype(float) > 0)
    ]
    if received.empty:
        return pd.DataFrame(columns=columns)
    frame = received[by].assign(
        days=(received["receipt_date"] - received["order_date"]).dt.days.astype(float),
        weight=received["received_quantity"].astype(float),
    )
    frame["weighted"] = frame["days"] * frame["weight"]
    totals = frame.groupby(by)[["weight", "weighted"]].transform("sum")
    mean = totals["weighted"] / totals["weight"]
    frame["spread"] = frame["weight"] * (frame["days"] - mean) ** 2
    out = frame.groupby(by, as_index=False).agg(
        weight=("weight", "sum"), weighted=("weighted", "sum"), spread=("spread", "sum")
    )
    out["lead_time_mean"] = out["weighted"] / out["weight"]
    out["lead_time_std"] = np.sqrt(out["spread"] / out["weight"])
    ordered = frame.sort_values([*by, "days"], kind="stable")
    share = ordered.groupby(by)["weight"].cumsum() / ordered.groupby(by)["weight"].transform("sum")
    # The smallest lead time whose units, with the quicker ones, reach 90 % (a tolerance
    # keeps 0.9 of a float sum from missing by its last bit).
    p90 = ordered[share >= LEAD_TIME_QUANTILE - 1e-9].groupby(by, as_index=False)["days"].first()
    out = out.merge(p90.rename(columns={"days": "lead_time_p90"}), on=by)
    return out[columns]


def receipts_with_month(receipts: pd.DataFrame) -> pd.DataFrame:
    """The receipts with their line's `month` (first day of the promised date's month)."""
    return receipts.assign(month=receipts["promised_date"].dt.to_period("M").dt.to_timestamp())
