"""Notifications inside the app: who hears of a stage move, and the e-mail copy.

A transition notifies the owners of the stage the cycle enters (everyone with a role when
the plan is approved); a failed scheduled pull notifies the admins (`notify_admins`). The
rows are written in the caller's transaction; e-mails go out only after it commits, and
only when e-mail is configured (`SOP_NOTIFY_EMAIL`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from sop import workflow
from sop.choices import Role, Stage
from sop.formatting import format_day
from sop.models import CycleTransition, Notification
from sop.roles import display_name

logger = logging.getLogger(__name__)


def transition_recipients(*, transition: CycleTransition) -> QuerySet:
    """The active users who should hear of this move; the mover already knows."""
    if transition.to_stage == Stage.APPROVED:
        roles = [str(r) for r in Role]
    else:
        roles = [str(r) for r in workflow.STAGE_OWNERS.get(transition.to_stage, ())]
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .exclude(pk=transition.user_id)
        .distinct()
        .order_by("pk")
    )


def transition_message(*, transition: CycleTransition) -> str:
    who = display_name(transition.user)
    cycle = transition.cycle
    to_label = Stage(transition.to_stage).label
    if transition.to_stage == Stage.APPROVED:
        text = f"{cycle} was approved by {who}."
    elif workflow.STAGE_ORDER.index(transition.to_stage) < workflow.STAGE_ORDER.index(
        transition.from_stage
    ):
        text = f"{cycle} was sent back to {to_label.lower()} by {who}: it waits on you."
    else:
        due = cycle.due_date(transition.to_stage)
        text = f"{cycle} moved to {to_label.lower()} ({who}): it waits on you"
        text += f", due {format_day(due)}." if due else "."
    if transition.comment:
        text += f" “{transition.comment[:300]}”"
    return text


def notify_transition(*, transition: CycleTransition) -> list[Notification]:
    """Write a notification for each recipient of the move; e-mail them after commit."""
    recipients = list(transition_recipients(transition=transition))
    if not recipients:
        return []
    message = transition_message(transition=transition)
    url = f"{reverse('sop:home')}?cycle={transition.cycle_id}"
    created = Notification.objects.bulk_create(
        Notification(recipient=user, cycle_id=transition.cycle_id, message=message, url=url)
        for user in recipients
    )
    if settings.SOP_NOTIFY_EMAIL:
        subject = f"S&OP: {transition.cycle} is in {Stage(transition.to_stage).label.lower()}"
        addresses = [u.email for u in recipients if u.email]
        transaction.on_commit(lambda: _email(subject=subject, body=message, to=addresses))
    return created


def notify_admins(*, subject: str, message: str, url: str = "") -> list[Notification]:
    """Tell every active admin something that needs them (a failed scheduled pull)."""
    admins = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.ADMIN)
        .distinct()
        .order_by("pk")
    )
    created = Notification.objects.bulk_create(
        Notification(recipient=user, message=message[:500], url=url) for user in admins
    )
    if settings.SOP_NOTIFY_EMAIL:
        addresses = [u.email for u in admins if u.email]
        transaction.on_commit(lambda: _email(subject=subject, body=message, to=addresses))
    return created


def _email(*, subject: str, body: str, to: list[str]) -> int:
    """Send one e-mail per address; a mail server failure is logged, never raised.

    The stage move has committed by now; a down SMTP server must not turn it into an error
    page, and the in-app notification is there either way.
    """
    if not to:
        return 0
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in to]
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:
        logger.exception("Could not e-mail %d notification(s): %s", len(to), subject)
        return 0


def notifications_mark_read(*, user: AbstractBaseUser, pk: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())
