"""Supply runs: a kind of the core's run kernel (`sop.runs`), chunked by resource group."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from demand.models import ConsensusDemand
from sop.choices import Stage
from sop.locking import PlanReadOnly
from sop.models import Cycle, InventorySnapshot, Resource, Routing, ScheduledReceipt
from sop.roles import require
from sop.runs import ACTIVE_STATUSES, RunKind, run_start
from sop.services import add_months, audit_of
from supply import chunks as chunking
from supply.constants import CHUNK_SKU_LOCATIONS
from supply.models import (
    CapacityLoad,
    InventoryProjection,
    PlannedSupplyEdit,
    SourceSplit,
    StockTarget,
    SupplyRun,
)
from supply.selectors import consensus_fingerprint
from supply.services.inputs import Loaded, load_inputs, rows_frame, source_links
from supply.services.results import write_results

# A supply run may preview the plan while demand is still in review; edits wait for the
# supply review itself.
RUNNABLE_STAGES = (Stage.DEMAND_REVIEW, Stage.SUPPLY_REVIEW)
SUPPLY_RUN_KIND = "supply"
KEPT = "The published supply plan was kept."


def supply_run_start(
    *, cycle: Cycle, user: AbstractBaseUser | None, chunk_rows: int = CHUNK_SKU_LOCATIONS
) -> SupplyRun:
    """Create a run row and queue it after commit; the kernel splits it into chunks."""
    require(user, "supply.run_supply", "run the supply plan")
    return run_start(
        SUPPLY_RUN_KIND,
        cycle_id=cycle.pk,
        user=user,
        admit=_supply_admit,
        audit_action="supply.start",
        plan_options={"chunk_rows": chunk_rows},
    )


def _supply_admit(cycle: Cycle) -> dict:
    if cycle.stage not in RUNNABLE_STAGES:
        raise PlanReadOnly(
            f"{cycle} is in {cycle.get_stage_display().lower()}: the supply plan runs "
            "during the demand and supply reviews."
        )
    if not ConsensusDemand.objects.filter(cycle=cycle).exists():
        raise ValidationError(f"{cycle} has no consensus demand yet: publish a forecast run first.")
    return {"scope": {"cycle": cycle}}


def _groups(*, cycle: Cycle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every SKU-location of the cycle's plan, and the routings, for chunking."""
    after = add_months(cycle.month, cycle.horizon_months)
    sources = [
        ConsensusDemand.objects.filter(cycle=cycle, month__gte=cycle.month, month__lt=after),
        InventorySnapshot.objects.filter(date__lt=add_months(cycle.month, 1)),
        ScheduledReceipt.objects.filter(due_month__lt=after),
        PlannedSupplyEdit.objects.filter(cycle=cycle, month__gte=cycle.month, month__lt=after),
    ]
    keys = pd.concat(
        [
            rows_frame(
                qs.values_list("product_id", "location_id").distinct(), ["product", "location"]
            )
            for qs in sources
        ]
    ).drop_duplicates()
    routings = rows_frame(
        Routing.objects.values_list("product_id", "resource_id"), ["product", "resource"]
    )
    return keys, routings


def _connected(
    keys: pd.DataFrame, routings: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products, their SKU-location counts and their resource group labels."""
    counts = keys["product"].value_counts().sort_index()
    products = counts.index.to_numpy()
    labels = chunking.resource_groups(
        products, routings["product"].to_numpy(), routings["resource"].to_numpy()
    )
    return products, counts.to_numpy(), labels


def _supply_plan(run: SupplyRun, options: dict) -> list[dict]:
    """The run's SKUs in chunks of whole resource groups: each chunk's product and resource ids.

    Resources no SKU of the plan uses go with the first chunk, so the heatmap shows their
    idle capacity too.
    """
    # Read before the demand itself: if the consensus changes in between, the run is
    # flagged as computed on older demand, never the other way round.
    run.demand_fingerprint = consensus_fingerprint(cycle=run.cycle)
    keys, routings = _groups(cycle=run.cycle)
    # An alternate source couples the products that share it, like a resource.
    products, counts, labels = _connected(keys, pd.concat([routings, source_links()]))
    packed = chunking.pack_chunks(labels, counts, options.get("chunk_rows", CHUNK_SKU_LOCATIONS))
    routed = routings[routings["product"].isin(products)]
    resource_of = routed.groupby("product")["resource"].unique()
    plan = []
    for positions in packed:
        members = products[positions]
        used = resource_of.reindex(members).dropna()
        resources = sorted({int(r) for rs in used for r in rs})
        plan.append({"products": [int(p) for p in members], "resources": resources})
    idle = sorted(set(Resource.objects.values_list("pk", flat=True)) - set(routed["resource"]))
    if plan:
        plan[0]["resources"] = sorted(plan[0]["resources"] + idle)
    run.sku_location_count = len(keys)
    return plan


def _supply_compute(run: SupplyRun, chunk: dict) -> Loaded:
    return load_inputs(
        cycle=run.cycle, product_ids=chunk["products"], resource_ids=chunk["resources"]
    )


def _supply_store(run: SupplyRun, chunk: dict, loaded: Loaded) -> None:
    write_results(run_id=run.pk, loaded=loaded, resource_ids=chunk["resources"])


def _supply_publish(run: SupplyRun, cycle: Cycle) -> None:
    """The rows of the cycle's other runs are dropped: only the published plan is read."""
    stale = SupplyRun.objects.filter(cycle=cycle).exclude(pk=run.pk)
    stale = list(stale.exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    for model in (InventoryProjection, StockTarget, CapacityLoad, SourceSplit):
        model.objects.filter(run_id__in=stale).delete()
    audit_of(run, "supply.publish", user=None, new={"sku_locations": run.sku_location_count})


SUPPLY_RUN = RunKind(
    name=SUPPLY_RUN_KIND,
    model="supply.SupplyRun",
    label="supply run",
    kept=KEPT,
    plan=_supply_plan,
    compute=_supply_compute,
    store=_supply_store,
    publish=_supply_publish,
    stages=RUNNABLE_STAGES,
    submitted="The supply review was submitted during the run.",
)
