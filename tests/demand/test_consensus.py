from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from demand.consensus import split_largest_remainder


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=40),
)
def test_the_parts_sum_exactly_and_each_is_within_a_unit_of_its_share(total, weights):
    parts = split_largest_remainder(total, np.array(weights))
    assert parts.sum() == total
    assert (parts == np.floor(parts)).all()
    w = np.array(weights) if sum(weights) > 0 else np.ones(len(weights))
    share = total * w / w.sum()
    assert (np.abs(parts - share) < 1 + 1e-6).all()


def test_remaining_units_go_to_the_largest_remainders():
    assert split_largest_remainder(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert split_largest_remainder(7, np.array([0.5, 0.3, 0.2])).tolist() == [4, 2, 1]
