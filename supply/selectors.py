"""Reads of the supply app: the published plan's grids, lists, heatmap and the gate."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DecimalField, F, FloatField, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast

from demand.models import ConsensusDemand
from sop.choices import JobStatus, Stage
from sop.models import (
    AuditEvent,
    Capacity,
    CustomerOrderLine,
    Cycle,
    ImportJob,
    Location,
    Product,
    ProductSource,
    PurchaseReceipt,
    Resource,
    Routing,
    SalesHistory,
    Supplier,
)
from sop.months import month_numbers
from sop.selectors import (
    LifecycleBadge,
    PlanFilters,
    change_history,
    product_lifecycle_badges,
    series_rows,
)
from sop.services import add_months
from sop.steps import Check
from supply import performance
from supply.choices import (
    CapacityReason,
    ExceptionFilter,
    GridLayer,
    GridSort,
    SafetyStockMethod,
    SupplyReason,
)
from supply.constants import (
    CUSTOMER_OTIF_MONTHS,
    EDIT_OBJECT_TYPES,
    GRID_PAGE_ROWS,
    LIST_ROWS,
    OTIF_WARNING_PCT,
    OVERLOAD,
    PARETO_MONTHS,
    PERFORMANCE_TREND_MONTHS,
    PROJECTION_FIELDS,
)
from supply.models import (
    CapacityAdjustment,
    CapacityLoad,
    InventoryProjection,
    PlannedSupplyEdit,
    PlanRecompute,
    SourceSplit,
    StockTarget,
    SupplyRun,
)
from supply.projection import phase_out_targets
from supply.service import customer_otif_lines, customer_otif_summary
from supply.sourcing import odd_sources

# Bounds how long a master-data change made outside an import (Django admin) goes unseen.
SKU_LIST_CACHE_SECONDS = 60

_EPS = 1e-6

# How a projection row names its SKU-location on the pages' lists.
_SERIES_LABELS = {
    "sku": F("product__sku"),
    "name": F("product__name"),
    "abc": F("product__abc_class"),
    "location_code": F("location__code"),
}


def consensus_fingerprint(*, cycle: Cycle) -> str:
    """Identifies the cycle's consensus demand as it is now, in one aggregate query.

    Every consensus rebuild deletes and re-inserts rows, so the highest id moves on any
    change; count and total catch the rest. The total is summed as numeric: a float sum
    depends on the order PostgreSQL adds the rows in (parallel workers) and could differ
    in its last digits between two reads of the same demand.
    """
    agg = ConsensusDemand.objects.filter(cycle=cycle).aggregate(
        n=Count("id"),
        last=Max("id"),
        total=Sum(Cast("value", DecimalField(max_digits=24, decimal_places=4))),
    )
    return f"{agg['n']}:{agg['last'] or 0}:{agg['total'] or 0:.4f}"


def supply_run_published(*, cycle: Cycle) -> SupplyRun | None:
    return SupplyRun.objects.filter(cycle=cycle, is_published=True).first()


def supply_run_latest(*, cycle: Cycle) -> SupplyRun | None:
    return SupplyRun.objects.filter(cycle=cycle).select_related("created_by").first()


def demand_changed_since(*, cycle: Cycle, run: SupplyRun | None) -> bool:
    """True when the consensus demand is no longer the one the run was computed on."""
    return run is not None and run.demand_fingerprint != consensus_fingerprint(cycle=cycle)


def supply_gate(cycle: Cycle) -> str | None:
    """Gate of the supply review: a published run computed on the current consensus.

    A cycle without consensus demand has nothing to plan, so nothing to wait for.
    """
    run = SupplyRun.objects.filter(
        cycle=cycle, is_published=True, status=JobStatus.SUCCEEDED
    ).first()
    if run is None:
        if not ConsensusDemand.objects.filter(cycle=cycle).exists():
            return None
        return "The supply plan for this cycle has not run successfully yet."
    if demand_changed_since(cycle=cycle, run=run):
        return (
            "The consensus demand changed since the last supply run: recalculate the supply "
            "plan before submitting it."
        )
    return None


def capacity_gaps(*, cycle: Cycle) -> list[dict]:
    """Routed resources' months of the horizon with no capacity entered, per resource.

    Neither an imported `Capacity` row nor a planner's change of the cycle: the engine
    plans those months unconstrained (`supply.projection`), so the page and the cycle
    checklist flag them. A row of 0 hours is a shutdown, not a gap. Two queries.
    """
    months = cycle.horizon
    routed = dict(
        Resource.objects.filter(pk__in=Routing.objects.values("resource_id"))
        .order_by("code")
        .values_list("pk", "code")
    )
    imported = Capacity.objects.filter(resource_id__in=list(routed), month__in=months)
    changed = CapacityAdjustment.objects.filter(
        cycle=cycle, resource_id__in=list(routed), month__in=months
    )
    entered = set(
        imported.order_by()
        .values_list("resource_id", "month")
        .union(changed.order_by().values_list("resource_id", "month"))
    )
    gaps = []
    for pk, code in routed.items():
        missing = [m for m in months if (pk, m) not in entered]
        if missing:
            gaps.append({"code": code, "months": missing})
    return gaps


def capacity_gap_warning(*, cycle: Cycle) -> str:
    """The capacity gaps as one sentence for the page and the checklist; "" if none."""
    gaps = capacity_gaps(cycle=cycle)
    if not gaps:
        return ""
    listed = "; ".join(
        f"{g['code']} in {', '.join(f'{m:%b %Y}' for m in g['months'])}" for g in gaps
    )
    return (
        f"No capacity entered for {listed}: planned unconstrained there. Import the "
        "capacity or enter it as a capacity change."
    )


def odd_source_list() -> list[dict]:
    """Alternate sources that are legal but odd: the top priority of a SKU-location with no
    capacity, so its first choice never supplies (`supply.sourcing.odd_sources`)."""
    # Lazy: supply.services imports this module (its runs read the consensus fingerprint).
    from supply.services.inputs import alternate_sources, source_rows

    rows = source_rows(None)
    if rows.empty:
        return []
    keys = rows[["product", "location"]].drop_duplicates()
    sources = alternate_sources(rows, pd.MultiIndex.from_frame(keys), 1)
    odd = rows.set_index("source").loc[sources.labels[odd_sources(sources)]]
    skus = dict(Product.objects.filter(pk__in=odd["product"].tolist()).values_list("pk", "sku"))
    codes = dict(Location.objects.filter(pk__in=odd["location"].tolist()).values_list("pk", "code"))
    return [
        {
            "sku": skus[r.product],
            "location": codes[r.location],
            "source": f"{r.kind} {r.code}",
            "text": (
                f"{skus[r.product]} @ {codes[r.location]}: its first alternate source, "
                f"{r.kind} {r.code}, has no capacity in any month: it can never supply"
            ),
        }
        for r in odd.sort_values(["product", "location"]).itertuples()
    ]


def recompute_pending(*, cycle: Cycle, product: Product) -> bool:
    """Whether the SKU's rows of the published plan wait for a background recompute."""
    return PlanRecompute.objects.filter(cycle=cycle, product=product).exists()


