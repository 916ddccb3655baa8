"""Planners' edits of planned supply and capacity, and the recompute they trigger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, TextChoices
from django.utils import timezone

from sop.choices import Stage
from sop.locking import VersionedRow, cycle_lock_in_stage
from sop.models import Cycle, Location, Product, Resource, Routing
from sop.roles import require
from sop.runs import ACTIVE_STATUSES, runs_fail_stale
from sop.sanity import history_peak, sanity_check
from sop.services import audit_number, audit_record
from sop.tasks import dispatch
from supply import chunks as chunking
from supply.choices import CapacityReason, SupplyReason
from supply.models import CapacityAdjustment, PlannedSupplyEdit, PlanRecompute, SupplyRun
from supply.services.inputs import load_inputs, rows_frame, source_links
from supply.services.results import write_results
from supply.services.runs import SUPPLY_RUN_KIND, PlanReadOnly


def supply_recompute(
    *, cycle: Cycle, product_ids: Sequence[int] = (), resource_ids: Sequence[int] = ()
) -> int:
    """Recompute, in the published run, the resource group of the given SKUs or resources.

    Capacity couples only the SKUs linked through shared resources, so the rest of the plan
    cannot change; of the group, only the SKUs whose plan changed are rewritten. Returns
    how many SKU-locations were (0 without a published run).
    """
    run = SupplyRun.objects.filter(cycle=cycle, is_published=True).first()
    if run is None:
        return 0
    routings = rows_frame(
        Routing.objects.values_list("product_id", "resource_id"), ["product", "resource"]
    )
    # An alternate source links the products sharing it like a resource. A product without
    # either is a group of its own: the linked ones and the edited ones are all the graph needs.
    links = pd.concat([routings, source_links()])
    products = np.union1d(links["product"].to_numpy(), np.asarray(product_ids, dtype=np.int64))
    labels = chunking.resource_groups(
        products, links["product"].to_numpy(), links["resource"].to_numpy()
    )
    touched = set(product_ids) | set(
        routings.loc[routings["resource"].isin(list(resource_ids)), "product"]
    )
    group_labels = np.unique(labels[np.isin(products, list(touched))])
    members = products[np.isin(labels, group_labels)].tolist()
    resources = sorted(
        set(resource_ids) | set(routings.loc[routings["product"].isin(members), "resource"])
    )
    loaded = load_inputs(cycle=cycle, product_ids=members, resource_ids=resources)
    with transaction.atomic():
        SupplyRun.objects.select_for_update().get(pk=run.pk)
        return write_results(
            run_id=run.pk, loaded=loaded, resource_ids=resources, only_changed=True
        )


def supply_recompute_later(
    *, cycle: Cycle, product_ids: Sequence[int] = (), resource_ids: Sequence[int] = ()
) -> None:
    """Mark the SKUs pending and recompute their group in the background once committed.

    The recompute of a resource group takes seconds on a real plan (load, plan, write): an
    edit answers at once and the grid marks the SKUs pending (`PlanRecompute`) until the
    task (`supply.tasks.supply_recompute_task`) has rewritten them. The marked SKUs are the
    edited one, or those routed through the changed resource.
    """
    products = set(product_ids) | set(
        Routing.objects.filter(resource_id__in=list(resource_ids)).values_list(
            "product_id", flat=True
        )
    )
    now = timezone.now()
    PlanRecompute.objects.bulk_create(
        [PlanRecompute(cycle=cycle, product_id=p, requested_at=now) for p in sorted(products)],
        update_conflicts=True,
        unique_fields=["cycle", "product"],
        update_fields=["requested_at"],
    )
    from supply.tasks import supply_recompute_task

    transaction.on_commit(
        lambda: dispatch(supply_recompute_task, cycle.pk, list(product_ids), list(resource_ids))
    )


def supply_recompute_pending(
    *, cycle_id: int, product_ids: Sequence[int] = (), resource_ids: Sequence[int] = ()
) -> int:
    """The background half of an edit: recompute, then clear the marks it covered.

    A mark set after this started (a later edit) stays for that edit's own recompute.
    Returns how many SKU-locations were rewritten.
    """
    started = timezone.now()
    cycle = Cycle.objects.get(pk=cycle_id)
    written = supply_recompute(cycle=cycle, product_ids=product_ids, resource_ids=resource_ids)
    products = set(product_ids) | set(
        Routing.objects.filter(resource_id__in=list(resource_ids)).values_list(
            "product_id", flat=True
        )
    )
    PlanRecompute.objects.filter(
        cycle_id=cycle_id, product_id__in=products, requested_at__lte=started
    ).delete()
    return written


def _editable_cycle(cycle_pk: int) -> Cycle:
    """Lock the cycle and check the supply plan may change now (call inside a transaction)."""
    # A run whose worker died would otherwise block edits until someone starts a new one.
    runs_fail_stale(kind_names=[SUPPLY_RUN_KIND])
    locked = cycle_lock_in_stage(cycle_pk, stage=Stage.SUPPLY_REVIEW, plan="supply")
    active = SupplyRun.objects.filter(cycle=locked, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        # The run has read the inputs already; an edit now would be lost when it publishes.
        raise PlanReadOnly(f"Supply run {active.pk} is computing: save again when it finishes.")
    return locked


@dataclass(frozen=True)
class _PlanRow(VersionedRow):
    """A row of the cycle's supply plan a planner edits: `field` is the figure they set."""

    scope: dict[str, Any]  # the row's natural key, what a create writes besides the edit
    field: str
    reasons: type[TextChoices]
    action: str  # of the audit event
    recompute: dict[str, list[int]]  # `supply_recompute`'s SKUs or resources
    # Recompute in the background (a grid cell's save answers at once, `PlanRecompute`
    # marks the SKU pending) or in the request (the capacity drill shows the new load).
    later: bool


