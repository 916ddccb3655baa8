"""Reads of the core."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from sop import checks, workflow
from sop.choices import EffectKind, EventScope, EventStatus, Stage
from sop.extract_reader import ReadOptions
from sop.formatting import format_month, format_number
from sop.models import (
    ApiToken,
    AuditEvent,
    Cycle,
    CycleTransition,
    Event,
    ImportJob,
    ImportProfile,
    ImportPull,
    ImportSource,
    Notification,
    Product,
)
from sop.months import add_months
from sop.roles import user_roles
from sop.steps import Check, Checklist

STAGE_INDEX = {stage: index for index, stage in enumerate(workflow.STAGE_ORDER)}


def cycle_previous(*, cycle: Cycle) -> Cycle | None:
    """The cycle of the month before `cycle`'s (the newest earlier one)."""
    return Cycle.objects.filter(month__lt=cycle.month).order_by("-month").first()


def cycle_current() -> Cycle | None:
    """The newest cycle that is not approved, else the newest approved one."""
    open_cycle = Cycle.objects.exclude(stage=Stage.APPROVED).order_by("-month").first()
    return open_cycle or Cycle.objects.order_by("-month").first()


def product_families(*, active_only: bool = False) -> list[str]:
    """The product families, sorted; `active_only`: of the active products only."""
    products = Product.objects.filter(active=True) if active_only else Product.objects.all()
    return list(products.order_by("family").values_list("family", flat=True).distinct())


@dataclass(frozen=True)
class LifecycleBadge:
    """A product's new or ending status, as the grids show it beside the SKU."""

    kind: str  # "new" | "ending"
    text: str


def product_lifecycle_badges(*, product_ids: Sequence[int]) -> dict[int, list[LifecycleBadge]]:
    """The lifecycle badges of the products: "New: like X at 80%, ramp 3 months" for a
    product named after a like product, "Ends Mar 2027" for one with an end of life. One
    query; products without either are left out."""
    rows = (
        Product.objects.filter(pk__in=list(product_ids))
        .filter(Q(like_product__isnull=False) | Q(end_of_life_month__isnull=False))
        .values_list(
            "pk", "like_product__sku", "like_factor", "launch_ramp_months", "end_of_life_month"
        )
    )
    badges: dict[int, list[LifecycleBadge]] = {}
    for pk, like, factor, ramp, end in rows:
        mine = badges.setdefault(pk, [])
        if like is not None:
            share = format_number(1 if factor is None else factor, "fraction")
            months = f", ramp {ramp} month{'s' if ramp != 1 else ''}" if ramp else ""
            mine.append(LifecycleBadge("new", f"New: like {like} at {share}{months}"))
        if end is not None:
            mine.append(LifecycleBadge("ending", f"Ends {format_month(end)}"))
    return badges


def cycle_history(*, cycle: Cycle) -> QuerySet[CycleTransition]:
    return cycle.transitions.select_related("user")


def cycle_moves_for(*, cycle: Cycle, user, checklist: list[dict] | None = None) -> list[dict]:
    """The moves out of the cycle's stage, with whether this user may make them and why not.

    `blockers` are the failing gates (nobody may skip them), `data_checks` the failing data
    checks as sentences; `overridable`: only data checks fail and this user may override
    them with a comment. The checks are read once for all the moves; `checklist`, the
    page's `cycle_checklist` if it has one, saves building the stage's lines again.
    """
    gates: list[str] | None = None
    data: list[str] | None = None
    can_override = user.has_perm(checks.OVERRIDE_PERMISSION)
    result = []
    for move in workflow.moves_from(cycle.stage):
        allowed = user.has_perm(move.permission)
        blockers: list[str] = []
        data_checks: list[str] = []
        if allowed:
            if gates is None:
                gates = workflow.gate_failures(cycle, cycle.stage)
            blockers = gates
            if workflow.is_forward(move):
                if data is None:
                    data = [
                        checks.check_sentence(c) for c in _data_check_failures(cycle, checklist)
                    ]
                data_checks = data
        result.append(
            {
                "move": move,
                "allowed": allowed,
                "blockers": blockers,
                "data_checks": data_checks,
                "overridable": bool(data_checks) and not blockers and can_override,
            }
        )
    return result