def plan_is_editable(*, cycle: Cycle, user) -> bool:
    return cycle.stage == Stage.SUPPLY_REVIEW and user.has_perm("supply.change_plannedsupplyedit")


def capacity_is_editable(*, cycle: Cycle, user) -> bool:
    return cycle.stage == Stage.SUPPLY_REVIEW and user.has_perm("supply.change_capacityadjustment")


# --- the SKU list ------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    family: str = ""
    abc: str = ""
    exception: str = ""
    resource: str = ""  # a Resource pk: the SKUs routed through it (the supply grid's)

    @property
    def active(self) -> bool:
        return bool(self.family or self.abc or self.exception or self.resource)


def edits_stamp(*, cycle_id: int) -> list[str]:
    """Count and last change of the cycle's planned-supply and capacity edits, one query.

    The published plan changes with these (and with the run); what is computed from it
    (the SKU list here, a scenario's basis) is keyed on them. A cycle has tens of edits,
    not thousands, so the join of the two is small.
    """
    edits = Cycle.objects.filter(pk=cycle_id).aggregate(
        supply_n=Count("supply_edits", distinct=True),
        supply_at=Max("supply_edits__updated_at"),
        capacity_n=Count("capacity_adjustments", distinct=True),
        capacity_at=Max("capacity_adjustments__updated_at"),
    )
    return [
        f"{edits[f'{kind}_n']}@{edits[f'{kind}_at'].timestamp() if edits[f'{kind}_at'] else 0}"
        for kind in ("supply", "capacity")
    ]


def _plan_rows_stamp(run: SupplyRun) -> str:
    """Changes whenever the published run's rows or the products' data can have changed.

    A published run's rows change only by the recompute after a planned-supply or
    capacity edit of its cycle (in the background: `PlanRecompute`); products change by
    import (and by the Django admin, which the short cache time covers).
    """
    parts = [str(run.pk), *edits_stamp(cycle_id=run.cycle_id)]
    # A background recompute rewrites rows after its edit: its end changes the stamp too.
    parts.append(str(PlanRecompute.objects.filter(cycle_id=run.cycle_id).count()))
    imported = ImportJob.objects.aggregate(last=Max("finished_at"))["last"]
    parts.append(str(imported.timestamp() if imported else 0))
    return ":".join(parts)


def sku_list(*, run: SupplyRun, filters: Filters, limit: int | None = LIST_ROWS) -> list[dict]:
    """The plan's worst SKU-locations (see `_sku_list`), cached until the plan changes.

    The aggregate reads every row of the run on each view of the page: the busiest query
    of the supply review under load.
    """
    key = (
        "supply:skus:"
        + hashlib.sha1(
            f"{_plan_rows_stamp(run)}|{filters.family}|{filters.abc}|{filters.exception}"
            f"|{filters.resource}|{limit}".encode()
        ).hexdigest()
    )
    rows = cache.get(key)
    if rows is None:
        rows = _sku_list(run=run, filters=filters, limit=limit)
        cache.set(key, rows, SKU_LIST_CACHE_SECONDS)
    return rows


def _below_run_down(frame: pd.DataFrame, *, run: SupplyRun) -> None:
    """Below safety stock, for a product being phased out: against each month's run-down
    target (`projection.phase_out_targets`), not the month-0 one it keeps all horizon.

    `frame` has the SKU list's columns and the targets'; no query without an end of life.
    """
    ending = frame[frame["end_of_life"].notna() & frame["safety_stock"].notna()]
    if ending.empty:
        return
    months = run.cycle.horizon
    origin = month_numbers(pd.Series([run.cycle.month]))[0]
    end = (month_numbers(ending["end_of_life"]) - origin).astype(float)
    exposure = ending["lead_time_months"].astype(float).to_numpy() + float(
        settings.SOP_SUPPLY_REVIEW_PERIOD_MONTHS
    )
    shares = phase_out_targets(
        safety_stock=np.ones(len(ending)),
        exposure_months=exposure,
        end_of_life=end,
        months=len(months),
    )
    # The stored safety stock is the month-0 target: scale the run-down from it.
    scale = np.divide(
        ending["safety_stock"].astype(float).to_numpy(),
        shares[:, 0],
        out=np.zeros(len(ending)),
        where=shares[:, 0] > 0,
    )
    keys = pd.MultiIndex.from_frame(ending[["product", "location"]])
    stock = (
        pd.DataFrame(
            list(
                InventoryProjection.objects.filter(
                    run=run, product__in=ending["product"].unique().tolist()
                ).values_list("product", "location", "month", "on_hand")
            ),
            columns=["product", "location", "month", "on_hand"],
        )
        .pivot_table(index=["product", "location"], columns="month", values="on_hand")
        .reindex(index=keys, columns=months)
    )
    below = (stock.to_numpy() < scale[:, None] * shares - _EPS).any(axis=1)
    frame.loc[ending.index, "below_ss"] = below


def _sku_list(*, run: SupplyRun, filters: Filters, limit: int | None = LIST_ROWS) -> list[dict]:
    """SKU-locations of the plan with their horizon totals, worst first (two queries).

    Ranked by revenue at risk (lost demand at price), then capacity shortage, then the
    value of the excess stock in the first month.
    """
    qs = InventoryProjection.objects.filter(run=run)
    if filters.family:
        qs = qs.filter(product__family=filters.family)
    if filters.abc:
        qs = qs.filter(product__abc_class=filters.abc)
    if filters.resource:
        qs = qs.filter(
            product__in=Routing.objects.filter(resource_id=filters.resource).values("product")
        )
    rows = (
        qs.values("product", "location")
        .annotate(
            demand=Sum("demand"),
            unmet=Sum("unmet"),
            shortage=Sum("shortage"),
            planned=Sum("planned"),
            min_on_hand=Min("on_hand"),
            first_excess=Sum("excess_quantity", filter=Q(month=run.cycle.month)),
            family=F("product__family"),
            price=F("product__unit_price"),
            cost=F("product__unit_cost"),
            end_of_life=F("product__end_of_life_month"),
            **_SERIES_LABELS,
        )
        .order_by()
    )
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return []
    columns = ["product", "location", "safety_stock", "lead_time_months"]
    targets = pd.DataFrame(
        list(StockTarget.objects.filter(run=run).values(*columns)), columns=columns
    )
    frame = frame.merge(targets, on=["product", "location"], how="left")
    frame["revenue_at_risk"] = frame["unmet"] * frame["price"].astype(float)
    frame["excess_value"] = frame["first_excess"].fillna(0) * frame["cost"].astype(float)
    frame["below_ss"] = frame["min_on_hand"] < frame["safety_stock"] - _EPS
    _below_run_down(frame, run=run)
    flags = {
        ExceptionFilter.STOCKOUT: frame["unmet"] > _EPS,
        ExceptionFilter.SHORTAGE: frame["shortage"] > _EPS,
        ExceptionFilter.BELOW_SAFETY: frame["below_ss"],
        ExceptionFilter.EXCESS: frame["excess_value"] > _EPS,
    }
    if filters.exception == ExceptionFilter.OUTSIDE_HISTORY:
        flags[filters.exception] = _outside_history(frame, cycle_id=run.cycle_id)
    if filters.exception in flags:
        frame = frame[flags[filters.exception].loc[frame.index]]
    frame = frame.sort_values(
        ["revenue_at_risk", "shortage", "excess_value", "sku"],
        ascending=[False, False, False, True],
    )
    return frame.head(limit).to_dict("records")


