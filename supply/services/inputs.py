"""Loading a supply run's engine inputs: one query per input, laid on the chunk's grids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL

from demand.models import ConsensusDemand, ForecastRun, SeriesFit
from demand.uncertainty import STORED_LEVELS, error_quantile_grid
from sop.choices import MakeOrBuy
from sop.models import (
    Capacity,
    Cycle,
    InventorySnapshot,
    Product,
    ProductSource,
    Resource,
    Routing,
    SalesHistory,
    ScheduledReceipt,
)
from sop.months import month_index, month_numbers
from sop.services import add_months
from supply.constants import ERROR_STD_FALLBACK_MONTHS
from supply.models import CapacityAdjustment, PlannedSupplyEdit
from supply.projection import Policy, SupplyInputs, days_to_months
from supply.sourcing import AlternateSources


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
        alternate_order=settings.SOP_ALTERNATE_ORDER,
    )


@dataclass(frozen=True)
class Loaded:
    """A chunk's engine inputs and what the writes need besides them."""

    inputs: SupplyInputs
    firm: np.ndarray  # n x T bool: planned supply fixed by a planner
    error_from_forecast: np.ndarray  # n bool
    months: list[dt.date]


def rows_frame(qs, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(qs), columns=columns)


def id_in(field: str, ids: Sequence[int]) -> Q:
    """`field` is one of `ids`; on PostgreSQL as one array parameter.

    A chunk names thousands of SKUs: one placeholder per id made building and binding the
    queries cost more than running them.
    """
    ids = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (ids,))})
    return Q(**{f"{field}__in": ids})


def _scoped(qs: QuerySet, product_ids: Sequence[int] | None) -> QuerySet:
    return qs if product_ids is None else qs.filter(id_in("product_id", product_ids))


@dataclass(frozen=True)
class _Window:
    """The cycle's planning months: where a dated row lands on the (n x T) grids."""

    cycle: Cycle
    months: list[dt.date]
    origin: int  # month index of the first month
    after: dt.date  # the first month past the horizon

    @classmethod
    def of(cls, cycle: Cycle) -> _Window:
        months = cycle.horizon
        return cls(
            cycle=cycle,
            months=months,
            origin=month_index(cycle.month),
            after=add_months(cycle.month, cycle.horizon_months),
        )


def _horizon_rows(
    window: _Window, model: type[Model], value: str, product_ids: Sequence[int] | None
) -> pd.DataFrame:
    """The cycle's rows of `model` in the horizon's months, `value` as the value column."""
    cycle = window.cycle
    horizon = model.objects.filter(cycle=cycle, month__gte=cycle.month, month__lt=window.after)
    return rows_frame(
        _scoped(horizon, product_ids).values_list("product_id", "location_id", "month", value),
        ["product", "location", "month", "value"],
    )


def _stock(window: _Window, product_ids: Sequence[int] | None) -> pd.DataFrame:
    """The opening stock of each SKU-location (no month column)."""
    cycle = window.cycle
    counts = rows_frame(
        _scoped(InventorySnapshot.objects.filter(date__lt=add_months(cycle.month, 1)), product_ids)
        .order_by("date")
        .values_list("product_id", "location_id", "date", "on_hand"),
        ["product", "location", "date", "value"],
    )
    # The projection takes the whole first month's demand from the opening stock, so the
    # opening is the last count on or before the first day: a count from the 20th has
    # already lost part of that demand. Only a SKU first counted later that month opens
    # at its earliest count there, the best figure there is.
    opening = counts["date"] <= cycle.month
    return (
        pd.concat(
            [
                counts[opening].drop_duplicates(["product", "location"], keep="last"),
                counts[~opening].drop_duplicates(["product", "location"], keep="first"),
            ]
        )
        .drop_duplicates(["product", "location"], keep="first")
        .drop(columns="date")
    )


def _receipts(window: _Window, product_ids: Sequence[int] | None) -> pd.DataFrame:
    """Open orders due by the horizon's last month, overdue ones included."""
    return rows_frame(
        _scoped(
            ScheduledReceipt.objects.filter(due_month__lte=window.months[-1]), product_ids
        ).values_list("product_id", "location_id", "due_month", "quantity"),
        ["product", "location", "month", "value"],
    )


def _items(product_of: np.ndarray) -> pd.DataFrame:
    """Each row's product master data (abc class, cost, price, lot rules, lead times)."""
    products = rows_frame(
        Product.objects.filter(id_in("pk", np.unique(product_of))).values_list(
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
            "end_of_life_month",
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
            "end_of_life",
        ],
    ).set_index("product")
    return products.loc[product_of]


