"""Reads of the core."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from sop import workflow
from sop.choices import Stage
from sop.models import (
    AuditEvent,
    Cycle,
    CycleTransition,
    ImportJob,
    Notification,
    SalesHistory,
)
from sop.roles import user_roles
from sop.services import add_months

STAGE_INDEX = {stage: index for index, stage in enumerate(workflow.STAGE_ORDER)}


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


def cycles_waiting_on(*, cycles: list[Cycle], user, exclude: Cycle | None = None) -> list[Cycle]:
    """The other open cycles whose current stage is owned by one of the user's roles."""
    roles = user_roles(user)
    return [
        c
        for c in cycles
        if c != exclude
        and c.stage != Stage.APPROVED
        and roles & {str(o) for o in workflow.STAGE_OWNERS.get(c.stage, ())}
    ]


def import_jobs_recent(*, limit: int = 50) -> QuerySet[ImportJob]:
    # The error report can be megabytes per job; the list does not show it.
    return ImportJob.objects.select_related("created_by").defer("errors", "errors_csv")[:limit]


def notifications_unread(*, user, limit: int = 20) -> list[Notification]:
    if not user.is_authenticated:
        return []
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return list(unread.select_related("cycle")[:limit])


def notifications_unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# --- the cycle home ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of a stage's checklist. `state`: done, todo, info or later (not reached)."""

    label: str
    state: str
    detail: str = ""


def cycle_list() -> list[Cycle]:
    # One row a month: a few dozen rows, read whole because the page shows their due dates.
    return list(Cycle.objects.order_by("-month"))


def cycle_stage_rows(*, cycle: Cycle, history: list[CycleTransition]) -> list[dict]:
    """Each stage with its owners, due date, when it was done, and whether it is late."""
    today = timezone.localdate()
    position = STAGE_INDEX[cycle.stage]
    # The last move out of a stage says when it was done (a send-back reopens it).
    finished = {
        t.from_stage: t for t in history if STAGE_INDEX[t.to_stage] > STAGE_INDEX[t.from_stage]
    }
    rows = []
    for stage in workflow.STAGE_ORDER:
        index = STAGE_INDEX[stage]
        due = cycle.due_date(stage)
        done = index < position
        move = finished.get(stage) if done else None
        if done:
            late = bool(due and move and timezone.localdate(move.at) > due)
        else:
            late = bool(due and today > due)
        rows.append(
            {
                "stage": stage,
                "label": Stage(stage).label,
                "owners": [str(o) for o in workflow.STAGE_OWNERS[stage]],
                "due": due,
                "done": done,
                "current": index == position,
                "finished": move,
                "late": late,
            }
        )
    return rows


def cycle_checklist(*, cycle: Cycle) -> list[dict]:
    """What each stage needs, checked against the data for the stages reached so far.

    Stages not reached yet are listed unchecked: their inputs do not exist yet. A bounded
    number of queries (about a dozen), whatever the size of the plan.
    """
    position = STAGE_INDEX[cycle.stage]
    builders = {
        Stage.DRAFT: _checks_draft,
        Stage.DEMAND_REVIEW: _checks_demand,
        Stage.SUPPLY_REVIEW: _checks_supply,
        Stage.RECONCILIATION: _checks_reconciliation,
        Stage.EXECUTIVE_REVIEW: _checks_executive,
    }
    out = []
    for stage, build in builders.items():
        reached = STAGE_INDEX[stage] <= position
        checks = build(cycle) if reached else [Check(label, "later") for label in _LATER[stage]]
        out.append({"stage": stage, "label": Stage(stage).label, "checks": checks})
    return out


_LATER = {
    Stage.DRAFT: ["Sales history imported", "Assumptions and risks carried over"],
    Stage.DEMAND_REVIEW: [
        "Statistical forecast published",
        "Overrides reviewed",
        "Consensus demand built",
    ],
    Stage.SUPPLY_REVIEW: [
        "Supply plan run on the current consensus",
        "Capacity entered for every routed resource",
        "Supply edits",
    ],
    Stage.RECONCILIATION: ["Scenario recommended and current", "Decision log"],
    Stage.EXECUTIVE_REVIEW: ["Plan approved"],
}


