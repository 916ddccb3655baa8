"""Scenarios: what-if deltas on the base plan, recomputed through the same functions.

A scenario is the base plan plus a list of deltas, never a copy of the plan's rows: its
figures come from applying the deltas to the base's engine inputs and running
`plan_supply` and the financial plan again. The base is never changed: `apply_deltas`
copies an array only when a delta writes to it (copy on write) and hands every array on
read-only, so nothing downstream can write through to the base's published numbers.

Deltas apply in list order, each to the result of those before (+10 % then +100 units is
not +100 units then +10 %). Month ranges are inclusive and compared by month. A delta
naming a family, product, resource or supplier the plan does not hold changes nothing.
Percents are changes: 10 means 10 % more, -100 all of it gone.

- `DemandDelta`: consensus demand of a family or a product (neither: all demand) in each
  month of the range, by a percent or by units per month. Units are spread over the
  selected SKU-locations in proportion to their demand that month (evenly where it is all
  zero) and rounded to whole units by largest remainder, so that the parts add up to the
  units exactly. Demand is clipped at 0.
- `CapacityDelta`: a resource's hours in each month of the range, by a percent or by
  hours per month; clipped at 0.
- `LeadTimeDelta`: the lead time of the items bought from a supplier. Days shift the
  mean and leave the std alone: a fixed delay (a longer route) adds no uncertainty. A
  percent stretches the whole lead-time distribution, mean and std alike, keeping its
  coefficient of variation. The mean is clipped at 0. Safety stock, the order-up-to
  level and the frozen months follow through the engine.
- `PriceCostDelta`: unit price and cost of a family (None: every family) by percents.
  Financial only: the engine plans with the base prices, so a price what-if shows its
  money effect on the same volumes (the engine ranks capacity cuts by margin, so feeding
  it the new prices could also reshuffle who is cut).
- `ServiceLevelDelta`: the target cycle service level of an ABC class (None: every
  class and the unclassified items); the engine turns it into safety stock.
- `SourceDelta`: a supplier or a resource unavailable in each month of the range (a
  disruption). A resource's hours drop to 0; the items bought from a supplier get nothing
  from it as their primary source (`SupplyInputs.primary_unavailable`, firm supply
  excepted); and as an alternate source either has no capacity. The plan reroutes what
  it can to the other sources (`supply.sourcing`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from reconciliation.finance import PriceCost, financial_plan, plan_kpis
from sop.months import month_index, month_numbers
from supply.projection import (
    ABC_RANK,
    Policy,
    SupplyInputs,
    SupplyProjection,
    days_to_months,
    plan_supply,
)
from supply.sourcing import AlternateSources


def _check_months(label: str, start: object, end: object) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.date):
            raise ValueError(f"{label}: {name} must be a date, got {value!r}")
    if (start.year, start.month) > (end.year, end.month):
        raise ValueError(f"{label}: the month range {start:%Y-%m} to {end:%Y-%m} is empty")


def _check_one_of(label: str, **values: float | None) -> None:
    """Exactly one of the two values is given, and it is a finite number."""
    first, second = values
    given = [name for name, value in values.items() if value is not None]
    if len(given) != 1:
        both = ", not both" if given else ""
        raise ValueError(f"{label}: give either {first} or {second}{both}")
    if not math.isfinite(values[given[0]]):
        raise ValueError(f"{label}: {given[0]} must be a finite number")


def _check_percent(label: str, name: str, value: float | None) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        raise ValueError(f"{label}: {name} must be a finite number")
    if value < -100:
        raise ValueError(f"{label}: {name} cannot take away more than 100 %, got {value}")


@dataclass(frozen=True, kw_only=True)
class DemandDelta:
    """Demand of a family or product over a month range, by percent or units per month."""

    kind: ClassVar[str] = "demand"
    start: dt.date
    end: dt.date
    family: str | None = None
    product: str | int | None = None
    percent: float | None = None
    units: float | None = None

    def __post_init__(self) -> None:
        label = "demand change"
        _check_months(label, self.start, self.end)
        if self.family is not None and self.product is not None:
            raise ValueError(f"{label}: name a family or a product, not both")
        _check_one_of(label, percent=self.percent, units=self.units)
        _check_percent(label, "percent", self.percent)
        if self.units is not None and self.units != round(self.units):
            raise ValueError(f"{label}: units must be a whole number, got {self.units}")


@dataclass(frozen=True, kw_only=True)
class CapacityDelta:
    """Hours of a resource over a month range, by percent or hours per month."""

    kind: ClassVar[str] = "capacity"
    resource: str
    start: dt.date
    end: dt.date
    percent: float | None = None
    hours: float | None = None

    def __post_init__(self) -> None:
        label = "capacity change"
        if not self.resource:
            raise ValueError(f"{label}: name a resource")
        _check_months(label, self.start, self.end)
        _check_one_of(label, percent=self.percent, hours=self.hours)
        _check_percent(label, "percent", self.percent)


@dataclass(frozen=True, kw_only=True)
class LeadTimeDelta:
    """Lead time of a supplier's items, by days (mean only) or percent (mean and std)."""

    kind: ClassVar[str] = "lead_time"
    supplier: str
    days: float | None = None
    percent: float | None = None

    def __post_init__(self) -> None:
        label = "lead-time change"
        if not self.supplier:
            raise ValueError(f"{label}: name a supplier")
        _check_one_of(label, days=self.days, percent=self.percent)
        _check_percent(label, "percent", self.percent)


