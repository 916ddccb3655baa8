"""Reads of the core."""

from __future__ import annotations

from django.db.models import QuerySet

from sop import workflow
from sop.choices import Stage
from sop.models import Cycle, CycleTransition, ImportJob
from sop.roles import user_roles


def cycle_current() -> Cycle | None:
    """The newest cycle that is not approved, else the newest approved one."""
    open_cycle = Cycle.objects.exclude(stage=Stage.APPROVED).order_by("-month").first()
    return open_cycle or Cycle.objects.order_by("-month").first()


def cycle_history(*, cycle: Cycle) -> QuerySet[CycleTransition]:
    return cycle.transitions.select_related("user")


def cycle_moves_for(*, cycle: Cycle, user) -> list[dict]:
    """The moves out of the cycle's stage, with whether this user may make them and why not."""
    result = []
    for move in workflow.moves_from(cycle.stage):
        allowed = user.has_perm(move.permission)
        blockers = workflow.gate_failures(cycle, cycle.stage) if allowed else []
        result.append({"move": move, "allowed": allowed, "blockers": blockers})
    return result


def cycle_waiting_on(*, cycle: Cycle | None, user) -> bool:
    if cycle is None:
        return False
    owners = {str(o) for o in workflow.STAGE_OWNERS.get(cycle.stage, ())}
    return bool(owners & user_roles(user))


def import_jobs_recent(*, limit: int = 50) -> QuerySet[ImportJob]:
    # The error report can be megabytes per job; the list does not show it.
    return ImportJob.objects.select_related("created_by").defer("errors", "errors_csv")[:limit]
