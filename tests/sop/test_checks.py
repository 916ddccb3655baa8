"""Moves whose checks fail are refused, by the service and on the cycle page: a failing
data check (sales history) may be overridden by an admin with a comment, which the history
keeps; a later cycle opens only once the newest one has left draft."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from sop import services
from sop.choices import Role, Stage
from sop.models import AuditEvent, Cycle, CycleTransition
from tests.factories import SalesHistoryFactory, UserFactory

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)
MISSING = "Sales history imported: Only through Sep 2026; Oct 2026 is missing."


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, first_name="Ada", last_name="Admin")


@pytest.fixture
def draft(admin):
    """November in draft, with sales only through September: October's are missing."""
    SalesHistoryFactory(month=dt.date(2026, 9, 1))
    return services.cycle_open(month=NOV, user=admin)


def start(cycle, user, **kwargs):
    return services.cycle_advance(cycle=cycle, target=Stage.DEMAND_REVIEW, user=user, **kwargs)


def test_a_failing_data_check_refuses_the_move_and_says_which(draft, admin):
    with pytest.raises(services.TransitionRefused) as refused:
        start(draft, admin, comment="Go")
    assert refused.value.messages == [MISSING]
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT
    assert not CycleTransition.objects.exists()


def test_no_sales_history_at_all_refuses_the_move(admin):
    cycle = services.cycle_open(month=NOV, user=admin)
    with pytest.raises(services.TransitionRefused, match="No sales history imported yet"):
        start(cycle, admin)


def test_the_move_passes_once_the_missing_month_is_imported(draft, admin):
    SalesHistoryFactory(month=dt.date(2026, 10, 1))
    start(draft, admin)
    draft.refresh_from_db()
    assert draft.stage == Stage.DEMAND_REVIEW
    assert not AuditEvent.objects.filter(action="cycle.check_override").exists()


def test_an_override_needs_a_comment(draft, admin):
    with pytest.raises(services.TransitionRefused, match="needs a comment saying why"):
        start(draft, admin, override=True, comment="  ")
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


def test_only_who_may_override_does(draft):
    # Someone who may start a cycle but not override a check (a custom group, say).
    starter = UserFactory(username="starter")
    starter.user_permissions.add(Permission.objects.get(codename="start_cycle"))
    with pytest.raises(PermissionDenied):
        start(draft, starter, override=True, comment="Trust me")
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


def test_an_admin_override_with_a_comment_moves_and_is_kept_in_the_history(draft, admin):
    start(draft, admin, override=True, comment="October's sales arrive Monday; start now")
    draft.refresh_from_db()
    assert draft.stage == Stage.DEMAND_REVIEW
    transition = CycleTransition.objects.get(cycle=draft)
    assert transition.comment == (
        "Data checks overridden (Sales history imported: Only through Sep 2026; Oct 2026 is "
        "missing.): October's sales arrive Monday; start now"
    )
    event = AuditEvent.objects.get(action="cycle.check_override")
    assert event.old == {"failing": [MISSING]}
    assert event.new == {"move": "Start demand review", "stage": Stage.DEMAND_REVIEW}
    assert event.reason == transition.comment
    assert event.user == admin


def test_a_gate_of_the_planning_work_cannot_be_overridden(draft, admin, make_user):
    SalesHistoryFactory(month=dt.date(2026, 10, 1))
    start(draft, admin)
    # The demand gate: sales history exists, so a forecast run must have succeeded.
    with pytest.raises(services.TransitionRefused, match="forecast"):
        services.cycle_advance(
            cycle=draft,
            target=Stage.SUPPLY_REVIEW,
            user=make_user(Role.DEMAND_PLANNER),
            override=True,
            comment="Skip it",
        )


# --- the cycle open rule -------------------------------------------------------------------


def test_a_later_cycle_waits_until_the_newest_has_left_draft(draft, admin):
    with pytest.raises(services.ValidationError) as refused:
        services.cycle_open(month=dt.date(2026, 12, 1), user=admin)
    assert refused.value.messages == [
        "Start the demand review of S&OP November 2026 before opening the December 2026 "
        "cycle: November is still in draft."
    ]
    # A past month may still be filled in.
    services.cycle_open(month=dt.date(2026, 10, 1), user=admin)
    start(draft, admin, override=True, comment="Sales come Monday")
    services.cycle_open(month=dt.date(2026, 12, 1), user=admin)
    assert Cycle.objects.count() == 3


# --- the cycle page ------------------------------------------------------------------------


def test_the_cycle_page_disables_a_move_whose_data_check_fails_and_says_why(draft, admin, client):
    client.force_login(admin)
    page = client.get("/", {"cycle": draft.pk}).content.decode()
    assert (
        '<button type="submit" class="primary" disabled aria-describedby="why-demand_review">'
        "Start demand review</button>" in page
    )
    assert '<div id="why-demand_review" class="move-blockers">' in page
    assert f'<p class="error">{MISSING}</p>' in page
    assert "Override the failing data check" in page
    assert "Start demand review anyway" in page
    # The next cycle is not offered while November is in draft.
    assert '<button type="submit" disabled aria-describedby="open-blocker">' in page
    assert "Start the demand review of S&amp;OP November 2026 before opening" in page


def test_the_server_refuses_the_move_the_button_would_not_offer(draft, admin, client):
    client.force_login(admin)
    url = reverse("sop:cycle_advance", args=[draft.pk])
    response = client.post(url, {"target": Stage.DEMAND_REVIEW}, follow=True)
    assert MISSING in response.content.decode()
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT
    response = client.post(url, {"target": Stage.DEMAND_REVIEW, "override": "1"}, follow=True)
    assert "Start demand review despite a failing data check needs a comment" in (
        response.content.decode()
    )
    client.post(
        url, {"target": Stage.DEMAND_REVIEW, "override": "1", "comment": "Sales come Monday"}
    )
    draft.refresh_from_db()
    assert draft.stage == Stage.DEMAND_REVIEW
    page = client.get("/", {"cycle": draft.pk}).content.decode()
    assert "Data checks overridden (Sales history imported" in page  # in the history table


def test_the_server_refuses_opening_a_cycle_the_button_would_not_offer(draft, admin, client):
    client.force_login(admin)
    response = client.post(reverse("sop:cycle_open"), follow=True)
    assert "before opening the December 2026 cycle" in response.content.decode()
    assert Cycle.objects.count() == 1


def test_a_planner_sees_no_override(draft, make_user, client):
    client.force_login(make_user(Role.DEMAND_PLANNER))
    page = client.get("/", {"cycle": draft.pk}).content.decode()
    assert "anyway" not in page