def _data_check_failures(cycle: Cycle, checklist: list[dict] | None) -> list[Check]:
    if checklist is None:
        return checks.data_check_failures(cycle, cycle.stage)
    return [
        check
        for group in checklist
        if group["stage"] == cycle.stage
        for check in group["checks"]
        if check.data_check and check.state == "todo"
    ]


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


def import_jobs() -> QuerySet[ImportJob]:
    """The import history, newest first."""
    # The error report can be megabytes per job; a list does not show it.
    return ImportJob.objects.select_related("created_by").defer(
        "errors", "errors_csv", "error_groups"
    )


def import_jobs_recent(*, limit: int = 50) -> QuerySet[ImportJob]:
    return import_jobs()[:limit]


def api_tokens(*, user=None) -> QuerySet[ApiToken]:
    """The API tokens of `user` (None: everyone's), newest first, active before revoked."""
    tokens = ApiToken.objects.select_related("user", "created_by")
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-id")


@dataclass(frozen=True)
class PlanFilters:
    """Which rows of a plan to read: by product family, SKU, location code and month range.

    The API's reads of the consensus, the supply plan and the approved plan share it; a
    model names where its rows keep each key (`apply`'s lookups).
    """

    family: str = ""
    sku: str = ""
    location: str = ""
    month_from: dt.date | None = None
    month_to: dt.date | None = None

    def apply(
        self,
        rows: QuerySet,
        *,
        family: str = "product__family",
        sku: str = "product__sku",
        location: str = "location__code",
        month: str = "month",
    ) -> QuerySet:
        lookups = {
            family: self.family,
            sku: self.sku,
            location: self.location,
            f"{month}__gte": self.month_from,
            f"{month}__lte": self.month_to,
        }
        return rows.filter(**{k: v for k, v in lookups.items() if v not in ("", None)})


def series_rows(rows: QuerySet, *fields: str, **named: object) -> QuerySet:
    """A plan's rows per product, location and month as plain dicts, in that order.

    Each row names its series as the API does (`sku`, `family`, `location_code`) beside the
    `fields` and `named` expressions asked for.
    """
    return rows.order_by("product__sku", "location__code", "month").values(
        "month",
        *fields,
        sku=F("product__sku"),
        family=F("product__family"),
        location_code=F("location__code"),
        **named,
    )


@dataclass(frozen=True)
class ProfileRow:
    """An import profile as its list shows it: what it states, and when it was last used."""

    profile: ImportProfile
    stated: list[str]
    jobs: int
    last_used: dt.datetime | None


def import_profiles_described() -> list[ProfileRow]:
    """Every import profile, by entity, with its options in words and its imports."""
    used = {
        row["profile"]: row
        for row in ImportJob.objects.filter(profile__isnull=False)
        .values("profile")
        .annotate(jobs=Count("id"), last=Max("created_at"))
    }
    return [
        ProfileRow(
            profile=profile,
            stated=ReadOptions.from_profile(profile).described(),
            jobs=used.get(profile.pk, {}).get("jobs", 0),
            last_used=used.get(profile.pk, {}).get("last"),
        )
        for profile in ImportProfile.objects.select_related("updated_by")
    ]


