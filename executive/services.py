"""Writes of the executive review: the decision on the plan, and the freeze of an approval."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from demand.constants import LIKE_MODEL
from demand.models import ConsensusDemand, SeriesFit
from executive import selectors
from executive.constants import EXPORT_WITH_LIFECYCLE
from executive.models import FrozenFamilyMonth, FrozenPlanLine, FrozenResourceMonth, PlanApproval
from reconciliation import selectors as recon
from reconciliation.models import (
    FAMILY_MONTH_COLUMNS,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
)
from sop import workflow
from sop.choices import Stage
from sop.models import Cycle, CycleTransition, Location, Product, Resource
from sop.services import TransitionRefused, audit_of, bulk_insert_frame, cycle_advance


def plan_decide(
    *, cycle: Cycle, user: AbstractBaseUser, approve: bool, comment: str = ""
) -> CycleTransition:
    """Approve the plan (which freezes it) or send it back to the reconciliation.

    The core's stage machine checks the role and that a send-back says why. On approval
    `cycle_advance` calls the executive step's `on_leave` (`executive.step`), which runs
    `plan_freeze` inside the same transaction: an approval that cannot be frozen is not
    recorded either.
    """
    target = Stage.APPROVED if approve else Stage.RECONCILIATION
    return cycle_advance(cycle=cycle, target=target, user=user, comment=comment.strip())


def plan_freeze(*, transition: CycleTransition) -> PlanApproval:
    """Snapshot the recommended scenario of the cycle being approved; refuse without one.

    Runs before the cycle's stage changes (inside `cycle_advance`, through the executive
    step's `on_leave`, whichever path approved the plan); the database triggers
    allow these inserts because the cycle is not approved yet, and refuse every later
    change. The checksum is the SHA-256 of the plan's ERP export as downloaded.
    """
    cycle = transition.cycle
    # What the reconciliation had to show when it was submitted must still hold: a
    # recommended scenario whose figures match the plan as it is now.
    failures = workflow.gate_failures(cycle, Stage.RECONCILIATION)
    if failures:
        raise TransitionRefused(
            [*failures, "Send the plan back to the reconciliation to bring it up to date."]
        )
    views = recon.scenario_views(cycle=cycle)
    chosen = next((v for v in views if v.scenario.recommended and v.run is not None), None)
    base = next((v for v in views if v.scenario.is_base), None)
    # Without the reconciliation's gate (tests of the bare stage machine) a cycle may have
    # no scenario at all; its approval then freezes an empty plan.
    run = chosen.run if chosen is not None else None
    kpis = dict(run.kpis) if run is not None else {}
    kpis.update(selectors.forecast_accuracy(cycle=cycle))
    user = transition.user
    approval = PlanApproval.objects.create(
        cycle=cycle,
        scenario=chosen.scenario if chosen else None,
        scenario_name=chosen.scenario.name if chosen else "",
        scenario_is_base=chosen.scenario.is_base if chosen else True,
        scenario_changes=recon.deltas_describe(chosen.scenario.deltas) if chosen else [],
        run_id=run.pk if run else None,
        approved_by=user,
        approved_by_name=user.get_full_name() or user.get_username(),
        approved_at=transition.at or timezone.now(),
        comment=transition.comment,
        kpis=kpis,
        base_kpis=dict(base.run.kpis) if base is not None and base.run is not None else {},
    )
    run_id = run.pk if run is not None else None
    lines = _freeze_lines(approval=approval, run_id=run_id)
    families = _freeze_families(approval=approval, run_id=run_id)
    resources = _freeze_resources(approval=approval, run_id=run_id)
    approval.export_version = EXPORT_WITH_LIFECYCLE
    checksum = hashlib.sha256(selectors.plan_csv(approval=approval)).hexdigest()
    # Allowed once: the cycle is still in executive review until cycle_advance saves it.
    PlanApproval.objects.filter(pk=approval.pk).update(
        export_version=EXPORT_WITH_LIFECYCLE,
        checksum=checksum,
        line_count=lines,
        family_month_count=families,
        resource_month_count=resources,
    )
    audit_of(
        approval,
        "plan.approve",
        user=user,
        new={
            "scenario": approval.scenario_name,
            "run": run_id,
            "lines": lines,
            "checksum": checksum,
        },
        reason=transition.comment,
    )
    approval.refresh_from_db()
    return approval


def _freeze_lines(*, approval: PlanApproval, run_id: int | None) -> int:
    """The run's plan with the cycle's consensus demand and the codes of its keys."""
    keys = ["product_id", "location_id", "month"]
    values = ["demand", "planned", "on_hand", "unmet", "excess_quantity"]
    money = ["unmet_revenue", "excess_value"]
    lines = pd.DataFrame(
        list(ScenarioLine.objects.filter(run_id=run_id).values_list(*keys, *values, *money)),
        columns=[*keys, *values, *money],
    )
    if lines.empty:
        return 0
    consensus = pd.DataFrame(
        list(
            ConsensusDemand.objects.filter(cycle_id=approval.cycle_id).values_list(
                "product_id", "location_id", "month", "value"
            )
        ),
        columns=[*keys, "consensus"],
    )
    lines = lines.merge(consensus, on=keys, how="left")
    products = pd.DataFrame(
        list(
            Product.objects.filter(pk__in=lines["product_id"].unique().tolist()).values_list(
                "pk", "sku", "family", "make_or_buy"
            )
        ),
        columns=["product_id", "sku", "family", "make_or_buy"],
    )
    locations = pd.DataFrame(
        list(Location.objects.values_list("pk", "code")), columns=["location_id", "location_code"]
    )
    lines = lines.merge(products, on="product_id").merge(locations, on="location_id")
    lines = lines.merge(
        _lifecycle_of(cycle_id=approval.cycle_id, product_ids=products["product_id"].tolist()),
        on=["product_id", "location_id"],
        how="left",
    )
    lines["like_sku"] = lines["like_sku"].fillna("")
    lines["lifecycle"] = [
        " ".join(filter(None, ["new" if like else "", "ending" if pd.notna(end) else ""]))
        for like, end in zip(lines["like_sku"], lines["end_of_life_month"], strict=True)
    ]
    for column in ["consensus", *values]:
        # Three decimals, as the export writes them; never -0.000 from float noise.
        lines[column] = np.round(lines[column].astype(float).fillna(0.0), 3) + 0.0
    lines.insert(0, "approval_id", approval.pk)
    columns = [
        "approval_id",
        *keys,
        "sku",
        "location_code",
        "family",
        "make_or_buy",
        "consensus",
        *values,
        *money,
        "lifecycle",
        "like_sku",
        "end_of_life_month",
    ]
    return bulk_insert_frame(FrozenPlanLine, lines[columns])


def _lifecycle_of(*, cycle_id: int, product_ids: list[int]) -> pd.DataFrame:
    """Per SKU-location of the plan's products with a lifecycle: the like product while it
    stands in (the published forecast took it), and the end-of-life month."""
    ending = dict(
        Product.objects.filter(pk__in=product_ids, end_of_life_month__isnull=False).values_list(
            "pk", "end_of_life_month"
        )
    )
    like = SeriesFit.objects.filter(
        run__cycle_id=cycle_id, run__is_published=True, model=LIKE_MODEL, product__in=product_ids
    ).values_list("product_id", "location_id", "product__like_product__sku")
    frame = pd.DataFrame(list(like), columns=["product_id", "location_id", "like_sku"])
    locations = list(Location.objects.values_list("pk", flat=True))
    ended = pd.DataFrame(
        [(p, loc, end) for p, end in ending.items() for loc in locations],
        columns=["product_id", "location_id", "end_of_life_month"],
    )
    return frame.merge(ended, on=["product_id", "location_id"], how="outer")


def _freeze_families(*, approval: PlanApproval, run_id: int | None) -> int:
    frame = pd.DataFrame(
        list(ScenarioFamilyMonth.objects.filter(run_id=run_id).values_list(*FAMILY_MONTH_COLUMNS)),
        columns=FAMILY_MONTH_COLUMNS,
    )
    frame.insert(0, "approval_id", approval.pk)
    return bulk_insert_frame(FrozenFamilyMonth, frame)


def _freeze_resources(*, approval: PlanApproval, run_id: int | None) -> int:
    columns = ["resource_id", "month", "capacity", "load", "load_unconstrained"]
    frame = pd.DataFrame(
        list(ScenarioResourceMonth.objects.filter(run_id=run_id).values_list(*columns)),
        columns=columns,
    )
    codes = dict(Resource.objects.values_list("pk", "code"))
    frame.insert(0, "approval_id", approval.pk)
    frame["resource_code"] = frame["resource_id"].map(codes)
    return bulk_insert_frame(FrozenResourceMonth, frame)


def cycle_delete_release(*, cycle: Cycle) -> None:
    """Let the current transaction delete an approved cycle's frozen rows with the cycle.

    The database refuses to delete an approved cycle's plan rows (migration 0003) unless
    their cycle is named in the transaction-local setting `sop.deleting_cycles`: removing
    a whole cycle stays possible, removing part of its plan does not.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('sop.deleting_cycles', "
            "coalesce(current_setting('sop.deleting_cycles', true), '') || ',' || %s, true)",
            [str(cycle.pk)],
        )
