"""Alternate sources on hand-computed cases: fill order, lead time, shared capacity."""

from __future__ import annotations

import numpy as np
import pytest

from supply.projection import Policy, plan_supply
from supply.sourcing import AlternateSources, odd_sources, source_ranks
from tests.supply.test_projection import make_inputs


def short_of_six(n=1, months=4, **overrides):
    """n SKUs needing 10 a month, each on its own resource of 4 units a month: 6 cut."""
    return make_inputs(
        np.full((n, months), 10.0),
        hours_per_unit=np.eye(n),
        capacity=np.full((n, months), 4.0),
        **overrides,
    )


def alternates(*, sku, pool, capacity, priority=None, cost=None, lead=None, months=4):
    m = len(sku)
    capacity = np.asarray(capacity, dtype=float)
    return AlternateSources(
        sku=np.asarray(sku),
        pool=np.asarray(pool),
        priority=np.arange(m) if priority is None else np.asarray(priority),
        unit_cost=np.full(m, 6.0) if cost is None else np.asarray(cost),
        lead_time_months=np.zeros(m) if lead is None else np.asarray(lead),
        capacity=np.repeat(capacity[:, None], months, axis=1) if capacity.ndim == 1 else capacity,
    )


def test_without_alternates_the_primary_cuts_six_a_month():
    plan = plan_supply(short_of_six())
    np.testing.assert_allclose(plan.planned, [[4, 4, 4, 4]])
    np.testing.assert_allclose(plan.shortage, [[6, 6, 6, 6]])
    assert plan.alternate_supply is None


def test_an_alternate_with_two_months_lead_time_cannot_fill_months_0_and_1():
    sources = alternates(sku=[0], pool=[0], capacity=[100.0], lead=[2.0])
    plan = plan_supply(short_of_six(alternates=sources))
    np.testing.assert_allclose(plan.alternate_supply, [[0, 0, 6, 6]])
    np.testing.assert_allclose(plan.planned, [[4, 4, 10, 10]])
    np.testing.assert_allclose(plan.shortage, [[6, 6, 0, 0]])
    # The projection uses the supply from both sources: nothing lost once the alternate lands.
    np.testing.assert_allclose(plan.unmet, [[6, 6, 0, 0]])
    np.testing.assert_allclose(plan.on_hand, [[0, 0, 0, 0]])


def test_a_shared_alternate_serves_the_a_item_before_the_c_item():
    # Both SKUs lack 6 a month; the pool they share has 8: A takes 6, C the 2 left.
    inputs = short_of_six(
        n=2,
        abc_class=np.array(["C", "A"], dtype=object),
        alternates=alternates(sku=[0, 1], pool=[0, 0], capacity=[8.0]),
    )
    plan = plan_supply(inputs)
    np.testing.assert_allclose(plan.alternate_supply, [[2] * 4, [6] * 4])
    np.testing.assert_allclose(plan.shortage, [[4] * 4, [0] * 4])
    np.testing.assert_allclose(plan.unmet, [[4] * 4, [0] * 4])


def two_alternates():
    # X: priority 1, cost 9, 4 a month. Y: priority 2, cost 7, 10 a month. Primary cost 6.
    return alternates(
        sku=[0, 0], pool=[0, 1], capacity=[4.0, 10.0], priority=[1, 2], cost=[9.0, 7.0]
    )


def test_priority_order_takes_the_first_alternate_up_to_its_capacity_then_the_next():
    plan = plan_supply(short_of_six(alternates=two_alternates()))
    np.testing.assert_allclose(plan.alternate_supply, [[4] * 4, [2] * 4])
    split = plan.source_split()
    # 4 x (9 - 6) = 12 and 2 x (7 - 6) = 2 a month.
    assert split.groupby("source")["extra_cost"].sum().to_dict() == {0: 48.0, 1: 8.0}
    np.testing.assert_allclose(plan.shortage, 0)