def _lead_times(item: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lead time and its std in days: the supplier's for a bought SKU that has one."""
    bought = (item["make_or_buy"] == MakeOrBuy.BUY).to_numpy() & item["supplier_days"].notna()
    lead_days = np.where(
        bought, item["supplier_days"].astype(float).fillna(0), item["lead_days"].astype(float)
    )
    lead_std_days = np.where(bought, item["supplier_std"].astype(float).fillna(0), 0.0)
    return lead_days, lead_std_days


def _end_of_life(end: pd.Series, window: _Window) -> np.ndarray:
    """Each row's end-of-life month as a position in the horizon (NaN: none)."""
    ends = end.notna().to_numpy()
    out = np.full(len(end), np.nan)
    if ends.any():
        out[ends] = month_numbers(end[ends]) - window.origin
    return out


def _routings(product_of: np.ndarray, resource_ids: list[int]) -> np.ndarray:
    """Hours per unit on each resource, one row per SKU-location (n x resources)."""
    routings = rows_frame(
        Routing.objects.filter(
            id_in("product_id", np.unique(product_of)), resource_id__in=resource_ids
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
    return per_product[product_row]


def _capacity(window: _Window, resource_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Hours of each resource-month (imported plus planners' changes), and which were entered."""
    cycle, T = window.cycle, len(window.months)
    capacity = np.zeros((len(resource_ids), T))
    # A resource-month nobody entered capacity for (no imported row, no planner's change)
    # is a data gap, planned unconstrained and flagged, never a shutdown of 0 hours.
    entered = np.zeros((len(resource_ids), T), dtype=bool)
    res_index = pd.Index(resource_ids)
    for model, value in ((Capacity, "hours"), (CapacityAdjustment, "delta_hours")):
        qs = model.objects.filter(
            resource_id__in=resource_ids, month__gte=cycle.month, month__lt=window.after
        )
        if model is CapacityAdjustment:
            qs = qs.filter(cycle=cycle)
        frame = rows_frame(
            qs.values_list("resource_id", "month", value), ["resource", "month", "v"]
        )
        if not frame.empty:
            cells = (
                res_index.get_indexer(frame["resource"]),
                month_numbers(frame["month"]) - window.origin,
            )
            np.add.at(capacity, cells, frame["v"].astype(float).to_numpy())
            entered[cells] = True
    return capacity, entered


SOURCE_SUPPLIER = "supplier"
SOURCE_RESOURCE = "resource"


def source_rows(product_ids: Sequence[int] | None) -> pd.DataFrame:
    """The active alternate sources of the products (None: all), one row each.

    `kind` and `code` name the source (its pool); `source` is the row's id.
    """
    qs = _scoped(ProductSource.objects.filter(active=True), product_ids).order_by("pk")
    frame = rows_frame(
        qs.values_list(
            "pk",
            "product_id",
            "location_id",
            "supplier__code",
            "resource__code",
            "priority",
            "unit_cost",
            "lead_time_days",
            "monthly_capacity",
        ),
        [
            "source",
            "product",
            "location",
            "supplier",
            "resource",
            "priority",
            "cost",
            "lead_days",
            "capacity",
        ],
    )
    by_supplier = frame["supplier"].notna()
    frame["kind"] = np.where(by_supplier, SOURCE_SUPPLIER, SOURCE_RESOURCE)
    frame["code"] = frame["supplier"].where(by_supplier, frame["resource"])
    return frame.drop(columns=["supplier", "resource"])


def source_links() -> pd.DataFrame:
    """Products linked by a shared alternate source, as (product, resource) pairs for
    `supply.chunks.resource_groups`: the source's capacity couples them like a resource.

    A resource source is the resource's id; a supplier source a negative id no resource has.
    """
    links = rows_frame(
        ProductSource.objects.filter(active=True).values_list(
            "product_id", "supplier_id", "resource_id"
        ),
        ["product", "supplier", "resource"],
    )
    pseudo = -links["supplier"].fillna(0).astype(np.int64)
    resource = links["resource"].fillna(0).astype(np.int64)
    return pd.DataFrame(
        {
            "product": links["product"],
            "resource": np.where(links["resource"].notna(), resource, pseudo),
        }
    )


def alternate_sources(frame: pd.DataFrame, index: pd.MultiIndex, months: int) -> AlternateSources:
    """The engine's alternates of the plan's SKU-locations (`index`) from `source_rows`.

    A source's monthly capacity is the same on each of its rows (the extract checks it);
    should rows entered otherwise disagree, the largest is taken.
    """
    rows = index.get_indexer(pd.MultiIndex.from_frame(frame[["product", "location"]]))
    frame = frame[rows >= 0].assign(sku=rows[rows >= 0])
    pools = frame.groupby(["kind", "code"], sort=True)["capacity"].max().astype(float)
    pool_of = pools.index.get_indexer(pd.MultiIndex.from_frame(frame[["kind", "code"]]))
    return AlternateSources(
        sku=frame["sku"].to_numpy(np.int64),
        pool=pool_of,
        priority=frame["priority"].to_numpy(float),
        unit_cost=frame["cost"].astype(float).to_numpy(),
        lead_time_months=days_to_months(frame["lead_days"].to_numpy(float)),
        capacity=np.repeat(pools.to_numpy()[:, None], months, axis=1),
        labels=pd.Index(frame["source"].to_numpy(np.int64), name="source"),
        pools=pools.index,
    )


def load_inputs(
    *, cycle: Cycle, product_ids: Sequence[int] | None, resource_ids: Sequence[int]
) -> Loaded:
    """The engine's grids for the SKU-locations of `product_ids` (None: all), one query each.

    The SKU-locations are those with consensus demand, stock, open orders or a fixed
    planned supply. Opening stock is the latest count on or before the cycle's first day
    (see `_stock`); open orders already overdue are expected in the first month.
    """
    window = _Window.of(cycle)
    demand = _horizon_rows(window, ConsensusDemand, "value", product_ids)
    stock = _stock(window, product_ids)
    receipts = _receipts(window, product_ids)
    # Planned supply a planner fixed.
    firm = _horizon_rows(window, PlannedSupplyEdit, "quantity", product_ids)
    keys = (
        pd.concat([f[["product", "location"]] for f in (demand, stock, receipts, firm)])
        .drop_duplicates()
        .sort_values(["product", "location"])
    )
    index = pd.MultiIndex.from_frame(keys, names=["product", "location"])
    n, T = len(index), len(window.months)

    def rows(frame: pd.DataFrame) -> np.ndarray:
        return index.get_indexer(pd.MultiIndex.from_frame(frame[["product", "location"]]))

    def grid(frame: pd.DataFrame) -> np.ndarray:
        out = np.zeros((n, T))
        if not frame.empty:
            col = np.clip(month_numbers(frame["month"]) - window.origin, 0, T - 1)
            np.add.at(out, (rows(frame), col), frame["value"].astype(float).to_numpy())
        return out

    on_hand = np.zeros(n)
    on_hand[rows(stock)] = stock["value"].astype(float).to_numpy()
    firm_grid = np.full((n, T), np.nan)
    if not firm.empty:
        firm_grid[rows(firm), month_numbers(firm["month"]) - window.origin] = (
            firm["value"].astype(float).to_numpy()
        )

    product_of = keys["product"].to_numpy()
    item = _items(product_of)
    lead_days, lead_std_days = _lead_times(item)
    error = _forecast_error(cycle=cycle, index=index, product_ids=product_ids)
    resource_ids = list(resource_ids)
    hours = _routings(product_of, resource_ids)
    capacity, entered = _capacity(window, resource_ids)
    sources = source_rows(product_ids)
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
        months=pd.Index(window.months, name="month"),
        resources=pd.Index(resource_ids, name="resource"),
        firm_supply=firm_grid,
        end_of_life=_end_of_life(item["end_of_life"], window),
        # Without any alternate the engine plans exactly as it did before they existed.
        alternates=None if sources.empty else alternate_sources(sources, index, T),
    )
    return Loaded(
        inputs=inputs,
        firm=~np.isnan(firm_grid),
        error_from_forecast=error.from_forecast,
        months=window.months,
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
            qs = qs.filter(id_in("product_id", product_ids))
        fits = rows_frame(
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
        sales = rows_frame(
            SalesHistory.objects.filter(
                id_in("product_id", missing_products), month__gte=first, month__lt=cycle.month
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


def supply_plan_inputs(*, cycle: Cycle) -> tuple[SupplyInputs, Policy]:
    """The engine inputs and policy of the cycle's whole plan, as a supply run reads them.

    What-if scenarios start from these (`reconciliation`): with no deltas they give the
    plan the published run holds, edits included.
    """
    resource_ids = list(Resource.objects.order_by("pk").values_list("pk", flat=True))
    loaded = load_inputs(cycle=cycle, product_ids=None, resource_ids=resource_ids)
    return loaded.inputs, supply_policy()
