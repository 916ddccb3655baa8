"""Writes of the supply app: supply runs, planned supply and capacity edits, recomputes.

A run loads its grids with one query per input, calls `supply.projection.plan_supply` once
per chunk of resource-connected SKUs (see `supply.chunks`) and writes the results in bulk;
publishing flips the cycle's published run in one transaction. An edit of planned supply
or capacity recomputes, inside the request, only the group of SKUs linked to what changed
and rewrites that group's rows of the published run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from demand.models import ConsensusDemand, ForecastRun, SeriesFit
from demand.uncertainty import STORED_LEVELS, error_quantile_grid
from sop.choices import MakeOrBuy, Stage
from sop.locking import VersionedRow
from sop.models import (
    Capacity,
    Cycle,
    InventorySnapshot,
    Location,
    Product,
    Resource,
    Routing,
    SalesHistory,
    ScheduledReceipt,
)
from sop.months import month_index, month_numbers
from sop.roles import require
from sop.runs import (
    ACTIVE_STATUSES,
    RunKind,
    run_create,
    runs_fail_stale,
)
from sop.services import add_months, audit_record, bulk_insert_frame
from supply import chunks as chunking
from supply.choices import CapacityReason, SafetyStockMethod, SupplyReason
from supply.constants import CHUNK_SKU_LOCATIONS, ERROR_STD_FALLBACK_MONTHS, STALE_AFTER
from supply.models import (
    CapacityAdjustment,
    CapacityLoad,
    InventoryProjection,
    PlannedSupplyEdit,
    StockTarget,
    SupplyRun,
)
from supply.projection import Policy, SupplyInputs, days_to_months, plan_supply
from supply.selectors import consensus_fingerprint

# A supply run may preview the plan while demand is still in review; edits wait for the
# supply review itself.
RUNNABLE_STAGES = (Stage.DEMAND_REVIEW, Stage.SUPPLY_REVIEW)
SUPPLY_RUN_KIND = "supply"
KEPT = "The published supply plan was kept."


class PlanReadOnly(ValidationError):
    """The cycle's supply plan cannot change now (wrong stage or a run in progress)."""


def supply_policy() -> Policy:
    """The planning policy from the settings (read at call time, never at import)."""
    return Policy(
        service_levels={
            "A": settings.SOP_SUPPLY_SERVICE_LEVEL_A / 100,
            "B": settings.SOP_SUPPLY_SERVICE_LEVEL_B / 100,
            "C": settings.SOP_SUPPLY_SERVICE_LEVEL_C / 100,
        },
        default_service_level=settings.SOP_SUPPLY_SERVICE_LEVEL_C / 100,
        review_period_months=float(settings.SOP_SUPPLY_REVIEW_PERIOD_MONTHS),
        max_cover_weeks=float(settings.SOP_SUPPLY_MAX_COVER_WEEKS),
    )


# --- loading the grids -----------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    """A chunk's engine inputs and what the writes need besides them."""

    inputs: SupplyInputs
    firm: np.ndarray  # n x T bool: planned supply fixed by a planner
    error_from_forecast: np.ndarray  # n bool
    months: list[dt.date]


def _frame(qs, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(qs), columns=columns)


def _in(field: str, ids: Sequence[int]) -> Q:
    """`field` is one of `ids`; on PostgreSQL as one array parameter.

    A chunk names thousands of SKUs: one placeholder per id made building and binding the
    queries cost more than running them.
    """
    ids = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (ids,))})
    return Q(**{f"{field}__in": ids})


