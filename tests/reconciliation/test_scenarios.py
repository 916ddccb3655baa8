"""Scenario deltas: each changes exactly what it should, and the base never changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from reconciliation.scenarios import (
    CapacityDelta,
    DemandDelta,
    LeadTimeDelta,
    PlanLabels,
    PriceCostDelta,
    ServiceLevelDelta,
    apply_deltas,
    deltas_from_json,
    deltas_to_json,
    run_scenario,
    spread_units,
)
from supply.projection import DAYS_PER_MONTH, Policy, SupplyInputs, plan_supply

JAN, FEB, MAR, APR = (dt.date(2027, month, 1) for month in range(1, 5))
POLICY = Policy()


def make_plan() -> tuple[SupplyInputs, PlanLabels]:
    """7 SKU-locations in 3 families x 4 months x 2 resources, capacity to spare.

    Family A: a1 (bought from S1, class A) and a2 (made, B), on R1.
    Family B: b1 at two locations (from S1, C; from S2, A), on R2.
    Family C: three products without demand or routing.
    """
    n = 7
    hours = np.zeros((n, 2))
    hours[[0, 1], 0] = 0.1
    hours[[2, 3], 1] = 0.2
    inputs = SupplyInputs(
        on_hand=np.array([50.0, 20, 40, 0, 5, 0, 0]),
        receipts=np.zeros((n, 4)),
        demand=np.array(
            [
                [100.0, 100, 100, 100],
                [50, 60, 70, 80],
                [30, 30, 30, 30],
                [10, 10, 10, 10],
                [0, 0, 0, 0],
                [0, 0, 0, 0],
                [0, 0, 0, 0],
            ]
        ),
        demand_error_std=np.array([20.0, 10, 6, 3, 0, 0, 0]),
        lead_time_months=np.array([1.0, 0.5, 1, 2, 0, 0, 0]),
        lead_time_std_months=np.array([0.5, 0, 0.25, 0.5, 0, 0, 0]),
        abc_class=np.array(["A", "B", "C", "A", "", "", ""], dtype=object),
        unit_cost=np.array([6.0, 4, 10, 10, 1, 1, 1]),
        unit_price=np.array([10.0, 8, 15, 15, 2, 2, 2]),
        moq=np.zeros(n),
        lot_size=np.zeros(n),
        hours_per_unit=hours,
        capacity=np.array([[500.0, 500, 500, 500], [300, 300, 300, 300]]),
        months=pd.Index([JAN, FEB, MAR, APR], name="month"),
    )
    meta = PlanLabels(
        family=["A", "A", "B", "B", "C", "C", "C"],
        product=["a1", "a2", "b1", "b1", "c1", "c2", "c3"],
        supplier=["S1", None, "S1", "S2", None, None, None],
        resources=["R1", "R2"],
    )
    return inputs, meta


def apply(*deltas, policy=POLICY):
    inputs, meta = make_plan()
    return inputs, apply_deltas(inputs, deltas, meta=meta, policy=policy)


def array_fields(inputs: SupplyInputs) -> dict[str, np.ndarray]:
    return {
        field.name: getattr(inputs, field.name)
        for field in dataclasses.fields(inputs)
        if isinstance(getattr(inputs, field.name), np.ndarray)
    }


def assert_only_changed(base: SupplyInputs, scenario: SupplyInputs, *names: str) -> None:
    """Every engine array but `names` is equal in the scenario and the base."""
    for name, array in array_fields(base).items():
        if name not in names:
            np.testing.assert_array_equal(getattr(scenario, name), array, err_msg=name)


# --- demand -----------------------------------------------------------------------------


def test_demand_percent_moves_one_family_in_its_months_only():
    base, (scenario, policy, prices) = apply(
        DemandDelta(family="A", start=FEB, end=MAR, percent=10)
    )
    expected = base.demand.copy()
    expected[0, 1:3] = [110, 110]
    expected[1, 1:3] = [66, 77]
    np.testing.assert_allclose(scenario.demand, expected)
    # Family B and C, and January and April of family A, are bit for bit the base's.
    untouched = np.ones(base.demand.shape, dtype=bool)
    untouched[:2, 1:3] = False
    np.testing.assert_array_equal(scenario.demand[untouched], base.demand[untouched])
    assert_only_changed(base, scenario, "demand")
    assert policy == POLICY
    np.testing.assert_array_equal(prices.price, base.unit_price)


def test_demand_change_leaves_the_other_families_plan_alone():
    base, meta = make_plan()
    delta = DemandDelta(family="A", start=FEB, end=MAR, percent=10)
    before = run_scenario(base, POLICY, [], meta)
    after = run_scenario(base, POLICY, [delta], meta)
    other = [2, 3, 4, 5, 6]
    for grid in ("planned", "on_hand", "unmet"):
        np.testing.assert_array_equal(
            getattr(after.projection, grid)[other], getattr(before.projection, grid)[other]
        )
    changed = after.financials.set_index(["family", "month"])["revenue"]
    unchanged = before.financials.set_index(["family", "month"])["revenue"]
    pd.testing.assert_series_equal(changed.loc[["B", "C"]], unchanged.loc[["B", "C"]])
    # Family A sells 10 % more in February and March: 160 -> 176 and 170 -> 187 units.
    assert changed[("A", FEB)] == pytest.approx(unchanged[("A", FEB)] + 10 * 10 + 6 * 8)
    assert changed[("A", JAN)] == unchanged[("A", JAN)]


def test_demand_delta_on_a_product_covers_its_locations():
    base, (scenario, _, _) = apply(DemandDelta(product="b1", start=JAN, end=JAN, percent=-50))
    np.testing.assert_allclose(scenario.demand[2:4, 0], [15, 5])
    np.testing.assert_array_equal(scenario.demand[2:4, 1:], base.demand[2:4, 1:])
    np.testing.assert_array_equal(scenario.demand[:2], base.demand[:2])


def test_units_on_a_family_are_spread_by_demand_and_sum_exactly():
    base, (scenario, _, _) = apply(DemandDelta(family="B", start=MAR, end=APR, units=7))
    # b1's demand is 30 and 10: shares 5.25 and 1.75, floors 5 and 1, and the unit left
    # goes to the larger remainder (0.75): +5 and +2.
    np.testing.assert_array_equal(scenario.demand[2:4, 2:], [[35, 35], [12, 12]])
    assert (scenario.demand[2:4, 2:] - base.demand[2:4, 2:]).sum(axis=0).tolist() == [7, 7]
    np.testing.assert_array_equal(scenario.demand[2:4, :2], base.demand[2:4, :2])


def test_units_on_a_family_without_demand_are_spread_evenly():
    _, (scenario, _, _) = apply(DemandDelta(family="C", start=JAN, end=JAN, units=10))
    # 10 / 3 = 3.33 each: 3 + 3 + 3 and the unit left to the first.
    np.testing.assert_array_equal(scenario.demand[4:, 0], [4, 3, 3])


@pytest.mark.parametrize(
    ("units", "weights", "expected"),
    [
        (7, [5, 3, 2], [4, 2, 1]),  # 3.5, 2.1, 1.4
        (-7, [5, 3, 2], [-4, -2, -1]),
        (100, [1, 1, 1], [34, 33, 33]),
        (10, [0, 0, 0, 0], [3, 3, 2, 2]),
        (0, [4, 2], [0, 0]),
        (1000003, [1, 2, 4], [142858, 285715, 571430]),
    ],
)
def test_spread_units_adds_up_exactly(units, weights, expected):
    parts = spread_units(units, np.array(weights, dtype=float)[:, None])
    assert parts[:, 0].tolist() == expected
    assert parts.sum() == units


def test_demand_cut_below_zero_stops_at_zero():
    _, (scenario, _, _) = apply(DemandDelta(family="B", start=JAN, end=FEB, units=-100))
    np.testing.assert_array_equal(scenario.demand[2:4, :2], 0)


def test_deltas_apply_in_order():
    _, (then_units, _, _) = apply(
        DemandDelta(product="a1", start=JAN, end=JAN, percent=10),
        DemandDelta(product="a1", start=JAN, end=JAN, units=10),
    )
    _, (then_percent, _, _) = apply(
        DemandDelta(product="a1", start=JAN, end=JAN, units=10),
        DemandDelta(product="a1", start=JAN, end=JAN, percent=10),
    )
    # 100 * 1.1 + 10 = 120; (100 + 10) * 1.1 = 121.
    assert then_units.demand[0, 0] == pytest.approx(120)
    assert then_percent.demand[0, 0] == pytest.approx(121)


def test_a_delta_on_an_unknown_family_changes_nothing():
    base, (scenario, _, _) = apply(DemandDelta(family="Z", start=JAN, end=APR, percent=50))
    assert_only_changed(base, scenario)


# --- capacity ---------------------------------------------------------------------------


def test_capacity_cut_on_one_resource_and_month():
    base, (scenario, _, _) = apply(CapacityDelta(resource="R2", start=MAR, end=MAR, percent=-20))
    expected = base.capacity.copy()
    expected[1, 2] = 240  # 300 - 20 %
    np.testing.assert_array_equal(scenario.capacity, expected)
    assert_only_changed(base, scenario, "capacity")


def test_capacity_hours_add_to_each_month_of_the_range_and_stop_at_zero():
    _, (scenario, _, _) = apply(
        CapacityDelta(resource="R1", start=JAN, end=FEB, hours=-600),
        CapacityDelta(resource="R2", start=MAR, end=APR, hours=50),
    )
    np.testing.assert_array_equal(scenario.capacity, [[0, 0, 500, 500], [300, 300, 350, 350]])


def test_a_lost_month_of_capacity_turns_into_lost_sales():
    base, meta = make_plan()
    before = run_scenario(base, POLICY, [], meta)
    after = run_scenario(
        base, POLICY, [CapacityDelta(resource="R2", start=FEB, end=FEB, percent=-100)], meta
    )
    # R2 makes family B. In February only b1 at S1 can be planned (b1 at S2 has a 2-month
    # lead time) and January is frozen by its 1-month lead time, so nothing is pre-built:
    # its whole February order is cut, and with 10 in stock 20 of the 30 demanded are lost.
    assert after.projection.load[1, 1] == 0
    assert after.projection.shortage[2, 1] == pytest.approx(before.projection.planned[2, 1])
    assert after.projection.unmet[2, 1] == 20
    assert after.kpis["unmet_revenue"] - before.kpis["unmet_revenue"] == 20 * 15
    np.testing.assert_array_equal(after.projection.planned[:2], before.projection.planned[:2])


# --- lead time --------------------------------------------------------------------------


def test_lead_time_days_move_the_safety_stock_as_the_formula_says():
    base, meta = make_plan()
    delta = LeadTimeDelta(supplier="S1", days=DAYS_PER_MONTH)  # one month
    scenario = run_scenario(base, POLICY, [delta], meta)
    before = run_scenario(base, POLICY, [], meta)
    # a1 (class A, 98 %): d = 100, sigma_d = 20, LT 1 -> 2 months plus the review month,
    # sigma_LT stays 0.5 (no stored quantiles: the normal formula).
    # SS = z * sqrt((LT + 1) * 20^2 + 100^2 * 0.5^2) = 2.0537 * sqrt(1200 + 2500) = 124.92
    z_a, z_c = norm.ppf(0.98), norm.ppf(0.90)
    assert scenario.projection.safety_stock[0] == pytest.approx(z_a * np.sqrt(3700))
    assert scenario.projection.safety_stock[0] == pytest.approx(124.92, abs=0.01)
    # b1 from S1 (class C, 90 %): d = 30, sigma_d = 6, LT 1 -> 2, sigma_LT 0.25.
    assert scenario.projection.safety_stock[2] == pytest.approx(
        z_c * np.sqrt(3 * 36 + 900 * 0.0625)
    )
    np.testing.assert_allclose(scenario.inputs.lead_time_months[[0, 2]], [2, 2])
    np.testing.assert_array_equal(scenario.inputs.lead_time_std_months, base.lead_time_std_months)
    # a2 (made) and b1 from S2 keep theirs.
    others = [1, 3, 4, 5, 6]
    np.testing.assert_array_equal(
        scenario.projection.safety_stock[others], before.projection.safety_stock[others]
    )
    assert_only_changed(base, scenario.inputs, "lead_time_months")


def test_lead_time_percent_stretches_mean_and_std():
    base, (scenario, _, _) = apply(LeadTimeDelta(supplier="S2", percent=50))
    assert scenario.lead_time_months[3] == 3.0
    assert scenario.lead_time_std_months[3] == 0.75
    assert_only_changed(base, scenario, "lead_time_months", "lead_time_std_months")
    np.testing.assert_array_equal(scenario.lead_time_months[:3], base.lead_time_months[:3])


def test_shorter_lead_time_stops_at_zero():
    _, (scenario, _, _) = apply(LeadTimeDelta(supplier="S1", days=-90))
    np.testing.assert_array_equal(scenario.lead_time_months[[0, 2]], [0, 0])


def test_a_service_level_between_stored_quantiles_sets_safety_stock_from_them():
    base, meta = make_plan()
    # a1's cumulative forecast error quantiles over 4 months; the others have none.
    errors = np.full((7, 4, 4), np.nan)
    errors[0] = [[0, 0, 0, 0], [20, 30, 37, 42], [30, 45, 55, 62], [45, 65, 80, 90]]
    base = dataclasses.replace(
        base, error_quantiles=errors, error_quantile_levels=(0.5, 0.9, 0.95, 0.99)
    )
    after = run_scenario(base, POLICY, [ServiceLevelDelta(abc_class="A", level=0.97)], meta)
    # LT 1 + RP 1 = 2 months: 45 at 95 %, 65 at 99 %; 97 % sits 0.34621 of the way in z:
    # SS_d = 51.924; with z(.97) * 100 * 0.5 = 94.040 for the lead time, SS = 107.42.
    assert after.projection.safety_stock[0] == pytest.approx(107.42, abs=0.01)
    np.testing.assert_array_equal(
        after.projection.safety_stock_from_quantiles, [True] + [False] * 6
    )
    # b1 at S2, also class A, has no quantiles: the normal formula at 97 %.
    assert after.projection.safety_stock[3] == pytest.approx(
        norm.ppf(0.97) * np.sqrt(3 * 3**2 + 10**2 * 0.5**2)
    )


# --- price and cost ---------------------------------------------------------------------


def test_price_and_cost_move_revenue_and_cogs_not_volumes():
    base, meta = make_plan()
    delta = PriceCostDelta(family="A", price_percent=10, cost_percent=-5)
    before = run_scenario(base, POLICY, [], meta)
    after = run_scenario(base, POLICY, [delta], meta)
    for grid in ("planned", "on_hand", "unmet", "safety_stock"):
        np.testing.assert_array_equal(
            getattr(after.projection, grid), getattr(before.projection, grid)
        )
    # The engine plans with the base prices; the money uses the scenario's.
    assert_only_changed(base, after.inputs)
    np.testing.assert_allclose(after.prices.price, [11, 8.8, 15, 15, 2, 2, 2])
    np.testing.assert_allclose(after.prices.cost, [5.7, 3.8, 10, 10, 1, 1, 1])
    old = before.financials.set_index(["family", "month"])
    new = after.financials.set_index(["family", "month"])
    pd.testing.assert_series_equal(new["volume"], old["volume"])
    pd.testing.assert_series_equal(new["revenue"].loc["A"], old["revenue"].loc["A"] * 1.1)
    pd.testing.assert_series_equal(new["cogs"].loc["A"], old["cogs"].loc["A"] * 0.95)
    pd.testing.assert_frame_equal(new.loc[["B", "C"]], old.loc[["B", "C"]])


def test_price_change_without_a_family_covers_every_family():
    base, (_, _, prices) = apply(PriceCostDelta(price_percent=-10))
    np.testing.assert_allclose(prices.price, base.unit_price * 0.9)
    np.testing.assert_array_equal(prices.cost, base.unit_cost)


# --- service level ----------------------------------------------------------------------


def test_service_level_of_a_class_moves_its_safety_stock():
    base, meta = make_plan()
    before = run_scenario(base, POLICY, [], meta)
    after = run_scenario(base, POLICY, [ServiceLevelDelta(abc_class="A", level=0.99)], meta)
    # Class A rows (a1, b1 at S2) scale by z(0.99) / z(0.98) = 2.3263 / 2.0537.
    ratio = norm.ppf(0.99) / norm.ppf(0.98)
    np.testing.assert_allclose(
        after.projection.safety_stock[[0, 3]], before.projection.safety_stock[[0, 3]] * ratio
    )
    np.testing.assert_array_equal(
        after.projection.safety_stock[[1, 2]], before.projection.safety_stock[[1, 2]]
    )
    assert after.policy.service_levels == {"A": 0.99, "B": 0.95, "C": 0.90}
    assert_only_changed(base, after.inputs)


def test_service_level_without_a_class_sets_every_item():
    _, (_, policy, _) = apply(ServiceLevelDelta(level=0.97))
    assert policy.service_levels == {"A": 0.97, "B": 0.97, "C": 0.97}
    assert policy.default_service_level == 0.97


# --- the base stays as it was -----------------------------------------------------------


def test_a_scenario_leaves_the_base_inputs_untouched():
    base, meta = make_plan()
    before = {name: array.tobytes() for name, array in array_fields(base).items()}
    deltas = [
        DemandDelta(family="A", start=JAN, end=APR, percent=25),
        DemandDelta(family="C", start=FEB, end=FEB, units=9),
        CapacityDelta(resource="R1", start=JAN, end=MAR, hours=-100),
        LeadTimeDelta(supplier="S1", percent=40),
        PriceCostDelta(family="B", price_percent=3, cost_percent=8),
        ServiceLevelDelta(level=0.995),
    ]
    result = run_scenario(base, POLICY, deltas, meta)
    after = {name: array.tobytes() for name, array in array_fields(base).items()}
    assert after == before
    # The policy's mapping of levels is a dict: the delta must replace it, not write to it.
    assert POLICY.service_levels == {"A": 0.98, "B": 0.95, "C": 0.90}
    # The scenario's arrays refuse writes, so nothing downstream can reach the base.
    with pytest.raises(ValueError, match="read-only"):
        result.inputs.on_hand[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        result.prices.price[0] = 1.0


def test_no_deltas_give_the_base_plan():
    base, meta = make_plan()
    result = run_scenario(base, POLICY, [], meta)
    expected = plan_supply(base, POLICY)
    np.testing.assert_array_equal(result.projection.planned, expected.planned)
    np.testing.assert_array_equal(result.projection.on_hand, expected.on_hand)
    assert set(result.financials["family"]) == {"A", "B", "C"}


# --- storage and validation -------------------------------------------------------------


def test_deltas_survive_a_json_round_trip():
    deltas = [
        DemandDelta(family="A", start=JAN, end=MAR, percent=12.5),
        DemandDelta(product=42, start=FEB, end=FEB, units=-300),
        CapacityDelta(resource="R1", start=APR, end=APR, hours=-80),
        LeadTimeDelta(supplier="S1", days=10),
        LeadTimeDelta(supplier="S2", percent=-20),
        PriceCostDelta(family="B", price_percent=5, cost_percent=2),
        ServiceLevelDelta(abc_class="B", level=0.97),
        ServiceLevelDelta(level=0.9),
    ]
    stored = json.loads(json.dumps(deltas_to_json(deltas)))
    assert stored[0] == {
        "kind": "demand",
        "start": "2027-01-01",
        "end": "2027-03-01",
        "family": "A",
        "percent": 12.5,
    }
    assert deltas_from_json(stored) == deltas


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DemandDelta(family="A", start=MAR, end=FEB, percent=5), "range 2027-03 to"),
        (lambda: DemandDelta(family="A", start=JAN, end=FEB), "give either percent or units"),
        (
            lambda: DemandDelta(family="A", start=JAN, end=FEB, percent=5, units=3),
            "percent or units, not both",
        ),
        (lambda: DemandDelta(family="A", product="a1", start=JAN, end=JAN, units=1), "not both"),
        (lambda: DemandDelta(start=JAN, end=JAN, units=2.5), "whole number"),
        (lambda: DemandDelta(start=JAN, end=JAN, percent=-120), "more than 100 %"),
        (lambda: DemandDelta(start="2027-01", end=JAN, percent=5), "start must be a date"),
        (lambda: CapacityDelta(resource="R1", start=FEB, end=JAN, hours=5), "is empty"),
        (lambda: CapacityDelta(resource="R1", start=JAN, end=JAN), "percent or hours"),
        (lambda: CapacityDelta(resource="", start=JAN, end=JAN, hours=1), "name a resource"),
        (lambda: LeadTimeDelta(supplier="S1", days=5, percent=5), "days or percent, not both"),
        (lambda: LeadTimeDelta(supplier="S1", days=float("nan")), "finite"),
        (lambda: PriceCostDelta(family="A"), "price or a cost percent"),
        (lambda: ServiceLevelDelta(level=1.0), "strictly between 0 and 1"),
        (lambda: ServiceLevelDelta(abc_class="A", level=0), "strictly between 0 and 1"),
        (lambda: ServiceLevelDelta(abc_class="D", level=0.9), "ABC class"),
    ],
)
def test_invalid_deltas_are_refused_with_a_message(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_stored_deltas_of_an_unknown_kind_or_field_are_refused():
    with pytest.raises(ValueError, match="unknown delta kind 'weather'"):
        deltas_from_json([{"kind": "weather"}])
    with pytest.raises(ValueError, match=r"capacity delta: .*'shifts'"):
        deltas_from_json([{"kind": "capacity", "resource": "R1", "shifts": 2}])
    with pytest.raises(ValueError, match="the level must lie"):
        deltas_from_json([{"kind": "service_level", "level": 2}])


def test_a_month_range_needs_dated_months():
    base, meta = make_plan()
    undated = dataclasses.replace(base, months=None)
    with pytest.raises(ValueError, match="months must be dates"):
        apply_deltas(
            undated, [DemandDelta(start=JAN, end=JAN, percent=5)], meta=meta, policy=POLICY
        )
