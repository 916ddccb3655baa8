"""Planners' overrides of the demand plan, and their carry-over into the next cycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.constants import OVERRIDE_OBJECT_TYPE
from demand.models import ConsensusDemand, DemandOverride, ForecastRun
from demand.services._common import edit_scope
from demand.services.consensus import consensus_rebuild
from sop.choices import Stage
from sop.locking import VersionedRow, cycle_lock_in_stage
from sop.models import AuditEvent, Cycle, Location, Product
from sop.roles import require
from sop.sanity import history_peak, sanity_check
from sop.selectors import cycle_previous
from sop.services import add_months, audit_number, audit_record


def override_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser,
    month: dt.date,
    value: Decimal | None,
    kind: str = OverrideKind.ABSOLUTE,
    reason: str,
    comment: str,
    family: str = "",
    product: Product | None = None,
    location: Location | None = None,
    expected_version: int | None,
    confirmed: bool = False,
) -> DemandOverride | None:
    """Set (or with value=None clear) the override of a family, SKU or SKU x location.

    `expected_version` is the version the planner saw (None: no override yet). If the
    override changed since, EditConflict is raised and nothing is written. A quantity far
    outside the series' history raises NeedsConfirmation unless `confirmed` (`sop.sanity`).
    """
    require(user, "demand.change_demandoverride", "change the demand plan")
    level = OverrideLevel.PRODUCT if product is not None else OverrideLevel.FAMILY
    if product is not None:
        family = product.family
    if not family:
        raise ValidationError("Choose a family or a SKU to override.")
    if location is not None and product is None:
        raise ValidationError("A location override needs a SKU.")
    if reason not in ReasonCode.values:
        raise ValidationError("Choose a reason code for the change.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    if kind not in OverrideKind.values:
        raise ValidationError("Unknown override kind.")
    if value is not None and kind == OverrideKind.PERCENT and value < -100:
        raise ValidationError("A decrease cannot exceed 100%.")
    outside = False
    if value is not None:
        outside = _sanity(
            cycle=cycle,
            month=month,
            value=value,
            kind=kind,
            family=family,
            product=product,
            location=location,
            confirmed=confirmed,
        )
    with transaction.atomic():
        locked_cycle = cycle_lock_in_stage(cycle.pk, stage=Stage.DEMAND_REVIEW, plan="demand")
        cycle.check_in_horizon(month)
        scope, where = edit_scope(
            level, month=month, family=family, product=product, location=location
        )
        scope["cycle"] = locked_cycle
        row = VersionedRow(
            rows=DemandOverride.objects.filter(**scope),
            what=f"The override of {where} in {month:%b %Y}",
            show=lambda o: o.display_value if o is not None else "no override",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=f"{where}/{month:%Y-%m}",
        )
        current = row.lock(seen=expected_version)
        if value is None and current is None:
            return None
        old_kind, old_value = (current.kind, current.value) if current else ("", None)
        saved = row.save(
            current,
            None
            if value is None
            else {
                "kind": kind,
                "value": value,
                "reason": reason,
                "comment": comment,
                "author": user,
                "outside_history": outside,
            },
            create={"family": family, **scope},
        )
        audit_record(
            user=user,
            action="demand.override",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=row.object_id,
            cycle=locked_cycle,
            old={"kind": old_kind, "value": audit_number(old_value)} if current else None,
            # Always a dict, a clearing too: the history panel reads family and reason here.
            new={
                "kind": kind if value is not None else None,
                "value": audit_number(value),
                "reason": reason,
                "family": family,
            },
            reason=comment,
        )
        consensus_rebuild(cycle=locked_cycle, family=family, month=month)
    return saved


def _sanity(
    *,
    cycle: Cycle,
    month: dt.date,
    value: Decimal,
    kind: str,
    family: str,
    product: Product | None,
    location: Location | None,
    confirmed: bool,
) -> bool:
    """The sanity rule (`sop.sanity`) on the quantity the override asks for in its month.

    A percentage asks for the scope's statistical forecast of the month changed by it.
    """
    if product is None:
        scope = Q(product__family=family)
    else:
        scope = Q(product=product) if location is None else Q(product=product, location=location)
    field = DemandOverride._meta.get_field("value")
    what = f"The override of {family if product is None else product.sku} in {month:%b %Y}"
    if kind == OverrideKind.PERCENT:
        # The stored figure is the percentage: it must fit the column too.
        sanity_check(value=abs(value), field=field, peak=None, what=what, confirmed=True)
        statistical = ConsensusDemand.objects.filter(scope, cycle=cycle, month=month).aggregate(
            total=Sum("statistical")
        )["total"]
        value = Decimal(str(statistical or 0)) * (1 + value / 100)
    peak = history_peak(scope=scope, before=cycle.month)
    return sanity_check(value=value, field=field, peak=peak, what=what, confirmed=confirmed)


def overrides_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's overrides that lie in this cycle's horizon.

    Planners then start the review from last month's judgement instead of from zero; each
    copy keeps its reason and author and says where it came from. Returns how many.
    """
    previous = cycle_previous(cycle=cycle)
    if previous is None:
        return 0
    last_month = add_months(cycle.month, cycle.horizon_months - 1)
    taken = DemandOverride.objects.filter(cycle=cycle)
    keys = set(taken.values_list("level", "family", "product_id", "location_id", "month"))
    copies = [
        DemandOverride(
            cycle=cycle,
            level=o.level,
            family=o.family,
            product=o.product,
            location=o.location,
            month=o.month,
            kind=o.kind,
            value=o.value,
            reason=o.reason,
            comment=f"From {previous.month:%b %Y}: {o.comment}",
            author_id=o.author_id,
        )
        for o in DemandOverride.objects.filter(
            cycle=previous, month__gte=cycle.month, month__lte=last_month
        ).select_related("product", "location")
        if (o.level, o.family, o.product_id, o.location_id, o.month) not in keys
    ]
    created = DemandOverride.objects.bulk_create(copies)
    # Each copy is a change of the new cycle's plan, in its author's name as before.
    AuditEvent.objects.bulk_create(
        AuditEvent(
            user_id=o.author_id,
            action="demand.override_carry_over",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=f"{o.scope_label}/{o.month:%Y-%m}",
            cycle=cycle,
            new={
                "kind": o.kind,
                "value": audit_number(o.value),
                "reason": o.reason,
                "family": o.family,
            },
            reason=o.comment,
        )
        for o in created
    )
    if created and ForecastRun.objects.filter(cycle=cycle, is_published=True).exists():
        consensus_rebuild(cycle=cycle)
    return len(created)
