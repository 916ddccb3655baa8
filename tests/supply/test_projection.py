"""The supply projection engine on hand-checked cases and against a loop-based reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from supply.projection import (
    WEEKS_PER_MONTH,
    Policy,
    SupplyInputs,
    constrain_to_capacity,
    days_to_months,
    first_plannable_month,
    plan_supply,
    priority_order,
    project,
    round_order,
    safety_stock,
    unconstrained_plan,
    weekly_forward_demand,
    weeks_of_cover,
)


def make_inputs(demand, **overrides) -> SupplyInputs:
    """Inputs with no stock, receipts, safety stock, lead time or routing unless given."""
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    n, months = demand.shape
    hours = np.asarray(overrides.pop("hours_per_unit", np.zeros((n, 1))), dtype=float)
    fields = {
        "on_hand": np.zeros(n),
        "receipts": np.zeros((n, months)),
        "demand_error_std": np.zeros(n),
        "lead_time_months": np.zeros(n),
        "lead_time_std_months": np.zeros(n),
        "abc_class": np.array([""] * n, dtype=object),
        "unit_cost": np.full(n, 6.0),
        "unit_price": np.full(n, 10.0),
        "moq": np.zeros(n),
        "lot_size": np.zeros(n),
        "capacity": np.full((hours.shape[1], months), 1e9),
    }
    fields.update(overrides)
    return SupplyInputs(demand=demand, hours_per_unit=hours, **fields)


def constrain(planned, hours, capacity, *, abc=None, margin=None, first=None, receipts=None):
    planned = np.asarray(planned, dtype=float)
    n = planned.shape[0]
    return constrain_to_capacity(
        planned=planned,
        receipts=np.zeros_like(planned) if receipts is None else np.asarray(receipts, float),
        hours_per_unit=np.asarray(hours, dtype=float),
        capacity=np.asarray(capacity, dtype=float),
        first_month=np.zeros(n, dtype=int) if first is None else np.asarray(first),
        priority=priority_order(
            np.array(abc if abc is not None else [""] * n, dtype=object),
            np.zeros(n) if margin is None else np.asarray(margin, dtype=float),
        ),
    )


# --- projection -------------------------------------------------------------------------


def test_projection_adds_receipts_and_subtracts_demand():
    projection = project(
        on_hand=np.array([100.0]),
        receipts=np.array([[0.0, 50.0, 0.0, 0.0]]),
        supply=np.zeros((1, 4)),
        demand=np.array([[30.0, 40.0, 80.0, 20.0]]),
    )
    # 100-30=70; 70+50-40=80; 80-80=0; 0-20 -> 0 with 20 unmet.
    np.testing.assert_allclose(projection.on_hand, [[70, 80, 0, 0]])
    np.testing.assert_allclose(projection.unmet, [[0, 0, 0, 20]])


def test_unmet_demand_is_lost_not_backordered():
    projection = project(
        on_hand=np.array([10.0]),
        receipts=np.zeros((1, 3)),
        supply=np.array([[0.0, 100.0, 0.0]]),
        demand=np.array([[20.0, 30.0, 30.0]]),
    )
    # Month 0 loses 10; month 1 starts from 0, not -10: 100-30=70, then 40.
    np.testing.assert_allclose(projection.on_hand, [[0, 70, 40]])
    np.testing.assert_allclose(projection.unmet, [[10, 0, 0]])


def test_stockouts_list_month_quantity_and_revenue_at_risk():
    inputs = make_inputs(
        [[30, 40, 80, 20]],
        on_hand=np.array([100.0]),
        receipts=np.array([[0, 50, 0, 0]]),
        lead_time_months=np.array([6.0]),  # nothing can be planned in the horizon
        unit_price=np.array([12.5]),
        keys=pd.MultiIndex.from_tuples([("P1", "DC1")], names=["product", "location"]),
        months=pd.date_range("2027-01-01", periods=4, freq="MS", name="month"),
    )
    stockouts = plan_supply(inputs).stockouts()
    assert stockouts.to_dict("records") == [
        {
            "product": "P1",
            "location": "DC1",
            "month": pd.Timestamp("2027-04-01"),
            "quantity": 20.0,
            "revenue_at_risk": 250.0,
        }
    ]


# --- safety stock and order-up-to level --------------------------------------------------


def test_safety_stock_and_order_up_to_level_match_the_worked_example():
    inputs = make_inputs(
        [[100.0] * 6],
        abc_class=np.array(["B"], dtype=object),
        demand_error_std=np.array([10.0]),
        lead_time_months=np.array([2.0]),
        lead_time_std_months=np.array([0.5]),
    )
    result = plan_supply(inputs)
    # B -> 95%, z = 1.64485; LT 2 + one review month = 3 months of exposure:
    # SS = sqrt((1.64485 * 10 * sqrt(3))^2 + (1.64485 * 100 * 0.5)^2)
    #    = 1.64485 * sqrt(300 + 2500) = 1.64485 * 52.9150 = 87.04
    # S  = 100 * 3 + 87.04 = 387.04
    assert result.service_level[0] == 0.95
    assert result.safety_stock[0] == pytest.approx(87.04, abs=0.01)
    assert result.order_up_to[0] == pytest.approx(387.04, abs=0.01)
    assert not result.safety_stock_from_quantiles[0]


def test_service_level_comes_from_a_configurable_abc_mapping():
    inputs = make_inputs(
        [[100.0] * 3] * 3,
        abc_class=np.array(["A", "B", ""], dtype=object),
        demand_error_std=np.full(3, 10.0),
        lead_time_months=np.ones(3),
    )
    policy = Policy(service_levels={"A": 0.99}, default_service_level=0.5, review_period_months=0)
    result = plan_supply(inputs, policy)
    np.testing.assert_allclose(result.service_level, [0.99, 0.5, 0.5])
    # z(0.99) = 2.32635, sqrt(1 * 10^2) = 10; a 50% service level needs no safety stock.
    np.testing.assert_allclose(result.safety_stock, [23.2635, 0, 0], atol=1e-3)


def test_the_monthly_review_gives_safety_stock_to_an_item_without_lead_time():
    inputs = make_inputs(
        [[100.0] * 3],
        abc_class=np.array(["B"], dtype=object),
        demand_error_std=np.array([10.0]),
    )
    assert plan_supply(inputs, Policy(review_period_months=0)).safety_stock[0] == 0
    # The default review period is the plan's month: z(0.95) * sqrt(1 * 10^2) = 16.4485.
    result = plan_supply(inputs)
    assert result.safety_stock[0] == pytest.approx(16.4485, abs=1e-3)
    assert result.order_up_to[0] == pytest.approx(100 + 16.4485, abs=1e-3)


# Cumulative demand quantiles and point forecast of one series over two months; their
# difference is the cumulative forecast error the engine reads.
LEVELS = (0.5, 0.9, 0.95, 0.99)
CUM_POINT = np.array([40.0, 80.0])
CUM_QUANTILES = np.array(
    [
        [40.0, 80.0],  # 0.5: errors 0, 0
        [50.0, 96.0],  # 0.9: 10, 16
        [54.0, 102.0],  # 0.95: 14, 22
        [60.0, 112.0],  # 0.99: 20, 32
    ]
)


def quantile_safety_stock(level, *, exposure=1.5, lead_time_std=0.0, error_std=0.0):
    return safety_stock(
        service_level=np.array([level]),
        exposure_months=np.array([exposure]),
        mean_demand=np.array([40.0]),
        lead_time_std_months=np.array([lead_time_std]),
        demand_error_std=np.array([error_std]),
        error_quantiles=(CUM_QUANTILES - CUM_POINT)[None],
        error_quantile_levels=LEVELS,
    )


def test_safety_stock_is_the_stored_error_quantile_between_whole_months():
    # 1.5 months at 95%: halfway between 14 (month 1) and 22 (month 2) = 18. The one-month
    # sigma is ignored when quantiles are stored.
    result = quantile_safety_stock(0.95, error_std=50.0)
    assert result.quantity[0] == pytest.approx(18.0)
    assert result.from_quantiles[0]


def test_a_level_not_stored_is_read_between_its_neighbours_in_z():
    # 97% lies between 95% (18 at 1.5 months) and 99% (20 + 0.5 * 12 = 26) at
    # w = (z(.97) - z(.95)) / (z(.99) - z(.95)) = (1.88079 - 1.64485) / (2.32635 - 1.64485)
    #   = 0.34621, so SS = 18 + 0.34621 * 8 = 20.770.
    assert quantile_safety_stock(0.97).quantity[0] == pytest.approx(20.770, abs=1e-3)


def test_lead_time_variability_adds_in_quadrature_to_the_quantile():
    # z(0.95) * d * sigma_LT = 1.64485 * 40 * 0.5 = 32.897; sqrt(18^2 + 32.897^2) = 37.500.
    result = quantile_safety_stock(0.95, lead_time_std=0.5)
    assert result.quantity[0] == pytest.approx(37.500, abs=1e-3)


def test_safety_stock_is_never_negative():
    # Below the median the error quantile is negative: no stock is held against it.
    assert quantile_safety_stock(0.3).quantity[0] == 0


def test_a_series_without_stored_quantiles_gets_the_normal_formula():
    inputs = make_inputs(
        [[40.0] * 2, [40.0] * 2],
        abc_class=np.array(["B", "B"], dtype=object),
        demand_error_std=np.array([10.0, 10.0]),
        lead_time_months=np.array([0.5, 0.5]),
        error_quantiles=np.stack([CUM_QUANTILES - CUM_POINT, np.full((4, 2), np.nan)]),
        error_quantile_levels=LEVELS,
    )
    result = plan_supply(inputs)
    np.testing.assert_array_equal(result.safety_stock_from_quantiles, [True, False])
    # LT 0.5 + RP 1: 18 from the quantiles; z(0.95) * 10 * sqrt(1.5) = 20.145 without.
    np.testing.assert_allclose(result.safety_stock, [18.0, 20.145], atol=1e-3)
    # S = 1.5 months of demand (60) + SS.
    np.testing.assert_allclose(result.order_up_to, [78.0, 80.145], atol=1e-3)


def test_beyond_the_stored_months_the_error_grows_like_a_random_walk():
    # 4 months with 2 stored: month 2's 22 at 95% times sqrt(4 / 2).
    result = quantile_safety_stock(0.95, exposure=4.0)
    assert result.quantity[0] == pytest.approx(22 * np.sqrt(2))


def test_error_quantiles_must_match_the_sku_locations_and_levels():
    with pytest.raises(ValueError, match="error_quantiles has shape"):
        make_inputs([[1.0]], error_quantiles=np.zeros((1, 3, 2)), error_quantile_levels=LEVELS)
    with pytest.raises(ValueError, match="rise strictly"):
        make_inputs([[1.0]], error_quantiles=np.zeros((1, 2, 2)), error_quantile_levels=(0.9, 0.5))


def test_lead_time_in_days_sets_the_first_plannable_month():
    months = days_to_months(np.array([0, 20, 30.4375, 45, 60.875, 61]))
    np.testing.assert_array_equal(first_plannable_month(months), [0, 1, 1, 2, 2, 3])


# --- unconstrained plan -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("net", "moq", "lot", "expected"),
    [
        (37, 50, 20, 60),  # up to the MOQ, then to whole lots of 20
        (130, 50, 20, 140),
        (37, 0, 0, 37),
        (37, 50, 0, 50),
        (40, 0, 20, 40),  # already a whole number of lots
        (0, 50, 20, 0),  # no requirement, no order
    ],
)
def test_orders_round_up_to_moq_then_lot_size(net, moq, lot, expected):
    quantity = round_order(np.array([net], float), np.array([moq], float), np.array([lot], float))
    assert quantity[0] == expected


def test_unconstrained_plan_rounds_orders_and_carries_the_surplus():
    planned = unconstrained_plan(
        on_hand=np.zeros(1),
        receipts=np.zeros((1, 3)),
        demand=np.array([[37.0, 20.0, 37.0]]),
        safety_stock=np.zeros(1),
        first_month=np.zeros(1, dtype=int),
        moq=np.array([50.0]),
        lot_size=np.array([20.0]),
    )
    # 37 -> 60, 23 left; 20 is covered, 3 left; 34 short -> 60.
    np.testing.assert_allclose(planned, [[60, 0, 60]])


def test_unconstrained_plan_tops_up_to_safety_stock_only_after_the_lead_time():
    inputs = make_inputs(
        [[40.0] * 4],
        on_hand=np.array([50.0]),
        lead_time_months=np.array([2.0]),
    )
    planned = unconstrained_plan(
        on_hand=inputs.on_hand,
        receipts=inputs.receipts,
        demand=inputs.demand,
        safety_stock=np.array([20.0]),
        first_month=np.array([2]),
        moq=inputs.moq,
        lot_size=inputs.lot_size,
    )
    # Months 0-1 are frozen: 50-40=10, then 30 lost. Month 2: 20+40-0=60; month 3: 20+40-20.
    np.testing.assert_allclose(planned, [[0, 0, 60, 40]])
    projection = project(
        on_hand=inputs.on_hand, receipts=inputs.receipts, supply=planned, demand=inputs.demand
    )
    np.testing.assert_allclose(projection.on_hand, [[10, 0, 20, 20]])
    np.testing.assert_allclose(projection.unmet, [[0, 30, 0, 0]])


# --- capacity ---------------------------------------------------------------------------


def test_overload_is_pulled_into_free_earlier_months_nearest_first():
    inputs = make_inputs(
        [[40.0, 60.0, 150.0]],
        hours_per_unit=np.array([[1.0]]),
        capacity=np.array([[100.0, 100.0, 100.0]]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.planned_unconstrained, [[40, 60, 150]])
    # 50 h over in month 2: 40 fit in month 1, the other 10 in month 0.
    np.testing.assert_allclose(result.planned, [[50, 100, 100]])
    np.testing.assert_allclose(result.shortage, 0)
    np.testing.assert_allclose(result.load, [[50, 100, 100]])
    # The pre-built units are carried as stock into month 2 and nothing is lost.
    np.testing.assert_allclose(result.on_hand, [[10, 50, 0]])
    assert result.stockouts().empty


def test_a_resource_month_without_capacity_data_plans_unconstrained_there():
    # Month 1 has no capacity row: nobody entered it. The class-A item gets its 60 there
    # instead of a stockout from missing data; nothing is pre-built into the unknown month
    # either, so month 2's overload goes to month 0.
    inputs = make_inputs(
        [[40.0, 60.0, 150.0]],
        abc_class=np.array(["A"], dtype=object),
        hours_per_unit=np.array([[1.0]]),
        capacity=np.array([[100.0, 0.0, 100.0]]),
        capacity_missing=np.array([[False, True, False]]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.planned, [[90, 60, 100]])
    assert result.stockouts().empty
    # Its utilisation is unknown, not infinite.
    assert np.isnan(result.utilisation[0, 1])
    assert result.utilisation[0, 0] == pytest.approx(0.9)


def test_a_month_entered_with_zero_hours_is_a_shutdown():
    inputs = make_inputs(
        [[40.0, 60.0, 150.0]],
        hours_per_unit=np.array([[1.0]]),
        capacity=np.array([[100.0, 0.0, 100.0]]),
    )
    result = plan_supply(inputs)
    # Month 1's 60 are pre-built in month 0; month 2's 50 extra find no room and are cut.
    np.testing.assert_allclose(result.planned, [[100, 0, 100]])
    np.testing.assert_allclose(result.shortage, [[0, 0, 50]])


def test_resource_months_report_load_before_and_after_the_constraint():
    inputs = make_inputs(
        [[40.0, 60.0, 150.0]],
        hours_per_unit=np.array([[0.5]]),
        capacity=np.array([[50.0, 50.0, 50.0]]),
        resources=pd.Index(["WC1"], name="resource"),
    )
    frame = plan_supply(inputs).resource_months()
    assert frame.columns.tolist() == [
        "resource",
        "month",
        "available_hours",
        "load_unconstrained",
        "load",
        "utilisation",
    ]
    assert frame["resource"].tolist() == ["WC1"] * 3
    np.testing.assert_allclose(frame["load_unconstrained"], [20, 30, 75])
    np.testing.assert_allclose(frame["load"], [25, 50, 50])
    np.testing.assert_allclose(frame["utilisation"], [0.5, 1, 1])


def test_sku_months_hold_one_row_per_sku_location_and_month():
    inputs = make_inputs([[30.0, 40.0], [5.0, 0.0]], on_hand=np.array([100.0, 0.0]))
    frame = plan_supply(inputs).sku_months()
    assert len(frame) == 4
    assert frame[["sku_location", "month"]].values.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    np.testing.assert_allclose(frame["on_hand"], [70, 30, 0, 0])
    np.testing.assert_allclose(frame["planned"], [0, 0, 5, 0])


def test_prebuild_stays_out_of_the_lead_time_window():
    plan = constrain(
        [[0, 0, 150], [0, 0, 50]],
        hours=[[1.0], [1.0]],
        capacity=[[100, 100, 100]],
        abc=["A", "C"],
        first=[2, 1],
    )
    # The A item cannot be made before month 2; the C item may move to month 1, not 0.
    np.testing.assert_allclose(plan.planned, [[0, 0, 100], [0, 50, 0]])
    np.testing.assert_allclose(plan.shortage, [[0, 0, 50], [0, 0, 0]])


def test_unfixable_overload_cuts_the_c_item_before_the_a_item():
    plan = constrain([[80.0], [80.0]], hours=[[1.0], [1.0]], capacity=[[100.0]], abc=["C", "A"])
    np.testing.assert_allclose(plan.planned, [[20], [80]])
    np.testing.assert_allclose(plan.shortage, [[60], [0]])
    np.testing.assert_allclose(plan.load, [[100]])


def test_prebuild_serves_the_a_item_and_the_cut_falls_on_the_c_item():
    plan = constrain([[0, 80], [0, 80]], hours=[[1.0], [1.0]], capacity=[[50, 100]], abc=["C", "A"])
    # 60 h over in month 1; 50 h free in month 0 go to the A item, the last 10 are cut from C.
    np.testing.assert_allclose(plan.planned, [[0, 70], [50, 30]])
    np.testing.assert_allclose(plan.shortage, [[0, 10], [0, 0]])


def test_within_a_class_the_lower_margin_item_is_cut_first():
    inputs = make_inputs(
        [[80.0], [80.0], [30.0]],
        abc_class=np.array(["C", "C", ""], dtype=object),
        unit_cost=np.full(3, 6.0),
        unit_price=np.array([16.0, 11.0, 56.0]),  # margins 10, 5 and 50
        hours_per_unit=np.ones((3, 1)),
        capacity=np.array([[130.0]]),
    )
    result = plan_supply(inputs)
    # 60 h over: the unclassified item goes first (30), then the 5-margin C item (30).
    np.testing.assert_allclose(result.shortage, [[0], [30], [30]])


def test_sku_without_routing_is_never_capacity_constrained():
    inputs = make_inputs(
        [[500.0, 500.0], [80.0, 80.0]],
        hours_per_unit=np.array([[0.0], [1.0]]),
        capacity=np.array([[50.0, 50.0]]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.planned, [[500, 500], [50, 50]])
    np.testing.assert_allclose(result.shortage, [[0, 0], [30, 30]])
    assert result.unmet[0].sum() == 0


def test_multi_resource_sku_is_cut_on_both_resources():
    # X takes 1 h on R0 and 2 h on R1; Y takes 1 h on R1. R1 is 30 h over.
    plan = constrain(
        [[40.0], [50.0]],
        hours=[[1.0, 2.0], [0.0, 1.0]],
        capacity=[[100.0], [100.0]],
        abc=["C", "A"],
    )
    # X is the C item: 15 units cut free 30 h on R1 and 15 h on R0.
    np.testing.assert_allclose(plan.planned, [[25], [50]])
    np.testing.assert_allclose(plan.load, [[25], [100]])


def test_hours_freed_by_a_cut_on_another_resource_go_back_to_the_cut_items():
    # X (A) takes 1 h on R0 and R1, Y (C) 1 h on R0. R0 is 40 h over, so Y loses 40; then
    # R1 is 30 h over and X, alone there, loses 30, which frees 30 h of R0 for Y again.
    plan = constrain(
        [[80.0], [60.0]], hours=[[1.0, 1.0], [1.0, 0.0]], capacity=[[100.0], [50.0]], abc=["A", "C"]
    )
    np.testing.assert_allclose(plan.planned, [[50], [50]])
    np.testing.assert_allclose(plan.shortage, [[30], [10]])
    np.testing.assert_allclose(plan.load, [[100], [50]])


def test_prebuild_needs_room_on_every_resource_of_the_routing():
    plan = constrain([[0.0, 150.0]], hours=[[1.0, 1.0]], capacity=[[100.0, 100.0], [10.0, 200.0]])
    # R0 is 50 h over in month 1; month 0 has 100 h free on R0 but 10 on R1: only 10 move.
    np.testing.assert_allclose(plan.planned, [[10, 100]])
    np.testing.assert_allclose(plan.shortage, [[0, 40]])


def test_prebuild_blocked_on_one_resource_leaves_the_room_to_others():
    # X (A) needs R0 and R1, Y (C) only R0. Month 1 is 50 h over on R0; month 0 has 100 h
    # free on R0 but only 10 h on R1, so X pre-builds 10 and Y the other 40: nothing is cut.
    plan = constrain(
        [[0.0, 60.0], [0.0, 40.0]],
        hours=[[1.0, 1.0], [1.0, 0.0]],
        capacity=[[100.0, 50.0], [10.0, 100.0]],
        abc=["A", "C"],
    )
    np.testing.assert_allclose(plan.planned, [[10, 50], [40, 0]])
    np.testing.assert_allclose(plan.shortage, 0)


def test_hours_reserved_by_a_sku_it_cannot_use_are_handed_on():
    # Month 1 is 50 h over on R0. Month 0 has 100 h of R0 and 10 h of R1. W (A) and X (B)
    # need both; W takes 8 h of R1, X can then move 2 units, not the 10 it asked for alone,
    # so 8 h of R0 go to Z (C) in a second pass: Z moves 40 and nothing is cut.
    plan = constrain(
        [[0.0, 8.0], [0.0, 40.0], [0.0, 50.0]],
        hours=[[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]],
        capacity=[[100.0, 48.0], [10.0, 100.0]],
        abc=["A", "B", "C"],
    )
    np.testing.assert_allclose(plan.planned, [[8, 0], [2, 38], [40, 10]])
    np.testing.assert_allclose(plan.shortage, 0)


def test_receipts_load_capacity_but_are_never_cut():
    plan = constrain(
        [[0.0, 30.0]], hours=[[1.0]], capacity=[[100.0, 100.0]], receipts=[[0.0, 120.0]]
    )
    # Month 1 carries 120 h of released orders: the plan pre-builds its 30 in month 0.
    np.testing.assert_allclose(plan.planned, [[30, 0]])
    np.testing.assert_allclose(plan.load, [[30, 120]])


def test_supplier_capacity_constrains_purchased_items():
    # A bought item routed to a supplier resource at 1 "hour" per unit: capacity in units.
    inputs = make_inputs(
        [[0.0, 300.0]],
        hours_per_unit=np.array([[1.0]]),
        capacity=np.array([[100.0, 100.0]]),
        unit_price=np.array([4.0]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.planned, [[100, 100]])
    np.testing.assert_allclose(result.shortage, [[0, 100]])
    assert result.stockouts()["revenue_at_risk"].sum() == 400.0


# --- cover and excess -------------------------------------------------------------------


def test_forward_demand_averages_the_next_months_and_holds_flat_past_the_horizon():
    weekly = weekly_forward_demand(np.array([[10.0, 20.0, 30.0, 40.0]]), months=2)
    np.testing.assert_allclose(weekly * WEEKS_PER_MONTH, [[25, 35, 40, 40]])


def test_weeks_of_cover_is_capped_without_demand_and_zero_without_stock():
    cover = weeks_of_cover(np.array([230.0, 100.0, 0.0]), np.array([23.0, 0.0, 0.0]), cap=999)
    np.testing.assert_allclose(cover, [10, 999, 0])


def test_zero_demand_sku_has_sane_cover_and_all_its_stock_is_excess():
    inputs = make_inputs(
        [[0.0] * 3, [0.0] * 3],
        on_hand=np.array([100.0, 0.0]),
        unit_cost=np.array([2.5, 2.5]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.weeks_of_cover, [[999] * 3, [0] * 3])
    np.testing.assert_allclose(result.planned, 0)
    excess = result.excess()
    assert excess["sku_location"].tolist() == [0, 0, 0]
    assert excess["value"].tolist() == [250.0] * 3


def test_excess_is_stock_above_the_maximum_cover_valued_at_cost():
    weekly = 100 / WEEKS_PER_MONTH
    inputs = make_inputs(
        [[100.0] * 6],
        on_hand=np.array([100 + 30 * weekly]),
        unit_cost=np.array([2.0]),
    )
    result = plan_supply(inputs, Policy(max_cover_weeks=26))
    # Month 0 closes with 30 weeks of cover: 4 weeks (of 100/4.348 a week) above the max.
    assert result.weeks_of_cover[0, 0] == pytest.approx(30)
    first = result.excess().iloc[0]
    assert first["quantity"] == pytest.approx(4 * weekly)
    assert first["value"] == pytest.approx(8 * weekly)


@pytest.mark.parametrize(
    "knobs",
    [{"service_levels": {"A": 1.0}}, {"default_service_level": 0.0}, {"cover_months": 0}],
)
def test_a_policy_with_an_impossible_knob_is_rejected(knobs):
    with pytest.raises(ValueError):
        Policy(**knobs)


def test_inputs_with_a_mismatched_grid_are_rejected():
    with pytest.raises(ValueError, match="receipts"):
        make_inputs([[1.0, 2.0]], receipts=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="demand has NaN"):
        make_inputs([[1.0, np.nan]])


# --- agreement with a loop-based reference ----------------------------------------------


def reference_project(on_hand, receipts, supply, demand):
    n, months = demand.shape
    closing = np.zeros((n, months))
    unmet = np.zeros((n, months))
    for i in range(n):
        stock = on_hand[i]
        for t in range(months):
            stock += receipts[i, t] + supply[i, t]
            served = min(stock, demand[i, t])
            unmet[i, t] = demand[i, t] - served
            stock -= served
            closing[i, t] = stock
    return closing, unmet


def reference_plan(on_hand, receipts, demand, ss, first, moq, lot):
    n, months = demand.shape
    planned = np.zeros((n, months))
    for i in range(n):
        stock = on_hand[i]
        for t in range(months):
            stock += receipts[i, t]
            net = ss[i] + demand[i, t] - stock
            if t >= first[i] and net > 1e-9:
                quantity = max(net, moq[i])
                if lot[i] > 0:
                    quantity = lot[i] * np.ceil(quantity / lot[i] - 1e-9)
                planned[i, t] = quantity
                stock += quantity
            stock = max(stock - demand[i, t], 0.0)
    return planned


def reference_constrain(planned, receipts, hours, capacity, first, order):
    """SKU by SKU: pre-build nearest month first in priority order, cut from the bottom,
    then give back what fits again once every resource of the month is settled."""
    plan = planned.copy()
    shortage = np.zeros_like(plan)
    n, months = plan.shape
    resources = capacity.shape[0]

    def load(r, t):
        return sum(hours[i, r] * (plan[i, t] + receipts[i, t]) for i in range(n))

    def room(i, t):
        return min(
            (capacity[q, t] - load(q, t)) / hours[i, q] for q in range(resources) if hours[i, q] > 0
        )

    for t in range(months):
        for r in range(resources):
            over = load(r, t) - capacity[r, t]
            skus = [i for i in order if hours[i, r] > 0 and plan[i, t] > 0]
            for earlier in range(t - 1, -1, -1):
                for i in skus:
                    if over <= 1e-9 or first[i] > earlier:
                        continue
                    moved = max(min(plan[i, t], room(i, earlier), over / hours[i, r]), 0.0)
                    plan[i, t] -= moved
                    plan[i, earlier] += moved
                    over -= moved * hours[i, r]
            for i in reversed(skus):
                if over <= 1e-9:
                    break
                cut = min(plan[i, t], over / hours[i, r])
                plan[i, t] -= cut
                shortage[i, t] += cut
                over -= cut * hours[i, r]
        for i in order:
            if shortage[i, t] > 0:
                back = max(min(shortage[i, t], room(i, t)), 0.0)
                plan[i, t] += back
                shortage[i, t] -= back
    return plan, shortage


def random_case(seed: int, *, multi_resource: bool):
    rng = np.random.default_rng(seed)
    n, months, resources = 30, 8, 3
    demand = rng.gamma(2.0, 20.0, (n, months)) * (rng.random((n, 1)) > 0.1)
    hours = np.zeros((n, resources))
    routed = rng.random(n) < 0.8
    hours[np.flatnonzero(routed), rng.integers(0, resources, routed.sum())] = rng.uniform(
        0.5, 2.0, routed.sum()
    )
    if multi_resource:
        extra = rng.random(n) < 0.4
        hours[np.flatnonzero(extra), rng.integers(0, resources, extra.sum())] += 0.7
    receipts = rng.gamma(1.0, 15.0, (n, months)) * (rng.random((n, months)) < 0.15)
    capacity = (hours.T @ demand).mean(axis=1, keepdims=True) * rng.uniform(
        0.6, 1.3, (resources, months)
    )
    return make_inputs(
        demand,
        on_hand=rng.gamma(2.0, 30.0, n),
        receipts=receipts,
        demand_error_std=rng.uniform(0, 20, n),
        lead_time_months=rng.uniform(0, 3, n),
        lead_time_std_months=rng.uniform(0, 0.5, n),
        abc_class=rng.choice(np.array(["A", "B", "C", ""], dtype=object), n),
        unit_cost=rng.uniform(1, 10, n),
        unit_price=rng.uniform(10, 20, n),
        moq=rng.choice([0.0, 25.0, 60.0], n),
        lot_size=rng.choice([0.0, 1.0, 10.0], n),
        hours_per_unit=hours,
        capacity=capacity,
    )


@pytest.mark.parametrize("multi_resource", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_vectorised_engine_agrees_with_the_loop_reference(seed, multi_resource):
    inputs = random_case(seed, multi_resource=multi_resource)
    result = plan_supply(inputs)

    expected_plan = reference_plan(
        inputs.on_hand,
        inputs.receipts,
        inputs.demand,
        result.safety_stock,
        result.first_month,
        inputs.moq,
        inputs.lot_size,
    )
    np.testing.assert_allclose(result.planned_unconstrained, expected_plan, atol=1e-6)

    order = priority_order(inputs.abc_class, inputs.unit_price - inputs.unit_cost)
    expected_planned, expected_shortage = reference_constrain(
        expected_plan,
        inputs.receipts,
        inputs.hours_per_unit,
        inputs.capacity,
        result.first_month,
        list(order),
    )
    # The case does exercise both the pre-build and the cut.
    assert (result.planned > expected_plan + 1e-6).any()
    assert result.shortage.sum() > 0
    np.testing.assert_allclose(result.planned, expected_planned, atol=1e-6)
    np.testing.assert_allclose(result.shortage, expected_shortage, atol=1e-6)

    closing, unmet = reference_project(
        inputs.on_hand, inputs.receipts, expected_planned, inputs.demand
    )
    np.testing.assert_allclose(result.on_hand, closing, atol=1e-6)
    np.testing.assert_allclose(result.unmet, unmet, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_constrained_plan_fits_capacity_and_only_moves_production_earlier(seed):
    inputs = random_case(seed, multi_resource=True)
    result = plan_supply(inputs)
    capacity = inputs.capacity
    firm = inputs.hours_per_unit.T @ inputs.receipts
    planned_load = result.load - firm

    # Planned supply never pushes a resource-month over capacity (receipts alone may).
    assert (planned_load <= np.maximum(capacity - firm, 0) + 1e-6).all()
    # Every planned unit is made, pre-built or reported short; never postponed.
    made = np.cumsum((result.planned + result.shortage)[:, ::-1], axis=1)
    wanted = np.cumsum(result.planned_unconstrained[:, ::-1], axis=1)
    assert (made <= wanted + 1e-6).all()
    np.testing.assert_allclose(made[:, -1], wanted[:, -1], atol=1e-6)
    # Nothing lands inside the lead-time window, and unrouted SKUs are untouched.
    frozen = np.arange(capacity.shape[1]) < result.first_month[:, None]
    assert (result.planned[frozen] == 0).all()
    unrouted = inputs.hours_per_unit.sum(axis=1) == 0
    np.testing.assert_array_equal(result.planned[unrouted], result.planned_unconstrained[unrouted])
