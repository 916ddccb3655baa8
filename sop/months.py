"""Month arithmetic: months as the first day of the month, or as a running month number.

A month number is year * 12 + month - 1, so that months subtract into a column of a
SKU x month grid (`month_numbers(frame["month"]) - month_index(cycle.month)`) and compare
whatever their day or type. ORM-free, for the maths modules as much as the services.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

_DATE_TYPES = {"date", "datetime", "datetime64", "string", "empty"}


def month_index(month: dt.date) -> int:
    """The month number of the month holding `month`."""
    return month.year * 12 + month.month - 1


def month_from_index(index: int) -> dt.date:
    """The first day of the month with number `index`."""
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (before, when negative) `month`'s."""
    return month_from_index(month_index(month) + n)


def month_numbers(months: pd.Index | pd.Series) -> np.ndarray:
    """The month numbers of a column of dates (dates, timestamps or ISO strings)."""
    if pd.api.types.infer_dtype(months, skipna=True) not in _DATE_TYPES:
        # pd.to_datetime would read positions as nanoseconds since 1970.
        raise ValueError("months must be dates, not positions")
    stamps = pd.DatetimeIndex(pd.to_datetime(months))
    return np.asarray(stamps.year * 12 + stamps.month - 1)
