"""The demo's past cycles are approved through the real path, so the pack compares."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from executive.models import FrozenPlanLine, PlanApproval
from sop.choices import Role, Stage
from sop.models import AuditEvent, Cycle, CycleTransition

pytestmark = pytest.mark.django_db


def test_the_demo_approves_its_past_cycles_and_the_pack_compares_every_kpi(
    tmp_path, settings, client_for
):
    settings.MEDIA_ROOT = tmp_path / "media"
    args = ["--skus", "16", "--locations", "2", "--months", "24", "--today", "2026-11-23"]
    call_command("seed_demo", *args, "--out", str(tmp_path), stdout=io.StringIO())

    past = list(Cycle.objects.filter(month__lt=dt.date(2026, 11, 1)).order_by("month"))
    assert [c.month for c in past] == [dt.date(2026, m, 1) for m in (8, 9, 10)]
    for cycle in past:
        assert cycle.stage == Stage.APPROVED
        # Every stage submitted by its owner, the last move the executive's approval.
        moves = list(
            CycleTransition.objects.filter(cycle=cycle)
            .order_by("at", "id")
            .values_list("to_stage", "user__username")
        )
        assert moves == [
            (Stage.DEMAND_REVIEW, "admin"),
            (Stage.SUPPLY_REVIEW, "demand"),
            (Stage.RECONCILIATION, "supply"),
            (Stage.EXECUTIVE_REVIEW, "finance"),
            (Stage.APPROVED, "exec"),
        ]
        approval = PlanApproval.objects.get(cycle=cycle)
        assert approval.approved_by.username == "exec"
        assert FrozenPlanLine.objects.filter(approval=approval).count() == approval.line_count > 0
    assert AuditEvent.objects.filter(action="cycle.transition", cycle__in=past).count() == 15

    # The last past cycle's pack compares each headline figure with the one before it.
    client = client_for(Role.EXECUTIVE)
    october = past[-1]
    pack = client.get(reverse("executive:signoff"), {"cycle": october.pk}).context["pack"]
    assert pack.previous == past[-2].approval
    missing = [k["label"] for k in pack.headline if k["change"] is None]
    assert missing == []

    # The approved plans list all three.
    listing = client.get(reverse("executive:approved")).content.decode()
    for cycle in past:
        assert reverse("executive:approved_detail", args=[cycle.approval.pk]) in listing
