"""A submitted stage is announced to the next stage's owners, in the app and by e-mail."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.core import mail

from sop import notifications, services, steps
from sop.choices import Role, Stage
from sop.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_data_checks")]


@pytest.fixture(autouse=True)
def _without_the_reconciliation_gate():
    """An empty cycle cannot have a recommended scenario; see tests/sop/test_workflow.py."""
    step = steps.step("reconciliation")
    steps.register_step(dataclasses.replace(step, gate=lambda cycle: None))
    yield
    steps.register_step(step)


@pytest.fixture
def team(make_user):
    return {role: make_user(role) for role in Role}


@pytest.fixture
def cycle(team):
    return services.cycle_open(month=dt.date(2026, 11, 1), user=team[Role.ADMIN])


def advance(cycle, team, role, target, comment=""):
    return services.cycle_advance(cycle=cycle, target=target, user=team[role], comment=comment)


def test_submitting_the_demand_plan_notifies_the_supply_planners_only(cycle, team, make_user):
    second_supply = make_user(Role.SUPPLY_PLANNER, username="supply2")
    advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    Notification.objects.all().delete()

    advance(cycle, team, Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW, comment="Promo in March")

    notes = Notification.objects.order_by("recipient__username")
    assert [n.recipient.username for n in notes] == ["supply", "supply2"]
    assert second_supply.pk in {n.recipient_id for n in notes}
    assert "supply review" in notes[0].message
    assert "Promo in March" in notes[0].message
    assert notes[0].url == f"/?cycle={cycle.pk}"


def test_the_mover_is_not_notified_of_their_own_move(cycle, team, make_user):
    advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    advance(cycle, team, Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW)
    Notification.objects.all().delete()

    # The reconciliation is owned by finance and supply planners; a supply planner moved it.
    advance(cycle, team, Role.SUPPLY_PLANNER, Stage.RECONCILIATION)

    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["finance"]


def test_an_approval_is_announced_to_everyone_with_a_role(cycle, team):
    for role, target in [
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
    ]:
        advance(cycle, team, role, target)
    Notification.objects.all().delete()

    advance(cycle, team, Role.EXECUTIVE, Stage.APPROVED)

    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"admin", "demand", "supply", "finance", "sales", "marketing"}
    assert "approved" in Notification.objects.first().message


def test_a_send_back_tells_the_reconciliation_owners_why(cycle, team):
    for role, target in [
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
    ]:
        advance(cycle, team, role, target)
    Notification.objects.all().delete()

    advance(cycle, team, Role.EXECUTIVE, Stage.RECONCILIATION, comment="Margin too thin")

    notes = list(Notification.objects.all())
    assert {n.recipient.username for n in notes} == {"finance", "supply"}
    assert all("sent back" in n.message and "Margin too thin" in n.message for n in notes)


def test_a_refused_move_notifies_nobody(cycle, team):
    with pytest.raises(services.TransitionRefused):
        advance(cycle, team, Role.ADMIN, Stage.SUPPLY_REVIEW)
    assert not Notification.objects.exists()


def test_notifications_are_e_mailed_after_commit_when_e_mail_is_configured(
    cycle, team, settings, django_capture_on_commit_callbacks
):
    settings.SOP_NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    assert mail.outbox == []  # nothing leaves before the move has committed

    for callback in callbacks:
        callback()

    assert [m.to for m in mail.outbox] == [["demand@example.com"]]
    assert "demand review" in mail.outbox[0].subject


def test_no_e_mail_is_sent_when_e_mail_is_not_configured(
    cycle, team, settings, django_capture_on_commit_callbacks
):
    settings.SOP_NOTIFY_EMAIL = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=team[Role.DEMAND_PLANNER]).exists()


def test_a_failing_mail_server_does_not_break_the_move(
    cycle, team, settings, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    settings.SOP_NOTIFY_EMAIL = True

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(notifications, "send_mass_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)

    cycle.refresh_from_db()
    assert cycle.stage == Stage.DEMAND_REVIEW
    assert "Could not e-mail" in caplog.text


def test_a_user_marks_only_their_own_notification_read(cycle, team, client_for):
    advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    note = Notification.objects.get(recipient=team[Role.DEMAND_PLANNER])
    from django.test import Client

    stranger = Client()
    stranger.force_login(team[Role.FINANCE])
    assert stranger.post(f"/notifications/{note.pk}/read/").status_code == 404

    planner = Client()
    planner.force_login(team[Role.DEMAND_PLANNER])
    page = planner.get("/").content.decode()
    assert "moved to demand review" in page
    assert 'class="badge warn notify"' in page

    response = planner.post(f"/notifications/{note.pk}/read/")
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None
    assert "moved to demand review" not in planner.get("/").content.decode()


def test_marking_read_needs_a_post(cycle, team):
    from django.test import Client

    advance(cycle, team, Role.ADMIN, Stage.DEMAND_REVIEW)
    note = Notification.objects.get(recipient=team[Role.DEMAND_PLANNER])
    planner = Client()
    planner.force_login(team[Role.DEMAND_PLANNER])
    assert planner.get(f"/notifications/{note.pk}/read/").status_code == 405