def _outside_history(frame: pd.DataFrame, *, cycle_id: int) -> pd.Series:
    """Rows of `frame` whose SKU-location holds a confirmed value far outside its history."""
    flagged = set(
        PlannedSupplyEdit.objects.filter(cycle_id=cycle_id, outside_history=True).values_list(
            "product_id", "location_id"
        )
    )
    keys = zip(frame["product"], frame["location"], strict=True)
    return pd.Series([k in flagged for k in keys], index=frame.index)


# --- one SKU-location --------------------------------------------------------------------


@dataclass
class SkuGrid:
    """The monthly plan of one SKU-location in the published run."""

    product: Product
    location: Location
    months: list[dt.date]
    rows: dict[str, list[float]]
    firm: list[bool]
    target: StockTarget | None
    edits: dict[dt.date, PlannedSupplyEdit] = field(default_factory=dict)
    # The split of planned supply by source, when the SKU-location has alternates.
    sources: SourceTable | None = None

    ROW_LABELS = (
        ("demand", "Consensus demand"),
        ("receipts", "Scheduled receipts"),
        ("planned_unconstrained", "Planned (unconstrained)"),
        ("planned", "Planned supply"),
        ("shortage", "Shortage (capacity)"),
        ("on_hand", "Projected on hand"),
        ("unmet", "Lost demand"),
        ("weeks_of_cover", "Weeks of cover"),
        ("excess_quantity", "Excess"),
    )


@dataclass
class SourceTable:
    """Planned supply of one SKU-location by source and month, and the alternates' cost.

    `rows`: the primary first (planned supply less the alternates'), then each alternate
    source in priority order, each a label, its terms and its quantity per month.
    """

    rows: list[dict]
    extra_cost: list[float]  # per month, the alternates' cost over the product's
    extra_cost_total: float
    alternate_total: float
    order: str  # how the alternates are taken, in words


def source_table(
    *,
    run: SupplyRun,
    product: Product,
    location: Location,
    months: list[dt.date],
    planned: list[float],
) -> SourceTable | None:
    """The SKU-location's split by source in the run (two queries); None without alternates."""
    sources = list(
        ProductSource.objects.filter(product=product, location=location, active=True)
        .select_related("supplier", "resource")
        .order_by("priority", "unit_cost", "pk")
    )
    if not sources:
        return None
    split = pd.DataFrame(
        list(
            SourceSplit.objects.filter(run=run, product=product, location=location).values_list(
                "source_id", "month", "quantity", "extra_cost"
            )
        ),
        columns=["source", "month", "quantity", "extra_cost"],
    )
    position = {m: i for i, m in enumerate(months)}
    rows = []
    alternate = np.zeros(len(months))
    extra = np.zeros(len(months))
    for source in sources:
        quantity = np.zeros(len(months))
        mine = split[split["source"] == source.pk]
        cols = [position[m] for m in mine["month"]]
        quantity[cols] = mine["quantity"].to_numpy(float)
        extra[cols] += mine["extra_cost"].to_numpy(float)
        alternate += quantity
        kind = "Supplier" if source.supplier_id else "Resource"
        rows.append(
            {
                "label": f"{kind} {source.source_code}",
                "source": source,
                "values": quantity.tolist(),
                "total": float(quantity.sum()),
            }
        )
    primary = np.asarray(planned, dtype=float) - alternate
    rows.insert(
        0,
        {
            "label": "Primary source",
            "source": None,
            "values": primary.tolist(),
            "total": float(primary.sum()),
        },
    )
    return SourceTable(
        rows=rows,
        extra_cost=extra.tolist(),
        extra_cost_total=float(extra.sum()),
        alternate_total=float(alternate.sum()),
        order="cheapest first" if settings.SOP_ALTERNATE_ORDER == "cost" else "in priority order",
    )


def sku_grid(*, run: SupplyRun, product: Product, location: Location) -> SkuGrid:
    """One query for the months, one for the targets, one for the planner's edits; two for
    the split by source when the SKU-location has alternates."""
    fields = [name for name, _ in SkuGrid.ROW_LABELS]
    rows = list(
        InventoryProjection.objects.filter(run=run, product=product, location=location)
        .order_by("month")
        .values_list("month", "firm", *fields)
    )
    edits = {
        e.month: e
        for e in PlannedSupplyEdit.objects.filter(
            cycle_id=run.cycle_id, product=product, location=location
        ).select_related("author")
    }
    months = [r[0] for r in rows]
    values = {name: [r[2 + i] for r in rows] for i, name in enumerate(fields)}
    return SkuGrid(
        product=product,
        location=location,
        months=months,
        rows=values,
        firm=[r[1] for r in rows],
        target=StockTarget.objects.filter(run=run, product=product, location=location).first(),
        edits=edits,
        sources=source_table(
            run=run, product=product, location=location, months=months, planned=values["planned"]
        ),
    )


# --- the supply grid: SKU-locations as rows ----------------------------------------------


@dataclass
class PlanRow:
    """One SKU-location of the supply grid: the layer's months and its horizon figures."""

    product_id: int
    location_id: int
    sku: str
    name: str
    location: str
    abc: str
    demand: float  # horizon total of the consensus demand (the volume)
    unmet: float  # horizon lost demand
    shortage: float  # horizon cut for capacity
    values: list[float | None]  # the layer's value per month
    edits: dict[dt.date, PlannedSupplyEdit]
    badges: list[LifecycleBadge] = field(default_factory=list)
    # Stock left at the end of life: its month, units and value at cost (None: none left).
    end_of_life_stock: dict | None = None

    @property
    def key(self) -> str:
        return f"{self.product_id}-{self.location_id}"


