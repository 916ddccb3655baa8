"""Scenarios through the services and the database, on the hand-checked company.

The base plan (see tests/supply/conftest.py) at the factory's unit price of 10 and unit
cost of 6, in each of the three months:

    Bikes  60 sold: revenue 600, COGS 360, margin 240; stock 20, 10, 0 -> 120, 60, 0
    Lamps  50 sold: revenue 500, COGS 300, margin 200; no stock
    Drinks 40 sold: revenue 400, COGS 240, margin 160; stock 60, 30, 30 -> 360, 180, 180

Nothing is lost to a stockout: the line's 10 missing hours of months 1 and 2 are
pre-built in month 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from scipy.stats import norm

from demand.models import ConsensusDemand
from reconciliation import scenarios as engine
from reconciliation import selectors, services
from reconciliation.models import (
    DecisionLogEntry,
    Scenario,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
    ScenarioRun,
)
from reconciliation.services import ScenarioReadOnly
from sop import services as sop_services
from sop import workflow
from sop.choices import JobStatus, Role, Stage
from sop.locking import EditConflict
from sop.models import Budget, Cycle
from supply import projection
from supply.models import CapacityLoad, InventoryProjection, PlannedSupplyEdit, StockTarget
from tests.supply.conftest import MONTHS, TEA_ERROR_STD

pytestmark = pytest.mark.django_db

PRICE, COST = 10.0, 6.0
SOLD = {"Bikes": 60, "Lamps": 50, "Drinks": 40}
STOCK_UNITS = {"Bikes": [20, 10, 0], "Lamps": [0, 0, 0], "Drinks": [60, 30, 30]}
ALL_MONTHS = {"start": MONTHS[0].isoformat(), "end": MONTHS[-1].isoformat()}
# What a scenario's plan line and the supply run's projection row have in common.
LINE_FIELDS = (
    "product_id",
    "location_id",
    "month",
    "demand",
    "planned",
    "shortage",
    "on_hand",
    "unmet",
    "excess_quantity",
)
LAST_TWO = {"start": MONTHS[1].isoformat(), "end": MONTHS[-1].isoformat()}


def run_of(scenario, user, capture) -> ScenarioRun:
    """Start a run of the scenario and let it finish (tasks run in-process)."""
    with capture(execute=True):
        run = services.scenario_run_start(scenario=scenario, user=user)
    run.refresh_from_db()
    return run


def base_run(cycle, user, capture) -> ScenarioRun:
    return run_of(services.scenario_base(cycle=cycle), user, capture)


def what_if(cycle, user, capture, *deltas: dict) -> ScenarioRun:
    scenario = services.scenario_create(cycle=cycle, name="What if", user=user, deltas=list(deltas))
    return run_of(scenario, user, capture)


def lines(run, product=None, *fields: str) -> list[tuple]:
    """The run's plan rows (of one product, if given) in a fixed order."""
    rows = ScenarioLine.objects.filter(run=run)
    if product is not None:
        rows = rows.filter(product=product)
    fields = fields or LINE_FIELDS
    return list(rows.order_by("product_id", "location_id", "month").values_list(*fields))


def family_rows(run, family: str | None = None) -> list[tuple]:
    rows = ScenarioFamilyMonth.objects.filter(run=run)
    if family is not None:
        rows = rows.filter(family=family)
    fields = [f.attname for f in ScenarioFamilyMonth._meta.concrete_fields]
    fields = [f for f in fields if f not in ("id", "run_id")]
    return list(rows.order_by("family", "month").values_list(*fields))


def family_column(run, family: str, field: str) -> list[float]:
    rows = ScenarioFamilyMonth.objects.filter(run=run, family=family).order_by("month")
    return list(rows.values_list(field, flat=True))


def resource_rows(run) -> list[tuple]:
    rows = ScenarioResourceMonth.objects.filter(run=run).order_by("resource_id", "month")
    return list(rows.values_list("resource_id", "month", "capacity", "load", "load_unconstrained"))


