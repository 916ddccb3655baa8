"""The risk register: a cycle's risks with owner, due date, probability and impact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from reconciliation.models import Risk
from reconciliation.services._common import ScenarioReadOnly
from sop.choices import Stage
from sop.locking import VersionedRow
from sop.models import Cycle
from sop.roles import require, who
from sop.services import audit_record, carry_forward

# What an audit event of a risk records, old and new.
_FIELDS = ("title", "owner", "due", "probability", "impact", "status", "note")


def _row(pk: int | None) -> VersionedRow:
    return VersionedRow(
        rows=Risk.objects.filter(pk=pk),
        what="The risk",
        show=lambda r: f"{r.title} (version {r.version})" if r is not None else "deleted",
        object_type="risk",
        object_id=str(pk or ""),
    )


def _audit_values(risk: Risk | None) -> dict | None:
    if risk is None:
        return None
    values = {field: getattr(risk, field) for field in _FIELDS}
    values["owner"] = risk.owner.get_username() if risk.owner_id else None
    values["due"] = risk.due.isoformat() if risk.due else None
    values["impact"] = str(risk.impact)
    return values


def risk_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser | None,
    title: str,
    probability: int,
    impact: Decimal,
    status: str = Risk.Status.OPEN,
    owner: AbstractBaseUser | None = None,
    due: dt.date | None = None,
    note: str = "",
    risk: Risk | None = None,
    version: int | None = None,
) -> Risk:
    """Add a risk to the cycle's register, or change one (`risk` at the `version` seen).

    Refused on an approved cycle (its register is part of the approved plan), for a user
    without `reconciliation.change_risk`, or when someone saved the risk since it was read.
    """
    require(user, "reconciliation.change_risk", "edit the risk register")
    title = (title or "").strip()
    if not title:
        raise ValidationError("Name the risk.")
    if not 0 <= int(probability) <= 100:
        raise ValidationError("The probability is a percentage, 0 to 100.")
    if Decimal(impact) < 0:
        raise ValidationError("The impact is an amount of money, not below zero.")
    if status not in Risk.Status.values:
        raise ValidationError(f"Unknown status {status!r}.")
    if risk is not None and risk.cycle_id != cycle.pk:
        raise ValidationError("The risk belongs to another cycle.")
    values = {
        "title": title,
        "probability": int(probability),
        "impact": Decimal(impact),
        "status": status,
        "owner": owner,
        "due": due,
        "note": (note or "").strip(),
        "updated_by": who(user),
    }
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if cycle.stage == Stage.APPROVED:
            raise ScenarioReadOnly(f"{cycle} is approved: its risk register is closed.")
        if risk is None:
            saved = Risk.objects.create(cycle=cycle, created_by=who(user), **values)
            old = None
        else:
            row = _row(risk.pk)
            current = row.lock(seen=version if version is not None else risk.version)
            old = _audit_values(current)
            saved = row.update(current, values)
        audit_record(
            user=user,
            action="risk.add" if old is None else "risk.change",
            object_type="risk",
            object_id=saved.pk,
            cycle=cycle,
            old=old,
            new=_audit_values(saved),
        )
    return saved


# What a risk carried into the next cycle keeps; its history stays with the original.
RISK_CARRIED_FIELDS = (
    "title",
    "owner_id",
    "due",
    "probability",
    "impact",
    "status",
    "note",
    "created_by_id",
)


def risks_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's risks that are not closed into a newly opened cycle."""
    return carry_forward(
        Risk,
        cycle=cycle,
        fields=RISK_CARRIED_FIELDS,
        keep=~Q(status=Risk.Status.CLOSED),
    )