def _load_inputs(
    *, cycle: Cycle, product_ids: Sequence[int] | None, resource_ids: Sequence[int]
) -> _Loaded:
    """The engine's grids for the SKU-locations of `product_ids` (None: all), one query each.

    The SKU-locations are those with consensus demand, stock, open orders or a fixed
    planned supply. Opening stock is the latest count on or before the cycle's first day
    (see the comment below); open orders already overdue are expected in the first month.
    """
    horizon = cycle.horizon_months
    months = [add_months(cycle.month, h) for h in range(horizon)]
    origin = month_index(cycle.month)
    last, after = months[-1], add_months(cycle.month, horizon)

    def scoped(qs):
        return qs if product_ids is None else qs.filter(_in("product_id", product_ids))

    demand = _frame(
        scoped(
            ConsensusDemand.objects.filter(cycle=cycle, month__gte=cycle.month, month__lt=after)
        ).values_list("product_id", "location_id", "month", "value"),
        ["product", "location", "month", "value"],
    )
    counts = _frame(
        scoped(InventorySnapshot.objects.filter(date__lt=add_months(cycle.month, 1)))
        .order_by("date")
        .values_list("product_id", "location_id", "date", "on_hand"),
        ["product", "location", "date", "value"],
    )
    # The projection takes the whole first month's demand from the opening stock, so the
    # opening is the last count on or before the first day: a count from the 20th has
    # already lost part of that demand. Only a SKU first counted later that month opens
    # at its earliest count there, the best figure there is.
    opening = counts["date"] <= cycle.month
    stock = (
        pd.concat(
            [
                counts[opening].drop_duplicates(["product", "location"], keep="last"),
                counts[~opening].drop_duplicates(["product", "location"], keep="first"),
            ]
        )
        .drop_duplicates(["product", "location"], keep="first")
        .drop(columns="date")
    )
    receipts = _frame(
        scoped(ScheduledReceipt.objects.filter(due_month__lte=last)).values_list(
            "product_id", "location_id", "due_month", "quantity"
        ),
        ["product", "location", "month", "value"],
    )
    firm = _frame(
        scoped(
            PlannedSupplyEdit.objects.filter(cycle=cycle, month__gte=cycle.month, month__lt=after)
        ).values_list("product_id", "location_id", "month", "quantity"),
        ["product", "location", "month", "value"],
    )
    keys = (
        pd.concat([f[["product", "location"]] for f in (demand, stock, receipts, firm)])
        .drop_duplicates()
        .sort_values(["product", "location"])
    )
    index = pd.MultiIndex.from_frame(keys, names=["product", "location"])
    n, T = len(index), horizon

    def rows(frame: pd.DataFrame) -> np.ndarray:
        return index.get_indexer(pd.MultiIndex.from_frame(frame[["product", "location"]]))

    def grid(frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((n, T))
        if not frame.empty:
            col = np.clip(month_numbers(frame["month"]) - origin, 0, T - 1)
            np.add.at(out, (rows(frame), col), frame["value"].astype(float).to_numpy())
        return out

    on_hand = np.zeros(n)
    on_hand[rows(stock)] = stock["value"].astype(float).to_numpy()
    firm_grid = np.full((n, T), np.nan)
    if not firm.empty:
        firm_grid[rows(firm), month_numbers(firm["month"]) - origin] = (
            firm["value"].astype(float).to_numpy()
        )

    product_of = keys["product"].to_numpy()
    products = _frame(
        Product.objects.filter(_in("pk", np.unique(product_of))).values_list(
            "pk",
            "abc_class",
            "unit_cost",
            "unit_price",
            "moq",
            "lot_size",
            "lead_time_days",
            "make_or_buy",
            "supplier__lead_time_days_mean",
            "supplier__lead_time_days_std",
        ),
        [
            "product",
            "abc",
            "cost",
            "price",
            "moq",
            "lot",
            "lead_days",
            "make_or_buy",
            "supplier_days",
            "supplier_std",
        ],
    ).set_index("product")
    item = products.loc[product_of]
    bought = (item["make_or_buy"] == MakeOrBuy.BUY).to_numpy() & item["supplier_days"].notna()
    lead_days = np.where(
        bought, item["supplier_days"].astype(float).fillna(0), item["lead_days"].astype(float)
    )
    lead_std_days = np.where(bought, item["supplier_std"].astype(float).fillna(0), 0.0)

    error = _forecast_error(cycle=cycle, index=index, product_ids=product_ids)

    resource_ids = list(resource_ids)
    routings = _frame(
        Routing.objects.filter(
            _in("product_id", np.unique(product_of)), resource_id__in=resource_ids
        ).values_list("product_id", "resource_id", "hours_per_unit"),
        ["product", "resource", "hours"],
    )
    # Hours per unit per product, then one row per SKU-location of the product.
    unique_products, product_row = np.unique(product_of, return_inverse=True)
    per_product = np.zeros((unique_products.size, len(resource_ids)))
    if not routings.empty:
        np.add.at(
            per_product,
            (
                unique_products.searchsorted(routings["product"].to_numpy()),
                pd.Index(resource_ids).get_indexer(routings["resource"]),
            ),
            routings["hours"].astype(float).to_numpy(),
        )
    hours = per_product[product_row]

    capacity = np.zeros((len(resource_ids), T))
    # A resource-month nobody entered capacity for (no imported row, no planner's change)
    # is a data gap, planned unconstrained and flagged, never a shutdown of 0 hours.
    entered = np.zeros((len(resource_ids), T), dtype=bool)
    res_index = pd.Index(resource_ids)
    for model, value in ((Capacity, "hours"), (CapacityAdjustment, "delta_hours")):
        qs = model.objects.filter(
            resource_id__in=resource_ids, month__gte=cycle.month, month__lt=after
        )
        if model is CapacityAdjustment:
            qs = qs.filter(cycle=cycle)
        frame = _frame(qs.values_list("resource_id", "month", value), ["resource", "month", "v"])
        if not frame.empty:
            cells = (
                res_index.get_indexer(frame["resource"]),
                month_numbers(frame["month"]) - origin,
            )
            np.add.at(capacity, cells, frame["v"].astype(float).to_numpy())
            entered[cells] = True
    inputs = SupplyInputs(
        on_hand=on_hand,
        receipts=grid(receipts),
        demand=grid(demand),
        demand_error_std=error.std,
        error_quantiles=error.quantiles,
        error_quantile_levels=error.quantile_levels,
        lead_time_months=days_to_months(lead_days),
        lead_time_std_months=days_to_months(lead_std_days),
        abc_class=item["abc"].fillna("").to_numpy(dtype=object),
        unit_cost=item["cost"].astype(float).to_numpy(),
        unit_price=item["price"].astype(float).to_numpy(),
        moq=item["moq"].astype(float).to_numpy(),
        lot_size=item["lot"].astype(float).to_numpy(),
        hours_per_unit=hours,
        # A lost shift larger than the month's capacity leaves none, never less.
        capacity=capacity.clip(min=0),
        capacity_missing=~entered,
        keys=index,
        months=pd.Index(months, name="month"),
        resources=pd.Index(resource_ids, name="resource"),
        firm_supply=firm_grid,
    )
    return _Loaded(
        inputs=inputs,
        firm=~np.isnan(firm_grid),
        error_from_forecast=error.from_forecast,
        months=months,
    )


@dataclass(frozen=True)
class _ForecastError:
    """What safety stock needs of each SKU-location's forecast error."""

    std: np.ndarray  # n, monthly
    from_forecast: np.ndarray  # n bool: False when recent sales stood in
    quantile_levels: tuple[float, ...]
    quantiles: np.ndarray  # n x levels x months, NaN rows without stored quantiles


def _forecast_error(
    *, cycle: Cycle, index: pd.MultiIndex, product_ids: Sequence[int] | None
) -> _ForecastError:
    """The published forecast run's error quantiles and monthly error std per SKU-location.

    A series the run does not cover falls back to the std of its last months of sales
    (zeros for months without a sale), else zero, and has no quantiles.
    """
    n = len(index)
    std = np.full(n, np.nan)
    levels, quantiles = STORED_LEVELS, np.full((n, len(STORED_LEVELS), 0), np.nan)
    run = ForecastRun.objects.filter(cycle=cycle, is_published=True).first()
    if run is not None:
        qs = SeriesFit.objects.filter(run=run, error_std__isnull=False)
        if product_ids is not None:
            qs = qs.filter(_in("product_id", product_ids))
        fits = _frame(
            qs.values_list("product_id", "location_id", "error_std", "error_quantiles"),
            ["product", "location", "std", "quantiles"],
        )
        if not fits.empty:
            where = index.get_indexer(pd.MultiIndex.from_frame(fits[["product", "location"]]))
            keep = where >= 0
            std[where[keep]] = fits["std"].to_numpy(float)[keep]
            levels, stored = error_quantile_grid(fits["quantiles"].to_numpy()[keep])
            quantiles = np.full((n, *stored.shape[1:]), np.nan)
            quantiles[where[keep]] = stored
    from_forecast = ~np.isnan(std)
    missing = np.flatnonzero(~from_forecast)
    if missing.size:
        first = add_months(cycle.month, -ERROR_STD_FALLBACK_MONTHS)
        missing_products = np.unique(index.get_level_values("product")[missing]).tolist()
        sales = _frame(
            SalesHistory.objects.filter(
                _in("product_id", missing_products), month__gte=first, month__lt=cycle.month
            ).values_list("product_id", "location_id", "month", "quantity"),
            ["product", "location", "month", "qty"],
        )
        history = np.zeros((n, ERROR_STD_FALLBACK_MONTHS))
        if not sales.empty:
            where = index.get_indexer(pd.MultiIndex.from_frame(sales[["product", "location"]]))
            col = month_numbers(sales["month"]) - month_index(first)
            keep = where >= 0
            np.add.at(history, (where[keep], col[keep]), sales["qty"].astype(float)[keep])
        std[missing] = history[missing].std(axis=1, ddof=1)
    return _ForecastError(
        std=np.nan_to_num(std),
        from_forecast=from_forecast,
        quantile_levels=levels,
        quantiles=quantiles,
    )


# --- writing results ---------------------------------------------------------------------


_GRID_FIELDS = (
    "demand",
    "receipts",
    "planned_unconstrained",
    "planned",
    "firm",
    "shortage",
    "on_hand",
    "unmet",
    "weeks_of_cover",
    "excess_quantity",
)


def _plan_hashes(grid: pd.DataFrame, n: int) -> np.ndarray:
    """One int64 per SKU-location over its monthly rows (in `grid`'s i-major order)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    columns = [grid[name].to_numpy(float).reshape(n, -1) for name in _GRID_FIELDS]
    values = np.hstack(columns).round(6)
    hashes = pd.util.hash_pandas_object(pd.DataFrame(values), index=False).to_numpy()
    return hashes.view(np.int64)


def _stale_products(*, run_id: int, loaded: _Loaded, hashes: np.ndarray) -> np.ndarray:
    """Products whose stored plan in the run differs from the new one (one query).

    A recompute after an edit changes the plan of a few SKUs of a group that may hold
    thousands; rewriting only those keeps the edit fast.
    """
    index = loaded.inputs.keys
    products = index.get_level_values("product")
    stored = _frame(
        StockTarget.objects.filter(_in("product_id", products.unique()), run_id=run_id).values_list(
            "product_id", "location_id", "plan_hash"
        ),
        ["product", "location", "hash"],
    )
    row = index.get_indexer(pd.MultiIndex.from_frame(stored[["product", "location"]]))
    known = row >= 0
    old = np.zeros(len(index), dtype=np.int64)
    present = np.zeros(len(index), dtype=bool)
    old[row[known]] = stored["hash"].to_numpy(np.int64)[known]
    present[row[known]] = True
    same = present & (old == hashes)
    # Stored keys the plan no longer has (their stock or demand is gone) go too.
    gone = stored.loc[~known, "product"].unique()
    return np.union1d(products[~same].unique(), gone).astype(np.int64)


def _safety_stock_method(*, from_quantiles: np.ndarray, from_forecast: np.ndarray) -> np.ndarray:
    """Which way each SKU-location's safety stock was set, as `SafetyStockMethod` values."""
    return np.select(
        [from_quantiles, from_forecast],
        [SafetyStockMethod.QUANTILES, SafetyStockMethod.NORMAL],
        SafetyStockMethod.SALES,
    )


def _write_results(
    *, run_id: int, loaded: _Loaded, resource_ids: Sequence[int], only_changed: bool = False
) -> int:
    """Compute the plan of a chunk or group and store its rows in the run.

    The group's old rows are replaced; with `only_changed`, only those of the products
    whose plan differs. Returns the SKU-locations written.
    """
    result = plan_supply(loaded.inputs, supply_policy())
    grid = result.sku_months().rename(columns={"product": "product_id", "location": "location_id"})
    grid["firm"] = loaded.firm.ravel()
    keys = loaded.inputs.keys.to_frame(index=False)
    months = np.array(loaded.months, dtype=object)
    targets = pd.DataFrame(
        {
            "product_id": keys["product"].to_numpy(),
            "location_id": keys["location"].to_numpy(),
            "service_level": result.service_level,
            "safety_stock": result.safety_stock,
            "safety_stock_method": _safety_stock_method(
                from_quantiles=result.safety_stock_from_quantiles,
                from_forecast=loaded.error_from_forecast,
            ),
            "order_up_to": result.order_up_to,
            "demand_error_std": loaded.inputs.demand_error_std,
            "error_from_forecast": loaded.error_from_forecast,
            "lead_time_months": loaded.inputs.lead_time_months,
            "lead_time_std_months": loaded.inputs.lead_time_std_months,
            # A lead time beyond the horizon is stored as its last month.
            "first_month": months[np.minimum(result.first_month, len(months) - 1)],
            "plan_hash": _plan_hashes(grid, len(keys)),
        }
    )
    if only_changed:
        products = _stale_products(run_id=run_id, loaded=loaded, hashes=targets["plan_hash"])
        grid = grid[grid["product_id"].isin(products)]
        targets = targets[targets["product_id"].isin(products)]
    else:
        products = keys["product"].unique()
    InventoryProjection.objects.filter(_in("product_id", products), run_id=run_id).delete()
    StockTarget.objects.filter(_in("product_id", products), run_id=run_id).delete()
    CapacityLoad.objects.filter(run_id=run_id, resource_id__in=list(resource_ids)).delete()
    grid.insert(0, "run_id", run_id)
    bulk_insert_frame(InventoryProjection, grid)
    targets.insert(0, "run_id", run_id)
    bulk_insert_frame(StockTarget, targets)
    loads = (
        result.resource_months()
        .rename(columns={"resource": "resource_id"})
        .drop(columns=["utilisation"])
    )
    loads.insert(0, "run_id", run_id)
    bulk_insert_frame(CapacityLoad, loads)
    return len(targets)


# --- supply runs -------------------------------------------------------------------------


def supply_run_start(
    *, cycle: Cycle, user: AbstractBaseUser | None, chunk_rows: int = CHUNK_SKU_LOCATIONS
) -> SupplyRun:
    """Create a run row and queue it after commit; the kernel splits it into chunks.

    If the task queue is unreachable, the run comes back failed with a message saying so.
    """
    require(user, "supply.run_supply", "run the supply plan")
    # A run whose worker died must not block a new one until the next sweep.
    runs_fail_stale(kind_names=[SUPPLY_RUN_KIND])
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if locked.stage not in RUNNABLE_STAGES:
            raise PlanReadOnly(
                f"{locked} is in {locked.get_stage_display().lower()}: the supply plan runs "
                "during the demand and supply reviews."
            )
        if not ConsensusDemand.objects.filter(cycle=locked).exists():
            raise ValidationError(
                f"{locked} has no consensus demand yet: publish a forecast run first."
            )
        run = run_create(
            SUPPLY_RUN_KIND,
            scope={"cycle": locked},
            user=user,
            plan_options={"chunk_rows": chunk_rows},
        )
        audit_record(
            user=user,
            action="supply.start",
            object_type="supply_run",
            object_id=run.pk,
            cycle=locked,
        )
    return run


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
            _frame(qs.values_list("product_id", "location_id").distinct(), ["product", "location"])
            for qs in sources
        ]
    ).drop_duplicates()
    routings = _frame(
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


def supply_demo_build(*, cycle: Cycle, user: AbstractBaseUser | None = None) -> SupplyRun | None:
    """Post-seed step of the demo: the cycle's first supply plan, once it has consensus.

    Started as the system. Without Redis the forecast published the consensus before this
    step and the plan completes before it returns; with Redis the forecast may still be on
    the workers, and the supply planner starts the run from the page. Seeding again keeps
    the runs that exist.
    """
    if SupplyRun.objects.filter(cycle=cycle).exists():
        return None
    if not ConsensusDemand.objects.filter(cycle=cycle).exists():
        return None
    return supply_run_start(cycle=cycle, user=None)


def _supply_plan(run: SupplyRun, options: dict) -> list[dict]:
    """The run's SKUs in chunks of whole resource groups: each chunk's product and resource ids.

    Resources no SKU of the plan uses go with the first chunk, so the heatmap shows their
    idle capacity too.
    """
    # Read before the demand itself: if the consensus changes in between, the run is
    # flagged as computed on older demand, never the other way round.
    run.demand_fingerprint = consensus_fingerprint(cycle=run.cycle)
    keys, routings = _groups(cycle=run.cycle)
    products, counts, labels = _connected(keys, routings)
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


def _supply_compute(run: SupplyRun, chunk: dict) -> _Loaded:
    return _load_inputs(
        cycle=run.cycle, product_ids=chunk["products"], resource_ids=chunk["resources"]
    )


def _supply_store(run: SupplyRun, chunk: dict, loaded: _Loaded) -> None:
    _write_results(run_id=run.pk, loaded=loaded, resource_ids=chunk["resources"])


def _supply_publish(run: SupplyRun, cycle: Cycle) -> None:
    """The rows of the cycle's other runs are dropped: only the published plan is read."""
    stale = SupplyRun.objects.filter(cycle=cycle).exclude(pk=run.pk)
    stale = list(stale.exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    for model in (InventoryProjection, StockTarget, CapacityLoad):
        model.objects.filter(run_id__in=stale).delete()
    audit_record(
        user=None,
        action="supply.publish",
        object_type="supply_run",
        object_id=run.pk,
        cycle=cycle,
        new={"sku_locations": run.sku_location_count},
    )


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
    stale_after=STALE_AFTER,
)


def supply_plan_inputs(*, cycle: Cycle) -> tuple[SupplyInputs, Policy]:
    """The engine inputs and policy of the cycle's whole plan, as a supply run reads them.

    What-if scenarios start from these (`reconciliation`): with no deltas they give the
    plan the published run holds, edits included.
    """
    resource_ids = list(Resource.objects.order_by("pk").values_list("pk", flat=True))
    loaded = _load_inputs(cycle=cycle, product_ids=None, resource_ids=resource_ids)
    return loaded.inputs, supply_policy()


# --- edits and the fast recompute ----------------------------------------------------------


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
    routings = _frame(
        Routing.objects.values_list("product_id", "resource_id"), ["product", "resource"]
    )
    # A product without a routing is a group of its own: the routed ones and the edited
    # ones are all the graph needs.
    products = np.union1d(routings["product"].to_numpy(), np.asarray(product_ids, dtype=np.int64))
    labels = chunking.resource_groups(
        products, routings["product"].to_numpy(), routings["resource"].to_numpy()
    )
    touched = set(product_ids) | set(
        routings.loc[routings["resource"].isin(list(resource_ids)), "product"]
    )
    group_labels = np.unique(labels[np.isin(products, list(touched))])
    members = products[np.isin(labels, group_labels)].tolist()
    resources = sorted(
        set(resource_ids) | set(routings.loc[routings["product"].isin(members), "resource"])
    )
    loaded = _load_inputs(cycle=cycle, product_ids=members, resource_ids=resources)
    with transaction.atomic():
        SupplyRun.objects.select_for_update().get(pk=run.pk)
        return _write_results(
            run_id=run.pk, loaded=loaded, resource_ids=resources, only_changed=True
        )


def _editable_cycle(cycle_pk: int) -> Cycle:
    """Lock the cycle and check the supply plan may change now (call inside a transaction)."""
    # A run whose worker died would otherwise block edits until someone starts a new one.
    runs_fail_stale(kind_names=[SUPPLY_RUN_KIND])
    locked = Cycle.objects.select_for_update().get(pk=cycle_pk)
    if locked.stage != Stage.SUPPLY_REVIEW:
        raise PlanReadOnly(
            f"{locked} is in {locked.get_stage_display().lower()}: its supply plan is read-only."
        )
    active = SupplyRun.objects.filter(cycle=locked, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        # The run has read the inputs already; an edit now would be lost when it publishes.
        raise PlanReadOnly(f"Supply run {active.pk} is computing: save again when it finishes.")
    return locked


def _in_horizon(cycle: Cycle, month: dt.date) -> None:
    if not cycle.month <= month <= add_months(cycle.month, cycle.horizon_months - 1):
        raise ValidationError(f"{month:%b %Y} is outside the cycle's horizon.")


def _number(value: Decimal | float) -> str:
    """A quantity as the audit trail and messages show it: 80, -30, 12.5."""
    return format(Decimal(str(value)).normalize(), "f")


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
) -> PlannedSupplyEdit | None:
    """Fix (or with quantity=None release) the planned supply of one SKU-location-month.

    `expected_version` is the version the planner saw (None: not fixed yet); a different
    one raises EditConflict and writes nothing. The published plan of the SKU's resource
    group is recomputed in the same transaction.
    """
    require(user, "supply.change_plannedsupplyedit", "change planned supply")
    if reason not in SupplyReason.values:
        raise ValidationError("Choose a reason for the change.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    if quantity is not None and quantity < 0:
        raise ValidationError("Planned supply cannot be negative.")
    with transaction.atomic():
        locked = _editable_cycle(cycle.pk)
        _in_horizon(locked, month)
        scope = {"cycle": locked, "product": product, "location": location, "month": month}
        row = VersionedRow(
            rows=PlannedSupplyEdit.objects.filter(**scope),
            what=f"The planned supply of {product.sku} @ {location.code} in {month:%b %Y}",
            show=lambda e: _number(e.quantity) if e is not None else "the engine's plan",
            object_type="planned_supply",
            object_id=f"{product.sku}@{location.code}/{month:%Y-%m}",
        )
        current = row.lock(seen=expected_version)
        if quantity is None and current is None:
            return None
        old = None if current is None else _number(current.quantity)
        saved = row.save(
            current,
            None
            if quantity is None
            else {"quantity": quantity, "reason": reason, "comment": comment, "author": user},
            create=scope,
        )
        audit_record(
            user=user,
            action="supply.planned_supply",
            object_type=row.object_type,
            object_id=row.object_id,
            cycle=locked,
            old={"quantity": old},
            new={"quantity": None if quantity is None else _number(quantity), "reason": reason},
            reason=comment,
        )
        supply_recompute(cycle=locked, product_ids=[product.pk])
    return saved


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
    if reason not in CapacityReason.values:
        raise ValidationError("Choose a reason for the change.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    with transaction.atomic():
        locked = _editable_cycle(cycle.pk)
        _in_horizon(locked, month)
        scope = {"cycle": locked, "resource": resource, "month": month}
        row = VersionedRow(
            rows=CapacityAdjustment.objects.filter(**scope),
            what=f"The capacity of {resource.code} in {month:%b %Y}",
            show=lambda a: (
                f"{_number(a.delta_hours)} h" if a is not None else "the imported capacity"
            ),
            object_type="capacity_adjustment",
            object_id=f"{resource.code}/{month:%Y-%m}",
        )
        current = row.lock(seen=expected_version)
        if delta_hours is None and current is None:
            return None
        old = None if current is None else _number(current.delta_hours)
        saved = row.save(
            current,
            None
            if delta_hours is None
            else {
                "delta_hours": delta_hours,
                "reason": reason,
                "comment": comment,
                "author": user,
            },
            create=scope,
        )
        audit_record(
            user=user,
            action="supply.capacity",
            object_type=row.object_type,
            object_id=row.object_id,
            cycle=locked,
            old={"delta_hours": old},
            new={
                "delta_hours": None if delta_hours is None else _number(delta_hours),
                "reason": reason,
            },
            reason=comment,
        )
        supply_recompute(cycle=locked, resource_ids=[resource.pk])
    return saved