def frozen(queryset, order: list[str]) -> list[tuple]:
    """Every column of every row, in a fixed order: equal lists mean identical rows."""
    fields = [f.attname for f in queryset.model._meta.concrete_fields]
    return list(queryset.order_by(*order).values_list(*fields))


def published_plan(run) -> dict[str, list[tuple]]:
    natural = ["product_id", "location_id", "month"]
    return {
        "projection": frozen(InventoryProjection.objects.filter(run=run), natural),
        "targets": frozen(StockTarget.objects.filter(run=run), ["product_id", "location_id"]),
        "loads": frozen(CapacityLoad.objects.filter(run=run), ["resource_id", "month"]),
        "consensus": frozen(ConsensusDemand.objects.filter(cycle=run.cycle), natural),
    }


def scenario_result(run) -> dict[str, list[tuple]]:
    return {
        "run": frozen(ScenarioRun.objects.filter(pk=run.pk), ["id"]),
        "lines": frozen(ScenarioLine.objects.filter(run=run), ["product_id", "month"]),
        "families": frozen(ScenarioFamilyMonth.objects.filter(run=run), ["family", "month"]),
        "resources": frozen(
            ScenarioResourceMonth.objects.filter(run=run), ["resource_id", "month"]
        ),
    }


# --- the base plan in money ----------------------------------------------------------------


def test_the_base_scenario_reproduces_the_published_supply_plan(
    reconciling, published, finance, django_capture_on_commit_callbacks
):
    run = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED
    assert run.is_published
    assert run.sku_location_count == 3
    supply = InventoryProjection.objects.filter(run=published).order_by(
        "product_id", "location_id", "month"
    )
    assert lines(run) == list(supply.values_list(*LINE_FIELDS))
    loads = CapacityLoad.objects.filter(run=published).order_by("resource_id", "month")
    assert resource_rows(run) == list(
        loads.values_list("resource_id", "month", "available_hours", "load", "load_unconstrained")
    )


def test_the_base_scenarios_money_matches_the_hand_checked_plan(
    reconciling, finance, django_capture_on_commit_callbacks
):
    Budget.objects.create(family="Bikes", month=MONTHS[0], revenue=Decimal("700"), volume=70)
    Budget.objects.create(family="Bikes", month=MONTHS[1], revenue=Decimal("600"), volume=60)
    Budget.objects.create(family="Drinks", month=MONTHS[0], revenue=Decimal("500"), volume=50)
    run = base_run(reconciling, finance, django_capture_on_commit_callbacks)

    budget = {
        ("Bikes", MONTHS[0]): 700.0,
        ("Bikes", MONTHS[1]): 600.0,
        ("Drinks", MONTHS[0]): 500.0,
    }
    expected = []
    for family in sorted(SOLD):
        for month, stock in zip(MONTHS, STOCK_UNITS[family], strict=True):
            sold = SOLD[family]
            revenue, cogs = sold * PRICE, sold * COST
            planned = budget.get((family, month))
            expected.append(
                {
                    "family": family,
                    "month": month,
                    "volume": sold,
                    "revenue": revenue,
                    "cogs": cogs,
                    "gross_margin": revenue - cogs,
                    "margin_pct": 100 * (revenue - cogs) / revenue,  # 40 % at 10 and 6
                    "inventory_value": stock * COST,
                    "budget_revenue": planned,
                    "budget_gap": None if planned is None else revenue - planned,
                    "budget_gap_pct": None
                    if planned is None
                    else 100 * (revenue - planned) / planned,
                }
            )
    got = sorted(selectors.financial_rows(run=run), key=lambda r: (r["family"], r["month"]))
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert {key: row[key] for key in want} == pytest.approx(want)
    # Bikes in month 0: 600 sold against a budget of 700, 100 short (-14.3 %).
    assert got[0]["budget_gap"] == pytest.approx(-100)
    assert got[0]["budget_gap_pct"] == pytest.approx(-100 / 7)

    kpis = run.kpis
    assert kpis["revenue"] == pytest.approx(3 * 1500)
    assert kpis["cogs"] == pytest.approx(3 * 900)
    assert kpis["gross_margin"] == pytest.approx(3 * 600)
    assert kpis["margin_pct"] == pytest.approx(40)
    assert kpis["fill_rate"] == pytest.approx(1)
    assert kpis["unmet_units"] == pytest.approx(0)
    assert kpis["inventory_value_end"] == pytest.approx(30 * COST)
    assert kpis["inventory_value_avg"] == pytest.approx((480 + 240 + 180) / 3)
    # Budgeted family-months: revenue 600 + 600 + 400 = 1600 against 1800.
    assert kpis["budget_revenue"] == pytest.approx(1800)
    assert kpis["revenue_vs_budget"] == pytest.approx(-200)
    assert kpis["revenue_vs_budget_pct"] == pytest.approx(-100 / 9)
    assert kpis["sku_locations"] == 3


