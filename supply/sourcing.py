"""Alternate sources: what the primary source cannot supply, bought or made elsewhere. ORM-free.

One level of sourcing. The primary source of a SKU-location is the plan `plan_supply` has
always made: its routing's resources (a supplier among them, whose capacity is a
quantity) or an unconstrained purchase. Its alternates (`AlternateSources`, the master
data's `sop.ProductSource` rows) are back-up sources, each a supplier or a resource with a
priority, a unit cost, a lead time and a monthly capacity in units. An alternate never
becomes the primary and alternates have no alternates of their own.

Shortage. After the capacity constraint (and the component limit) the primary plan leaves
a shortage per SKU-location and month: planned supply cut for lack of capacity. A
disruption of the primary (`SupplyInputs.primary_unavailable`, a scenario's "source
unavailable") cuts the planned supply of its months into the shortage too, firm supply
excepted: a planner's firm quantity is an order already placed.

Fill. Months in order; within a month, the alternates of each SKU in its source order,
rank by rank (every SKU's first alternate, then every SKU's second ...). At each rank the
SKUs that still lack supply ask their rank-k alternate for what is missing; an alternate
serves only from its first plannable month ceil(LT) on (LT its own lead time in months:
an order placed now cannot land before) and within its pool's capacity that month. A pool
is one supplier or resource: the rows naming it share its monthly capacity, handed out
by the engine's priority (ABC class, then unit margin, `projection.priority_order`) by
cumulative sums, so a lower-ranked SKU gets only what the higher-ranked left. Rank before
priority: a SKU's first choice is served before another SKU's fallback onto the same
pool. Source order is by priority (`ORDER_PRIORITY`, lower first, then the cheaper) or
cheapest first (`ORDER_COST`, then by priority); ties keep input order.

What remains is the shortage when every source is exhausted (or not yet reachable). The
alternate supply lands in the month of the cut, like the primary would have, and joins the
planned supply the projection uses; its extra cost is its quantity times its unit cost
less the SKU's (the primary's) unit cost: negative when the alternate is cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ORDER_PRIORITY = "priority"
ORDER_COST = "cost"
ORDERS = (ORDER_PRIORITY, ORDER_COST)
_EPS = 1e-6


@dataclass(frozen=True)
class AlternateSources:
    """The alternates of a plan: m rows over the plan's n SKU-locations, P pools, T months.

    Per alternate (m): `sku` (its SKU-location's row), `pool` (its supplier or resource,
    0..P-1), `priority` (lower first), `unit_cost`, `lead_time_months`. `capacity` is
    P x T units per month. `labels` (m) and `pools` (P) name them for the tidy outputs;
    they default to positions.
    """

    sku: np.ndarray
    pool: np.ndarray
    priority: np.ndarray
    unit_cost: np.ndarray
    lead_time_months: np.ndarray
    capacity: np.ndarray
    labels: pd.Index | None = None
    pools: pd.Index | None = None

    def __post_init__(self) -> None:
        sku = np.asarray(self.sku, dtype=np.int64)
        pool = np.asarray(self.pool, dtype=np.int64)
        m = sku.shape[0]
        capacity = np.asarray(self.capacity, dtype=float)
        if capacity.ndim != 2:
            raise ValueError("capacity must be pools x months")
        if not np.isfinite(capacity).all() or (capacity < 0).any():
            raise ValueError("alternate capacity has NaN, infinite or negative values")
        for name, value in (("sku", sku), ("pool", pool)):
            if value.shape != (m,) or (value < 0).any():
                raise ValueError(f"alternate {name} must be m non-negative positions")
        if m and pool.max() >= capacity.shape[0]:
            raise ValueError("an alternate names a pool beyond the capacity rows")
        object.__setattr__(self, "sku", sku)
        object.__setattr__(self, "pool", pool)
        object.__setattr__(self, "capacity", capacity)
        for name in ("priority", "unit_cost", "lead_time_months"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.shape != (m,) or not np.isfinite(value).all():
                raise ValueError(f"alternate {name} must be m finite numbers")
            object.__setattr__(self, name, value)
        if (self.unit_cost < 0).any() or (self.lead_time_months < 0).any():
            raise ValueError("alternate unit cost and lead time cannot be negative")
        for name, size, label in (("labels", m, "source"), ("pools", capacity.shape[0], "pool")):
            index = getattr(self, name)
            if index is None:
                index = pd.RangeIndex(size, name=label)
            elif not isinstance(index, pd.Index):
                index = pd.Index(index)
            if len(index) != size:
                raise ValueError(f"alternate {name} has {len(index)} labels, expected {size}")
            object.__setattr__(self, name, index)

    @property
    def months(self) -> int:
        return self.capacity.shape[1]


@dataclass(frozen=True)
class Sourced:
    """The alternates' supply (m x T) and the shortage no source could fill (n x T)."""

    supply: np.ndarray
    shortage: np.ndarray


