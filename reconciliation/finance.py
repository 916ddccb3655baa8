"""Financial plan, KPIs and the side-by-side comparison of plans.

ORM-free and vectorised over SKU-locations. The supply engine assumes lost sales, so what
is sold is the demand it fulfils:

    fulfilled  = demand - unmet
    revenue    = fulfilled * unit price
    COGS       = fulfilled * unit cost
    margin     = revenue - COGS                   margin %  = margin / revenue
    inventory value = closing on hand * unit cost
    budget gap = revenue - budget revenue         gap %     = gap / budget revenue

at the plan's prices and costs (`PriceCost`; a scenario may change them), so a cost change
revalues the stock as a standard-cost update would. The budget is a frame with `family`,
`month` and `revenue` columns (the imported `Budget` rows); a family-month without one
gets NaN budget figures, as does a ratio over zero.

`*_pct` values are percentages (12.5 means 12.5 %); fill rate, service level and
utilisation are fractions, like the engine's service level and utilisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop.months import month_numbers
from supply.projection import Policy, SupplyInputs, SupplyProjection, weekly_forward_demand

# As in the engine: quantities and hours below this are float noise.
_EPS = 1e-6
FINANCIAL_COLUMNS = (
    "family",
    "month",
    "volume",
    "revenue",
    "cogs",
    "gross_margin",
    "margin_pct",
    "inventory_value",
    "budget_revenue",
    "budget_gap",
    "budget_gap_pct",
)
# The kind of figure of each column (`sop.formatting.KINDS`), for the exports.
FINANCIAL_KINDS = {
    "volume": "units",
    **dict.fromkeys(("revenue", "cogs", "gross_margin", "inventory_value"), "money"),
    **dict.fromkeys(("budget_revenue", "budget_gap"), "money"),
    "margin_pct": "pct",
    "budget_gap_pct": "pct",
}
# The columns `money_ratios` derives from the others.
MONEY_RATIOS = ("margin_pct", "budget_gap", "budget_gap_pct")
COMPARE_MEASURES = ("value", "diff", "diff_pct")


@dataclass(frozen=True)
class PriceCost:
    """Unit price and unit cost of each SKU-location (n) for the money figures."""

    price: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, inputs: SupplyInputs) -> PriceCost:
        """The prices and costs the engine planned with."""
        return cls(price=inputs.unit_price, cost=inputs.unit_cost)


def _ratio_pct(numerator: object, denominator: object) -> np.ndarray:
    """100 * numerator / denominator, NaN where the denominator is 0 or NaN."""
    top = np.asarray(numerator, dtype=float)
    bottom = np.asarray(denominator, dtype=float)
    return np.divide(100 * top, bottom, out=np.full(top.shape, np.nan), where=bottom != 0)


def financial_plan(
    projection: SupplyProjection,
    prices: PriceCost,
    *,
    family: np.ndarray,
    budget: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Volume, revenue, COGS, margin and inventory value per family and month, vs budget."""
    inputs = projection.inputs
    fulfilled = inputs.demand - projection.unmet
    codes, families = pd.factorize(np.asarray(family, dtype=object), sort=True)
    # Rows sorted by family so that each family's sum is one stretch of reduceat.
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(families)))

    def by_family(grid: np.ndarray) -> np.ndarray:
        return np.add.reduceat(grid[order], starts, axis=0).ravel()

    months = inputs.months
    frame = pd.DataFrame(
        {
            "family": np.repeat(np.asarray(families, dtype=object), len(months)),
            "month": np.tile(np.asarray(months, dtype=object), len(families)),
            "volume": by_family(fulfilled),
            "revenue": by_family(fulfilled * prices.price[:, None]),
            "cogs": by_family(fulfilled * prices.cost[:, None]),
            "inventory_value": by_family(projection.on_hand * prices.cost[:, None]),
        }
    )
    frame["gross_margin"] = frame["revenue"] - frame["cogs"]
    frame["budget_revenue"] = _budget_revenue(frame, budget)
    return money_ratios(frame)[list(FINANCIAL_COLUMNS)]


def money_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Add each row's margin %, budget gap and gap % (NaN where it has no budget)."""
    frame["margin_pct"] = _ratio_pct(frame["gross_margin"], frame["revenue"])
    frame["budget_gap"] = frame["revenue"] - frame["budget_revenue"]
    frame["budget_gap_pct"] = _ratio_pct(frame["budget_gap"], frame["budget_revenue"])
    return frame


def money_totals(frame: pd.DataFrame) -> dict[str, float]:
    """Money of several family-months: sums, and the budget gap over the budgeted ones only.

    A family without a budget adds its revenue to the total but nothing to the gap:
    otherwise an unbudgeted family would show as revenue above budget. NaN budget figures
    when none of the rows has a budget.
    """
    budgeted = frame["budget_revenue"].notna()
    revenue = float(frame["revenue"].sum())
    margin = float(frame["gross_margin"].sum())
    budget = float(frame.loc[budgeted, "budget_revenue"].sum()) if budgeted.any() else np.nan
    gap = float(frame.loc[budgeted, "revenue"].sum()) - budget
    return {
        "revenue": revenue,
        "cogs": float(frame["cogs"].sum()),
        "gross_margin": margin,
        "margin_pct": float(_ratio_pct(margin, revenue)),
        "budget_revenue": budget,
        "budget_gap": gap,
        "budget_gap_pct": float(_ratio_pct(gap, budget)),
    }