# --- each kind of delta changes what it should, and only that --------------------------------


def test_a_demand_delta_changes_only_its_familys_demand(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "demand", "family": "Drinks", "percent": 10, **LAST_TWO},
    )  # fmt: skip
    assert lines(run, company["TEA"], "demand") == [(40,), (44,), (44,)]
    # Bikes and Lamps share nothing with TEA: every figure of theirs stays.
    for sku in ("BIKE", "LAMP"):
        assert lines(run, company[sku]) == lines(base, company[sku])
    assert family_rows(run, "Bikes") == family_rows(base, "Bikes")
    assert family_rows(run, "Lamps") == family_rows(base, "Lamps")
    assert family_column(run, "Drinks", "demand") == [40, 44, 44]
    assert family_column(run, "Drinks", "revenue") == pytest.approx([400, 440, 440])
    assert resource_rows(run) == resource_rows(base)


def test_a_demand_delta_on_a_family_sharing_a_line_leaves_the_others_demand_alone(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "demand", "family": "Bikes", "percent": 10, **ALL_MONTHS},
    )  # fmt: skip
    assert lines(run, company["BIKE"], "demand") == [(66,), (66,), (66,)]
    # LAMP's demand is its own; its supply may yield to class A BIKE on the shared line.
    assert lines(run, company["LAMP"], "demand") == lines(base, company["LAMP"], "demand")
    assert lines(run, company["TEA"]) == lines(base, company["TEA"])
    assert run.kpis["demand_units"] == pytest.approx(base.kpis["demand_units"] + 18)


def test_a_capacity_delta_changes_that_resource_month_only(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "capacity", "resource": "LINE", "percent": -20,
         "start": MONTHS[2].isoformat(), "end": MONTHS[2].isoformat()},
    )  # fmt: skip
    capacity = ScenarioResourceMonth.objects.filter(run=run).order_by("month")
    assert list(capacity.values_list("capacity", flat=True)) == [100, 100, 80]
    assert all(r.load <= r.capacity + 1e-9 for r in capacity)
    assert lines(run, None, "product_id", "month", "demand") == lines(
        base, None, "product_id", "month", "demand"
    )
    assert lines(run, company["TEA"]) == lines(base, company["TEA"])
    # 300 h wanted, 280 h to be had: 20 units of the line's plan cannot be made.
    made = sum(p for (p,) in lines(run, company["BIKE"], "planned")) + sum(
        p for (p,) in lines(run, company["LAMP"], "planned")
    )
    assert made == pytest.approx(280)