@dataclass(frozen=True, kw_only=True)
class PriceCostDelta:
    """Unit price and unit cost of a family (None: all families), by percent."""

    kind: ClassVar[str] = "price_cost"
    family: str | None = None
    price_percent: float = 0.0
    cost_percent: float = 0.0

    def __post_init__(self) -> None:
        label = "price/cost change"
        _check_percent(label, "price_percent", self.price_percent)
        _check_percent(label, "cost_percent", self.cost_percent)
        if self.price_percent == 0 and self.cost_percent == 0:
            raise ValueError(f"{label}: give a price or a cost percent")


@dataclass(frozen=True, kw_only=True)
class ServiceLevelDelta:
    """Target service level of an ABC class (None: every item), a fraction in (0, 1)."""

    kind: ClassVar[str] = "service_level"
    abc_class: str | None = None
    level: float

    def __post_init__(self) -> None:
        label = "service-level change"
        if self.abc_class is not None and self.abc_class not in ABC_RANK:
            raise ValueError(f"{label}: ABC class must be one of {list(ABC_RANK)} or None")
        if not 0 < self.level < 1:
            # z is infinite at 0 and 1, and so would the safety stock be.
            raise ValueError(
                f"{label}: the level must lie strictly between 0 and 1, got {self.level}"
            )


@dataclass(frozen=True, kw_only=True)
class SourceDelta:
    """A supplier or a resource unavailable over a month range: a supply disruption."""

    kind: ClassVar[str] = "source"
    start: dt.date
    end: dt.date
    supplier: str | None = None
    resource: str | None = None

    def __post_init__(self) -> None:
        label = "source unavailable"
        if bool(self.supplier) == bool(self.resource):
            raise ValueError(f"{label}: name a supplier or a resource, one of the two")
        _check_months(label, self.start, self.end)


Delta = (
    DemandDelta | CapacityDelta | LeadTimeDelta | PriceCostDelta | ServiceLevelDelta | SourceDelta
)
DELTA_KINDS: Mapping[str, type[Delta]] = {
    cls.kind: cls
    for cls in (
        DemandDelta,
        CapacityDelta,
        LeadTimeDelta,
        PriceCostDelta,
        ServiceLevelDelta,
        SourceDelta,
    )
}