def cut_unavailable(
    *, planned: np.ndarray, shortage: np.ndarray, unavailable: np.ndarray, firm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Planned supply of the primary's unavailable months moved into the shortage.

    `planned` excludes firm supply; firm cells keep theirs (see the module doc).
    """
    cut = np.where(unavailable & ~firm, planned, 0.0)
    return planned - cut, shortage + cut


def source_ranks(sources: AlternateSources, order: str) -> np.ndarray:
    """Each alternate's place (0 first) among its SKU's alternates in the source order."""
    if order not in ORDERS:
        raise ValueError(f"alternate order must be one of {ORDERS}, got {order!r}")
    first, second = (
        (sources.priority, sources.unit_cost)
        if order == ORDER_PRIORITY
        else (sources.unit_cost, sources.priority)
    )
    m = sources.sku.size
    ordered = np.lexsort((np.arange(m), second, first, sources.sku))
    sku_sorted = sources.sku[ordered]
    start = np.flatnonzero(np.r_[True, sku_sorted[1:] != sku_sorted[:-1]]) if m else ordered
    begins = np.repeat(start, np.diff(np.r_[start, m])) if m else ordered
    ranks = np.empty(m, dtype=np.int64)
    ranks[ordered] = np.arange(m) - begins
    return ranks


def fill_from_alternates(
    *,
    shortage: np.ndarray,
    sources: AlternateSources,
    priority: np.ndarray,
    first_month: np.ndarray,
    order: str = ORDER_PRIORITY,
) -> Sourced:
    """Fill the shortage month by month from the alternates (see the module doc).

    `priority` is the SKU positions from highest to lowest priority
    (`projection.priority_order`); `first_month` (m) each alternate's first plannable
    month (`projection.first_plannable_month` of its lead time).
    """
    n, months = shortage.shape
    if sources.months != months:
        raise ValueError(f"alternate capacity covers {sources.months} months, expected {months}")
    if sources.sku.size and sources.sku.max() >= n:
        raise ValueError("an alternate names a SKU-location beyond the plan's rows")
    remaining = shortage.copy()
    supply = np.zeros((sources.sku.size, months))
    if sources.sku.size == 0:
        return Sourced(supply=supply, shortage=remaining)
    rank_of_sku = np.empty(n, dtype=np.int64)
    rank_of_sku[priority] = np.arange(n)
    ranks = source_ranks(sources, order)
    first = np.asarray(first_month)
    # Within a rank, alternates of one pool in SKU priority order: cumulative sums per pool.
    by_rank = []
    for k in range(ranks.max() + 1):
        rows = np.flatnonzero(ranks == k)
        rows = rows[np.lexsort((rank_of_sku[sources.sku[rows]], sources.pool[rows]))]
        pool = sources.pool[rows]
        starts = np.flatnonzero(np.r_[True, pool[1:] != pool[:-1]])
        by_rank.append((rows, pool, starts))
    left = sources.capacity.copy()
    for t in range(months):
        for rows, pool, starts in by_rank:
            skus = sources.sku[rows]
            ask = np.where(first[rows] <= t, remaining[skus, t], 0.0)
            ask[ask <= _EPS] = 0.0
            if not ask.any():
                continue
            total = np.cumsum(ask)
            before = total - ask
            # Asked by the rows ahead of each one in its pool.
            ahead = before - np.repeat(before[starts], np.diff(np.r_[starts, rows.size]))
            granted = np.clip(left[pool, t] - ahead, 0.0, ask)
            supply[rows, t] += granted
            remaining[skus, t] -= granted
            np.subtract.at(left[:, t], pool, granted)
            left[left[:, t] < _EPS, t] = 0.0
    remaining[remaining < _EPS] = 0.0
    return Sourced(supply=supply, shortage=remaining)


def odd_sources(sources: AlternateSources) -> np.ndarray:
    """Alternates that are legal but odd: zero capacity in every month at their SKU's top
    priority (the SKU's first choice can never supply anything)."""
    if sources.sku.size == 0:
        return np.zeros(0, dtype=bool)
    top = source_ranks(sources, ORDER_PRIORITY) == 0
    empty = sources.capacity[sources.pool].max(axis=1, initial=0.0) <= _EPS
    return top & empty