def test_a_lead_time_delta_changes_only_what_is_bought_from_that_supplier(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "lead_time", "supplier": "LEAF", "days": 30},
    )  # fmt: skip
    for sku in ("BIKE", "LAMP"):
        assert lines(run, company[sku]) == lines(base, company[sku])
    assert lines(run, company["TEA"], "demand") == lines(base, company["TEA"], "demand")
    # 60 days: month 1 is inside the lead time too, and the safety stock grows.
    assert lines(base, company["TEA"], "planned") == [(0,), (10,), (40,)]
    tea = lines(run, company["TEA"], "planned", "on_hand")
    assert [planned for planned, _ in tea[:2]] == [0, 0]
    lead = 60 / projection.DAYS_PER_MONTH
    safety = norm.ppf(0.95) * np.sqrt((lead + 1) * TEA_ERROR_STD**2)
    assert tea[2][1] >= safety
    assert resource_rows(run) == resource_rows(base)


def test_a_price_and_cost_delta_changes_that_familys_money_not_the_volumes(
    reconciling, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "price_cost", "family": "Bikes", "price_percent": 10, "cost_percent": 5},
    )  # fmt: skip
    assert lines(run) == lines(base)
    assert resource_rows(run) == resource_rows(base)
    assert family_column(run, "Bikes", "volume") == [60, 60, 60]
    assert family_column(run, "Bikes", "revenue") == pytest.approx([660] * 3)
    assert family_column(run, "Bikes", "cogs") == pytest.approx([378] * 3)
    assert family_column(run, "Bikes", "inventory_value") == pytest.approx([126, 63, 0])
    assert family_rows(run, "Lamps") == family_rows(base, "Lamps")
    assert family_rows(run, "Drinks") == family_rows(base, "Drinks")
    assert run.kpis["revenue"] == pytest.approx(base.kpis["revenue"] + 180)


def test_the_drill_into_a_familys_gap_counts_lost_sales_at_the_scenarios_price(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "capacity", "resource": "LINE", "percent": -50, **ALL_MONTHS},
        {"kind": "price_cost", "family": "Lamps", "price_percent": 50},
    )  # fmt: skip
    lost = sum(u for (u,) in lines(run, company["LAMP"], "unmet"))
    assert lost > 0
    (lamp,) = selectors.sku_gaps(run=run, family="Lamps")
    assert lamp["unmet"] == pytest.approx(lost)
    assert lamp["unmet_revenue"] == pytest.approx(lost * PRICE * 1.5)
    assert lamp["unmet_revenue"] == pytest.approx(sum(family_column(run, "Lamps", "unmet_revenue")))


def test_a_service_level_delta_changes_the_safety_stock_of_its_class_only(
    reconciling, company, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "service_level", "abc_class": "B", "level": 0.99},
    )  # fmt: skip
    # TEA (class B): SS = z(99 %) * sqrt((1 month + 1 review month) * 10^2) = 32.8, so the
    # stock kept in months 1 and 2 needs lots of 10 up to 40 instead of 30.
    lead = 30 / projection.DAYS_PER_MONTH
    safety = norm.ppf(0.99) * np.sqrt((lead + 1) * TEA_ERROR_STD**2)
    assert 30 < safety < 40
    assert lines(run, company["TEA"], "planned", "on_hand") == [(0, 60), (20, 40), (40, 40)]
    for sku in ("BIKE", "LAMP"):  # classes A and C
        assert lines(run, company[sku]) == lines(base, company[sku])
    assert family_column(run, "Drinks", "inventory_value") == pytest.approx([360, 240, 240])


# --- deleting a scenario ---------------------------------------------------------------------


def test_deleting_a_scenario_removes_its_results_and_leaves_the_base_untouched(
    reconciling, published, finance, django_capture_on_commit_callbacks
):
    base = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    run = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "capacity", "resource": "LINE", "percent": -50, **ALL_MONTHS},
    )  # fmt: skip
    assert ScenarioLine.objects.filter(run=run).count() == 9
    plan_before, base_before = published_plan(published), scenario_result(base)

    services.scenario_delete(scenario=run.scenario, version=run.scenario.version, user=finance)

    assert not Scenario.objects.filter(pk=run.scenario_id).exists()
    assert not ScenarioRun.objects.filter(pk=run.pk).exists()
    for model in (ScenarioLine, ScenarioFamilyMonth, ScenarioResourceMonth):
        assert not model.objects.filter(run_id=run.pk).exists()
    assert published_plan(published) == plan_before
    assert scenario_result(base) == base_before


