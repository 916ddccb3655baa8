"""Supply projection: safety stock, planned supply, capacity and projected inventory.

ORM-free and vectorised over SKU-locations; the supply services load the grids, call
`plan_supply` and store the rows. Arrays are indexed by SKU-location `i` (n rows), month
`t` (T columns, month 0 is the cycle's first month) and resource `r` (R). Months are
buckets: a quantity "in month t" happens during that month. Lead times are in months
(`days_to_months`: days / 30.44).

Projection (lost sales). Stock available in month t is the previous month's closing stock
plus scheduled receipts and planned supply due in t; demand is served from it and what it
cannot serve is lost, not carried into the next month (make/buy-to-stock customers buy
elsewhere; a backlog would also double-count demand that the consensus plan re-forecasts):

    available[t] = on_hand[t-1] + receipts[t] + supply[t]
    on_hand[t]   = max(available[t] - demand[t], 0)
    unmet[t]     = max(demand[t] - available[t], 0)

Safety stock and order-up-to level (periodic review). The plan is remade every month, so
an order placed at a review must cover demand until the next order can land: the lead time
LT plus the review period RP (`Policy.review_period_months`, 1 by default: the S&OP plan
is monthly; 0 would leave an item made with no lead time without safety stock although
the next plan, and the next chance to react, is a month away). With E = LT + RP months,

    S  = D(E) + SS                  the order-up-to level of the inventory position
    SS = sqrt(max(SS_d, 0)^2 + (z * d * sigma_LT)^2)
    SS_d = Q_tau(E) - F(E)          from forecast quantiles, else
    SS_d = z * sigma_d * sqrt(E)    the normal formula (fallback)

with tau the target cycle service level (per ABC class, `Policy.service_levels`), z =
max(Phi^-1(tau), 0), D(E) the consensus demand over the first E months (flat at the last
month's beyond the horizon), F(E) and Q_tau(E) the point forecast and its tau-quantile of
CUMULATIVE demand over months 1..E, d the mean monthly consensus demand and sigma_LT the
lead time std in months. Q_tau(E) - F(E) (`SupplyInputs.error_quantiles`) is the error of
the forecast over the whole exposure at once: monthly errors are positively correlated,
so sqrt(E) times a one-month sigma, which assumes them independent, understated it and the
service fell short of the target (~72/78/82 % for 90/95/98 % on M3). A fractional E is
interpolated linearly between whole months; a tau not stored (a scenario's 97 %) linearly
in z between the stored levels (extrapolated from the end pair outside them); beyond the
stored months the error grows like sqrt(E). A series without stored quantiles (no forecast
run, or history too short to backtest) uses the normal formula with sigma_d its one-month
error std (or the std of its recent sales); `SupplyProjection.safety_stock_from_quantiles`
records which one each SKU-location got. The quantiles are the statistical forecast's;
added to the consensus demand they assume the planners' overrides move the level, not
the spread of the error.

Lead-time variability adds in quadrature: with normal quantiles this is exactly the
textbook z * sqrt(E * sigma_d^2 + d^2 * sigma_LT^2), and it treats the lead-time delay as
independent of the forecast error (a supplier is not late because demand is high). Adding
the two linearly would assume they always peak together and overstock; stretching E by
z * sigma_LT would need a quantile at an exposure the run may not have stored.

Weeks of cover at the end of month t: on_hand[t] divided by the average weekly demand of
the next `Policy.cover_months` months (demand beyond the horizon is taken flat at the last
month's). With no forward demand, cover is `Policy.cover_cap_weeks` if there is stock and
0 if not, so the column stays finite and sortable. Excess is the stock above
`Policy.max_cover_weeks` of that forward demand (all of it when there is none), valued at
unit cost.

Unconstrained plan. Month by month, across all SKUs at once: the net requirement keeps the
closing stock at safety stock,

    net[t]   = max(SS + demand[t] - (on_hand[t-1] + receipts[t]), 0)
    order[t] = ceil(max(net[t], MOQ) / lot) * lot      (0 if net is 0; no rounding if lot 0)

and planned supply may only land from month ceil(LT) on: the months before are frozen by
the lead time and only scheduled receipts arrive there, so an early shortfall shows as a
stockout instead of supply that could not arrive in time.

Capacity. load[r, t] = sum_i hours[i, r] * (receipts[i, t] + planned[i, t]); scheduled
receipts are released orders, so their hours count but are never moved or cut. A SKU
without a routing loads nothing and is never constrained. Purchased items are constrained
by a supplier the same way: the supplier is a resource of kind supplier with its capacity
and the items route to it (hours per unit 1 makes the capacity a quantity).

A resource-month whose capacity is missing from the data (`SupplyInputs.capacity_missing`)
constrains nothing and takes no pre-builds: the plan is unconstrained there, and its
utilisation is unknown (NaN). A missing row is a data gap the supply review flags, not a
shutdown; 0 hours entered is a shutdown.

Constrained plan. Months are fixed in order t = 0, 1, ... and within a month resources in
order; an overload at (r, t) is relieved in two steps:

1. Pre-build: move planned production of the SKUs on r from t into earlier months with
   free capacity, nearest month first, never before the SKU's first plannable month,
   highest priority first, until the overload is gone. A moved unit needs free capacity on
   every resource of its routing in the earlier month, so multi-resource SKUs move
   consistently; the extra stock is carried to month t by the projection.
2. Shortage: what still does not fit is cut, lowest priority first. Cutting a SKU's
   quantity also frees its hours on its other resources in t, so once every resource of
   month t is settled, cut production that fits again is given back, highest priority
   first.

Free hours go to SKUs by cumulative sums in priority order, each SKU asking for what it
could take alone; hours a SKU could not use because another resource held it back are
handed on in up to R further passes. On the tests' random cases this gives the same plan
as granting SKU by SKU in a Python loop.

Priority: ABC class (A, B, C, then unclassified), then unit margin (price - cost), higher
first; ties keep input order. Pre-build serves high priority first and cuts take low
priority first, so an A item is only cut once every lower-ranked item on that resource and
month is at zero. Earlier months are settled before later ones and a move only takes free
capacity, so no month is left overloaded by planned supply (only by receipts beyond
capacity). The plan is not re-netted after a cut; cut quantities and pre-builds may split
lots, the planner rounds them in the supply review.

Phase-out. A SKU-location whose product has an end of life (`SupplyInputs.end_of_life`,
k the position of the end-of-life month: nothing is sold from month k on) is run down
instead of topped up to the end. The safety stock held at the close of month t guards the
forecast error over the next E = LT + RP months; after the end of life there is none to
guard, so the target keeps the share of those months still sold:

    SS[t] = SS * clip((k - 1 - t) / E, 0, 1)

full while the whole exposure lies before the end, falling linearly over the last E months
to 0 at the close of month k - 1, the last month sold (E = 3, k = 6: SS, SS, SS, 2/3 SS,
1/3 SS, 0, 0, ...); with E = 0 it is SS up to the close of month k - 2. No supply
is planned from month k on: it could only serve demand at or after the end. Scheduled
receipts and firm supply are the planner's and stay; with no demand ahead their stock
is excess. The order-up-to level uses the month-0 target. Products without an end of
life get exactly the constant SS above.

Firm supply. A planner may fix the planned supply of a SKU-location and month
(`SupplyInputs.firm_supply`, NaN where the engine plans). A firm quantity is treated like
a scheduled receipt the planner has released: netting counts it, the engine plans nothing
more in that cell, its hours load capacity, and it is never moved, cut or pre-built into.
It may land inside the lead-time window (an expedite is the planner's call).

Alternate sources. What the constrained plan still cuts is filled from the SKU's
alternate sources (`SupplyInputs.alternates`), each from its own first plannable month and
within its own monthly capacity, in source order (`Policy.alternate_order`); a disruption
of the primary (`SupplyInputs.primary_unavailable`) cuts its months first. `planned` is
then the supply from every source, `shortage` what no source could fill and
`alternate_supply` the alternates' part; see `supply.sourcing`. Without alternates or a
disruption the plan is exactly the primary's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy.stats import norm

from supply.sourcing import (
    ORDER_PRIORITY,
    ORDERS,
    AlternateSources,
    cut_unavailable,
    fill_from_alternates,
)

DAYS_PER_MONTH = 365.25 / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
DEFAULT_SERVICE_LEVELS: Mapping[str, float] = {"A": 0.98, "B": 0.95, "C": 0.90}
ABC_RANK = {"A": 0, "B": 1, "C": 2}
# Quantities and hours below this are float noise, not orders or overloads.
_EPS = 1e-6


@dataclass(frozen=True)
class Policy:
    """The planning knobs: service level per ABC class and the cover limits."""

    service_levels: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SERVICE_LEVELS)
    )
    default_service_level: float = 0.90
    review_period_months: float = 1.0
    max_cover_weeks: float = 26.0
    cover_months: int = 3
    cover_cap_weeks: float = 999.0
    alternate_order: str = ORDER_PRIORITY

    def __post_init__(self) -> None:
        levels = [*self.service_levels.values(), self.default_service_level]
        if not all(0 < level < 1 for level in levels):
            # z is infinite at 0 and 1: the safety stock would be too.
            raise ValueError(f"service levels must lie strictly between 0 and 1: {levels}")
        if self.cover_months < 1 or self.max_cover_weeks < 0 or self.cover_cap_weeks <= 0:
            raise ValueError("cover_months must be >= 1 and the cover limits non-negative")
        if self.review_period_months < 0:
            raise ValueError("review_period_months must not be negative")
        if self.alternate_order not in ORDERS:
            raise ValueError(f"alternate_order must be one of {ORDERS}")


@dataclass(frozen=True)
class SupplyInputs:
    """The grids for one plan: n SKU-locations, T months, R resources.

    Per SKU-location (n): `on_hand` (opening stock), `demand_error_std` (monthly),
    `lead_time_months`, `lead_time_std_months`, `abc_class` ("A"/"B"/"C"/""),
    `unit_cost`, `unit_price`, `moq`, `lot_size`. Per SKU-location x month (n x T):
    `receipts`, `demand` (consensus). `hours_per_unit` is n x R (0 where the SKU does not
    use the resource), `capacity` is R x T hours. `keys`, `months` and `resources` label
    the axes of the tidy outputs; they default to positions. `firm_supply` (n x T, NaN
    where the engine plans) fixes planned supply cells, and `capacity_missing` (R x T
    bool) marks resource-months without capacity data; see the module doc.
    `error_quantiles` (n x L x H) are the quantiles at `error_quantile_levels` (L, rising)
    of the cumulative forecast error over months 1..H; a row of NaN (or None for all) means
    none are stored and safety stock falls back to the normal formula. `end_of_life` (n)
    is the month position from which the product is no longer sold (may lie before 0 or
    past the horizon), NaN without an end; see Phase-out in the module doc.
    `alternates` are the SKUs' alternate sources and `primary_unavailable` (n x T bool) the
    months their primary source cannot supply (None: none; see `supply.sourcing`).
    """

    on_hand: np.ndarray
    receipts: np.ndarray
    demand: np.ndarray
    demand_error_std: np.ndarray
    lead_time_months: np.ndarray
    lead_time_std_months: np.ndarray
    abc_class: np.ndarray
    unit_cost: np.ndarray
    unit_price: np.ndarray
    moq: np.ndarray
    lot_size: np.ndarray
    hours_per_unit: np.ndarray
    capacity: np.ndarray
    keys: pd.Index | None = None
    months: pd.Index | None = None
    resources: pd.Index | None = None
    firm_supply: np.ndarray | None = None
    capacity_missing: np.ndarray | None = None
    error_quantiles: np.ndarray | None = None
    error_quantile_levels: tuple[float, ...] = ()
    end_of_life: np.ndarray | None = None
    alternates: AlternateSources | None = None
    primary_unavailable: np.ndarray | None = None

    def __post_init__(self) -> None:
        demand = _floats(self.demand, "demand", ndim=2)
        n, months = demand.shape
        shapes = {
            "on_hand": (n,),
            "receipts": (n, months),
            "demand_error_std": (n,),
            "lead_time_months": (n,),
            "lead_time_std_months": (n,),
            "unit_cost": (n,),
            "unit_price": (n,),
            "moq": (n,),
            "lot_size": (n,),
        }
        for name, shape in shapes.items():
            value = _floats(getattr(self, name), name, ndim=len(shape))
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "demand", demand)
        hours = _floats(self.hours_per_unit, "hours_per_unit", ndim=2)
        capacity = _floats(self.capacity, "capacity", ndim=2)
        if hours.shape[0] != n or capacity.shape != (hours.shape[1], months):
            raise ValueError(
                f"hours_per_unit {hours.shape} and capacity {capacity.shape} do not match "
                f"{n} SKU-locations x {months} months"
            )
        object.__setattr__(self, "hours_per_unit", hours)
        object.__setattr__(self, "capacity", capacity)
        abc = np.asarray(self.abc_class, dtype=object)
        if abc.shape != (n,):
            raise ValueError(f"abc_class has shape {abc.shape}, expected {(n,)}")
        object.__setattr__(self, "abc_class", abc)
        firm = np.full((n, months), np.nan)
        if self.firm_supply is not None:
            firm = np.asarray(self.firm_supply, dtype=float)
            if firm.shape != (n, months):
                raise ValueError(f"firm_supply has shape {firm.shape}, expected {(n, months)}")
            fixed = firm[~np.isnan(firm)]
            if not np.isfinite(fixed).all() or (fixed < 0).any():
                raise ValueError("firm_supply has infinite or negative values")
        object.__setattr__(self, "firm_supply", firm)
        missing = np.zeros(capacity.shape, dtype=bool)
        if self.capacity_missing is not None:
            missing = np.asarray(self.capacity_missing, dtype=bool)
            if missing.shape != capacity.shape:
                raise ValueError(
                    f"capacity_missing has shape {missing.shape}, expected {capacity.shape}"
                )
        object.__setattr__(self, "capacity_missing", missing)
        end = np.full(n, np.nan)
        if self.end_of_life is not None:
            end = np.asarray(self.end_of_life, dtype=float)
            if end.shape != (n,):
                raise ValueError(f"end_of_life has shape {end.shape}, expected {(n,)}")
        object.__setattr__(self, "end_of_life", end)
        if self.primary_unavailable is not None:
            down = np.asarray(self.primary_unavailable, dtype=bool)
            if down.shape != (n, months):
                raise ValueError(
                    f"primary_unavailable has shape {down.shape}, expected {(n, months)}"
                )
            object.__setattr__(self, "primary_unavailable", down)
        if self.alternates is not None and (
            self.alternates.months != months
            or (self.alternates.sku.size and self.alternates.sku.max() >= n)
        ):
            raise ValueError("alternates do not match the plan's SKU-locations and months")
        self._check_error_quantiles(n)
        for name, size, label in (
            ("keys", n, "sku_location"),
            ("months", months, "month"),
            ("resources", hours.shape[1], "resource"),
        ):
            index = getattr(self, name)
            if index is None:
                index = pd.RangeIndex(size, name=label)
            elif not isinstance(index, pd.Index):
                index = pd.Index(index, name=label)
            if len(index) != size:
                raise ValueError(f"{name} has {len(index)} labels, expected {size}")
            object.__setattr__(self, name, index)

    def _check_error_quantiles(self, n: int) -> None:
        levels = tuple(float(q) for q in self.error_quantile_levels)
        quantiles = (
            np.full((n, len(levels), 0), np.nan)
            if self.error_quantiles is None
            else np.asarray(self.error_quantiles, dtype=float)
        )
        if quantiles.ndim != 3 or quantiles.shape[:2] != (n, len(levels)):
            raise ValueError(
                f"error_quantiles has shape {quantiles.shape}, expected {(n, len(levels))} x months"
            )
        missing = np.isnan(quantiles).all(axis=(1, 2))
        # Two levels at least: a target between or beyond them is read off the line in z.
        rising = len(levels) >= 2 and all(0 < a < b < 1 for a, b in pairwise(levels))
        if not missing.all() and not rising:
            raise ValueError(f"error_quantile_levels must rise strictly in (0, 1): {levels}")
        if not np.isfinite(quantiles[~missing]).all():
            raise ValueError("error_quantiles rows must be all finite or all NaN")
        object.__setattr__(self, "error_quantiles", quantiles)
        object.__setattr__(self, "error_quantile_levels", levels)


def _floats(value: object, name: str, *, ndim: int) -> np.ndarray:
    """The value as a float array, or a ValueError naming what is wrong with it."""
    array = np.asarray(value, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got {array.ndim}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values")
    if (array < 0).any():
        raise ValueError(f"{name} has negative values")
    return array


@dataclass(frozen=True)
class Projection:
    """Closing stock and lost demand per SKU-location x month."""

    on_hand: np.ndarray
    unmet: np.ndarray


@dataclass(frozen=True)
class CapacityPlan:
    """Planned supply fitted into capacity, the cut quantities and the resulting load."""

    planned: np.ndarray
    shortage: np.ndarray
    load: np.ndarray


@dataclass(frozen=True)
class SupplyProjection:
    """Everything the supply review shows for one plan; n x T grids unless noted."""

    inputs: SupplyInputs
    service_level: np.ndarray  # n
    safety_stock: np.ndarray  # n, the policy's, before any phase-out
    safety_stock_target: np.ndarray  # n x T, what the plan keeps at each month's close
    safety_stock_from_quantiles: np.ndarray  # n bool; False: the normal formula
    order_up_to: np.ndarray  # n
    first_month: np.ndarray  # n, first month planned supply can land
    planned_unconstrained: np.ndarray
    planned: np.ndarray  # constrained
    shortage: np.ndarray  # planned production cut for lack of capacity, month it was due
    on_hand: np.ndarray  # projected closing stock with the constrained plan
    unmet: np.ndarray  # demand lost to stockouts
    weeks_of_cover: np.ndarray
    excess_quantity: np.ndarray
    load_unconstrained: np.ndarray  # R x T hours
    load: np.ndarray  # R x T hours
    alternate_supply: np.ndarray | None = None  # m x T, supply from each alternate source

    @property
    def utilisation(self) -> np.ndarray:
        """Load over capacity (R x T); infinite where load meets no capacity, NaN where
        the capacity is missing from the data."""
        ratio = np.divide(
            self.load,
            self.inputs.capacity,
            out=np.where(self.load > _EPS, np.inf, 0.0),
            where=self.inputs.capacity > 0,
        )
        return np.where(self.inputs.capacity_missing, np.nan, ratio)

    def stockouts(self) -> pd.DataFrame:
        """One row per SKU-location and month with lost demand, valued at price."""
        rows, cols = np.nonzero(self.unmet > _EPS)
        quantity = self.unmet[rows, cols]
        return self._tidy(
            rows,
            cols,
            quantity=quantity,
            revenue_at_risk=quantity * self.inputs.unit_price[rows],
        )

    def excess(self) -> pd.DataFrame:
        """One row per SKU-location and month above the maximum cover, valued at cost."""
        rows, cols = np.nonzero(self.excess_quantity > _EPS)
        quantity = self.excess_quantity[rows, cols]
        return self._tidy(
            rows,
            cols,
            weeks_of_cover=self.weeks_of_cover[rows, cols],
            quantity=quantity,
            value=quantity * self.inputs.unit_cost[rows],
        )

    def sku_months(self) -> pd.DataFrame:
        """The n x T grids as one row per SKU-location and month, for bulk writes."""
        rows, cols = np.indices(self.on_hand.shape).reshape(2, -1)
        return self._tidy(
            rows,
            cols,
            demand=self.inputs.demand.ravel(),
            receipts=self.inputs.receipts.ravel(),
            planned_unconstrained=self.planned_unconstrained.ravel(),
            planned=self.planned.ravel(),
            shortage=self.shortage.ravel(),
            on_hand=self.on_hand.ravel(),
            unmet=self.unmet.ravel(),
            weeks_of_cover=self.weeks_of_cover.ravel(),
            excess_quantity=self.excess_quantity.ravel(),
        )

    def source_split(self) -> pd.DataFrame:
        """One row per alternate source and month that supplies: the SKU-location's labels,
        month, source, quantity and extra cost over the primary's unit cost."""
        sources = self.inputs.alternates
        if sources is None or self.alternate_supply is None:
            columns = [*self.inputs.keys.names, "month", "source", "quantity", "extra_cost"]
            return pd.DataFrame(columns=columns)
        rows, cols = np.nonzero(self.alternate_supply > _EPS)
        skus = sources.sku[rows]
        quantity = self.alternate_supply[rows, cols]
        frame = self._tidy(skus, cols)
        frame["source"] = sources.labels.take(rows)
        frame["quantity"] = quantity
        frame["extra_cost"] = quantity * (sources.unit_cost[rows] - self.inputs.unit_cost[skus])
        return frame

    def resource_months(self) -> pd.DataFrame:
        """Available hours, load before and after the constraint, and utilisation."""
        rows, cols = np.indices(self.load.shape).reshape(2, -1)
        return _long_frame(
            self.inputs.resources,
            self.inputs.months,
            rows,
            cols,
            available_hours=self.inputs.capacity.ravel(),
            load_unconstrained=self.load_unconstrained.ravel(),
            load=self.load.ravel(),
            utilisation=self.utilisation.ravel(),
        )

    def _tidy(self, rows: np.ndarray, cols: np.ndarray, **columns: np.ndarray) -> pd.DataFrame:
        return _long_frame(self.inputs.keys, self.inputs.months, rows, cols, **columns)


