from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from sop import services, steps
from sop.choices import Role, Stage
from sop.models import AuditEvent, CycleTransition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_data_checks")]


@pytest.fixture(autouse=True)
def _without_the_reconciliation_gate():
    """These tests walk an empty cycle through the stage machine itself.

    The reconciliation gate wants a recommended scenario computed on a supply plan, which
    an empty cycle cannot have; it is tested with a real plan in tests/reconciliation.
    """
    step = steps.step("reconciliation")
    steps.register_step(dataclasses.replace(step, gate=lambda cycle: None))
    yield
    steps.register_step(step)


@pytest.fixture
def cycle(make_user):
    return services.cycle_open(month=dt.date(2026, 11, 17), user=make_user(Role.ADMIN))


def walk(cycle, make_user, *moves):
    for role, target in moves:
        services.cycle_advance(cycle=cycle, target=target, user=make_user(role))


def test_opening_a_cycle_starts_in_draft_on_the_first_of_the_month(cycle):
    assert cycle.month == dt.date(2026, 11, 1)
    assert cycle.stage == Stage.DRAFT
    assert cycle.demand_review_due < cycle.executive_review_due


def test_only_an_admin_opens_a_cycle(make_user):
    with pytest.raises(PermissionDenied):
        services.cycle_open(month=dt.date(2026, 12, 1), user=make_user(Role.DEMAND_PLANNER))


def test_the_full_cycle_walks_through_every_stage_with_its_owner(cycle, make_user):
    walk(
        cycle,
        make_user,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
        (Role.EXECUTIVE, Stage.APPROVED),
    )
    cycle.refresh_from_db()
    assert cycle.stage == Stage.APPROVED
    assert list(CycleTransition.objects.values_list("to_stage", flat=True)) == [
        Stage.DEMAND_REVIEW,
        Stage.SUPPLY_REVIEW,
        Stage.RECONCILIATION,
        Stage.EXECUTIVE_REVIEW,
        Stage.APPROVED,
    ]
    assert AuditEvent.objects.filter(action="cycle.transition").count() == 5


def test_it_refuses_an_out_of_order_transition(cycle, make_user):
    with pytest.raises(services.TransitionRefused):
        services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=make_user(Role.ADMIN))
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DRAFT


@pytest.mark.parametrize("role", [Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE, Role.ADMIN])
def test_only_a_demand_planner_submits_the_demand_review(cycle, make_user, role):
    walk(cycle, make_user, (Role.ADMIN, Stage.DEMAND_REVIEW))
    with pytest.raises(PermissionDenied):
        services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=make_user(role))
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DEMAND_REVIEW


@pytest.mark.parametrize(
    "role", [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.ADMIN]
)
def test_a_non_executive_cannot_approve(cycle, make_user, role):
    walk(
        cycle,
        make_user,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
    )
    with pytest.raises(PermissionDenied):
        services.cycle_advance(cycle=cycle, target=Stage.APPROVED, user=make_user(role))


def test_send_back_needs_a_comment_and_reopens_reconciliation(cycle, make_user):
    walk(
        cycle,
        make_user,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.SUPPLY_PLANNER, Stage.EXECUTIVE_REVIEW),
    )
    executive = make_user(Role.EXECUTIVE)
    with pytest.raises(services.TransitionRefused):
        services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=executive)
    services.cycle_advance(
        cycle=cycle, target=Stage.RECONCILIATION, user=executive, comment="Margin too thin"
    )
    cycle.refresh_from_db()
    assert cycle.stage == Stage.RECONCILIATION
    assert cycle.transitions.last().comment == "Margin too thin"


def test_approved_is_final(cycle, make_user):
    walk(
        cycle,
        make_user,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
        (Role.EXECUTIVE, Stage.APPROVED),
    )
    with pytest.raises(services.TransitionRefused):
        services.cycle_advance(
            cycle=cycle, target=Stage.RECONCILIATION, user=make_user(Role.EXECUTIVE), comment="x"
        )


def test_a_failing_gate_blocks_the_stage_and_says_why(cycle, make_user):
    def no_forecast(c):
        return "The forecast run for this cycle has not succeeded."

    demand = steps.step("demand")
    steps.register_step(dataclasses.replace(demand, gate=no_forecast))
    try:
        walk(cycle, make_user, (Role.ADMIN, Stage.DEMAND_REVIEW))
        with pytest.raises(services.TransitionRefused, match="forecast run"):
            services.cycle_advance(
                cycle=cycle, target=Stage.SUPPLY_REVIEW, user=make_user(Role.DEMAND_PLANNER)
            )
    finally:
        steps.register_step(demand)
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DEMAND_REVIEW