def _checks_draft(cycle: Cycle) -> list[Check]:
    from reconciliation.models import DecisionLogEntry

    latest = SalesHistory.objects.aggregate(latest=Max("month"))["latest"]
    wanted = add_months(cycle.month, -1)
    if latest is None:
        sales = Check("Sales history imported", "todo", "No sales history imported yet.")
    elif latest >= wanted:
        sales = Check("Sales history imported", "done", f"Through {latest:%b %Y}.")
    else:
        sales = Check(
            "Sales history imported",
            "todo",
            f"Only through {latest:%b %Y}; {wanted:%b %Y} is missing.",
        )
    carried = DecisionLogEntry.objects.filter(cycle=cycle, carried_from__isnull=False).count()
    return [
        sales,
        Check(
            "Assumptions and risks carried over",
            "info",
            f"{carried} carried from the previous cycle when this one was opened.",
        ),
    ]


def _checks_demand(cycle: Cycle) -> list[Check]:
    from demand.models import ConsensusDemand, DemandOverride, ForecastRun
    from demand.selectors import forecast_gate

    run = (
        ForecastRun.objects.filter(cycle=cycle, is_published=True)
        .only("pk", "published_at")
        .first()
    )
    if run is not None:
        forecast = Check(
            "Statistical forecast published",
            "done",
            f"Run {run.pk}" + (f", {run.published_at:%d %b %H:%M}." if run.published_at else "."),
        )
    elif (gate := forecast_gate(cycle)) is None:
        forecast = Check("Statistical forecast published", "done", "No sales history to forecast.")
    else:
        forecast = Check("Statistical forecast published", "todo", gate)
    overrides = DemandOverride.objects.filter(cycle=cycle).aggregate(
        n=Count("id"),
        families=Count("family", distinct=True),
        authors=Count("author", distinct=True),
        last=Max("updated_at"),
    )
    # Every override carries a reason code and a comment (the service refuses one without).
    if overrides["n"]:
        detail = (
            f"{overrides['n']} overrides on {overrides['families']} families by "
            f"{overrides['authors']} planners, each with a reason and comment."
        )
    else:
        detail = "No overrides entered: the consensus is the statistical forecast."
    detail += (
        " The previous cycle's overrides still in the horizon were copied when the demand "
        "review started."
    )
    if overrides["last"]:
        detail += f" Last change {timezone.localtime(overrides['last']):%d %b %H:%M}."
    consensus = ConsensusDemand.objects.filter(cycle=cycle).exists()
    return [
        forecast,
        Check("Overrides reviewed", "info", detail),
        Check(
            "Consensus demand built",
            "done" if consensus else "todo",
            "" if consensus else "Built when the forecast is published.",
        ),
    ]


def _checks_supply(cycle: Cycle) -> list[Check]:
    from supply.models import CapacityAdjustment, PlannedSupplyEdit
    from supply.selectors import capacity_gap_warning, supply_gate

    gate = supply_gate(cycle)
    gaps = capacity_gap_warning(cycle=cycle)
    edits = PlannedSupplyEdit.objects.filter(cycle=cycle).count()
    adjustments = CapacityAdjustment.objects.filter(cycle=cycle).count()
    return [
        Check("Supply plan run on the current consensus", "todo" if gate else "done", gate or ""),
        # A warning, not part of the gate: the plan is valid, unconstrained where unknown.
        Check("Capacity entered for every routed resource", "todo" if gaps else "done", gaps),
        Check(
            "Supply edits",
            "info",
            f"{edits} planned-supply edits, {adjustments} capacity adjustments.",
        ),
    ]


