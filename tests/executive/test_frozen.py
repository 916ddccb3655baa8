"""After approval nothing changes the plan: every service refuses, and so does the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from demand import services as demand_services
from demand.models import ConsensusDemand, DemandOverride
from executive.models import FrozenFamilyMonth, FrozenPlanLine, PlanApproval
from reconciliation import services as recon_services
from reconciliation.models import DecisionLogEntry, Scenario
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.models import Cycle
from supply import services as supply_services
from supply.models import CapacityAdjustment, PlannedSupplyEdit
from tests.supply.conftest import CYCLE_MONTH

pytestmark = pytest.mark.django_db
NOV = CYCLE_MONTH


@pytest.fixture
def demand_planner(make_user):
    return make_user(Role.DEMAND_PLANNER)


def refused(call) -> str:
    """Run a write expected to be refused by its service; return the message."""
    with pytest.raises(ValidationError) as caught:
        call()
    return " ".join(caught.value.messages)


def test_demand_writes_are_refused(approved, company, demand_planner):
    message = refused(
        lambda: demand_services.override_save(
            cycle=approved,
            user=demand_planner,
            month=NOV,
            value=Decimal("99"),
            reason="promotion",
            comment="late change",
            family="Bikes",
            expected_version=None,
        )
    )
    assert "read-only" in message
    assert "can no longer change" in refused(
        lambda: demand_services.forecast_run_start(cycle=approved, user=demand_planner)
    )
    refused(
        lambda: demand_services.forecast_sku_refresh(
            cycle=approved, product=company["BIKE"], user=demand_planner
        )
    )
    assert "approved" in refused(lambda: demand_services.consensus_rebuild(cycle=approved))
    assert not DemandOverride.objects.filter(cycle=approved).exists()


def test_supply_writes_are_refused(approved, company, supply_planner):
    assert "supply plan" in refused(
        lambda: supply_services.supply_run_start(cycle=approved, user=supply_planner)
    )
    assert "read-only" in refused(
        lambda: supply_services.planned_supply_save(
            cycle=approved,
            user=supply_planner,
            product=company["BIKE"],
            location=company["dc"],
            month=NOV,
            quantity=Decimal("5"),
            reason="other",
            comment="late change",
            expected_version=None,
        )
    )
    assert "read-only" in refused(
        lambda: supply_services.capacity_adjustment_save(
            cycle=approved,
            user=supply_planner,
            resource=company["line"],
            month=NOV,
            delta_hours=Decimal("10"),
            reason="overtime",
            comment="late change",
            expected_version=None,
        )
    )
    assert not PlannedSupplyEdit.objects.exists()
    assert not CapacityAdjustment.objects.exists()


def test_scenario_and_log_writes_are_refused(approved, finance):
    base = Scenario.objects.get(cycle=approved, is_base=True)
    delta = {"kind": "demand", "family": "Bikes", "start": "2026-11-01", "end": "2026-12-01",
             "percent": 10}  # fmt: skip
    calls = [
        lambda: recon_services.scenario_create(cycle=approved, name="Late", user=finance),
        lambda: recon_services.scenario_copy(scenario=base, name="Late copy", user=finance),
        lambda: recon_services.scenario_delta_add(
            scenario=base, delta=delta, version=None, user=finance
        ),
        lambda: recon_services.scenario_delta_remove(
            scenario=base, index=0, version=None, user=finance
        ),
        lambda: recon_services.scenario_recommend(scenario=base, user=finance),
        lambda: recon_services.scenario_run_start(scenario=base, user=finance),
        lambda: recon_services.scenario_delete(scenario=base, version=None, user=finance),
        lambda: recon_services.decision_add(cycle=approved, text="Late idea", user=finance),
    ]
    for call in calls:
        assert "approved" in refused(call)
    assert list(Scenario.objects.filter(cycle=approved).values_list("name", flat=True)) == [
        "Base plan"
    ]
    assert not DecisionLogEntry.objects.filter(cycle=approved).exists()


def test_an_approved_cycle_cannot_be_sent_back(approved, executive):
    with pytest.raises(sop_services.TransitionRefused):
        sop_services.cycle_advance(
            cycle=approved, target=Stage.RECONCILIATION, user=executive, comment="Too late"
        )


# --- the database -----------------------------------------------------------------------


def rejected(write) -> None:
    """The write fails in the database itself."""
    with pytest.raises(DatabaseError, match=r"frozen|final"), transaction.atomic():
        write()


@pytest.mark.postgres
def test_the_database_rejects_changes_to_the_frozen_plan(approved):
    approval = PlanApproval.objects.get(cycle=approved)
    line = FrozenPlanLine.objects.filter(approval=approval).first()
    rejected(lambda: FrozenPlanLine.objects.filter(pk=line.pk).update(planned=1))
    rejected(lambda: FrozenPlanLine.objects.filter(pk=line.pk).delete())
    rejected(lambda: FrozenFamilyMonth.objects.filter(approval=approval).update(revenue=0))
    rejected(lambda: PlanApproval.objects.filter(pk=approval.pk).update(comment="edited"))
    rejected(lambda: PlanApproval.objects.filter(pk=approval.pk).delete())
    rejected(lambda: FrozenPlanLine.objects.create(**{
        **{f.attname: getattr(line, f.attname) for f in FrozenPlanLine._meta.concrete_fields},
        "id": None, "month": dt.date(2027, 6, 1),
    }))  # fmt: skip
    line.refresh_from_db()
    assert line.planned == FrozenPlanLine.objects.get(pk=line.pk).planned


@pytest.mark.postgres
def test_the_database_rejects_changes_to_the_approved_cycles_plan_rows(approved, company):
    consensus = ConsensusDemand.objects.filter(cycle=approved)
    rejected(lambda: consensus.update(value=0))
    rejected(lambda: consensus.delete())
    rejected(
        lambda: ConsensusDemand.objects.create(
            cycle=approved,
            product=company["BIKE"],
            location=company["dc"],
            month=dt.date(2027, 6, 1),
            statistical=1,
            value=1,
        )
    )
    rejected(lambda: Scenario.objects.filter(cycle=approved).update(name="Renamed"))
    rejected(lambda: Scenario.objects.filter(cycle=approved).delete())
    rejected(lambda: DecisionLogEntry.objects.create(cycle=approved, text="sneaked in"))
    rejected(lambda: Cycle.objects.filter(pk=approved.pk).update(stage=Stage.RECONCILIATION))
    assert consensus.count() == 9


def test_the_database_rejects_changes_to_an_approved_cycles_input_streams(approved, company):
    from demand.models import ConsensusSource, InputStream, StreamEntry

    sales = InputStream.objects.get(code="sales")
    rejected(
        lambda: StreamEntry.objects.create(
            cycle=approved, stream=sales, level="family", family="Bikes",
            month=dt.date(2027, 1, 1), kind="absolute", value=Decimal(5),
        )
    )  # fmt: skip
    rejected(
        lambda: ConsensusSource.objects.create(
            cycle=approved, level="family", family="Bikes", weights={"sales": 100},
            reason="promotion", comment="sneaked in",
        )
    )  # fmt: skip
    assert not StreamEntry.objects.filter(cycle=approved).exists()
    assert not ConsensusSource.objects.filter(cycle=approved).exists()


@pytest.mark.postgres
def test_a_whole_approved_cycle_can_still_be_deleted(approved):
    Cycle.objects.filter(pk=approved.pk).delete()
    assert not PlanApproval.objects.exists()
    assert not FrozenPlanLine.objects.exists()


@pytest.mark.postgres
def test_other_cycles_stay_writable(approved, company):
    other = Cycle.objects.create(month=dt.date(2026, 12, 1), stage=Stage.DEMAND_REVIEW)
    ConsensusDemand.objects.create(
        cycle=other, product=company["BIKE"], location=company["dc"], month=other.month,
        statistical=1, value=1,
    )  # fmt: skip
    ConsensusDemand.objects.filter(cycle=other).update(value=2)
    ConsensusDemand.objects.filter(cycle=other).delete()
    Cycle.objects.filter(pk=other.pk).update(stage=Stage.SUPPLY_REVIEW)


@pytest.mark.postgres
def test_deleting_a_user_still_clears_their_name_from_an_approved_cycle(
    in_review, executive, make_user, django_capture_on_commit_callbacks
):
    from executive import services

    leaver = make_user(Role.DEMAND_PLANNER, username="leaver")
    recon_services.decision_add(cycle=in_review, text="Promo in March", user=leaver)
    services.plan_decide(cycle=in_review, user=executive, approve=True)
    leaver.delete()
    entry = DecisionLogEntry.objects.get(cycle=in_review)
    assert entry.author_id is None and entry.text == "Promo in March"


@pytest.mark.postgres
def test_deleting_one_approved_cycle_does_not_unlock_another(approved, company):
    older = Cycle.objects.create(month=dt.date(2026, 10, 1), stage=Stage.DEMAND_REVIEW)
    ConsensusDemand.objects.create(
        cycle=older, product=company["BIKE"], location=company["dc"], month=older.month,
        statistical=1, value=1,
    )  # fmt: skip
    Cycle.objects.filter(pk=older.pk).update(stage=Stage.APPROVED)
    with transaction.atomic():
        Cycle.objects.filter(pk=older.pk).delete()
        rejected(lambda: ConsensusDemand.objects.filter(cycle=approved).delete())
    assert not Cycle.objects.filter(pk=older.pk).exists()
    assert ConsensusDemand.objects.filter(cycle=approved).count() == 9
