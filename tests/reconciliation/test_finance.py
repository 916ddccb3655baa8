"""The financial plan, KPIs and comparison on a plan small enough to check by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from reconciliation.finance import PriceCost, compare, financial_plan, plan_kpis
from supply.projection import WEEKS_PER_MONTH, SupplyInputs, plan_supply

JAN, FEB = dt.date(2027, 1, 1), dt.date(2027, 2, 1)


def tiny_plan(family=("Bikes", "Parts")):
    """2 SKUs x 2 months x 1 resource, no lead time, no safety stock.

    Bike: price 100, cost 60, demand 10 and 20, 15 in stock, 1 h a unit.
    Part: price 20, cost 5, demand 30 and 30, no stock, 0.5 h a unit.
    Capacity 15 h then 25 h. January: the bike needs nothing (15 in stock covers 10, 5
    left), the part needs 30 units = 15 h, exactly the capacity. February: the bike needs
    20 - 5 = 15 units = 15 h, the part 30 units = 15 h; 30 h against 25 h. January has no
    free hours to pre-build, so 5 h of the lower-margin part (margin 15 vs 40) are cut:
    10 units, lost to a stockout.
    """
    inputs = SupplyInputs(
        on_hand=np.array([15.0, 0.0]),
        receipts=np.zeros((2, 2)),
        demand=np.array([[10.0, 20.0], [30.0, 30.0]]),
        demand_error_std=np.zeros(2),
        lead_time_months=np.zeros(2),
        lead_time_std_months=np.zeros(2),
        abc_class=np.array(["", ""], dtype=object),
        unit_cost=np.array([60.0, 5.0]),
        unit_price=np.array([100.0, 20.0]),
        moq=np.zeros(2),
        lot_size=np.zeros(2),
        hours_per_unit=np.array([[1.0], [0.5]]),
        capacity=np.array([[15.0, 25.0]]),
        months=pd.Index([JAN, FEB], name="month"),
    )
    projection = plan_supply(inputs)
    np.testing.assert_allclose(projection.planned, [[0, 15], [30, 20]])
    np.testing.assert_allclose(projection.on_hand, [[5, 0], [0, 0]])
    np.testing.assert_allclose(projection.unmet, [[0, 0], [0, 10]])
    return projection, PriceCost.of(inputs), np.array(family, dtype=object)


BUDGET = pd.DataFrame(
    {
        "family": ["Bikes", "Bikes", "Parts"],
        "month": [JAN, FEB, JAN],  # no budget for Parts in February
        "revenue": [1250.0, 2000.0, 500.0],
    }
)


def test_financial_plan_on_a_hand_checked_plan():
    projection, prices, family = tiny_plan()
    plan = financial_plan(projection, prices, family=family, budget=BUDGET)
    # Fulfilled = demand - unmet: bikes 10, 20; parts 30, 30 - 10 = 20.
    # Bikes Jan: 10 x 100 = 1000 revenue, 10 x 60 = 600 COGS, 400 margin (40 %), stock
    #   5 x 60 = 300; budget 1250: gap -250, -20 %.
    # Bikes Feb: 2000, 1200, 800 (40 %), no stock; budget 2000: gap 0.
    # Parts Jan: 30 x 20 = 600, 30 x 5 = 150, 450 (75 %); budget 500: gap +100, +20 %.
    # Parts Feb: 20 x 20 = 400, 100, 300 (75 %); no budget.
    expected = pd.DataFrame(
        {
            "family": ["Bikes", "Bikes", "Parts", "Parts"],
            "month": [JAN, FEB, JAN, FEB],
            "volume": [10.0, 20.0, 30.0, 20.0],
            "revenue": [1000.0, 2000.0, 600.0, 400.0],
            "cogs": [600.0, 1200.0, 150.0, 100.0],
            "gross_margin": [400.0, 800.0, 450.0, 300.0],
            "margin_pct": [40.0, 40.0, 75.0, 75.0],
            "inventory_value": [300.0, 0.0, 0.0, 0.0],
            "budget_revenue": [1250.0, 2000.0, 500.0, np.nan],
            "budget_gap": [-250.0, 0.0, 100.0, np.nan],
            "budget_gap_pct": [-20.0, 0.0, 20.0, np.nan],
        }
    )
    pd.testing.assert_frame_equal(plan, expected, check_dtype=False)


def test_skus_of_one_family_add_up():
    projection, prices, family = tiny_plan(family=("Bikes", "Bikes"))
    plan = financial_plan(projection, prices, family=family)
    # Jan: 1000 + 600 revenue, 600 + 150 COGS; Feb: 2000 + 400, 1200 + 100.
    assert plan["family"].tolist() == ["Bikes", "Bikes"]
    assert plan["revenue"].tolist() == [1600.0, 2400.0]
    assert plan["cogs"].tolist() == [750.0, 1300.0]
    assert plan["margin_pct"].tolist() == pytest.approx([53.125, 45.833333])


def test_a_missing_budget_leaves_the_budget_figures_empty():
    projection, prices, family = tiny_plan()
    plan = financial_plan(projection, prices, family=family, budget=None)
    assert plan[["budget_revenue", "budget_gap", "budget_gap_pct"]].isna().all().all()
    assert plan["revenue"].sum() == 4000.0
    kpis = plan_kpis(projection, prices, plan)
    assert np.isnan(kpis["budget_revenue"]) and np.isnan(kpis["revenue_vs_budget"])


def test_budget_months_match_whatever_their_day_or_type():
    projection, prices, family = tiny_plan()
    budget = BUDGET.assign(month=pd.to_datetime(["2027-01-15", "2027-02-01", "2027-01-31"]))
    plan = financial_plan(projection, prices, family=family, budget=budget)
    assert plan["budget_revenue"].tolist()[:3] == [1250.0, 2000.0, 500.0]


def test_kpis_on_a_hand_checked_plan():
    projection, prices, family = tiny_plan()
    kpis = plan_kpis(
        projection, prices, financial_plan(projection, prices, family=family, budget=BUDGET)
    )
    # Revenue 1000 + 2000 + 600 + 400 = 4000; COGS 600 + 1200 + 150 + 100 = 2050.
    assert kpis["revenue"] == 4000.0
    assert kpis["cogs"] == 2050.0
    assert kpis["gross_margin"] == 1950.0
    assert kpis["margin_pct"] == pytest.approx(48.75)
    # 90 demanded, 10 lost: fill rate 80 / 90; 1 of the 4 SKU-months stocks out.
    assert kpis["demand_units"] == 90.0
    assert kpis["fill_rate"] == pytest.approx(80 / 90)
    assert kpis["service_level"] == 0.75
    assert kpis["unmet_units"] == 10.0
    assert kpis["unmet_revenue"] == 200.0  # 10 parts x 20
    # Stock value: Jan 5 bikes x 60 = 300, Feb none.
    assert kpis["inventory_value_avg"] == 150.0
    assert kpis["inventory_value_end"] == 0.0
    # Stock over forward weekly demand, both summed over SKU-months: the bikes' 5 in
    # January against 3 months ahead of 20, 20 (bikes) and 30, 30 (parts) a month, flat
    # past the horizon: 5 / (3 * (20 + 20 + 30 + 30) / (3 * 4.348 weeks)) = 0.217 weeks.
    assert kpis["weeks_of_cover"] == pytest.approx(5 / (300 / (3 * WEEKS_PER_MONTH)))
    # Jan 15 h / 15 h, Feb 15 + 10 h / 25 h: the plan fills the line, never more.
    assert kpis["capacity_utilisation"] == 1.0
    # February's demand asks for 30 h of the 25 h: the one month where capacity binds.
    assert kpis["overloaded_resource_months"] == 1
    # Against the budgeted family-months only: 3600 sold vs 3750, -150, -4 %.
    assert kpis["budget_revenue"] == 3750.0
    assert kpis["revenue_vs_budget"] == -150.0
    assert kpis["revenue_vs_budget_pct"] == pytest.approx(-4.0)


def test_compare_shows_each_scenario_against_the_base():
    table = compare(
        {
            "Base": {"revenue": 4000.0, "overloaded_resource_months": 0},
            "Price +5%": {"revenue": 4200.0, "overloaded_resource_months": 0},
            "Lost shift": {"revenue": 3000.0, "overloaded_resource_months": 2},
        }
    )
    assert list(table.index) == ["revenue", "overloaded_resource_months"]
    assert table.columns.get_level_values(0).unique().tolist() == [
        "Base",
        "Price +5%",
        "Lost shift",
    ]
    assert table.loc["revenue", ("Price +5%", "diff")] == 200.0
    assert table.loc["revenue", ("Price +5%", "diff_pct")] == 5.0
    assert table.loc["revenue", ("Lost shift", "diff_pct")] == -25.0
    assert table.loc["revenue", ("Base", "diff")] == 0.0
    # A change from zero has no percentage.
    assert table.loc["overloaded_resource_months", ("Lost shift", "diff")] == 2.0
    assert np.isnan(table.loc["overloaded_resource_months", ("Lost shift", "diff_pct")])


def test_compare_takes_a_named_base():
    table = compare({"A": {"revenue": 50.0}, "B": {"revenue": 100.0}}, base="B")
    assert table.loc["revenue", ("A", "diff_pct")] == -50.0
    with pytest.raises(ValueError, match="not among the scenarios"):
        compare({"A": {"revenue": 1.0}}, base="C")


def test_a_budget_needs_a_plan_with_dated_months():
    projection, prices, family = tiny_plan()
    undated = dataclasses.replace(
        projection, inputs=dataclasses.replace(projection.inputs, months=None)
    )
    with pytest.raises(ValueError, match="months must be dates"):
        financial_plan(undated, prices, family=family, budget=BUDGET)
    # Without a budget the months are only labels.
    assert financial_plan(undated, prices, family=family)["month"].tolist() == [0, 1, 0, 1]


def stock_only_plan(on_hand: list[float], demand: list[list[float]]):
    """SKUs living on their stock: a lead time past the 3-month horizon, so no supply."""
    n = len(on_hand)
    inputs = SupplyInputs(
        on_hand=np.array(on_hand),
        receipts=np.zeros((n, 3)),
        demand=np.array(demand),
        demand_error_std=np.zeros(n),
        lead_time_months=np.full(n, 12.0),
        lead_time_std_months=np.zeros(n),
        abc_class=np.array([""] * n, dtype=object),
        unit_cost=np.full(n, 5.0),
        unit_price=np.full(n, 10.0),
        moq=np.zeros(n),
        lot_size=np.zeros(n),
        hours_per_unit=np.zeros((n, 0)),
        capacity=np.zeros((0, 3)),
        months=pd.Index([JAN, FEB, dt.date(2027, 3, 1)], name="month"),
    )
    projection = plan_supply(inputs)
    prices = PriceCost.of(inputs)
    money = financial_plan(projection, prices, family=np.array(["F"] * n, dtype=object))
    return plan_kpis(projection, prices, money)


def test_a_phasing_out_sku_does_not_pull_the_999_week_placeholder_into_the_cover():
    # Ten SKUs sell 10 a month from 50 in stock: they close at 40, 30, 20, on average
    # 30 units against 10 / 4.348 a week: 13.0 weeks.
    running = stock_only_plan([50.0] * 10, [[10.0] * 3] * 10)
    assert running["weeks_of_cover"] == pytest.approx(3 * WEEKS_PER_MONTH)
    # A SKU selling its last 5 this month holds 45 with no demand ahead: 999 weeks in
    # the grid. Its stock counts, its placeholder does not: (900 + 135) unit-months of
    # stock over 300 of forward demand, 15.0 weeks, not 29.
    phasing_out = stock_only_plan([50.0] * 11, [[10.0] * 3] * 10 + [[5.0, 0.0, 0.0]])
    assert phasing_out["weeks_of_cover"] == pytest.approx(1035 / 300 * WEEKS_PER_MONTH)


def test_a_resource_month_without_capacity_data_is_not_counted_as_overloaded():
    projection, prices, family = tiny_plan()
    unknown = dataclasses.replace(projection.inputs, capacity_missing=np.array([[False, True]]))
    planned = plan_supply(unknown)
    kpis = plan_kpis(planned, prices, financial_plan(planned, prices, family=family))
    # February's capacity is unknown: planned unconstrained, neither cut nor overloaded.
    assert kpis["overloaded_resource_months"] == 0
    assert kpis["unmet_units"] == 0
