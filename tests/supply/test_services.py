from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from scipy.stats import norm

from demand.models import ConsensusDemand
from sop import services as sop_services
from sop.choices import JobStatus, Role, Stage
from sop.locking import EditConflict
from sop.models import AuditEvent, Capacity, Cycle, InventorySnapshot, SalesHistory
from supply import projection, selectors, services
from supply.choices import SafetyStockMethod
from supply.models import (
    CapacityLoad,
    InventoryProjection,
    PlannedSupplyEdit,
    PlanRecompute,
    StockTarget,
    SupplyRun,
)
from tests.supply.conftest import MONTHS, TEA_ERROR_STD

pytestmark = pytest.mark.django_db


def plan_of(run, product, field: str) -> list[float]:
    return list(
        InventoryProjection.objects.filter(run=run, product=product)
        .order_by("month")
        .values_list(field, flat=True)
    )


def start(cycle, user, capture, **kwargs) -> SupplyRun:
    with capture(execute=True):
        run = services.supply_run_start(cycle=cycle, user=user, **kwargs)
    run.refresh_from_db()
    return run


def test_a_run_plans_every_sku_location_in_chunks_and_publishes(published):
    assert published.status == JobStatus.SUCCEEDED
    assert published.is_published
    # The line's two SKUs share a chunk; TEA, routed nowhere, is a chunk of its own.
    assert (published.chunks_total, published.chunks_done) == (2, 2)
    assert published.progress == 100
    assert published.sku_location_count == 3
    assert InventoryProjection.objects.filter(run=published).count() == 3 * len(MONTHS)
    assert StockTarget.objects.filter(run=published).count() == 3
    assert CapacityLoad.objects.filter(run=published).count() == len(MONTHS)


def test_the_plan_matches_the_hand_checked_numbers(published, company):
    bike, lamp, tea = company["BIKE"], company["LAMP"], company["TEA"]
    # BIKE would need 30, 60, 60; 10 of months 1 and 2 are pre-built into month 0.
    assert plan_of(published, bike, "planned_unconstrained") == [30, 60, 60]
    assert plan_of(published, bike, "planned") == [50, 50, 50]
    assert plan_of(published, bike, "on_hand") == [20, 10, 0]
    assert plan_of(published, lamp, "planned") == [50, 50, 50]
    assert plan_of(published, lamp, "shortage") == [0, 0, 0]
    loads = CapacityLoad.objects.filter(run=published).order_by("month")
    assert [(c.load_unconstrained, c.load, c.available_hours) for c in loads] == [
        (80, 100, 100),
        (110, 100, 100),
        (110, 100, 100),
    ]
    # TEA: SS = z(95%) * sqrt((LT + 1 review month) * 10^2), LT = 30 days in months.
    lead = 30 / projection.DAYS_PER_MONTH
    expected_ss = norm.ppf(0.95) * np.sqrt((lead + 1) * TEA_ERROR_STD**2)
    target = StockTarget.objects.get(run=published, product=tea)
    assert target.safety_stock == pytest.approx(expected_ss)  # 23.18
    # Order up to the demand of the lead time and the review month, plus safety stock.
    assert target.order_up_to == pytest.approx(40 * (lead + 1) + expected_ss)
    assert target.error_from_forecast
    # TEA's fit stores no quantiles (history too short to backtest): the normal formula.
    assert target.safety_stock_method == SafetyStockMethod.NORMAL
    assert target.first_month == MONTHS[1]
    # Month 0 is inside the lead time; then lots of 10 keep the stock above 23.18.
    assert plan_of(published, tea, "planned") == [0, 10, 40]
    assert plan_of(published, tea, "on_hand") == [60, 30, 30]