def _budget_revenue(frame: pd.DataFrame, budget: pd.DataFrame | None) -> np.ndarray:
    """The budget revenue of each family-month row of `frame`, NaN where there is none."""
    if budget is None or budget.empty:
        return np.full(len(frame), np.nan)
    budgeted = pd.Series(
        budget["revenue"].astype(float).to_numpy(),
        index=pd.MultiIndex.from_arrays(
            [budget["family"].to_numpy(dtype=object), month_numbers(budget["month"])]
        ),
    )
    wanted = pd.MultiIndex.from_arrays([frame["family"], month_numbers(frame["month"])])
    # The budget has one row per family and month (a database constraint); sum all the same.
    return budgeted.groupby(level=[0, 1]).sum().reindex(wanted).to_numpy()


def plan_kpis(
    projection: SupplyProjection,
    prices: PriceCost,
    financials: pd.DataFrame,
    policy: Policy | None = None,
) -> dict[str, float]:
    """The headline figures of one plan, for the scenario comparison.

    Service level is the share of SKU-location-months with demand that have no stockout (a
    month without demand cannot stock out and would flatter the plan). Weeks of cover is
    the projected stock over the forward weekly demand (`policy.cover_months` ahead, as
    the engine's cover), both summed over SKU-location-months: not an average of the
    SKUs' covers, where stock without forward demand counts as the engine's 999-week
    placeholder and one phasing-out SKU outweighs the rest. Utilisation is the mean
    over resource-months with capacity; overloaded resource-months are those where the
    demand asks for more hours than the resource has (the unconstrained load is above
    capacity; with none, any load): where capacity binds and the plan had to pre-build or
    cut. The constrained plan itself never loads a resource past its capacity, so counting
    its load would always say 0. Revenue is compared with the budget over the
    family-months that have one.
    """
    inputs = projection.inputs
    demand, unmet = inputs.demand, projection.unmet
    weekly = weekly_forward_demand(demand, (policy or Policy()).cover_months)
    total_demand = demand.sum()
    demanded = demand > _EPS
    stock_value = (projection.on_hand * prices.cost[:, None]).sum(axis=0)
    has_capacity = inputs.capacity > 0
    money = money_totals(financials)
    return {
        "revenue": money["revenue"],
        "cogs": money["cogs"],
        "gross_margin": money["gross_margin"],
        "margin_pct": money["margin_pct"],
        "demand_units": float(total_demand),
        "fill_rate": _share(total_demand - unmet.sum(), total_demand),
        "service_level": _share((demanded & (unmet <= _EPS)).sum(), demanded.sum()),
        "unmet_units": float(unmet.sum()),
        "unmet_revenue": float((unmet * prices.price[:, None]).sum()),
        "inventory_value_avg": float(stock_value.mean()),
        "inventory_value_end": float(stock_value[-1]),
        "weeks_of_cover": _share(projection.on_hand.sum(), weekly.sum()),
        "capacity_utilisation": float(
            (projection.load[has_capacity] / inputs.capacity[has_capacity]).mean()
            if has_capacity.any()
            else np.nan
        ),
        # A resource-month without capacity data is a gap the supply review flags, not
        # an overload: the plan is unconstrained there.
        "overloaded_resource_months": int(
            (
                (projection.load_unconstrained - inputs.capacity > _EPS) & ~inputs.capacity_missing
            ).sum()
        ),
        "budget_revenue": money["budget_revenue"],
        "revenue_vs_budget": money["budget_gap"],
        "revenue_vs_budget_pct": money["budget_gap_pct"],
    }


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else float("nan")


def compare(
    kpis_by_scenario: Mapping[str, Mapping[str, float]], *, base: str | None = None
) -> pd.DataFrame:
    """KPIs side by side: one row per KPI, per scenario its value and difference vs base.

    Columns are (scenario, measure) with measures `value`, `diff` (scenario - base) and
    `diff_pct` (diff over the base's magnitude, NaN where the base is 0). The base is the
    first scenario unless named.
    """
    if not kpis_by_scenario:
        raise ValueError("nothing to compare")
    names = list(kpis_by_scenario)
    base = names[0] if base is None else base
    if base not in kpis_by_scenario:
        raise ValueError(f"the base {base!r} is not among the scenarios {names}")
    values = pd.DataFrame({name: pd.Series(kpis_by_scenario[name], dtype=float) for name in names})
    values = values.reindex(list(kpis_by_scenario[base]))
    reference = values[base]
    diff = values.sub(reference, axis=0)
    pct = diff.mul(100).div(reference.abs().where(reference != 0), axis=0)
    table = pd.concat({"value": values, "diff": diff, "diff_pct": pct}, axis=1)
    return table.swaplevel(axis=1).reindex(
        columns=pd.MultiIndex.from_product([names, COMPARE_MEASURES], names=["scenario", None])
    )