def test_the_base_plan_cannot_be_deleted_renamed_or_given_deltas(
    reconciling, finance, django_capture_on_commit_callbacks
):
    base = services.scenario_base(cycle=reconciling)
    with pytest.raises(ScenarioReadOnly):
        services.scenario_delete(scenario=base, version=None, user=finance)
    with pytest.raises(ScenarioReadOnly):
        services.scenario_rename(
            scenario=base, name="Mine", description="", version=None, user=finance
        )
    with pytest.raises(ScenarioReadOnly):
        services.scenario_delta_add(
            scenario=base,
            delta={"kind": "lead_time", "supplier": "LEAF", "days": 5},
            version=None,
            user=finance,
        )
    base.refresh_from_db()
    assert (base.name, base.deltas) == (services.BASE_NAME, [])


# --- permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FINANCE, Role.SUPPLY_PLANNER])
def test_finance_and_supply_planners_work_on_scenarios(
    role, reconciling, make_user, django_capture_on_commit_callbacks
):
    user = make_user(role)
    scenario = services.scenario_create(cycle=reconciling, name="Lost shift", user=user)
    copy = services.scenario_copy(scenario=scenario, name="Lost shift 2", user=user)
    copy = services.scenario_rename(
        scenario=copy, name="Two lost shifts", description="", version=copy.version, user=user
    )
    copy = services.scenario_delta_add(
        scenario=copy,
        delta={"kind": "capacity", "resource": "LINE", "hours": -20, **ALL_MONTHS},
        version=copy.version,
        user=user,
    )
    copy = services.scenario_recommend(scenario=copy, user=user)
    run = run_of(copy, user, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED
    assert run.created_by == user
    services.scenario_delete(scenario=scenario, version=scenario.version, user=user)
    assert list(Scenario.objects.filter(cycle=reconciling).values_list("name", "recommended")) == [
        (services.BASE_NAME, False),
        ("Two lost shifts", True),
    ]


SCENARIO_ACTIONS = {
    "create": lambda s, u: services.scenario_create(cycle=s.cycle, name="Mine", user=u),
    "copy": lambda s, u: services.scenario_copy(scenario=s, name="Mine", user=u),
    "rename": lambda s, u: services.scenario_rename(
        scenario=s, name="Mine", description="", version=s.version, user=u
    ),
    "delete": lambda s, u: services.scenario_delete(scenario=s, version=s.version, user=u),
    "add a delta": lambda s, u: services.scenario_delta_add(
        scenario=s,
        delta={"kind": "lead_time", "supplier": "LEAF", "days": 5},
        version=s.version,
        user=u,
    ),
    "recommend": lambda s, u: services.scenario_recommend(scenario=s, user=u),
    "run": lambda s, u: services.scenario_run_start(scenario=s, user=u),
}


@pytest.mark.parametrize("action", list(SCENARIO_ACTIONS))
@pytest.mark.parametrize("role", [Role.DEMAND_PLANNER, Role.EXECUTIVE, Role.ADMIN])
def test_other_roles_cannot_change_scenarios(role, action, reconciling, finance, make_user):
    scenario = services.scenario_create(cycle=reconciling, name="Theirs", user=finance)
    before = frozen(Scenario.objects.all(), ["id"])
    with pytest.raises(PermissionDenied):
        SCENARIO_ACTIONS[action](scenario, make_user(role))
    assert frozen(Scenario.objects.all(), ["id"]) == before
    assert not ScenarioRun.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE]
)
def test_every_planning_role_writes_to_the_decisions_log(role, reconciling, make_user):
    user = make_user(role)
    entry = services.decision_add(cycle=reconciling, text="Promo moved to March", user=user)
    assert (entry.author, entry.kind, entry.text) == (user, "decision", "Promo moved to March")