def test_a_backtested_forecast_sets_safety_stock_from_its_error_quantiles(
    tea_backtested, company, supply_planner, django_capture_on_commit_callbacks
):
    run = start(tea_backtested, supply_planner, django_capture_on_commit_callbacks)
    tea = company["TEA"]
    target = StockTarget.objects.get(run=run, product=tea)
    assert target.safety_stock_method == SafetyStockMethod.QUANTILES
    # Class B (95 %), LT 30 days = 0.98563 months plus the review month: E = 1.98563.
    # The 95 % error is 30 after one month and 45 after two: 30 + 0.98563 * 15 = 44.784.
    exposure = 30 / projection.DAYS_PER_MONTH + 1
    assert target.safety_stock == pytest.approx(30 + (exposure - 1) * 15)
    assert target.order_up_to == pytest.approx(40 * exposure + target.safety_stock)
    # The one-month sigma (10) is still shown, but no longer sets the stock.
    assert target.demand_error_std == TEA_ERROR_STD
    # Month 1: 44.78 + 40 - 60 on hand -> 30 in lots of 10; month 2: 44.78 + 40 - 50 -> 40.
    assert plan_of(run, tea, "planned") == [0, 30, 40]
    assert plan_of(run, tea, "on_hand") == [60, 50, 50]