def test_cheapest_first_takes_the_cheaper_alternate_first():
    plan = plan_supply(short_of_six(alternates=two_alternates()), Policy(alternate_order="cost"))
    np.testing.assert_allclose(plan.alternate_supply, [[0] * 4, [6] * 4])
    # 6 x (7 - 6) = 6 a month.
    assert plan.source_split()["extra_cost"].sum() == 24.0


def test_the_shortage_remains_only_once_every_source_is_exhausted():
    sources = alternates(sku=[0, 0], pool=[0, 1], capacity=[4.0, 1.0])
    plan = plan_supply(short_of_six(alternates=sources))
    np.testing.assert_allclose(plan.planned, [[9] * 4])
    np.testing.assert_allclose(plan.shortage, [[1] * 4])
    np.testing.assert_allclose(plan.unmet, [[1] * 4])


def test_a_primary_disruption_reroutes_to_the_alternate_but_keeps_firm_supply():
    down = np.array([[False, True, True, True]])
    firm = np.array([[np.nan, np.nan, np.nan, 10.0]])
    inputs = make_inputs(
        np.full((1, 4), 10.0),
        primary_unavailable=down,
        firm_supply=firm,
        alternates=alternates(sku=[0], pool=[0], capacity=[7.0]),
    )
    plan = plan_supply(inputs)
    # Months 1-2: the primary's 10 cut, the alternate gives 7; month 3 is firm.
    np.testing.assert_allclose(plan.alternate_supply, [[0, 7, 7, 0]])
    np.testing.assert_allclose(plan.planned, [[10, 7, 7, 10]])
    np.testing.assert_allclose(plan.shortage, [[0, 3, 3, 0]])
    np.testing.assert_allclose(plan.unmet, [[0, 3, 3, 0]])


def test_alternates_without_capacity_leave_the_plan_bit_identical():
    rng = np.random.default_rng(7)
    n, months = 30, 6
    kwargs = {
        "on_hand": rng.uniform(0, 50, n),
        "hours_per_unit": rng.uniform(0, 1, (n, 3)) * (rng.random((n, 3)) < 0.5),
        "capacity": rng.uniform(50, 200, (3, months)),
        "lead_time_months": rng.uniform(0, 3, n),
        "demand_error_std": rng.uniform(0, 5, n),
        "abc_class": rng.choice(["A", "B", "C", ""], n).astype(object),
    }
    demand = rng.uniform(0, 60, (n, months))
    base = plan_supply(make_inputs(demand, **kwargs))
    sources = alternates(sku=np.arange(n), pool=np.zeros(n, int), capacity=[0.0], months=months)
    with_empty = plan_supply(make_inputs(demand, alternates=sources, **kwargs))
    assert base.shortage.sum() > 0
    for name in ("planned", "shortage", "on_hand", "unmet", "load", "excess_quantity"):
        assert np.array_equal(getattr(base, name), getattr(with_empty, name)), name


def test_sources_rank_by_priority_or_by_cost_per_sku():
    sources = alternates(
        sku=[1, 0, 1, 1],
        pool=[0, 0, 1, 2],
        capacity=[1.0, 1.0, 1.0],
        priority=[2, 1, 1, 3],
        cost=[5.0, 5.0, 9.0, 1.0],
    )
    assert source_ranks(sources, "priority").tolist() == [1, 0, 0, 2]
    assert source_ranks(sources, "cost").tolist() == [1, 0, 2, 0]
    with pytest.raises(ValueError, match="alternate order"):
        source_ranks(sources, "fastest")


def test_a_top_priority_source_without_capacity_is_flagged_as_odd():
    sources = alternates(sku=[0, 0, 1], pool=[0, 1, 0], capacity=[0.0, 5.0], priority=[1, 2, 5])
    # SKU 0's first choice has no capacity; SKU 1's only source is the same empty pool.
    assert odd_sources(sources).tolist() == [True, False, True]