def test_an_admin_cannot_write_to_the_decisions_log(reconciling, make_user):
    with pytest.raises(PermissionDenied):
        services.decision_add(cycle=reconciling, text="Noted", user=make_user(Role.ADMIN))
    assert not DecisionLogEntry.objects.exists()


# --- read-only outside the reconciliation ----------------------------------------------------


def test_scenarios_cannot_be_created_before_the_reconciliation(published, finance):
    with pytest.raises(ScenarioReadOnly):
        services.scenario_create(cycle=published.cycle, name="Early", user=finance)
    assert not Scenario.objects.exists()


@pytest.mark.parametrize("action", [a for a in SCENARIO_ACTIONS if a != "create"])
def test_scenarios_are_read_only_once_the_reconciliation_is_submitted(action, reconciling, finance):
    scenario = services.scenario_create(cycle=reconciling, name="Kept", user=finance)
    Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.EXECUTIVE_REVIEW)
    scenario = Scenario.objects.select_related("cycle").get(pk=scenario.pk)
    before = frozen(Scenario.objects.all(), ["id"])
    with pytest.raises(ScenarioReadOnly):
        SCENARIO_ACTIONS[action](scenario, finance)
    assert frozen(Scenario.objects.all(), ["id"]) == before


def test_the_decisions_log_closes_when_the_plan_is_approved(reconciling, finance):
    Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.APPROVED)
    with pytest.raises(ScenarioReadOnly):
        services.decision_add(cycle=reconciling, text="Too late", user=finance)


# --- two people editing the same scenario ----------------------------------------------------


def test_an_edit_from_an_old_version_is_refused_and_not_saved(reconciling, finance, supply_planner):
    scenario = services.scenario_create(cycle=reconciling, name="Shared", user=finance)
    seen = scenario.version
    services.scenario_rename(
        scenario=scenario, name="Shared, renamed", description="", version=seen, user=finance
    )
    with pytest.raises(
        EditConflict, match=r"The scenario was changed by Fay Finance at .* now Shared, renamed"
    ):
        services.scenario_delta_add(
            scenario=scenario,
            delta={"kind": "lead_time", "supplier": "LEAF", "days": 5},
            version=seen,
            user=supply_planner,
        )
    scenario.refresh_from_db()
    assert (scenario.name, scenario.deltas, scenario.version) == ("Shared, renamed", [], seen + 1)
    assert scenario.updated_by == finance


# --- a failed run ----------------------------------------------------------------------------


def test_a_failed_run_keeps_the_scenarios_last_result(
    reconciling, finance, monkeypatch, django_capture_on_commit_callbacks
):
    good = what_if(
        reconciling, finance, django_capture_on_commit_callbacks,
        {"kind": "demand", "family": "Lamps", "units": 10, **ALL_MONTHS},
    )  # fmt: skip
    kept = scenario_result(good)

    def broken(*args, **kwargs):
        raise RuntimeError("the engine fell over")

    monkeypatch.setattr(engine, "run_scenario", broken)
    # Recorded on the run, not raised: the page reads the run row.
    run_of(good.scenario, finance, django_capture_on_commit_callbacks)

    failed = ScenarioRun.objects.exclude(pk=good.pk).get(scenario=good.scenario)
    assert failed.status == JobStatus.FAILED
    assert not failed.is_published
    assert failed.error == f"the engine fell over {services.KEPT}"
    assert not ScenarioLine.objects.filter(run=failed).exists()
    assert scenario_result(good) == kept
    view = next(v for v in selectors.scenario_views(cycle=reconciling) if v.run == good)
    assert view.is_current
    assert view.latest == failed