def test_without_a_backtest_error_the_std_of_recent_sales_stands_in(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    lamp, dc = company["LAMP"], company["dc"]
    SalesHistory.objects.bulk_create(
        SalesHistory(
            product=lamp,
            location=dc,
            month=sop_services.add_months(cycle.month, -k),
            quantity=40 if k % 2 else 60,
        )
        for k in range(1, 13)
    )
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    target = StockTarget.objects.get(run=run, product=lamp)
    std = np.std([40, 60] * 6, ddof=1)
    assert target.demand_error_std == pytest.approx(std)
    assert not target.error_from_forecast
    assert target.safety_stock_method == SafetyStockMethod.SALES
    # Class C: 90%; no lead time, one review month.
    assert target.safety_stock == pytest.approx(norm.ppf(0.90) * std)


def test_lowering_capacity_cuts_the_lowest_priority_sku_and_shows_the_shortage(
    published, cycle, company, supply_planner
):
    def row_ids(sku: str) -> set[int]:
        rows = InventoryProjection.objects.filter(run=published, product=company[sku])
        return set(rows.values_list("pk", flat=True))

    tea_rows, bike_rows, lamp_rows = row_ids("TEA"), row_ids("BIKE"), row_ids("LAMP")
    services.capacity_adjustment_save(
        cycle=cycle,
        user=supply_planner,
        resource=company["line"],
        month=MONTHS[2],
        delta_hours=Decimal("-30"),
        reason="lost_shift",
        comment="Night shift cancelled",
        expected_version=None,
    )
    # Month 2 has 70 h for 110 h of need: month 0 takes 10 h of BIKE pre-built, the other
    # 30 h are cut from LAMP, the lower class.
    assert plan_of(published, company["LAMP"], "planned") == [50, 50, 20]
    assert plan_of(published, company["LAMP"], "shortage") == [0, 0, 30]
    assert plan_of(published, company["LAMP"], "unmet") == [0, 0, 30]
    assert plan_of(published, company["BIKE"], "planned") == [50, 50, 50]
    load = CapacityLoad.objects.get(run=published, month=MONTHS[2])
    assert (load.available_hours, load.load) == (70, 70)
    shortage = selectors.shortage_list(run=published)
    assert [(r["sku"], r["unmet"], r["value"]) for r in shortage] == [("LAMP", 30, 300)]
    # Only the line's group was recomputed (TEA's rows are the ones the run wrote), and of
    # it only LAMP, whose plan changed, was rewritten.
    assert row_ids("TEA") == tea_rows
    assert row_ids("BIKE") == bike_rows
    assert not row_ids("LAMP") & lamp_rows


def test_a_fixed_planned_supply_is_firm_and_the_rest_fits_around_it(
    published, cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        edit = services.planned_supply_save(
            cycle=cycle,
            user=supply_planner,
            product=company["BIKE"],
            location=company["dc"],
            month=MONTHS[1],
            quantity=Decimal("80"),
            reason="campaign",
            comment="One long BIKE campaign in December",
            expected_version=None,
        )
        # Until the background recompute has run, the SKU is pending and its plan is the
        # engine's before the edit.
        assert list(PlanRecompute.objects.values_list("product__sku", flat=True)) == ["BIKE"]
        assert plan_of(published, company["BIKE"], "planned") == [50, 50, 50]
    assert not PlanRecompute.objects.exists()
    assert edit.version == 1
    # BIKE month 1 stays 80 (firm, never moved or cut), leaving LAMP 20 h there: of its
    # 50, 20 are pre-built into month 0's free hours and 10 are cut. BIKE month 2 nets
    # against the 20 the campaign leaves in stock.
    assert plan_of(published, company["BIKE"], "planned") == [30, 80, 40]
    assert plan_of(published, company["BIKE"], "firm") == [False, True, False]
    assert plan_of(published, company["LAMP"], "planned") == [70, 20, 50]
    assert plan_of(published, company["LAMP"], "shortage") == [0, 10, 0]
    event = AuditEvent.objects.get(object_type="planned_supply")
    assert (event.user, event.new["quantity"], event.reason) == (
        supply_planner,
        "80",
        "One long BIKE campaign in December",
    )

    # Released: the engine plans the cell again.
    with django_capture_on_commit_callbacks(execute=True):
        services.planned_supply_save(
            cycle=cycle,
            user=supply_planner,
            product=company["BIKE"],
            location=company["dc"],
            month=MONTHS[1],
            quantity=None,
            reason="campaign",
            comment="Campaign cancelled",
            expected_version=1,
        )
    assert not PlannedSupplyEdit.objects.exists()
    assert plan_of(published, company["BIKE"], "planned") == [50, 50, 50]


def test_an_edit_of_a_cell_someone_else_changed_is_refused(
    published, cycle, company, supply_planner, make_user
):
    other = make_user(Role.SUPPLY_PLANNER, username="other", first_name="Olga")
    kwargs = {
        "cycle": cycle,
        "product": company["BIKE"],
        "location": company["dc"],
        "month": MONTHS[1],
        "reason": "campaign",
        "comment": "Campaign",
    }
    services.planned_supply_save(
        user=other, quantity=Decimal("70"), expected_version=None, **kwargs
    )
    with pytest.raises(EditConflict, match="changed by Olga"):
        services.planned_supply_save(
            user=supply_planner, quantity=Decimal("90"), expected_version=None, **kwargs
        )
    assert PlannedSupplyEdit.objects.get().quantity == 70
    services.planned_supply_save(
        user=supply_planner, quantity=Decimal("90"), expected_version=1, **kwargs
    )
    with pytest.raises(EditConflict):
        services.planned_supply_save(
            user=other, quantity=Decimal("75"), expected_version=1, **kwargs
        )
    assert PlannedSupplyEdit.objects.get().quantity == 90


def test_a_failed_run_leaves_the_previous_published_plan(
    published, cycle, supply_planner, monkeypatch, django_capture_on_commit_callbacks
):
    rows = InventoryProjection.objects.filter(run=published).count()

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(services.results, "plan_supply", broken)
    failed = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert failed.status == JobStatus.FAILED
    assert "engine exploded" in failed.error
    assert not failed.is_published
    published.refresh_from_db()
    assert published.is_published
    assert selectors.supply_run_published(cycle=cycle) == published
    assert InventoryProjection.objects.filter(run=published).count() == rows


def test_a_new_run_replaces_the_published_one_and_drops_the_old_rows(
    published, cycle, supply_planner, django_capture_on_commit_callbacks
):
    second = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    published.refresh_from_db()
    assert second.is_published and not published.is_published
    assert not InventoryProjection.objects.filter(run=published).exists()
    assert InventoryProjection.objects.filter(run=second).count() == 3 * len(MONTHS)


def test_a_run_needs_consensus_demand(cycle, supply_planner):
    ConsensusDemand.objects.filter(cycle=cycle).delete()
    with pytest.raises(ValidationError, match="no consensus demand"):
        services.supply_run_start(cycle=cycle, user=supply_planner)
    assert not SupplyRun.objects.exists()


def test_the_gate_waits_for_a_supply_run(cycle, supply_planner):
    with pytest.raises(sop_services.TransitionRefused, match="has not run successfully"):
        sop_services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=supply_planner)


def test_the_gate_asks_for_a_recalculation_when_demand_changed_since_the_run(
    published, cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    assert selectors.supply_gate(cycle) is None
    # The demand planner's consensus rebuild replaces the rows.
    row = ConsensusDemand.objects.filter(cycle=cycle, product=company["BIKE"]).first()
    row.delete()
    row.pk, row.value = None, 75
    row.save()
    assert selectors.demand_changed_since(cycle=cycle, run=published)
    with pytest.raises(sop_services.TransitionRefused, match="recalculate"):
        sop_services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=supply_planner)

    start(cycle, supply_planner, django_capture_on_commit_callbacks)
    sop_services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=supply_planner)
    assert Cycle.objects.get(pk=cycle.pk).stage == Stage.RECONCILIATION