@dataclass(frozen=True)
class PlanLabels:
    """What the deltas name that the engine's arrays do not carry.

    Per SKU-location row (n): `family`, `product` (the label a product delta names) and
    `supplier` (the supplier whose lead time the row plans with; None for items made in
    house). Per resource (R): `resources`, the codes a capacity delta names. Months and ABC
    classes come from the `SupplyInputs` themselves.
    """

    family: np.ndarray
    product: np.ndarray
    supplier: np.ndarray
    resources: np.ndarray

    def __post_init__(self) -> None:
        # Object arrays compare elementwise with any label, str or int alike.
        for name in ("family", "product", "supplier", "resources"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=object))


@dataclass(frozen=True)
class ScenarioResult:
    """A plan recomputed with its deltas: inputs, projection, money and KPIs."""

    inputs: SupplyInputs
    policy: Policy
    prices: PriceCost
    projection: SupplyProjection
    financials: pd.DataFrame
    kpis: dict[str, float]


def spread_units(units: float, weights: np.ndarray) -> np.ndarray:
    """Whole `units` split over the rows of each column in proportion to `weights`.

    Largest remainder: each row gets the floor of its exact share and the units left over
    go one each to the rows with the largest fractions (ties to the earlier row), so that
    every column adds up to `units` exactly. A column of zero weights is split evenly.
    """
    rows = weights.shape[0]
    total = weights.sum(axis=0)
    share = np.divide(weights, total, out=np.full(weights.shape, 1 / rows), where=total > 0)
    exact = abs(units) * share
    # The tolerance keeps an exact share of 3 that float arithmetic made 2.9999999 at 3.
    parts = np.floor(exact + 1e-9)
    left = abs(units) - parts.sum(axis=0)
    order = np.argsort(parts - exact, axis=0, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(rows)[:, None], axis=0)
    return np.copysign(parts + (rank < left), units)


_Own = Callable[[str], np.ndarray]


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def apply_deltas(
    base: SupplyInputs, deltas: Sequence[Delta], *, meta: PlanLabels, policy: Policy
) -> tuple[SupplyInputs, Policy, PriceCost]:
    """The scenario's engine inputs, policy and prices; the base is left as it was."""
    n = base.demand.shape[0]
    if {len(meta.family), len(meta.product), len(meta.supplier)} != {n}:
        raise ValueError(f"the labels do not have one entry per SKU-location ({n})")
    if len(meta.resources) != base.capacity.shape[0]:
        raise ValueError(f"the labels do not name the {base.capacity.shape[0]} resources")
    copies: dict[str, np.ndarray] = {}
    alternates = base.alternates

    def own(name: str) -> np.ndarray:
        """The scenario's copy of the base array `name`, made at its first write."""
        if name not in copies:
            value = getattr(base, name)
            # Only the primary's disruption mask may be absent (None: available throughout).
            copies[name] = np.zeros(base.demand.shape, bool) if value is None else value.copy()
        return copies[name]

    ranged = any(isinstance(delta, DemandDelta | CapacityDelta | SourceDelta) for delta in deltas)
    # Only a month range needs the months to be dates.
    month = month_numbers(base.months) if ranged else None

    def cols(delta: DemandDelta | CapacityDelta | SourceDelta) -> np.ndarray:
        """The months of the horizon inside the delta's range."""
        first, last = (month_index(d) for d in (delta.start, delta.end))
        return np.flatnonzero((month >= first) & (month <= last))

    for delta in deltas:
        match delta:
            case DemandDelta():
                _change_demand(delta, _demand_rows(delta, meta, n), cols(delta), own)
            case CapacityDelta():
                rows = np.flatnonzero(meta.resources == delta.resource)
                _change_capacity(delta, rows, cols(delta), own)
            case LeadTimeDelta():
                rows = np.flatnonzero(meta.supplier == delta.supplier)
                mean = own("lead_time_months")
                if delta.days is not None:
                    mean[rows] = np.maximum(mean[rows] + days_to_months(delta.days), 0.0)
                else:
                    factor = 1 + delta.percent / 100
                    mean[rows] *= factor
                    own("lead_time_std_months")[rows] *= factor
            case PriceCostDelta():
                rows = slice(None) if delta.family is None else meta.family == delta.family
                own("unit_price")[rows] *= 1 + delta.price_percent / 100
                own("unit_cost")[rows] *= 1 + delta.cost_percent / 100
            case SourceDelta():
                alternates = _source_unavailable(delta, cols(delta), meta, base, alternates, own)
            case ServiceLevelDelta(abc_class=None):
                classes = [*ABC_RANK, *policy.service_levels]
                policy = dataclasses.replace(
                    policy,
                    service_levels=dict.fromkeys(classes, delta.level),
                    default_service_level=delta.level,
                )
            case ServiceLevelDelta():
                levels = {**policy.service_levels, delta.abc_class: delta.level}
                policy = dataclasses.replace(policy, service_levels=levels)
            case _:
                raise TypeError(f"not a scenario delta: {delta!r}")
    prices = PriceCost(
        price=_read_only(copies.pop("unit_price", base.unit_price)),
        cost=_read_only(copies.pop("unit_cost", base.unit_cost)),
    )
    # Price and cost changes are financial only (see the module doc): the engine keeps the
    # base's, which is why they were popped above.
    arrays = {
        field.name: _read_only(copies.get(field.name, getattr(base, field.name)))
        for field in dataclasses.fields(base)
        if isinstance(copies.get(field.name, getattr(base, field.name)), np.ndarray)
    }
    return dataclasses.replace(base, **arrays, alternates=alternates), policy, prices