def planned_supply_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser,
    product: Product,
    location: Location,
    month: dt.date,
    quantity: Decimal | None,
    reason: str,
    comment: str,
    expected_version: int | None,
    confirmed: bool = False,
) -> PlannedSupplyEdit | None:
    """Fix (or with quantity=None release) the planned supply of one SKU-location-month.

    `expected_version` is the version the planner saw (None: not fixed yet); a different
    one raises EditConflict and writes nothing. A quantity far outside the SKU-location's
    sales history raises NeedsConfirmation unless `confirmed` (`sop.sanity`). The published
    plan of the SKU's resource group is recomputed in the background once committed.
    """
    require(user, "supply.change_plannedsupplyedit", "change planned supply")
    outside = False
    if quantity is not None:
        outside = sanity_check(
            value=quantity,
            field=PlannedSupplyEdit._meta.get_field("quantity"),
            peak=history_peak(scope=Q(product=product, location=location), before=cycle.month),
            what=f"The planned supply of {product.sku} @ {location.code} in {month:%b %Y}",
            confirmed=confirmed,
        )
    scope = {"cycle": cycle, "product": product, "location": location, "month": month}
    row = _PlanRow(
        rows=PlannedSupplyEdit.objects.filter(**scope),
        what=f"The planned supply of {product.sku} @ {location.code} in {month:%b %Y}",
        show=lambda e: audit_number(e.quantity) if e is not None else "the engine's plan",
        object_type="planned_supply",
        object_id=f"{product.sku}@{location.code}/{month:%Y-%m}",
        scope=scope,
        field="quantity",
        reasons=SupplyReason,
        action="supply.planned_supply",
        recompute={"product_ids": [product.pk]},
        later=True,
    )
    return _edit_save(
        row,
        quantity,
        user=user,
        reason=reason,
        comment=comment,
        seen=expected_version,
        outside_history=outside,
    )


def capacity_adjustment_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser,
    resource: Resource,
    month: dt.date,
    delta_hours: Decimal | None,
    reason: str,
    comment: str,
    expected_version: int | None,
) -> CapacityAdjustment | None:
    """Add (or with None remove) hours to a resource's capacity in a month for this plan.

    Optimistic locking as in `planned_supply_save`; the published plan of the SKUs linked
    to the resource is recomputed in the same transaction.
    """
    require(user, "supply.change_capacityadjustment", "change capacity")
    scope = {"cycle": cycle, "resource": resource, "month": month}
    row = _PlanRow(
        rows=CapacityAdjustment.objects.filter(**scope),
        what=f"The capacity of {resource.code} in {month:%b %Y}",
        show=lambda a: (
            f"{audit_number(a.delta_hours)} h" if a is not None else "the imported capacity"
        ),
        object_type="capacity_adjustment",
        object_id=f"{resource.code}/{month:%Y-%m}",
        scope=scope,
        field="delta_hours",
        reasons=CapacityReason,
        action="supply.capacity",
        recompute={"resource_ids": [resource.pk]},
        later=False,
    )
    return _edit_save(
        row, delta_hours, user=user, reason=reason, comment=comment, seen=expected_version
    )


def _edit_save(
    row: _PlanRow,
    value: Decimal | None,
    *,
    user: AbstractBaseUser,
    reason: str,
    comment: str,
    seen: int | None,
    outside_history: bool = False,
) -> PlannedSupplyEdit | CapacityAdjustment | None:
    """Set the row's figure (None: delete the row), audit it, recompute what it moves.

    Refused unless the cycle is in the supply review with no run computing, and the row
    is at the version the planner saw (`seen`). The plan follows in the request or in the
    background (`row.later`).
    """
    if reason not in row.reasons.values:
        raise ValidationError("Choose a reason for the change.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    with transaction.atomic():
        locked = _editable_cycle(row.scope["cycle"].pk)
        locked.check_in_horizon(row.scope["month"])
        current = row.lock(seen=seen)
        if value is None and current is None:
            return None
        old = None if current is None else audit_number(getattr(current, row.field))
        values = {
            row.field: value,
            "reason": reason,
            "comment": comment,
            "author": user,
            "outside_history": outside_history,
        }
        saved = row.save(current, None if value is None else values, create=row.scope)
        audit_record(
            user=user,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            cycle=locked,
            old={row.field: old},
            new={row.field: audit_number(value), "reason": reason},
            reason=comment,
        )
        if row.later:
            supply_recompute_later(cycle=locked, **row.recompute)
        else:
            supply_recompute(cycle=locked, **row.recompute)
    return saved