def test_a_run_finishing_after_the_reconciliation_was_submitted_is_not_published(
    reconciling, finance, monkeypatch, django_capture_on_commit_callbacks
):
    good = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    kept = scenario_result(good)
    write = services.runs._write

    def write_then_submit(*args, **kwargs):
        write(*args, **kwargs)
        Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.EXECUTIVE_REVIEW)

    monkeypatch.setattr(services.runs, "_write", write_then_submit)
    late = run_of(good.scenario, finance, django_capture_on_commit_callbacks)

    assert late.status == JobStatus.FAILED
    assert late.error == f"The reconciliation was submitted during the run. {services.KEPT}"
    assert scenario_result(good) == kept
    for model in (ScenarioLine, ScenarioFamilyMonth, ScenarioResourceMonth):
        assert not model.objects.filter(run_id=late.pk).exists()


# --- staleness and the gate --------------------------------------------------------------------


STALE_BASIS = "the demand, supply plan or budget changed since the last run"


def gate(cycle) -> list[str]:
    return workflow.gate_failures(cycle, Stage.RECONCILIATION)


def recommend_base(cycle, user) -> Scenario:
    return services.scenario_recommend(scenario=services.scenario_base(cycle=cycle), user=user)


def base_view(cycle) -> selectors.ScenarioView:
    return next(v for v in selectors.scenario_views(cycle=cycle) if v.scenario.is_base)


def test_the_gate_wants_a_recommended_scenario_computed_on_the_current_plan(
    reconciling, finance, django_capture_on_commit_callbacks
):
    assert gate(reconciling) == ["Mark one scenario as recommended (the base plan or a what-if)."]
    recommend_base(reconciling, finance)
    assert base_view(reconciling).stale_reasons == ["not computed yet"]
    assert gate(reconciling) == ["Re-run the recommended scenario 'Base plan': not computed yet."]
    base_run(reconciling, finance, django_capture_on_commit_callbacks)
    assert base_view(reconciling).is_current
    assert gate(reconciling) == []


def test_a_change_of_consensus_demand_makes_the_results_stale_until_rerun(
    reconciling, finance, django_capture_on_commit_callbacks
):
    base = recommend_base(reconciling, finance)
    base_run(reconciling, finance, django_capture_on_commit_callbacks)
    row = ConsensusDemand.objects.filter(cycle=reconciling).first()
    ConsensusDemand.objects.filter(pk=row.pk).update(value=row.value + 5)

    assert base_view(reconciling).stale_reasons == [STALE_BASIS]
    assert gate(reconciling) == [f"Re-run the recommended scenario 'Base plan': {STALE_BASIS}."]
    with pytest.raises(sop_services.TransitionRefused):
        sop_services.cycle_advance(cycle=reconciling, target=Stage.EXECUTIVE_REVIEW, user=finance)
    assert Cycle.objects.get(pk=reconciling.pk).stage == Stage.RECONCILIATION

    run_of(base, finance, django_capture_on_commit_callbacks)
    assert base_view(reconciling).is_current
    assert gate(reconciling) == []


def test_a_planned_supply_edit_makes_the_results_stale_until_rerun(
    reconciling, company, finance, supply_planner, django_capture_on_commit_callbacks
):
    base = recommend_base(reconciling, finance)
    base_run(reconciling, finance, django_capture_on_commit_callbacks)
    PlannedSupplyEdit.objects.create(
        cycle=reconciling,
        product=company["TEA"],
        location=company["dc"],
        month=MONTHS[1],
        quantity=Decimal("30"),
        reason="other",
        comment="Supplier confirmed a bigger lot",
        author=supply_planner,
    )
    assert base_view(reconciling).stale_reasons == [STALE_BASIS]
    assert gate(reconciling) == [f"Re-run the recommended scenario 'Base plan': {STALE_BASIS}."]

    run = run_of(base, finance, django_capture_on_commit_callbacks)
    assert lines(run, company["TEA"], "planned")[1] == (30,)
    assert gate(reconciling) == []