def _checks_reconciliation(cycle: Cycle) -> list[Check]:
    from reconciliation.models import DecisionLogEntry, Scenario
    from reconciliation.selectors import reconciliation_gate

    gate = reconciliation_gate(cycle)
    if gate:
        scenario = Check("Scenario recommended and current", "todo", gate)
    else:
        name = Scenario.objects.filter(cycle=cycle, recommended=True).values_list("name", flat=True)
        scenario = Check("Scenario recommended and current", "done", f"{name.first()}.")
    kinds = dict(
        DecisionLogEntry.objects.filter(cycle=cycle)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    log = ", ".join(
        f"{kinds.get(k, 0)} {label.lower()}s" for k, label in DecisionLogEntry.Kind.choices
    )
    return [scenario, Check("Decision log", "info", log + ".")]


def _checks_executive(cycle: Cycle) -> list[Check]:
    if cycle.stage != Stage.APPROVED:
        return [Check("Plan approved", "todo", "Waiting on the executives.")]
    approval = cycle.transitions.filter(to_stage=Stage.APPROVED).select_related("user").last()
    detail = ""
    if approval is not None:
        detail = f"By {_name(approval.user)}, {timezone.localtime(approval.at):%d %b %Y %H:%M}."
    return [Check("Plan approved", "done", detail)]


def _name(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


# --- the audit trail -----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page is narrowed to; built from the query string, bad values ignored."""

    cycle: int | None = None
    user: int | None = None
    action: str = ""  # a prefix: "scenario." or "cycle.transition"
    object_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""  # free text in the reason or the object id

    @classmethod
    def from_query(cls, params) -> AuditFilters:
        return cls(
            cycle=_int(params.get("cycle")),
            user=_int(params.get("user")),
            action=params.get("action", "").strip()[:60],
            object_type=params.get("object_type", "").strip()[:60],
            date_from=_date(params.get("date_from")),
            date_to=_date(params.get("date_to")),
            q=params.get("q", "").strip()[:200],
        )

    def querystring(self) -> str:
        """The filters as a query string, for the pages and the export links."""
        values = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "")}
        return urlencode(
            {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}
        )


def audit_events(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The audit events matching the filters, newest first."""
    events = AuditEvent.objects.select_related("user", "cycle")
    if filters.cycle is not None:
        events = events.filter(cycle_id=filters.cycle)
    if filters.user is not None:
        events = events.filter(user_id=filters.user)
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    # Bounds on `at` itself, not on its date, so the index on `at` serves them.
    tz = timezone.get_current_timezone()
    if filters.date_from is not None:
        events = events.filter(at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tz))
    if filters.date_to is not None:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tz)
        events = events.filter(at__lt=end)
    if filters.q:
        events = events.filter(Q(reason__icontains=filters.q) | Q(object_id__icontains=filters.q))
    return events.order_by("-at", "-id")


def change_history(
    *, cycle: Cycle, object_types: Sequence[str], scope: Q | None = None, limit: int = 50
) -> QuerySet[AuditEvent]:
    """The cycle's changes of objects of these types, newest first.

    The audit trail is the one edit history: every edit writes its event (who, when, old,
    new, reason) in the transaction that makes it. `scope` narrows further.
    """
    events = AuditEvent.objects.filter(cycle=cycle, object_type__in=object_types)
    if scope is not None:
        events = events.filter(scope)
    return events.select_related("user")[:limit]


def audit_object_types() -> list[str]:
    return list(
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )


def audit_users() -> QuerySet:
    return (
        get_user_model()
        .objects.order_by("username")
        .only("pk", "username", "first_name", "last_name")
    )


def audit_changes(old, new, *, width: int = 80) -> list[str]:
    """old -> new in a few short lines: for dicts, one line per key that changed."""
    if isinstance(old, dict) or isinstance(new, dict):
        old, new = old or {}, new or {}
        if not isinstance(old, dict) or not isinstance(new, dict):
            return [f"{_short(old, width)} → {_short(new, width)}"]
        lines = []
        for key in [*old, *(k for k in new if k not in old)]:
            before, after = old.get(key), new.get(key)
            if key not in old:
                lines.append(f"{key}: {_short(after, width)}")
            elif key not in new:
                lines.append(f"{key}: {_short(before, width)} → removed")
            elif before != after:
                lines.append(f"{key}: {_short(before, width)} → {_short(after, width)}")
        return lines
    if old is None and new is None:
        return []
    if old is None:
        return [_short(new, width)]
    return [f"{_short(old, width)} → {_short(new, width)}"]


def _short(value, width: int) -> str:
    text = "—" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _date(raw) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