def test_a_demand_planner_cannot_run_or_edit_supply(published, cycle, company, make_user):
    demand_planner = make_user(Role.DEMAND_PLANNER)
    with pytest.raises(PermissionDenied):
        services.supply_run_start(cycle=cycle, user=demand_planner)
    with pytest.raises(PermissionDenied):
        services.capacity_adjustment_save(
            cycle=cycle,
            user=demand_planner,
            resource=company["line"],
            month=MONTHS[0],
            delta_hours=Decimal("-50"),
            reason="lost_shift",
            comment="x",
            expected_version=None,
        )
    assert not AuditEvent.objects.filter(object_type="capacity_adjustment").exists()


def test_the_plan_is_read_only_outside_the_supply_review(published, cycle, company, supply_planner):
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.RECONCILIATION)
    with pytest.raises(services.PlanReadOnly, match="read-only"):
        services.planned_supply_save(
            cycle=cycle,
            user=supply_planner,
            product=company["BIKE"],
            location=company["dc"],
            month=MONTHS[0],
            quantity=Decimal("10"),
            reason="campaign",
            comment="x",
            expected_version=None,
        )
    with pytest.raises(services.PlanReadOnly):
        services.supply_run_start(cycle=cycle, user=supply_planner)


def test_edits_wait_while_a_run_computes(published, cycle, company, supply_planner):
    SupplyRun.objects.create(cycle=cycle, status=JobStatus.RUNNING)
    with pytest.raises(services.PlanReadOnly, match="computing"):
        services.capacity_adjustment_save(
            cycle=cycle,
            user=supply_planner,
            resource=company["line"],
            month=MONTHS[0],
            delta_hours=Decimal("20"),
            reason="overtime",
            comment="Saturday shift",
            expected_version=None,
        )


def test_the_pareto_ranks_skus_by_revenue_estimating_missing_revenue_at_price(cycle, company):
    dc = company["dc"]
    last_month = sop_services.add_months(cycle.month, -1)
    SalesHistory.objects.bulk_create(
        [
            SalesHistory(product=company["BIKE"], location=dc, month=last_month,
                         quantity=80, revenue=800),
            SalesHistory(product=company["LAMP"], location=dc, month=last_month,
                         quantity=15, revenue=150),
            # No revenue recorded: 5 units at the price of 10.
            SalesHistory(product=company["TEA"], location=dc, month=last_month, quantity=5),
            # Older than the twelve months ranked.
            SalesHistory(product=company["TEA"], location=dc,
                         month=sop_services.add_months(cycle.month, -13), quantity=10**6),
        ]
    )  # fmt: skip
    pareto = selectors.pareto(cycle=cycle)
    assert pareto.skus == ["BIKE", "LAMP", "TEA"]
    assert pareto.revenue.tolist() == [800, 150, 50]
    assert pareto.revenue_share == pytest.approx([0.80, 0.95, 1.0])
    assert pareto.sku_share == pytest.approx([1 / 3, 2 / 3, 1])
    assert pareto.matrix["A"][""] == 1 and pareto.matrix["C"][""] == 1


@pytest.mark.django_db(transaction=True)  # the runs start on commit, as in production
def test_the_demo_company_gets_a_published_supply_plan(tmp_path, settings):
    """The generated company end to end: import, forecast, consensus, supply run."""
    import io

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command(
        "seed_demo",
        *["--skus", "20", "--locations", "2", "--months", "24", "--today", "2026-11-23"],
        *["--out", str(tmp_path)],
        stdout=io.StringIO(),
    )
    cycle = Cycle.objects.get(month=dt.date(2026, 11, 1))  # the past cycles are approved
    run = SupplyRun.objects.get(cycle=cycle)
    assert (run.status, run.is_published) == (JobStatus.SUCCEEDED, True), run.error
    series = ConsensusDemand.objects.filter(cycle=cycle).values("product", "location").distinct()
    assert run.sku_location_count >= series.count() > 0
    assert InventoryProjection.objects.filter(run=run).count() == (
        run.sku_location_count * cycle.horizon_months
    )
    assert selectors.supply_gate(cycle) is None
    # Every work centre of the company shows in the heatmap, loaded or not.
    heatmap = selectors.capacity_heatmap(run=run)
    assert len(heatmap.resources) == len(heatmap.available)
    assert (heatmap.available > 0).any() and (heatmap.load > 0).any()