def test_a_new_budget_makes_the_results_stale_and_a_rerun_shows_the_gap(
    reconciling, finance, django_capture_on_commit_callbacks
):
    base = recommend_base(reconciling, finance)
    first = base_run(reconciling, finance, django_capture_on_commit_callbacks)
    assert family_column(first, "Lamps", "budget_revenue") == [None, None, None]
    Budget.objects.create(family="Lamps", month=MONTHS[2], revenue=Decimal("550"), volume=55)
    assert base_view(reconciling).stale_reasons == [STALE_BASIS]

    second = run_of(base, finance, django_capture_on_commit_callbacks)
    assert family_column(second, "Lamps", "budget_revenue") == [None, None, 550]
    assert second.kpis["revenue_vs_budget"] == pytest.approx(-50)
    # The new result replaces the old one, whose rows are dropped.
    assert not ScenarioRun.objects.filter(pk=first.pk).exists()
    assert not ScenarioLine.objects.filter(run_id=first.pk).exists()
    assert gate(reconciling) == []


def test_editing_the_recommended_scenarios_deltas_makes_it_stale(
    reconciling, finance, django_capture_on_commit_callbacks
):
    scenario = services.scenario_create(cycle=reconciling, name="Promo", user=finance)
    scenario = services.scenario_recommend(scenario=scenario, user=finance)
    run_of(scenario, finance, django_capture_on_commit_callbacks)
    assert gate(reconciling) == []
    services.scenario_delta_add(
        scenario=scenario,
        delta={"kind": "demand", "family": "Lamps", "percent": 20, **ALL_MONTHS},
        version=scenario.version,
        user=finance,
    )
    assert gate(reconciling) == [
        "Re-run the recommended scenario 'Promo': its changes were edited since the last run."
    ]


# --- entering the reconciliation --------------------------------------------------------------


def test_submitting_the_supply_review_computes_the_base_scenario(
    published, supply_planner, django_capture_on_commit_callbacks
):
    cycle = published.cycle
    with django_capture_on_commit_callbacks(execute=True):
        sop_services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=supply_planner)
    run = ScenarioRun.objects.get(cycle=cycle)
    assert run.scenario.is_base
    assert run.status == JobStatus.SUCCEEDED
    assert run.is_published
    assert run.kpis["revenue"] == pytest.approx(4500)
    assert base_view(cycle).is_current


# --- the decisions log across cycles -------------------------------------------------------------


def test_assumptions_carry_into_the_next_cycle_once(reconciling, finance, supply_planner):
    scenario = services.scenario_create(cycle=reconciling, name="Dry summer", user=finance)
    add = services.decision_add
    add(cycle=reconciling, text="Steel +5 % from March", user=finance, kind="assumption",
        scenario=scenario)  # fmt: skip
    add(cycle=reconciling, text="Pre-build bikes in November", user=finance, kind="decision")
    december = Cycle.objects.create(month=dt.date(2026, 12, 1), horizon_months=3)

    assert services.decisions_carry_over(cycle=december) == 1
    assert services.decisions_carry_over(cycle=december) == 0

    carried = DecisionLogEntry.objects.filter(cycle=december).order_by("created_at", "id")
    assert [(e.kind, e.text, e.scenario_id, e.scenario_name, e.author) for e in carried] == [
        ("assumption", "Steel +5 % from March", None, "Dry summer", finance),
    ]
    originals = DecisionLogEntry.objects.filter(cycle=reconciling)
    assert {e.carried_from_id for e in carried} == set(
        originals.exclude(kind="decision").values_list("pk", flat=True)
    )
    assert originals.count() == 2


def test_a_risk_goes_in_the_register_not_the_log(reconciling, finance):
    with pytest.raises(ValidationError, match="risk register"):
        services.decision_add(cycle=reconciling, text="LEAF may strike", user=finance, kind="risk")