def _source_unavailable(
    delta: SourceDelta,
    cols: np.ndarray,
    meta: PlanLabels,
    base: SupplyInputs,
    alternates: AlternateSources | None,
    own: _Own,
) -> AlternateSources | None:
    """Apply a disruption (see `SourceDelta`); return the alternates, copied if changed."""
    if cols.size == 0:
        return alternates
    if delta.resource is not None:
        rows = np.flatnonzero(meta.resources == delta.resource)
        _change_cells("capacity", -100, lambda block: 0.0, rows, cols, own)
        kind, code = "resource", delta.resource
    else:
        rows = np.flatnonzero(meta.supplier == delta.supplier)
        if rows.size:
            own("primary_unavailable")[np.ix_(rows, cols)] = True
        kind, code = "supplier", delta.supplier
    if alternates is None:
        return None
    hit = np.flatnonzero([label == (kind, code) for label in alternates.pools])
    if hit.size == 0:
        return alternates
    capacity = alternates.capacity.copy()
    capacity[np.ix_(hit, cols)] = 0.0
    return dataclasses.replace(alternates, capacity=capacity)


def sourcing_kpis(projection: SupplyProjection) -> dict[str, float]:
    """Units the alternate sources supply over the horizon and what they cost over the
    primary's unit cost (0 and 0 without alternates)."""
    split = projection.source_split()
    return {
        "alternate_units": float(split["quantity"].sum()),
        "alternate_extra_cost": float(split["extra_cost"].sum()),
    }


def source_volumes(projection: SupplyProjection) -> pd.DataFrame:
    """Units and extra cost per source over the horizon: the primary (kind "primary"),
    then each alternate pool (kind, code), largest volume first."""
    sources = projection.inputs.alternates
    alternate = np.zeros(projection.planned.shape)
    rows = []
    if sources is not None and projection.alternate_supply is not None:
        np.add.at(alternate, sources.sku, projection.alternate_supply)
        volume = projection.alternate_supply.sum(axis=1)
        extra = volume * (sources.unit_cost - projection.inputs.unit_cost[sources.sku])
        by_pool = pd.DataFrame({"pool": sources.pool, "units": volume, "extra_cost": extra})
        totals = by_pool.groupby("pool")[["units", "extra_cost"]].sum()
        for pool, row in totals.iterrows():
            label = sources.pools[pool]
            kind, code = label if isinstance(label, tuple) else ("source", str(label))
            rows.append({"kind": kind, "code": code, **row.to_dict()})
    primary = float((projection.planned - alternate).sum())
    frame = pd.DataFrame(rows, columns=["kind", "code", "units", "extra_cost"])
    frame = frame[frame["units"] > 0].sort_values(["units", "code"], ascending=[False, True])
    head = pd.DataFrame([{"kind": "primary", "code": "", "units": primary, "extra_cost": 0.0}])
    return pd.concat([head, frame], ignore_index=True)


