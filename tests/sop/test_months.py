"""Month arithmetic (no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sop.months import add_months, month_from_index, month_index, month_numbers
from sop.services import add_months as services_add_months


def test_adding_months_crosses_years_both_ways():
    assert add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert add_months(dt.date(2026, 1, 15), -1) == dt.date(2025, 12, 1)
    assert services_add_months is add_months


def test_a_column_of_months_numbers_as_the_single_month():
    months = pd.Series([dt.date(2025, 12, 1), dt.date(2026, 1, 31), dt.date(2026, 3, 1)])
    numbers = month_numbers(months)
    assert list(numbers - month_index(dt.date(2025, 12, 1))) == [0, 1, 3]
    assert month_from_index(int(numbers[1])) == dt.date(2026, 1, 1)
    assert len(month_numbers(pd.Series([], dtype=object))) == 0


def test_positions_are_not_taken_for_months():
    with pytest.raises(ValueError, match="not positions"):
        month_numbers(pd.Series([0, 1, 2]))