def import_sources_described() -> QuerySet:
    """Every import source with its profile and its last pull's outcome, time and message."""
    last = ImportPull.objects.filter(source=OuterRef("pk")).order_by("-at", "-id")
    return ImportSource.objects.select_related("profile").annotate(
        last_outcome=Subquery(last.values("outcome")[:1]),
        last_message=Subquery(last.values("message")[:1]),
        last_at=Subquery(last.values("at")[:1]),
    )


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

    The lines come from the core (sales history) and from each step's `checklist`, in the
    order of the stages. Stages not reached yet are listed unchecked: their inputs do not
    exist yet. A bounded number of queries (about a dozen), whatever the size of the plan.
    """
    position = STAGE_INDEX[cycle.stage]
    by_stage: dict[str, list[Checklist]] = {}
    for checklist in checks.checklists():
        by_stage.setdefault(checklist.stage, []).append(checklist)
    out = []
    for stage in workflow.STAGE_ORDER:
        if stage not in by_stage:
            continue
        reached = STAGE_INDEX[stage] <= position
        lines = [
            check
            for checklist in by_stage[stage]
            for check in (
                checklist.build(cycle)
                if reached
                else [Check(label, "later") for label in checklist.labels]
            )
        ]
        out.append({"stage": stage, "label": Stage(stage).label, "checks": lines})
    return out


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


# --- the events calendar ------------------------------------------------------------------

EVENT_WHEN = (
    ("planned", "Planned (ends this cycle or later)"),
    ("past", "Past (ended before this cycle)"),
)


@dataclass(frozen=True)
class EventFilters:
    """What the events list is narrowed to; built from the query string, bad values ignored.

    `family`, `product` and `location` keep the events that affect them: an event for all
    products affects every family, a family's event every product of it, an event without
    locations every location.
    """

    kind: str = ""
    status: str = ""
    family: str = ""
    product: int | None = None
    location: int | None = None
    month_from: dt.date | None = None
    month_to: dt.date | None = None
    owner: int | None = None
    when: str = ""  # planned | past

    @classmethod
    def from_query(cls, params) -> EventFilters:
        return cls(
            kind=params.get("kind", "").strip()[:20],
            status=params.get("status", "").strip()[:10],
            family=params.get("family", "").strip()[:100],
            product=_int(params.get("product")),
            location=_int(params.get("location")),
            month_from=_month(params.get("month_from")),
            month_to=_month(params.get("month_to")),
            owner=_int(params.get("owner")),
            when=params.get("when", "") if params.get("when") in ("planned", "past") else "",
        )

    def querystring(self) -> str:
        values = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "")}
        return urlencode(
            {k: v.strftime("%Y-%m") if isinstance(v, dt.date) else v for k, v in values.items()}
        )


def event_planning_month() -> dt.date:
    """The month that splits planned events from past ones: the latest cycle's month (the
    first month it plans), or this month when there is no cycle."""
    latest = Cycle.objects.order_by("-month").values_list("month", flat=True).first()
    return latest or timezone.localdate().replace(day=1)


def event_list(*, filters: EventFilters) -> QuerySet[Event]:
    """The events matching the filters: the planned ones first, soonest first, then the
    past ones, latest first."""
    events = Event.objects.select_related("product", "owner").prefetch_related("locations")
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.status:
        events = events.filter(status=filters.status)
    if filters.product is not None:
        product = Product.objects.filter(pk=filters.product).first()
        family = product.family if product else None
        events = events.filter(
            Q(scope=EventScope.ALL)
            | Q(scope=EventScope.FAMILY, family=family)
            | Q(product_id=filters.product)
        )
    elif filters.family:
        events = events.filter(
            Q(scope=EventScope.ALL)
            | Q(scope=EventScope.FAMILY, family=filters.family)
            | Q(product__family=filters.family)
        )
    if filters.location is not None:
        events = events.filter(Q(locations=filters.location) | Q(locations__isnull=True))
    if filters.month_from is not None:
        events = events.filter(end_month__gte=filters.month_from)
    if filters.month_to is not None:
        events = events.filter(start_month__lte=filters.month_to)
    if filters.owner is not None:
        events = events.filter(owner_id=filters.owner)
    split = event_planning_month()
    if filters.when == "planned":
        events = events.filter(end_month__gte=split)
    elif filters.when == "past":
        events = events.filter(end_month__lt=split)
    # What is coming first, soonest first; then the past, latest first.
    past = Case(When(end_month__lt=split, then=Value(1)), default=Value(0))
    planned_start = Case(When(end_month__gte=split, then=F("start_month")))
    return (
        events.distinct()
        .annotate(is_past=past)
        .order_by("is_past", planned_start.asc(nulls_last=True), F("start_month").desc(), "code")
    )


def event_effect(event: Event) -> str:
    """The effect as the calendar says it: "+30.0 % of the baseline", "+500 units a month",
    then the dip: "then -20.0 % for 1 month"."""
    value = event.effect_value
    if event.effect_kind == EffectKind.PERCENT:
        text = f"{'+' if value > 0 else ''}{format_number(value, 'pct')} of the baseline"
    else:
        text = f"{format_number(value, 'units', signed=True)} a month"
    if event.dip_months and event.dip_percent:
        months = "1 month" if event.dip_months == 1 else f"{event.dip_months} months"
        text += f", then {format_number(event.dip_percent, 'pct')} for {months}"
    return text


_EVENT_TAGS = {
    "promotion": "Promo",
    "price_change": "Price",
    "launch": "Launch",
    "listing": "Listing",
    "delisting": "Delisting",
    "external": "External",
}


@dataclass(frozen=True)
class EventMark:
    """An event on a month of a grid row or a chart: `dip` marks a month of its dip."""

    code: str
    name: str
    kind: str
    status: str
    effect: str
    dip: bool

    @property
    def tag(self) -> str:
        """The short word a grid cell shows: Promo, Price, Launch ... or Dip."""
        return "Dip" if self.dip else _EVENT_TAGS.get(self.kind, "Event")

    @property
    def tooltip(self) -> str:
        when = "dip after " if self.dip else ""
        return f"{self.name} ({self.code}, {self.status}): {when}{self.effect}"


def event_marks(
    *, months: Sequence[dt.date], targets: Sequence[tuple[str, int | None, int | None]]
) -> list[dict[dt.date, list[EventMark]]]:
    """For each target (family, product id or None, location id or None), the events that
    are not cancelled on each of `months` (the dip months included).

    A target without a product is the family (every product of it, so a product event of
    the family counts); an empty family is the company; no location is every location.
    One query for the events, whatever the number of targets.
    """
    out: list[dict[dt.date, list[EventMark]]] = [{} for _ in targets]
    if not months or not targets:
        return out
    first, last = min(months), max(months)
    shown = set(months)
    events = (
        Event.objects.exclude(status=EventStatus.CANCELLED)
        .filter(start_month__lte=last)
        .select_related("product")
        .prefetch_related("locations")
    )
    for event in events:
        dip_end = add_months(event.end_month, event.dip_months)
        if dip_end < first:
            continue
        locations = {loc.pk for loc in event.locations.all()}
        effect = event_effect(event)
        status = event.get_status_display().lower()
        marks = [
            (month, EventMark(event.code, event.name, event.kind, status, effect, dip=False))
            for month in event.months
            if month in shown
        ]
        dip = EventMark(event.code, event.name, event.kind, status, effect, dip=True)
        marks += [
            (add_months(event.end_month, n), dip)
            for n in range(1, event.dip_months + 1)
            if add_months(event.end_month, n) in shown
        ]
        if not marks:
            continue
        for i, (family, product_id, location_id) in enumerate(targets):
            if not _event_affects(event, locations, family, product_id, location_id):
                continue
            for month, mark in marks:
                out[i].setdefault(month, []).append(mark)
    return out


def _event_affects(
    event: Event, locations: set[int], family: str, product_id: int | None, location_id: int | None
) -> bool:
    if locations and location_id is not None and location_id not in locations:
        return False
    if event.scope == EventScope.ALL or not family:
        return True
    if event.scope == EventScope.FAMILY:
        return event.family == family
    if product_id is None:
        return event.product.family == family
    return event.product_id == product_id


def _month(raw) -> dt.date | None:
    """A month from the query string: 2027-03 or 2027-03-01."""
    if not raw:
        return None
    day = _date(raw if len(str(raw)) > 7 else f"{raw}-01")
    return None if day is None else day.replace(day=1)
