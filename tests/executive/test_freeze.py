"""Approval freezes the recommended scenario; the approval record proves what was frozen."""

from __future__ import annotations

import hashlib

import pytest

from executive import selectors
from executive.models import FrozenFamilyMonth, FrozenPlanLine, FrozenResourceMonth
from reconciliation.models import ScenarioLine
from sop.choices import Stage

pytestmark = pytest.mark.django_db


def test_approval_snapshots_the_recommended_plan_with_who_when_and_why(approved, executive):
    approval = approved.approval
    assert approved.stage == Stage.APPROVED
    assert approval.approved_by == executive
    assert approval.approved_by_name == "Eve Executive"
    assert approval.comment == "Go"
    assert approval.scenario_name == "Base plan"
    run_lines = ScenarioLine.objects.filter(run_id=approval.run_id)
    assert FrozenPlanLine.objects.filter(approval=approval).count() == run_lines.count() == 9
    assert approval.line_count == 9
    assert FrozenFamilyMonth.objects.filter(approval=approval).count() == 9  # 3 families x 3
    assert FrozenResourceMonth.objects.filter(approval=approval).count() == 3
    assert approval.kpis["revenue"] > 0


def test_frozen_lines_carry_the_consensus_demand_and_the_planned_supply(approved, company):
    approval = approved.approval
    lines = {
        (line.sku, line.month.month): line
        for line in FrozenPlanLine.objects.filter(approval=approval)
    }
    bike = lines[("BIKE", 11)]
    assert float(bike.consensus) == 60
    assert bike.make_or_buy == "make"
    assert lines[("TEA", 11)].make_or_buy == "buy"
    # The hand-checked plan: BIKE pre-builds 10 of each later month into November.
    assert float(bike.planned) == pytest.approx(50)


def test_the_checksum_is_the_sha256_of_the_csv_export(approved):
    approval = approved.approval
    body = selectors.plan_csv(approval=approval)
    assert approval.checksum == hashlib.sha256(body).hexdigest()
    assert body.startswith(b"sku,location,month,kind,planned_quantity")


def test_an_approval_through_the_cycle_home_freezes_the_plan_too(in_review, executive, client):
    from django.urls import reverse

    client.force_login(executive)
    client.post(
        reverse("sop:cycle_advance", args=[in_review.pk]),
        {"target": Stage.APPROVED, "comment": "From the cycle home"},
    )
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED
    assert in_review.approval.comment == "From the cycle home"
    assert in_review.approval.line_count == 9


def test_approval_refuses_without_a_recommended_scenario(in_review, executive):
    from reconciliation.models import Scenario
    from sop.services import TransitionRefused, cycle_advance

    Scenario.objects.filter(cycle=in_review).update(recommended=False)
    with pytest.raises(TransitionRefused, match="recommended"):
        cycle_advance(cycle=in_review, target=Stage.APPROVED, user=executive)
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW
    assert not FrozenPlanLine.objects.exists()