def _demand_rows(delta: DemandDelta, meta: PlanLabels, n: int) -> np.ndarray:
    if delta.family is not None:
        return np.flatnonzero(meta.family == delta.family)
    if delta.product is not None:
        return np.flatnonzero(meta.product == delta.product)
    return np.arange(n)


def _change_cells(
    name: str,
    percent: float | None,
    added: Callable[[np.ndarray], np.ndarray | float],
    rows: np.ndarray,
    cols: np.ndarray,
    own: _Own,
) -> None:
    """Scale a block of grid `name` by `percent`, or add `added(block)`; never below zero."""
    if rows.size == 0 or cols.size == 0:
        return
    grid = own(name)
    cells = np.ix_(rows, cols)
    if percent is not None:
        changed = grid[cells] * (1 + percent / 100)
    else:
        changed = grid[cells] + added(grid[cells])
    grid[cells] = np.maximum(changed, 0.0)


def _change_demand(delta: DemandDelta, rows: np.ndarray, cols: np.ndarray, own: _Own) -> None:
    _change_cells(
        "demand", delta.percent, lambda block: spread_units(delta.units, block), rows, cols, own
    )


def _change_capacity(delta: CapacityDelta, rows: np.ndarray, cols: np.ndarray, own: _Own) -> None:
    _change_cells("capacity", delta.percent, lambda block: delta.hours, rows, cols, own)


def run_scenario(
    base_inputs: SupplyInputs,
    base_policy: Policy,
    deltas: Sequence[Delta],
    meta: PlanLabels,
    *,
    budget: pd.DataFrame | None = None,
) -> ScenarioResult:
    """Apply the deltas, plan supply, then the financial plan and KPIs (no deltas: base)."""
    inputs, policy, prices = apply_deltas(base_inputs, deltas, meta=meta, policy=base_policy)
    projection = plan_supply(inputs, policy)
    financials = financial_plan(projection, prices, family=meta.family, budget=budget)
    return ScenarioResult(
        inputs=inputs,
        policy=policy,
        prices=prices,
        projection=projection,
        financials=financials,
        kpis={**plan_kpis(projection, prices, financials, policy), **sourcing_kpis(projection)},
    )


def deltas_to_json(deltas: Iterable[Delta]) -> list[dict[str, Any]]:
    """The deltas as JSON-ready dicts (a `kind` and the fields that are set), for a JSONField."""
    out = []
    for delta in deltas:
        data: dict[str, Any] = {"kind": delta.kind}
        for field in dataclasses.fields(delta):
            value = getattr(delta, field.name)
            if value is not None:
                data[field.name] = value.isoformat() if isinstance(value, dt.date) else value
        out.append(data)
    return out


def deltas_from_json(data: Iterable[Mapping[str, Any]]) -> list[Delta]:
    """Deltas back from `deltas_to_json`; each is validated again as it is built."""
    deltas = []
    for item in data:
        values = dict(item)
        kind = values.pop("kind", None)
        if kind not in DELTA_KINDS:
            raise ValueError(f"unknown delta kind {kind!r}; expected one of {list(DELTA_KINDS)}")
        for name in ("start", "end"):
            if isinstance(values.get(name), str):
                values[name] = dt.date.fromisoformat(values[name])
        try:
            deltas.append(DELTA_KINDS[kind](**values))
        except TypeError as error:
            raise ValueError(f"{kind} delta: {error}") from error
    return deltas
