"""The events calendar: record, change, cancel and delete an event; the rules it must keep.

Events are master data: one calendar every cycle reads, so a future event is carried into
the next cycle by being there, and a past one marks history. The rules an event must keep
beyond the table's constraints (its months within what the plan can see, a scope that
names something) live in `event_problems`, which the pages and the import both run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min

from sop.choices import EffectKind, EventScope, EventStatus
from sop.formatting import format_number
from sop.locking import VersionedRow
from sop.master_audit import master_change_record, row_values
from sop.models import Cycle, Event, Location, Product, SalesHistory
from sop.months import add_months
from sop.roles import require, who
from sop.steps import calendar_changed

# The fields a page or an import sets; `locations` (the many-to-many) travels beside them.
EVENT_FIELDS = (
    "code",
    "name",
    "kind",
    "scope",
    "family",
    "product",
    *Event.EFFECT_FIELDS,
    "status",
    "owner",
    "note",
)


@dataclasses.dataclass(frozen=True)
class EventBounds:
    """The months an event may lie in: from the first month of sales history to the last
    month of the latest cycle's horizon (None: no history, or no cycle yet)."""

    first: dt.date | None
    last: dt.date | None
    families: frozenset[str]


def event_bounds() -> EventBounds:
    """The months an event may touch and the families it may name, read now."""
    first = SalesHistory.objects.aggregate(first=Min("month"))["first"]
    latest = Cycle.objects.order_by("-month").values("month", "horizon_months").first()
    last = None if latest is None else add_months(latest["month"], latest["horizon_months"] - 1)
    families = frozenset(Product.objects.values_list("family", flat=True).distinct())
    return EventBounds(first=first, last=last, families=families)


def event_problems(
    *,
    scope: str,
    family: str,
    has_product: bool,
    start_month: dt.date | None,
    end_month: dt.date | None,
    effect_kind: str,
    effect_value: Decimal | float | None,
    dip_percent: Decimal | float | None,
    bounds: EventBounds,
) -> dict[str, str]:
    """What is wrong with an event, by field; empty when it can be saved. No database."""
    problems: dict[str, str] = {}
    if scope == EventScope.FAMILY:
        if not family:
            problems["family"] = "A family event names its product family."
        elif family not in bounds.families:
            problems["family"] = (
                f"No product is in the family {family}: the event would match nothing."
            )
        if has_product:
            problems["product"] = "A family event names no product (choose the scope One product)."
    elif scope == EventScope.PRODUCT:
        if not has_product:
            problems["product"] = "A product event names its product."
        if family:
            problems["family"] = (
                "A product event names no family (choose the scope A product family)."
            )
    elif scope == EventScope.ALL:
        if family:
            problems["family"] = "An event for all products names no family."
        if has_product:
            problems["product"] = "An event for all products names no product."
    for field, month in (("start_month", start_month), ("end_month", end_month)):
        if month is None:
            continue
        if bounds.first is not None and month < bounds.first:
            problems[field] = (
                f"{month:%b %Y} is before the first month of sales history ({bounds.first:%b %Y})."
            )
        elif bounds.last is not None and month > bounds.last:
            problems[field] = (
                f"{month:%b %Y} is after the last month of the latest cycle's horizon "
                f"({bounds.last:%b %Y})."
            )
    if (
        start_month is not None
        and end_month is not None
        and end_month < start_month
        and "end_month" not in problems
    ):
        problems["end_month"] = "An event cannot end before it starts."
    if effect_kind == EffectKind.PERCENT and effect_value is not None and effect_value < -100:
        problems["effect_value"] = (
            f"An effect of {format_number(effect_value, 'pct')} would take away more than all "
            "of the demand (-100 % at the least)."
        )
    if dip_percent is not None and not -100 <= dip_percent <= 0:
        problems["dip_percent"] = "A dip is a percent between -100 and 0."
    return problems


def _check(values: dict, *, bounds: EventBounds | None = None) -> None:
    problems = event_problems(
        scope=values.get("scope", ""),
        family=values.get("family") or "",
        has_product=values.get("product") is not None,
        start_month=values.get("start_month"),
        end_month=values.get("end_month"),
        effect_kind=values.get("effect_kind", EffectKind.PERCENT),
        effect_value=values.get("effect_value"),
        dip_percent=values.get("dip_percent"),
        bounds=bounds or event_bounds(),
    )
    if problems:
        raise ValidationError(problems)