def test_an_idle_resource_shows_its_capacity_and_can_be_changed(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    from sop.models import Capacity
    from tests.factories import ResourceFactory

    idle = ResourceFactory(code="SPARE")
    Capacity.objects.create(resource=idle, month=MONTHS[0], hours=40)
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert CapacityLoad.objects.get(run=run, resource=idle, month=MONTHS[0]).available_hours == 40
    services.capacity_adjustment_save(
        cycle=cycle,
        user=supply_planner,
        resource=idle,
        month=MONTHS[0],
        delta_hours=Decimal("-50"),
        reason="maintenance",
        comment="Overhaul",
        expected_version=None,
    )
    # Never below zero hours.
    assert CapacityLoad.objects.get(run=run, resource=idle, month=MONTHS[0]).available_hours == 0


def test_a_count_taken_later_in_the_first_month_does_not_open_the_plan(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    # TEA was counted at 100 on the 1st; by the 20th, 37 are left, after selling part of
    # the month's 40. Opening at 37 and taking all 40 again would show a stockout.
    tea = company["TEA"]
    InventorySnapshot.objects.create(
        product=tea, location=company["dc"], date=dt.date(2026, 11, 20), on_hand=37
    )
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert plan_of(run, tea, "on_hand") == [60, 30, 30]
    assert plan_of(run, tea, "unmet") == [0, 0, 0]
    # What-if scenarios start from the same opening stock.
    inputs, _ = services.supply_plan_inputs(cycle=cycle)
    assert inputs.on_hand[list(inputs.keys).index((tea.pk, company["dc"].pk))] == 100


def test_a_sku_first_counted_during_the_first_month_opens_at_that_count(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    tea = company["TEA"]
    InventorySnapshot.objects.filter(product=tea).update(date=dt.date(2026, 11, 20))
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert plan_of(run, tea, "on_hand")[0] == 60


def test_a_resource_month_without_capacity_is_planned_unconstrained_not_as_a_shutdown(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    # Nobody imported the line's January capacity. Read as 0 hours it would cut BIKE
    # (class A) and LAMP to nothing that month: a stockout made of missing data.
    Capacity.objects.filter(resource=company["line"], month=MONTHS[2]).delete()
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert plan_of(run, company["BIKE"], "planned") == [40, 50, 60]
    assert plan_of(run, company["LAMP"], "planned") == [50, 50, 50]
    assert plan_of(run, company["BIKE"], "unmet") == [0, 0, 0]
    assert plan_of(run, company["LAMP"], "unmet") == [0, 0, 0]
    assert selectors.capacity_gaps(cycle=cycle) == [{"code": "LINE", "months": [MONTHS[2]]}]


def test_a_resource_month_entered_with_zero_hours_is_a_shutdown(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    Capacity.objects.filter(resource=company["line"], month=MONTHS[2]).update(hours=0)
    run = start(cycle, supply_planner, django_capture_on_commit_callbacks)
    assert plan_of(run, company["BIKE"], "planned")[2] == 0
    assert sum(plan_of(run, company["LAMP"], "unmet")) > 0
    assert selectors.capacity_gaps(cycle=cycle) == []


def test_the_cycle_checklist_flags_missing_capacity(cycle, company):
    from sop.selectors import cycle_checklist

    def capacity_check():
        (supply,) = [g for g in cycle_checklist(cycle=cycle) if g["stage"] == Stage.SUPPLY_REVIEW]
        (check,) = [c for c in supply["checks"] if c.label.startswith("Capacity entered")]
        return check

    assert capacity_check().state == "done"
    Capacity.objects.filter(resource=company["line"], month=MONTHS[2]).delete()
    check = capacity_check()
    assert check.state == "todo"
    assert "No capacity entered for LINE in Jan 2027" in check.detail
