"""The one rule for a missing number (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sop.numbers import finite_or_none


@pytest.mark.parametrize(
    "value", [None, math.nan, math.inf, -math.inf, np.float64("nan"), np.inf, "n/a"]
)
def test_missing_nan_and_infinite_are_all_unknown(value):
    assert finite_or_none(value) is None


def test_numbers_come_back_as_plain_floats():
    assert finite_or_none(np.float32(2.5)) == 2.5
    assert type(finite_or_none(np.int64(3))) is float
    assert finite_or_none(0) == 0.0
