"""Optimistic locking of the rows users edit: one check, one bump, one conflict message.

An edited row carries a `version` (and an `updated_at`). A save names the version the user
saw (None: they saw no row); `VersionedRow` locks the row, compares, writes with the version
in the WHERE clause and bumps it, or raises `EditConflict`. The version condition keeps the
write safe where SELECT FOR UPDATE is a no-op (SQLite), and the row's unique scope refuses a
second create, so two saves from the same version never both pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from sop.models import AuditEvent, Cycle


class PlanReadOnly(ValidationError):
    """The cycle has left (or not reached) the stage in which this part of its plan may
    change: the demand plan outside the demand review, the supply plan outside the supply
    review or while a supply run is in progress."""


def cycle_lock_in_stage(cycle_pk: int, *, stage: str, plan: str) -> Cycle:
    """Lock the cycle row (inside a transaction) and check it is in `stage`, or refuse:
    "<cycle> is in <its stage>: its <plan> plan is read-only."."""
    locked = Cycle.objects.select_for_update().get(pk=cycle_pk)
    if locked.stage != stage:
        raise PlanReadOnly(
            f"{locked} is in {locked.get_stage_display().lower()}: its {plan} plan is read-only."
        )
    return locked


class EditConflict(Exception):
    """Someone else saved the row since the user loaded it; nothing was written.

    `current` is the row as it is now (None: there is none), `version` its version; the
    view answers 409 with what the user typed still in the form.
    """

    def __init__(
        self,
        *,
        what: str,
        now: str,
        current: models.Model | None = None,
        last_change: AuditEvent | None = None,
    ):
        self.what = what
        self.now = now
        self.current = current
        self.version = getattr(current, "version", None)
        self.last_change = last_change
        by = at = ""
        if last_change is not None:
            if last_change.user is not None:
                user = last_change.user
                by = f" by {user.get_full_name() or user.get_username()}"
            at = f" at {timezone.localtime(last_change.at):%H:%M}"
        super().__init__(
            f"{what} was changed{by}{at} while you were editing: it is now {now}. "
            "Your change was not saved; what you typed is kept - save again to replace theirs."
        )


def edit_refusal(exc: Exception) -> tuple[int, list[str]]:
    """The HTTP status and sentences of a refused edit: 409 for a conflict, else 400.

    Besides `EditConflict`, a service refuses with ValidationError, and the scenario
    engine with ValueError on a delta it cannot take.
    """
    if isinstance(exc, EditConflict):
        return 409, [str(exc)]
    if isinstance(exc, ValidationError):
        return 400, exc.messages
    return 400, [str(exc)]


@dataclass(frozen=True)
class VersionedRow:
    """The one row (or none yet) a user edits, how messages name it, where it is audited.

    `rows` matches at most one row; `show` says what that row (or None) holds now;
    `object_type`/`object_id` are those of the row's audit events, which say who changed
    it last and when.
    """

    rows: models.QuerySet
    what: str
    show: Callable[[Any], str]
    object_type: str
    object_id: str

    def conflict(self) -> EditConflict:
        """The refusal, read as things stand now (after the other save committed)."""
        current = self.rows.first()
        last = (
            AuditEvent.objects.filter(object_type=self.object_type, object_id=self.object_id)
            .select_related("user")
            .first()
        )
        return EditConflict(
            what=self.what, now=self.show(current), current=current, last_change=last
        )

    def lock(self, *, seen: int | None) -> Any:
        """The row locked for update, or None; EditConflict if its version is not `seen`."""
        # of=self: PostgreSQL cannot lock the nullable side of an outer join.
        current = self.rows.select_for_update(of=("self",)).first()
        if (None if current is None else current.version) != seen:
            raise self.conflict()
        return current

    def save(self, current: Any, values: dict[str, Any] | None, *, create: dict[str, Any]):
        """Create the row (with `create` as its scope), update it, or (values None) delete it.

        `current` is what `lock` returned. Returns the row as saved, or None when deleted.
        """
        if values is None:
            if current is not None:
                self.delete(current)
            return None
        if current is None:
            try:
                with transaction.atomic():
                    return self.rows.model.objects.create(**create, **values)
            except IntegrityError:
                raise self.conflict() from None
        return self.update(current, values)

    def update(self, current: Any, values: dict[str, Any]) -> Any:
        """Write `values` to the locked row and bump its version; returns the row."""
        now = timezone.now()
        updated = (
            type(current)
            .objects.filter(pk=current.pk, version=current.version)
            .update(**values, version=F("version") + 1, updated_at=now)
        )
        if not updated:
            raise self.conflict()
        for field, value in values.items():
            setattr(current, field, value)
        current.version += 1
        current.updated_at = now
        return current

    def delete(self, current: Any) -> None:
        if not type(current).objects.filter(pk=current.pk, version=current.version).delete()[0]:
            raise self.conflict()