def _versioned(event: Event) -> VersionedRow:
    return VersionedRow(
        rows=Event.objects.filter(pk=event.pk),
        what=f"The event {event.code}",
        show=lambda e: (
            "deleted" if e is None else f"{e.get_status_display().lower()}, version {e.version}"
        ),
        object_type="event",
        object_id=event.code,
    )


def _values(fields: dict) -> dict:
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"Not event fields: {', '.join(sorted(unknown))}")
    values = dict(fields)
    for text in ("family", "note"):  # a form's or a file's blank is the empty text
        if text in values:
            values[text] = values[text] or ""
    return values


@transaction.atomic
def event_create(
    *, user: AbstractBaseUser | None, locations: Iterable[Location] = (), **fields
) -> Event:
    """Record an event (no locations: every location); refused with the fields' problems."""
    require(user, "sop.add_event", "record events")
    values = _values(fields)
    _check(values)
    if Event.objects.filter(code=values["code"]).exists():
        raise ValidationError({"code": f"An event with the code {values['code']} already exists."})
    event = Event(**values, created_by=who(user), updated_by=who(user))
    event.full_clean(exclude=["locations"])
    event.save()
    event.locations.set(list(locations))
    master_change_record(user=user, obj=event, old=None)
    calendar_changed()
    return event


@transaction.atomic
def event_update(
    *,
    event: Event,
    version: int | None,
    user: AbstractBaseUser | None,
    locations: Iterable[Location] | None = None,
    **fields,
) -> Event:
    """Change an event the user saw at `version`; a save since then refuses it (EditConflict)."""
    require(user, "sop.change_event", "change events")
    row = _versioned(event)
    current = row.lock(seen=version)
    if current is None:
        raise row.conflict()
    values = {name: getattr(current, name) for name in EVENT_FIELDS} | _values(fields)
    # A status change alone (cancel, confirm) stands even if the calendar's bounds have moved
    # since the event was recorded (old history purged): the months are not being changed.
    if set(fields) != {"status"}:
        _check(values)
    if (
        values["code"] != current.code
        and Event.objects.filter(code=values["code"]).exclude(pk=current.pk).exists()
    ):
        raise ValidationError({"code": f"An event with the code {values['code']} already exists."})
    old = row_values(current)
    candidate = Event(pk=current.pk, **values)
    candidate.full_clean(
        exclude=["locations", "version", "created_by", "updated_by"], validate_unique=False
    )
    current = row.update(current, {**values, "updated_by": who(user)})
    if locations is not None:
        current.locations.set(list(locations))
    master_change_record(user=user, obj=current, old=old)
    calendar_changed()
    return current


def event_cancel(*, event: Event, version: int | None, user: AbstractBaseUser | None) -> Event:
    """Cancel an event: it stays in the calendar (and its history), with no effect."""
    return event_update(event=event, version=version, user=user, status=EventStatus.CANCELLED)


@transaction.atomic
def event_delete(*, event: Event, version: int | None, user: AbstractBaseUser | None) -> None:
    """Delete an event recorded by mistake (cancel one that will not happen)."""
    require(user, "sop.delete_event", "delete events")
    row = _versioned(event)
    current = row.lock(seen=version)
    if current is None:
        raise row.conflict()
    master_change_record(user=user, obj=current, old=None, deleted=True)
    row.delete(current)
    calendar_changed()


# The import's columns of the fields `event_problems` names.
_COLUMN_OF = {"product": "sku"}


def events_extract_check(frame, table, refs: dict) -> list[tuple]:
    """The import's check of an events file's rows (`sop.extracts` row_check): the rules of
    `event_problems`, said on the row and column. A calendar holds hundreds of rows, not
    millions: one pass in Python over the rows keeps one statement of the rules."""
    bounds = refs["event_bounds"]["bounds"]
    found: dict[tuple[str, str], np.ndarray] = {}
    for i, row in enumerate(frame.to_dict("records")):
        problems = event_problems(
            scope=row["scope"],
            family=row["family"] or "",
            has_product=row["product_id"] is not None,
            start_month=_month(row["start_month"]),
            end_month=_month(row["end_month"]),
            effect_kind=row["effect_kind"],
            effect_value=_decimal(row["effect_value"]),
            dip_percent=_decimal(row["dip_percent"]),
            bounds=bounds,
        )
        for field, reason in problems.items():
            mask = found.setdefault(
                (_COLUMN_OF.get(field, field), reason), np.zeros(len(frame), bool)
            )
            mask[i] = True
    return [(mask, column, reason) for (column, reason), mask in found.items()]


def _month(value) -> dt.date | None:
    # The reader gives a month as ISO text (2027-03-01) or a date.
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _decimal(value) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))