def _long_frame(
    index: pd.Index, months: pd.Index, rows: np.ndarray, cols: np.ndarray, **columns: np.ndarray
) -> pd.DataFrame:
    """Rows of a grid as a frame: the row labels (one column per level), month, values."""
    frame = index.take(rows).to_frame(index=False)
    frame["month"] = months.take(cols)
    for name, values in columns.items():
        frame[name] = values
    return frame


def days_to_months(days: np.ndarray | float) -> np.ndarray:
    """Lead time (mean or std) in days to months."""
    return np.asarray(days, dtype=float) / DAYS_PER_MONTH


def service_levels(abc_class: np.ndarray, policy: Policy) -> np.ndarray:
    """Target service level of each SKU from its ABC class."""
    classes = pd.Series(np.asarray(abc_class, dtype=object))
    levels = classes.map(dict(policy.service_levels)).astype(float)
    return levels.fillna(policy.default_service_level).to_numpy()


@dataclass(frozen=True)
class SafetyStock:
    """Safety stock per SKU-location and whether it came from forecast quantiles."""

    quantity: np.ndarray
    from_quantiles: np.ndarray


def _at_months(cumulative: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Cumulative values (last axis: months 0..H, 0 first) at fractional months, linearly.

    `months` has one entry per row (the first axis) and is clipped to [0, H].
    """
    horizon = cumulative.shape[-1] - 1
    at = np.clip(np.asarray(months, dtype=float), 0, horizon)
    lower = np.floor(at).astype(np.int64)
    upper = np.minimum(lower + 1, horizon)
    # One month index per row, broadcast over the middle axes (the levels, if any).
    shape = (-1,) + (1,) * (cumulative.ndim - 1)
    below = np.take_along_axis(cumulative, lower.reshape(shape), axis=-1)[..., 0]
    above = np.take_along_axis(cumulative, upper.reshape(shape), axis=-1)[..., 0]
    weight = (at - lower).reshape(shape[:-1])
    return below + weight * (above - below)


def _quantile_at(
    error_quantiles: np.ndarray,
    levels: tuple[float, ...],
    service_level: np.ndarray,
    exposure_months: np.ndarray,
) -> np.ndarray:
    """Cumulative forecast error over `exposure_months` at `service_level`, per row."""
    n, _, horizon = error_quantiles.shape
    cumulative = np.concatenate([np.zeros((n, len(levels), 1)), error_quantiles], axis=2)
    by_level = _at_months(cumulative, exposure_months)  # n x L
    # Past the stored months the error keeps growing, at least like a random walk's.
    by_level = by_level * np.sqrt(np.maximum(exposure_months / horizon, 1.0))[:, None]
    z_levels = norm.ppf(levels)
    z = norm.ppf(service_level)
    left = np.clip(np.searchsorted(z_levels, z) - 1, 0, len(levels) - 2)
    weight = (z - z_levels[left]) / (z_levels[left + 1] - z_levels[left])
    rows = np.arange(n)
    low, high = by_level[rows, left], by_level[rows, left + 1]
    return low + weight * (high - low)


def safety_stock(
    *,
    service_level: np.ndarray,
    exposure_months: np.ndarray,
    mean_demand: np.ndarray,
    lead_time_std_months: np.ndarray,
    demand_error_std: np.ndarray,
    error_quantiles: np.ndarray | None = None,
    error_quantile_levels: tuple[float, ...] = (),
) -> SafetyStock:
    """Safety stock for a cycle service level over LT + RP months (see the module doc).

    The demand part is the stored quantile of cumulative forecast error where a row has
    one, else z * sigma_d * sqrt(E); lead-time variability z * d * sigma_LT adds in
    quadrature. Never negative.
    """
    level = np.asarray(service_level, dtype=float)
    exposure = np.asarray(exposure_months, dtype=float)
    z = np.maximum(norm.ppf(level), 0.0)
    demand_part = z * demand_error_std * np.sqrt(exposure)
    from_quantiles = np.zeros(level.shape, dtype=bool)
    if error_quantiles is not None and error_quantiles.shape[2] > 0:
        from_quantiles = ~np.isnan(error_quantiles).all(axis=(1, 2))
        rows = np.flatnonzero(from_quantiles)
        demand_part[rows] = _quantile_at(
            error_quantiles[rows], error_quantile_levels, level[rows], exposure[rows]
        )
    demand_part = np.maximum(demand_part, 0.0)
    lead_part = z * mean_demand * lead_time_std_months
    return SafetyStock(
        quantity=np.sqrt(demand_part**2 + lead_part**2), from_quantiles=from_quantiles
    )


def order_up_to_level(
    *, demand: np.ndarray, exposure_months: np.ndarray, safety_stock: np.ndarray
) -> np.ndarray:
    """Demand over the first LT + RP months (flat beyond the horizon) plus safety stock."""
    n, horizon = demand.shape
    cumulative = np.zeros((n, horizon + 1))
    np.cumsum(demand, axis=1, out=cumulative[:, 1:])
    beyond = np.maximum(np.asarray(exposure_months, dtype=float) - horizon, 0.0)
    last = demand[:, -1] if horizon else np.zeros(n)
    return _at_months(cumulative, exposure_months) + beyond * last + safety_stock


def phase_out_targets(
    *, safety_stock: np.ndarray, exposure_months: np.ndarray, end_of_life: np.ndarray, months: int
) -> np.ndarray:
    """Safety stock to keep at each month's close (n x T), run down before an end of life.

    SS * clip((k - 1 - t) / E, 0, 1) for an end in month k, the constant SS without one
    (see Phase-out in the module doc).
    """
    targets = np.repeat(np.asarray(safety_stock, dtype=float)[:, None], months, axis=1)
    ending = np.flatnonzero(~np.isnan(end_of_life))
    if ending.size == 0:
        return targets
    left = end_of_life[ending, None] - 1 - np.arange(months)[None, :]  # months still sold
    exposure = np.asarray(exposure_months, dtype=float)[ending, None]
    share = np.divide(left, exposure, out=(left > 0).astype(float), where=exposure > 0)
    targets[ending] *= np.clip(share, 0.0, 1.0)
    return targets


def after_end_of_life(end_of_life: np.ndarray, months: int) -> np.ndarray:
    """n x T bool: the months from each SKU's end of life on (none without one)."""
    with np.errstate(invalid="ignore"):
        return np.arange(months)[None, :] >= np.asarray(end_of_life, dtype=float)[:, None]


def first_plannable_month(lead_time_months: np.ndarray) -> np.ndarray:
    """The first month planned supply ordered now can arrive in: ceil(LT)."""
    # Days / 30.44 lands a hair above an exact month count; that must not cost a month.
    return np.ceil(np.asarray(lead_time_months) - 1e-6).clip(min=0).astype(np.int64)


def round_order(net: np.ndarray, moq: np.ndarray, lot_size: np.ndarray) -> np.ndarray:
    """Order quantity for a net requirement: at least the MOQ, in whole lots."""
    quantity = np.where(net > _EPS, np.maximum(net, moq), 0.0)
    lots = np.ceil(np.divide(quantity, lot_size, out=quantity.copy(), where=lot_size > 0) - 1e-9)
    return np.where(lot_size > 0, lots * lot_size, quantity)


def project(
    *, on_hand: np.ndarray, receipts: np.ndarray, supply: np.ndarray, demand: np.ndarray
) -> Projection:
    """Closing stock and lost demand month by month (lost sales, see the module doc)."""
    available = receipts + supply
    closing = np.empty_like(demand)
    unmet = np.empty_like(demand)
    previous = on_hand
    for t in range(demand.shape[1]):
        stock = previous + available[:, t]
        closing[:, t] = np.maximum(stock - demand[:, t], 0.0)
        unmet[:, t] = np.maximum(demand[:, t] - stock, 0.0)
        previous = closing[:, t]
    return Projection(on_hand=closing, unmet=unmet)


def unconstrained_plan(
    *,
    on_hand: np.ndarray,
    receipts: np.ndarray,
    demand: np.ndarray,
    safety_stock: np.ndarray,
    first_month: np.ndarray,
    moq: np.ndarray,
    lot_size: np.ndarray,
    firm: np.ndarray | None = None,
    closed: np.ndarray | None = None,
) -> np.ndarray:
    """Planned supply keeping closing stock at safety stock from the first plannable month.

    Cells where the boolean n x T `firm` is set get nothing: their supply is fixed (and
    passed in `receipts`), nor do those where `closed` is set (after an end of life).
    `safety_stock` is one target per SKU (n) or one per SKU and month (n x T).
    """
    planned = np.zeros_like(demand)
    free = np.ones(demand.shape, dtype=bool) if firm is None else ~firm
    if closed is not None:
        free &= ~closed
    target = np.asarray(safety_stock, dtype=float)
    if target.ndim == 1:
        target = np.repeat(target[:, None], demand.shape[1], axis=1)
    previous = on_hand
    for t in range(demand.shape[1]):
        before = previous + receipts[:, t]
        plannable = (first_month <= t) & free[:, t]
        net = np.where(plannable, target[:, t] + demand[:, t] - before, 0.0)
        planned[:, t] = round_order(net, moq, lot_size)
        previous = np.maximum(before + planned[:, t] - demand[:, t], 0.0)
    return planned


def priority_order(abc_class: np.ndarray, unit_margin: np.ndarray) -> np.ndarray:
    """SKU positions from highest to lowest priority: ABC class, then unit margin."""
    rank = pd.Series(np.asarray(abc_class, dtype=object)).map(ABC_RANK).fillna(len(ABC_RANK))
    return np.lexsort((-np.asarray(unit_margin, dtype=float), rank.to_numpy()))


def capacity_load(hours_per_unit: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """Hours per resource x month of a quantity grid (n x T)."""
    # einsum's own loop, not BLAS: on a few cores shared with other workers, multithreaded
    # BLAS spins its threads and this product took 60 ms instead of 0.3 ms; einsum ~1 ms.
    return np.einsum("ir,it->rt", hours_per_unit, quantity)


def constrain_to_capacity(
    *,
    planned: np.ndarray,
    receipts: np.ndarray,
    hours_per_unit: np.ndarray,
    capacity: np.ndarray,
    first_month: np.ndarray,
    priority: np.ndarray,
    firm: np.ndarray | None = None,
    missing: np.ndarray | None = None,
) -> CapacityPlan:
    """Fit planned supply into capacity: pre-build earlier, then cut by priority.

    Nothing is pre-built into the cells where the boolean n x T `firm` is set. Where the
    boolean R x T `missing` is set the capacity is unknown: it neither binds nor takes
    pre-builds.
    """
    if missing is not None and missing.any():
        room = np.where(missing, 0.0, capacity)
        capacity = np.where(missing, np.inf, capacity)
    else:
        room = capacity
    # Work in priority order so that cumulative sums run from the highest priority down.
    plan = planned[priority].copy()
    hours = hours_per_unit[priority]
    first = first_month[priority]
    fixed = np.zeros(plan.shape, dtype=bool) if firm is None else firm[priority]
    shortage = np.zeros_like(plan)
    load = capacity_load(hours, plan + receipts[priority])
    for t in range(plan.shape[1]):
        for r in range(capacity.shape[0]):
            over = load[r, t] - capacity[r, t]
            if over <= _EPS:
                continue
            skus = np.flatnonzero((hours[:, r] > 0) & (plan[:, t] > 0))
            if skus.size == 0:
                continue
            over = _prebuild(plan, hours, load, room, first, fixed, skus, r, t, over)
            if over > _EPS:
                _cut(plan, hours, load, shortage, skus, r, t, over)
        _restore(plan, hours, load, capacity, shortage, t)
    unsorted = np.empty_like(plan)
    unsorted[priority] = plan
    cut = np.empty_like(shortage)
    cut[priority] = shortage
    return CapacityPlan(
        planned=unsorted, shortage=cut, load=capacity_load(hours_per_unit, unsorted + receipts)
    )


def _grant(quantity: np.ndarray, per_unit: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Units of each SKU (in priority order) that fit in `limit` hours of every resource."""
    granted = np.zeros_like(quantity)
    limit = np.where(limit < _EPS, 0.0, limit)
    # Each pass hands out every resource's hours by cumulative sum, each SKU asking for
    # what it could take alone. A SKU held back by one resource leaves hours unused on the
    # others, which the next pass hands on.
    for _ in range(limit.size):
        alone = np.divide(
            limit, per_unit, out=np.full_like(per_unit, np.inf), where=per_unit > 0
        ).min(axis=1)
        ask = np.minimum(quantity - granted, alone)
        need = per_unit * ask[:, None]
        given = np.clip(limit - (np.cumsum(need, axis=0) - need), 0.0, need)
        share = np.divide(given, need, out=np.ones_like(need), where=need > 0)
        units = ask * share.min(axis=1)
        used = units @ per_unit
        if used.max(initial=0.0) <= _EPS:
            break
        granted += units
        limit = limit - used
        limit[limit < _EPS] = 0.0
    return granted


def _prebuild(
    plan: np.ndarray,
    hours: np.ndarray,
    load: np.ndarray,
    capacity: np.ndarray,
    first: np.ndarray,
    firm: np.ndarray,
    skus: np.ndarray,
    r: int,
    t: int,
    over: float,
) -> float:
    """Move `over` hours of resource r from month t to earlier months; return what is left."""
    for earlier in range(t - 1, -1, -1):
        # The lead-time window only grows as we go back, so the candidates only shrink.
        skus = skus[first[skus] <= earlier]
        if skus.size == 0 or over <= _EPS:
            break
        limit = capacity[:, earlier] - load[:, earlier]
        limit[r] = min(limit[r], over)
        if limit[r] <= _EPS:
            continue
        # A firm cell keeps exactly the planner's quantity.
        open_skus = skus[~firm[skus, earlier]]
        moved = _grant(plan[open_skus, t], hours[open_skus], limit)
        moved_hours = moved @ hours[open_skus]
        plan[open_skus, t] -= moved
        plan[open_skus, earlier] += moved
        load[:, t] -= moved_hours
        load[:, earlier] += moved_hours
        over -= moved_hours[r]
    return over


def _cut(
    plan: np.ndarray,
    hours: np.ndarray,
    load: np.ndarray,
    shortage: np.ndarray,
    skus: np.ndarray,
    r: int,
    t: int,
    over: float,
) -> None:
    """Cut `over` hours of resource r in month t, lowest priority first."""
    per_unit = hours[skus, r]
    used = per_unit * plan[skus, t]
    lower = np.cumsum(used[::-1])[::-1] - used  # hours of the SKUs ranked below each one
    cut_hours = np.clip(over - lower, 0.0, used)
    # Whole quantities are cut exactly so that no -1e-13 of production is left behind.
    cut = np.where(cut_hours >= used, plan[skus, t], cut_hours / per_unit)
    plan[skus, t] -= cut
    shortage[skus, t] += cut
    load[:, t] -= cut @ hours[skus]


def _restore(
    plan: np.ndarray,
    hours: np.ndarray,
    load: np.ndarray,
    capacity: np.ndarray,
    shortage: np.ndarray,
    t: int,
) -> None:
    """Give back cut production that fits again: a later resource's cut freed its hours."""
    skus = np.flatnonzero(shortage[:, t] > 0)
    if skus.size == 0:
        return
    back = _grant(shortage[skus, t], hours[skus], capacity[:, t] - load[:, t])
    plan[skus, t] += back
    shortage[skus, t] -= back
    load[:, t] += back @ hours[skus]


def weekly_forward_demand(demand: np.ndarray, months: int) -> np.ndarray:
    """Average weekly demand over the `months` after each month (flat beyond the horizon)."""
    horizon = demand.shape[1]
    extended = np.concatenate([demand, np.repeat(demand[:, -1:], months, axis=1)], axis=1)
    total = np.zeros((demand.shape[0], horizon + months + 1))
    np.cumsum(extended, axis=1, out=total[:, 1:])
    window = total[:, months + 1 : horizon + months + 1] - total[:, 1 : horizon + 1]
    return window / (months * WEEKS_PER_MONTH)


def weeks_of_cover(on_hand: np.ndarray, weekly_demand: np.ndarray, cap: float) -> np.ndarray:
    """Stock over weekly demand, capped; the cap with no demand but stock, 0 with neither."""
    cover = np.divide(
        on_hand,
        weekly_demand,
        out=np.where(on_hand > _EPS, cap, 0.0),
        where=weekly_demand > 0,
    )
    return np.minimum(cover, cap)


def plan_supply(inputs: SupplyInputs, policy: Policy | None = None) -> SupplyProjection:
    """Safety stock, order-up-to level, the plans, projection, cover and excess."""
    policy = policy or Policy()
    mean_demand = inputs.demand.mean(axis=1)
    level = service_levels(inputs.abc_class, policy)
    exposure = inputs.lead_time_months + policy.review_period_months
    ss = safety_stock(
        service_level=level,
        exposure_months=exposure,
        mean_demand=mean_demand,
        lead_time_std_months=inputs.lead_time_std_months,
        demand_error_std=inputs.demand_error_std,
        error_quantiles=inputs.error_quantiles,
        error_quantile_levels=inputs.error_quantile_levels,
    )
    horizon = inputs.demand.shape[1]
    targets = phase_out_targets(
        safety_stock=ss.quantity,
        exposure_months=exposure,
        end_of_life=inputs.end_of_life,
        months=horizon,
    )
    first = first_plannable_month(inputs.lead_time_months)
    # Firm cells ride with the receipts through netting and the capacity step (fixed,
    # loading), then join the planned supply they are.
    firm = ~np.isnan(inputs.firm_supply)
    fixed = np.where(firm, inputs.firm_supply, 0.0)
    unconstrained = (
        unconstrained_plan(
            on_hand=inputs.on_hand,
            receipts=inputs.receipts + fixed,
            demand=inputs.demand,
            safety_stock=targets,
            first_month=first,
            moq=inputs.moq,
            lot_size=inputs.lot_size,
            firm=firm,
            closed=after_end_of_life(inputs.end_of_life, horizon),
        )
        + fixed
    )
    priority = priority_order(inputs.abc_class, inputs.unit_price - inputs.unit_cost)
    constrained = constrain_to_capacity(
        planned=unconstrained - fixed,
        receipts=inputs.receipts + fixed,
        hours_per_unit=inputs.hours_per_unit,
        capacity=inputs.capacity,
        first_month=first,
        priority=priority,
        firm=firm,
        missing=inputs.capacity_missing,
    )
    primary, shortage, load = constrained.planned, constrained.shortage, constrained.load
    if inputs.primary_unavailable is not None and inputs.primary_unavailable.any():
        primary, shortage = cut_unavailable(
            planned=primary, shortage=shortage, unavailable=inputs.primary_unavailable, firm=firm
        )
        load = capacity_load(inputs.hours_per_unit, primary + fixed + inputs.receipts)
    planned = primary + fixed
    alternate_supply = None
    if inputs.alternates is not None:
        sourced = fill_from_alternates(
            shortage=shortage,
            sources=inputs.alternates,
            priority=priority,
            first_month=first_plannable_month(inputs.alternates.lead_time_months),
            order=policy.alternate_order,
        )
        alternate_supply, shortage = sourced.supply, sourced.shortage
        np.add.at(planned, inputs.alternates.sku, alternate_supply)
    projection = project(
        on_hand=inputs.on_hand,
        receipts=inputs.receipts,
        supply=planned,
        demand=inputs.demand,
    )
    weekly = weekly_forward_demand(inputs.demand, policy.cover_months)
    return SupplyProjection(
        inputs=inputs,
        service_level=level,
        safety_stock=ss.quantity,
        safety_stock_target=targets,
        safety_stock_from_quantiles=ss.from_quantiles,
        order_up_to=order_up_to_level(
            demand=inputs.demand,
            exposure_months=exposure,
            safety_stock=targets[:, 0] if horizon else ss.quantity,
        ),
        first_month=first,
        planned_unconstrained=unconstrained,
        planned=planned,
        shortage=shortage,
        on_hand=projection.on_hand,
        unmet=projection.unmet,
        weeks_of_cover=weeks_of_cover(projection.on_hand, weekly, policy.cover_cap_weeks),
        excess_quantity=np.maximum(projection.on_hand - policy.max_cover_weeks * weekly, 0.0),
        load_unconstrained=capacity_load(inputs.hours_per_unit, unconstrained + inputs.receipts),
        load=load,
        alternate_supply=alternate_supply,
    )