@dataclass
class PlanGrid:
    """A page of the published plan's SKU-locations as rows, its months as columns."""

    layer: str
    sort: str
    months: list[dt.date]
    rows: list[PlanRow]
    count: int  # SKU-locations passing the filters, over all pages
    page: int
    pages: int


def plan_grid(
    *,
    run: SupplyRun,
    layer: str = GridLayer.PLANNED,
    sort: str = GridSort.RISK,
    filters: Filters = Filters(),
    page: int = 1,
    series: tuple[int, int] | None = None,
) -> PlanGrid:
    """SKU-locations of the published plan (by family or resource) as rows of one layer.

    Filtered and ranked as the review's SKU list (`sku_list`: the same exception flags),
    or sorted by horizon demand or by shortage (lost plus cut); then paged. `series`
    (product, location) reads that one row, as a saved cell answers.
    """
    listed = sku_list(run=run, filters=filters, limit=None)
    if series is not None:
        listed = [r for r in listed if (r["product"], r["location"]) == series]
    if sort == GridSort.VOLUME:
        listed = sorted(listed, key=lambda r: (-r["demand"], r["sku"], r["location_code"]))
    elif sort == GridSort.SHORTAGE:
        listed = sorted(
            listed, key=lambda r: (-(r["unmet"] + r["shortage"]), r["sku"], r["location_code"])
        )
    else:
        sort = GridSort.RISK
    count = len(listed)
    pages = max(1, -(-count // GRID_PAGE_ROWS))
    page = min(max(page, 1), pages)
    listed = listed[(page - 1) * GRID_PAGE_ROWS : page * GRID_PAGE_ROWS]
    chosen = {(r["product"], r["location"]) for r in listed}
    products = {p for p, _ in chosen}
    months = run.cycle.horizon
    cells: dict[tuple[int, int], dict[dt.date, float]] = {}
    for p, loc, month, value in InventoryProjection.objects.filter(
        run=run, product__in=products
    ).values_list("product", "location", "month", layer):
        if (p, loc) in chosen:
            cells.setdefault((p, loc), {})[month] = value
    edits: dict[tuple[int, int], dict[dt.date, PlannedSupplyEdit]] = {}
    if layer == GridLayer.PLANNED:
        for e in PlannedSupplyEdit.objects.filter(
            cycle_id=run.cycle_id, product__in=products
        ).select_related("author"):
            edits.setdefault((e.product_id, e.location_id), {})[e.month] = e
    badges = product_lifecycle_badges(product_ids=products)
    left = {
        (r["product"], r["location"]): r
        for r in end_of_life_stock(run=run, product_ids=products).rows
    }
    rows = [
        PlanRow(
            product_id=int(r["product"]),
            location_id=int(r["location"]),
            sku=r["sku"],
            name=r["name"],
            location=r["location_code"],
            abc=r["abc"] or "",
            demand=float(r["demand"]),
            unmet=float(r["unmet"]),
            shortage=float(r["shortage"]),
            values=[cells.get((r["product"], r["location"]), {}).get(m) for m in months],
            edits=edits.get((r["product"], r["location"]), {}),
            badges=badges.get(r["product"], []),
            end_of_life_stock=left.get((r["product"], r["location"])),
        )
        for r in listed
    ]
    return PlanGrid(
        layer=layer, sort=sort, months=months, rows=rows, count=count, page=page, pages=pages
    )


# --- capacity ----------------------------------------------------------------------------


@dataclass
class Heatmap:
    """Resources x months of the published run: hours available, loaded and their ratio."""

    resources: list[Resource]
    months: list[dt.date]
    available: np.ndarray
    load: np.ndarray
    load_unconstrained: np.ndarray
    base: np.ndarray  # the imported capacity, before the planners' changes
    adjustments: dict[tuple[int, dt.date], CapacityAdjustment]

    @property
    def utilisation(self) -> np.ndarray:
        """Unconstrained load over available hours: how much the plan asks of each month."""
        return np.divide(
            self.load_unconstrained,
            self.available,
            out=np.where(self.load_unconstrained > _EPS, np.inf, 0.0),
            where=self.available > 0,
        )

    def overloads(self) -> list[dict]:
        rows, cols = np.nonzero(self.utilisation > OVERLOAD + _EPS)
        return [
            {
                "resource": self.resources[r],
                "month": self.months[c],
                "utilisation": self.utilisation[r, c],
                "pct": None
                if np.isinf(self.utilisation[r, c])
                else float(self.utilisation[r, c] * 100),
                "available": self.available[r, c],
                "load_unconstrained": self.load_unconstrained[r, c],
                "load": self.load[r, c],
            }
            for r, c in zip(rows, cols, strict=True)
        ]


def capacity_heatmap(*, run: SupplyRun) -> Heatmap:
    """Three queries: the run's loads, the imported capacity, the planners' changes."""
    cycle = run.cycle
    months = cycle.horizon
    loads = pd.DataFrame(
        list(
            CapacityLoad.objects.filter(run=run).values_list(
                "resource", "month", "available_hours", "load", "load_unconstrained"
            )
        ),
        columns=["resource", "month", "available", "load", "load_unconstrained"],
    )
    resources = list(Resource.objects.filter(pk__in=loads["resource"].unique().tolist()))
    index = pd.Index([r.pk for r in resources])
    month_index = pd.Index(months)
    shape = (len(resources), len(months))
    grids = {name: np.zeros(shape) for name in ("available", "load", "load_unconstrained", "base")}
    if not loads.empty:
        r = index.get_indexer(loads["resource"])
        c = month_index.get_indexer(loads["month"])
        for name in ("available", "load", "load_unconstrained"):
            grids[name][r, c] = loads[name].to_numpy(float)
    base = pd.DataFrame(
        list(
            Capacity.objects.filter(resource__in=resources, month__in=months).values_list(
                "resource", "month", "hours"
            )
        ),
        columns=["resource", "month", "hours"],
    )
    if not base.empty:
        grids["base"][
            index.get_indexer(base["resource"]), month_index.get_indexer(base["month"])
        ] = base["hours"].astype(float).to_numpy()
    adjustments = {
        (a.resource_id, a.month): a
        for a in CapacityAdjustment.objects.filter(cycle=cycle).select_related("author")
    }
    return Heatmap(resources=resources, months=months, adjustments=adjustments, **grids)


def capacity_drill(*, run: SupplyRun, resource: Resource, month: dt.date) -> list[dict]:
    """The SKU-locations loading a resource in a month, biggest load first (two queries)."""
    hours = dict(
        Routing.objects.filter(resource=resource).values_list("product_id", "hours_per_unit")
    )
    rows = (
        InventoryProjection.objects.filter(run=run, month=month, product_id__in=list(hours))
        .filter(Q(planned__gt=0) | Q(receipts__gt=0) | Q(shortage__gt=0))
        .values(
            "product",
            "location",
            "receipts",
            "planned",
            "planned_unconstrained",
            "shortage",
            "unmet",
            "firm",
            **_SERIES_LABELS,
        )
    )
    out = []
    for row in rows:
        per_unit = float(hours[row["product"]])
        row["hours"] = per_unit * (row["planned"] + row["receipts"])
        row["hours_cut"] = per_unit * row["shortage"]
        out.append(row)
    return sorted(out, key=lambda r: (-r["hours"], r["sku"]))


# --- shortage and excess -----------------------------------------------------------------


def shortage_list(*, run: SupplyRun, limit: int | None = LIST_ROWS) -> list[dict]:
    """SKU-locations losing demand or cut for capacity, valued at price, worst first."""
    rows = (
        InventoryProjection.objects.filter(run=run)
        .filter(Q(unmet__gt=_EPS) | Q(shortage__gt=_EPS))
        .values("product", "location")
        .annotate(
            # Named apart from the fields: the FILTER below must see the row's unmet.
            lost=Sum("unmet"),
            cut=Sum("shortage"),
            first_month=Min("month", filter=Q(unmet__gt=_EPS)),
            price=F("product__unit_price"),
            **_SERIES_LABELS,
        )
        .order_by()
    )
    out = [
        {
            **r,
            "unmet": r["lost"],
            "shortage": r["cut"],
            "value": r["lost"] * float(r["price"]),
            "cut_value": r["cut"] * float(r["price"]),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r["value"], -r["cut_value"], r["sku"]))[:limit]


def excess_list(*, run: SupplyRun, limit: int | None = LIST_ROWS) -> list[dict]:
    """SKU-locations holding stock above the maximum cover, valued at cost, worst first.

    The value shown is that of the excess at the end of the cycle's first month: what the
    plan can no longer avoid; the peak month is shown too.
    """
    rows = (
        InventoryProjection.objects.filter(run=run, excess_quantity__gt=_EPS)
        .values("product", "location")
        .annotate(
            first=Sum("excess_quantity", filter=Q(month=run.cycle.month)),
            peak=Max("excess_quantity"),
            months=Count("id"),
            cost=F("product__unit_cost"),
            **_SERIES_LABELS,
        )
        .order_by()
    )
    out = [
        {
            **r,
            "first": r["first"] or 0.0,
            "value": (r["first"] or 0.0) * float(r["cost"]),
            "peak_value": r["peak"] * float(r["cost"]),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r["value"], -r["peak_value"], r["sku"]))[:limit]


@dataclass
class EndOfLifeStock:
    """Stock the plan still holds when products reach their end of life, at unit cost."""

    rows: list[dict]
    total_value: float
    total_quantity: float


def end_of_life_stock(
    *, run: SupplyRun, product_ids: Sequence[int] | None = None
) -> EndOfLifeStock:
    """Per SKU-location, the projected on hand at the end of the product's end-of-life month
    (from then on its demand is zero, so this is what is left), valued at unit cost; for a
    product already past it, the first month of the cycle. Highest value first; one query.
    """
    first = run.cycle.month
    at_end = Q(month=F("product__end_of_life_month")) | Q(
        product__end_of_life_month__lt=first, month=first
    )
    rows = InventoryProjection.objects.filter(
        at_end, run=run, product__end_of_life_month__isnull=False, on_hand__gt=_EPS
    )
    if product_ids is not None:
        rows = rows.filter(product__in=list(product_ids))
    out = [
        {**r, "value": r["on_hand"] * float(r["cost"])}
        for r in rows.values(
            "product",
            "location",
            "month",
            "on_hand",
            end_of_life=F("product__end_of_life_month"),
            cost=F("product__unit_cost"),
            **_SERIES_LABELS,
        )
    ]
    out.sort(key=lambda r: (-r["value"], r["sku"], r["location_code"]))
    return EndOfLifeStock(
        rows=out,
        total_value=sum(r["value"] for r in out),
        total_quantity=sum(r["on_hand"] for r in out),
    )


def plan_summary(*, run: SupplyRun) -> dict:
    """The headline figures of the plan: two aggregate queries."""
    cycle = run.cycle
    # Aggregates are named apart from the fields they sum: later ones refer to the fields.
    agg = InventoryProjection.objects.filter(run=run).aggregate(
        total_demand=Sum("demand"),
        lost=Sum("unmet"),
        cut=Sum("shortage"),
        revenue_at_risk=Sum(F("unmet") * F("product__unit_price"), output_field=FloatField()),
        excess_value=Sum(
            F("excess_quantity") * F("product__unit_cost"),
            filter=Q(month=cycle.month),
            output_field=FloatField(),
        ),
        stock_value=Sum(
            F("on_hand") * F("product__unit_cost"),
            filter=Q(month=cycle.month),
            output_field=FloatField(),
        ),
        stockout_skus=Count("product", filter=Q(unmet__gt=_EPS), distinct=True),
    )
    loads = CapacityLoad.objects.filter(run=run)
    agg["overloads"] = loads.filter(load_unconstrained__gt=F("available_hours") * OVERLOAD).count()
    demand = agg["total_demand"] or 0.0
    agg["fill_rate"] = 1 - (agg["lost"] or 0.0) / demand if demand > 0 else None
    agg["unmet"], agg["shortage"] = agg.pop("lost"), agg.pop("cut")
    return {k: (float(v) if v is not None else None) for k, v in agg.items()}


# --- history -----------------------------------------------------------------------------


def edit_history(*, cycle: Cycle, limit: int = 50) -> list[AuditEvent]:
    """Changes of planned supply and capacity in the cycle, newest first, with the label
    of their reason code as `reason_label`."""
    labels = {**dict(SupplyReason.choices), **dict(CapacityReason.choices)}
    events = list(change_history(cycle=cycle, object_types=EDIT_OBJECT_TYPES, limit=limit))
    for event in events:
        event.reason_label = labels.get((event.new or {}).get("reason", ""), "")
    return events


# --- ABC / XYZ ---------------------------------------------------------------------------


@dataclass
class Pareto:
    """SKUs ranked by revenue over the last months: shares of SKUs and of revenue."""

    skus: list[str]
    revenue: np.ndarray
    sku_share: np.ndarray  # cumulative, 0..1
    revenue_share: np.ndarray  # cumulative, 0..1
    abc: list[str]
    matrix: dict[str, dict[str, int]]  # ABC -> XYZ -> SKU count
    months: int

    @property
    def has_revenue(self) -> bool:
        return bool(self.revenue.sum() > 0)

    @property
    def top_count(self) -> int:
        """How many SKUs make the top 20 % of the ranking."""
        return round(0.2 * len(self.skus))

    @property
    def top_share(self) -> float | None:
        """The share of revenue the top 20 % of SKUs bring (0..1); None without SKUs."""
        return float(self.revenue_share[self.top_count - 1]) if self.top_count else None


def pareto(*, cycle: Cycle, months: int = PARETO_MONTHS) -> Pareto:
    """Revenue per SKU over the months before the cycle (quantity x price where revenue
    is missing) and the ABC x XYZ matrix of the master data: two queries."""
    first = add_months(cycle.month, -months)
    sales = pd.DataFrame(
        list(
            SalesHistory.objects.filter(month__gte=first, month__lt=cycle.month)
            .values("product")
            .annotate(
                # Named apart from the field: the FILTER below tests each row's revenue.
                recorded=Sum("revenue"),
                qty=Sum("quantity"),
                missing=Count("id", filter=Q(revenue__isnull=True)),
            )
        ),
        columns=["product", "recorded", "qty", "missing"],
    )
    products = pd.DataFrame(
        list(
            Product.objects.filter(active=True).values_list(
                "pk", "sku", "unit_price", "abc_class", "xyz_class"
            )
        ),
        columns=["product", "sku", "price", "abc", "xyz"],
    )
    frame = products.merge(sales, on="product", how="left")
    estimate = frame["qty"].astype(float).fillna(0) * frame["price"].astype(float)
    recorded = frame["recorded"].astype(float)
    frame["value"] = np.where(frame["missing"].fillna(0) > 0, estimate, recorded.fillna(0))
    frame = frame.sort_values(["value", "sku"], ascending=[False, True])
    value = frame["value"].to_numpy(float)
    total = value.sum()
    n = len(frame)
    matrix = {a: {x: 0 for x in ("X", "Y", "Z", "")} for a in ("A", "B", "C", "")}
    for (a, x), count in frame.groupby(["abc", "xyz"]).size().items():
        matrix[a][x] = int(count)
    return Pareto(
        skus=frame["sku"].tolist(),
        revenue=value,
        sku_share=np.arange(1, n + 1) / max(n, 1),
        revenue_share=np.cumsum(value) / total if total > 0 else np.zeros(n),
        abc=frame["abc"].tolist(),
        matrix=matrix,
        months=months,
    )


# --- customer service ----------------------------------------------------------------------

# Why customer OTIF has no figure ("not yet" on the pages, never a number).
CUSTOMER_OTIF_NOT_YET = {
    "no_lines": "no customer order lines imported for the months measured "
    "(the customer_order_lines extract)",
    "none_due": "no customer order line was due in the months measured",
}


def _order_lines(*, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The order lines requested from `first` up to (not including) `last`: one query."""
    columns = [
        "location",
        "family",
        "requested_date",
        "requested_quantity",
        "shipped_date",
        "shipped_quantity",
    ]
    rows = CustomerOrderLine.objects.filter(
        requested_date__gte=first, requested_date__lt=last
    ).values_list("location__code", "product__family", *columns[2:])
    return pd.DataFrame(list(rows), columns=columns)


def _judged(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    return customer_otif_lines(
        lines,
        as_of=as_of,
        tolerance_days=settings.SOP_CUSTOMER_OTIF_DAYS,
        tolerance_percent=settings.SOP_CUSTOMER_OTIF_PERCENT,
    )


def _basis(lines: pd.DataFrame, judged: pd.DataFrame) -> str:
    if lines.empty:
        return CUSTOMER_OTIF_NOT_YET["no_lines"]
    return CUSTOMER_OTIF_NOT_YET["none_due"] if judged.empty else ""


@dataclass
class CustomerService:
    """Customer OTIF of the months before a cycle, by location and family (`supply.service`)."""

    months: list[dt.date]
    rows: list[dict]  # location, family, otif % per month ("cells"), window's lines and %
    totals: list[dict]  # per location, then the company: the same keys
    by_location: pd.DataFrame  # month, location ("" = all), lines_due, otif_pct: the chart's
    tolerance_days: int
    tolerance_percent: int
    basis: str = ""  # why there is no figure; "" when there is one


def customer_service(
    *, cycle: Cycle, months: int = CUSTOMER_OTIF_MONTHS, as_of: dt.date | None = None
) -> CustomerService:
    """Customer OTIF of the `months` complete months before the cycle's: one query.

    `as_of` (default today) is the day of measure: a line is due once its on-time window
    closed before it, and an open line past its window counts as a miss.
    """
    as_of = as_of or dt.date.today()
    first = add_months(cycle.month, -months)
    window = [add_months(first, i) for i in range(months)]
    lines = _order_lines(first=first, last=cycle.month)
    judged = _judged(lines, as_of)
    service = CustomerService(
        months=window,
        rows=[],
        totals=[],
        by_location=pd.DataFrame(columns=["month", "location", "lines_due", "otif_pct"]),
        tolerance_days=settings.SOP_CUSTOMER_OTIF_DAYS,
        tolerance_percent=settings.SOP_CUSTOMER_OTIF_PERCENT,
        basis=_basis(lines, judged),
    )
    if service.basis:
        return service
    everywhere = judged.assign(location="", family="")
    every_family = judged.assign(family="")
    service.rows = _otif_rows(judged, window)
    service.totals = _otif_rows(every_family, window) + _otif_rows(everywhere, window)
    service.by_location = pd.concat(
        [
            customer_otif_summary(frame, ["month", "location"])
            for frame in (every_family, everywhere)
        ],
        ignore_index=True,
    )[["month", "location", "lines_due", "otif_pct"]]
    return service


def _otif_rows(judged: pd.DataFrame, window: list[dt.date]) -> list[dict]:
    """One row per location and family: the OTIF % of each month, then of the window."""
    monthly = customer_otif_summary(judged, ["location", "family", "month"])
    overall = customer_otif_summary(judged, ["location", "family"])
    cells = monthly.pivot(index=["location", "family"], columns="month", values="otif_pct")
    cells = cells.reindex(columns=window)
    rows = []
    for total in overall.itertuples(index=False):
        values = cells.loc[(total.location, total.family)]
        rows.append(
            {
                "location": total.location,
                "family": total.family,
                "cells": [None if pd.isna(v) else float(v) for v in values],
                "lines_due": int(total.lines_due),
                "otif_pct": float(total.otif_pct),
            }
        )
    return rows


def customer_otif_kpi(
    *, cycle_months: Sequence[dt.date], months: int, as_of: dt.date | None = None
) -> dict[dt.date, dict[str, float | str | None]]:
    """The company's customer OTIF % over the `months` complete months before each cycle
    month, with the reason when there is none: one query for all of them."""
    as_of = as_of or dt.date.today()
    if not cycle_months:
        return {}
    lines = _order_lines(first=add_months(min(cycle_months), -months), last=max(cycle_months))
    out = {}
    for month in cycle_months:
        first = add_months(month, -months)
        requested = pd.to_datetime(lines["requested_date"])
        inside = lines[(requested >= pd.Timestamp(first)) & (requested < pd.Timestamp(month))]
        judged = _judged(inside, as_of)
        basis = _basis(inside, judged)
        summary = customer_otif_summary(judged.assign(all=""), ["all"])
        out[month] = {
            "customer_otif": None if basis else float(summary["otif_pct"].iloc[0]),
            "customer_otif_lines": len(judged),
            "customer_otif_basis": basis,
        }
    return out


# --- exports -----------------------------------------------------------------------------

_PLAN_EXPORT = (
    ("product__sku", "sku"),
    ("product__name", "name"),
    ("product__family", "family"),
    ("product__abc_class", "abc"),
    ("location__code", "location"),
    ("month", "month"),
    ("demand", "demand"),
    ("receipts", "receipts"),
    ("planned_unconstrained", "planned_unconstrained"),
    ("planned", "planned"),
    ("firm", "planned_fixed_by_planner"),
    ("shortage", "shortage"),
    ("on_hand", "projected_on_hand"),
    ("unmet", "lost_demand"),
    ("weeks_of_cover", "weeks_of_cover"),
    ("excess_quantity", "excess"),
)


def plan_rows(*, run: SupplyRun, filters: PlanFilters) -> QuerySet:
    """The run's plan per SKU, location and month, as plain rows (the API)."""
    rows = filters.apply(InventoryProjection.objects.filter(run=run))
    return series_rows(rows, *PROJECTION_FIELDS)


# The kind of figure of each exported column (`sop.formatting.KINDS`): the export rounds it
# by the one rule and puts its unit in the header. Columns not named are text, dates, flags.
EXPORT_KINDS = {
    **dict.fromkeys(
        ("demand", "receipts", "planned_unconstrained", "planned", "shortage"), "units"
    ),
    **dict.fromkeys(("projected_on_hand", "lost_demand", "excess", "peak_excess"), "units"),
    **dict.fromkeys(("capacity_shortage", "safety_stock", "order_up_to_level"), "units"),
    "forecast_error_std_per_month": "units",
    **dict.fromkeys(("revenue_at_risk", "shortage_value", "excess_value"), "money"),
    "peak_excess_value": "money",
    **dict.fromkeys(("imported", "available", "required", "planned_load"), "hours"),
    **dict.fromkeys(("load_pct", "service_level_pct"), "pct"),
    **dict.fromkeys(("weeks_of_cover", "lead_time_months", "lead_time_std_months"), "number"),
    "months_in_excess": "int",
}


def export_table(
    *, run: SupplyRun, table: str, filters: Filters
) -> tuple[list[str], list[list[object]]]:
    """Header and rows of a downloadable table of the run (one query per table)."""
    if table == "capacity":
        heatmap = capacity_heatmap(run=run)
        util = heatmap.utilisation
        rows = [
            [
                res.code,
                res.name,
                month,
                heatmap.base[r, c],
                heatmap.available[r, c],
                heatmap.load_unconstrained[r, c],
                heatmap.load[r, c],
                100 * util[r, c],
            ]
            for r, res in enumerate(heatmap.resources)
            for c, month in enumerate(heatmap.months)
        ]
        header = ["resource", "name", "month", "imported", "available", "required",
                  "planned_load", "load_pct"]  # fmt: skip
        return header, rows
    if table == "targets":
        return _targets_table(run=run, filters=filters)
    if table == "shortages":
        header = ["sku", "name", "abc", "location", "first_stockout", "lost_demand",
                  "revenue_at_risk", "capacity_shortage", "shortage_value"]  # fmt: skip
        keys = ["sku", "name", "abc", "location_code", "first_month", "unmet", "value",
                "shortage", "cut_value"]  # fmt: skip
        return header, [[r[k] for k in keys] for r in shortage_list(run=run, limit=None)]
    if table == "excess":
        header = ["sku", "name", "abc", "location", "excess_first_month", "excess_value",
                  "peak_excess", "peak_excess_value", "months_in_excess"]  # fmt: skip
        keys = ["sku", "name", "abc", "location_code", "first", "value", "peak", "peak_value",
                "months"]  # fmt: skip
        return header, [[r[k] for k in keys] for r in excess_list(run=run, limit=None)]
    qs = _filtered(InventoryProjection.objects.filter(run=run), filters)
    values = qs.order_by("product__sku", "location__code", "month").values_list(
        *(f for f, _ in _PLAN_EXPORT)
    )
    return [h for _, h in _PLAN_EXPORT], [list(r) for r in values.iterator(chunk_size=20000)]


def projection_rows(*, run: SupplyRun, filters: Filters, fields: Sequence[str]) -> QuerySet:
    """The run's projection per SKU-location-month (family and ABC filters): the workbook."""
    return (
        _filtered(InventoryProjection.objects.filter(run=run), filters)
        .order_by("product__sku", "location__code", "month")
        .values_list("product__sku", "location__code", "product__name", "month", *fields)
    )


def _filtered(qs, filters: Filters):
    if filters.family:
        qs = qs.filter(product__family=filters.family)
    if filters.abc:
        qs = qs.filter(product__abc_class=filters.abc)
    return qs


_TARGETS_EXPORT = (
    ("product__sku", "sku"),
    ("product__name", "name"),
    ("product__abc_class", "abc"),
    ("location__code", "location"),
    ("service_level", "service_level_pct"),
    ("safety_stock", "safety_stock"),
    ("safety_stock_method", "safety_stock_method"),
    ("order_up_to", "order_up_to_level"),
    ("demand_error_std", "forecast_error_std_per_month"),
    ("lead_time_months", "lead_time_months"),
    ("lead_time_std_months", "lead_time_std_months"),
)


def _targets_table(*, run: SupplyRun, filters: Filters) -> tuple[list[str], list[list[object]]]:
    """Safety stock, how it was set and the order-up-to level of each SKU-location."""
    qs = _filtered(StockTarget.objects.filter(run=run), filters)
    values = qs.order_by("product__sku", "location__code").values_list(
        *(f for f, _ in _TARGETS_EXPORT)
    )
    header = [h for _, h in _TARGETS_EXPORT]
    frame = pd.DataFrame(list(values), columns=header)
    frame["service_level_pct"] = frame["service_level_pct"] * 100
    frame["safety_stock_method"] = frame["safety_stock_method"].map(dict(SafetyStockMethod.choices))
    return header, frame.to_numpy(dtype=object).tolist()


# --- the cycle home's checklist --------------------------------------------------------------


def supply_checklist(cycle: Cycle) -> list[Check]:
    """The supply review's lines of the cycle home checklist."""
    gate = supply_gate(cycle)
    gaps = capacity_gap_warning(cycle=cycle)
    edits = PlannedSupplyEdit.objects.filter(cycle=cycle).count()
    adjustments = CapacityAdjustment.objects.filter(cycle=cycle).count()
    odd = odd_source_list()
    checks = [
        Check("Supply plan run on the current consensus", "todo" if gate else "done", gate or ""),
        # A warning, not part of the gate: the plan is valid, unconstrained where unknown.
        Check("Capacity entered for every routed resource", "todo" if gaps else "done", gaps),
    ]
    if odd:
        # A warning too: legal data, but the SKU's first choice never supplies.
        checks.append(
            Check(
                "Alternate sources with capacity at their top priority",
                "todo",
                "; ".join(o["text"] for o in odd) + ".",
            )
        )
    checks.append(
        Check(
            "Supply edits",
            "info",
            f"{edits} planned-supply edits, {adjustments} capacity adjustments.",
        )
    )
    return checks


@dataclass
class SupplierPerformance:
    """OTIF and lead times of the suppliers over complete months before `as_of`'s month.

    `trend` maps a supplier code to its OTIF % per month of `months` (None: no line
    measured). `suppliers` are those with lines in the last `window` months, worst OTIF
    first, with their measured lead times beside the master data's. `missed` are that
    window's lines not on time or not in full (of `supplier` only, when given), the latest
    promise first (of `missed_count`, those asked for). `names`: supplier code ->
    name.
    """

    as_of: dt.date
    window: int
    tolerance: performance.Tolerance
    months: list[dt.date]
    trend: dict[str, list[float | None]]
    suppliers: list[dict]
    missed: list[dict]
    missed_count: int
    names: dict[str, str] = field(default_factory=dict)
    supplier: str = ""


def otif_tolerance() -> performance.Tolerance:
    """The on-time and in-full tolerances the settings give."""
    return performance.Tolerance(
        on_time_days=settings.SOP_OTIF_ON_TIME_DAYS,
        in_full_percent=settings.SOP_OTIF_IN_FULL_PERCENT,
    )


def supplier_performance(
    *,
    as_of: dt.date,
    window: int,
    supplier: str = "",
    tolerance: performance.Tolerance,
    missed_limit: int | None = None,
) -> SupplierPerformance:
    """Supplier OTIF per month, the worst suppliers over `window` months, the lines missed
    (the first `missed_limit`; None: all of them)."""
    current = as_of.replace(day=1)
    months = [add_months(current, -n) for n in range(PERFORMANCE_TREND_MONTHS, 0, -1)]
    start = add_months(current, -max(window, PERFORMANCE_TREND_MONTHS))
    rows = PurchaseReceipt.objects.filter(
        promised_date__gte=start, promised_date__lt=current
    ).values_list(
        "order_ref",
        "product__sku",
        "location__code",
        "supplier__code",
        "order_date",
        "promised_date",
        "promised_quantity",
        "receipt_date",
        "received_quantity",
    )
    receipts = pd.DataFrame(list(rows), columns=performance.RECEIPT_COLUMNS)
    for column in ("order_date", "promised_date", "receipt_date"):
        receipts[column] = pd.to_datetime(receipts[column])
    lines = performance.order_lines(receipts, as_of=as_of, tolerance=tolerance)
    since = add_months(current, -window)
    missed, missed_count = _missed_lines(lines, since=since, supplier=supplier, limit=missed_limit)
    masters = list(
        Supplier.objects.values_list("code", "name", "lead_time_days_mean", "lead_time_days_std")
    )
    return SupplierPerformance(
        as_of=as_of,
        window=window,
        tolerance=tolerance,
        months=months,
        trend=_otif_trend(lines, months),
        suppliers=_supplier_table(receipts, lines, masters, since=since),
        names={code: name for code, name, *_ in masters},
        missed=missed,
        missed_count=missed_count,
        supplier=supplier,
    )


def _otif_trend(lines: pd.DataFrame, months: list[dt.date]) -> dict[str, list[float | None]]:
    monthly = performance.service(lines, ["supplier", "month"])
    if monthly.empty:
        return {}
    grid = monthly.pivot(index="supplier", columns="month", values="otif_pct").reindex(
        columns=pd.to_datetime(months)
    )
    return {
        code: [None if pd.isna(v) else float(v) for v in values]
        for code, values in zip(grid.index, grid.to_numpy(), strict=True)
    }


def _supplier_table(
    receipts: pd.DataFrame, lines: pd.DataFrame, masters: list[tuple], *, since: dt.date
) -> list[dict]:
    start = pd.Timestamp(since)
    scored = performance.service(lines[lines["month"] >= start], ["supplier"])
    if scored.empty:
        return []
    measured = lines.loc[lines["month"] >= start, performance.LINE_KEY]
    delivered = receipts.merge(measured, on=performance.LINE_KEY)
    table = scored.merge(performance.lead_times(delivered, ["supplier"]), on="supplier", how="left")
    master = pd.DataFrame(
        masters,
        columns=["supplier", "name", "master_mean", "master_std"],
    ).astype({"master_mean": float, "master_std": float})
    table = table.merge(master, on="supplier", how="left")
    table["lead_time_gap"] = table["lead_time_mean"] - table["master_mean"]
    table["below_target"] = table["otif_pct"] < OTIF_WARNING_PCT
    table = table.sort_values(["otif_pct", "lines", "supplier"], ascending=[True, False, True])
    return [
        {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]


def _missed_lines(
    lines: pd.DataFrame, *, since: dt.date, supplier: str, limit: int | None
) -> tuple[list[dict], int]:
    """The first `limit` lines of the window not OTIF, and how many there are."""
    missed = lines[(lines["month"] >= pd.Timestamp(since)) & ~lines["otif"]]
    if supplier:
        missed = missed[missed["supplier"] == supplier]
    count = len(missed)
    missed = missed.sort_values(["promised_date", "order_ref"], ascending=[False, True])
    return [
        {
            "order_ref": row.order_ref,
            "supplier": row.supplier,
            "sku": row.product,
            "location": row.location,
            "order_date": row.order_date.date(),
            "promised_date": row.promised_date.date(),
            "last_receipt": None if pd.isna(row.last_receipt) else row.last_receipt.date(),
            "promised_quantity": row.promised_quantity,
            "received": row.received,
            "days_late": int(row.days_late),
            "quantity_short": row.quantity_short,
            "late": not row.on_time,
            "short": not row.in_full,
        }
        for row in (missed if limit is None else missed.head(limit)).itertuples(index=False)
    ], count
