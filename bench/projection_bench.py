"""Benchmark the supply projection engine on synthetic SKU-locations.

    python bench/projection_bench.py [--skus N] [--months N] [--repeat N] [--seed N]

Times the pure computation of `supply.projection` (safety stock, unconstrained plan,
capacity-constrained plan, projection, cover and excess, the tidy lists and grids) on
generated grids: seasonal demand sharing one peak, so the work centres overload in the
peak months and have room before them, and one tight resource that cannot be fixed by
pre-building. Prints the time of each step, the end-to-end time and a summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supply.projection import (
    Policy,
    SupplyInputs,
    SupplyProjection,
    capacity_load,
    constrain_to_capacity,
    days_to_months,
    first_plannable_month,
    plan_supply,
    priority_order,
    project,
    safety_stock,
    service_levels,
    unconstrained_plan,
    weekly_forward_demand,
    weeks_of_cover,
)

BUDGET_SECONDS = 2.0
WORK_CENTRES = ["WC-ASSY", "WC-PACK", "WC-MOULD", "WC-PAINT"]
SUPPLIER = "SUP-MAIN"


def make_inputs(skus: int = 10_000, months: int = 18, seed: int = 0) -> SupplyInputs:
    """Synthetic grids: 70% made on one or two work centres, 30% bought, some from a supplier
    whose capacity is the binding constraint."""
    rng = np.random.default_rng(seed)
    resources = [*WORK_CENTRES, SUPPLIER]
    level = rng.lognormal(mean=4.0, sigma=1.0, size=skus)
    season = 1 + 0.35 * np.sin(2 * np.pi * (np.arange(months) - 6) / 12)
    noise = rng.normal(1.0, 0.1, size=(skus, months)).clip(0.5)
    demand = level[:, None] * season[None, :] * noise
    demand[rng.random(skus) < 0.03] = 0.0  # discontinued items

    unit_cost = rng.uniform(2, 200, size=skus)
    unit_price = unit_cost * rng.uniform(1.1, 2.0, size=skus)
    value_rank = pd.Series(level * unit_cost).rank(pct=True, ascending=False).to_numpy()
    abc = np.where(value_rank <= 0.2, "A", np.where(value_rank <= 0.5, "B", "C")).astype(object)

    make = rng.random(skus) < 0.7
    lead_days = np.where(make, rng.uniform(7, 45, skus), rng.uniform(20, 90, skus))
    lead_std_days = lead_days * rng.uniform(0.0, 0.3, skus)

    hours = np.zeros((skus, len(resources)))
    rows = np.flatnonzero(make)
    hours[rows, rng.integers(0, len(WORK_CENTRES), rows.size)] = rng.uniform(0.01, 0.2, rows.size)
    second = rows[rng.random(rows.size) < 0.25]
    hours[second, rng.integers(0, len(WORK_CENTRES), second.size)] += rng.uniform(
        0.01, 0.1, second.size
    )
    from_supplier = np.flatnonzero(~make & (rng.random(skus) < 0.4))
    hours[from_supplier, len(WORK_CENTRES)] = 1.0  # supplier capacity in units

    # Capacity is flat at the average load, so peak months overload and earlier ones have
    # room; the supplier gets 85% of its average and must cut.
    average_load = capacity_load(hours, demand).mean(axis=1)
    headroom = np.array([1.05, 1.0, 1.1, 1.02, 0.85])
    capacity = np.repeat((average_load * headroom)[:, None], months, axis=1)

    receipts = np.zeros((skus, months))
    open_orders = rng.random(skus) < 0.3
    receipts[open_orders, rng.integers(0, 3, open_orders.sum())] = level[open_orders] * rng.uniform(
        0.5, 2.0, open_orders.sum()
    )
    return SupplyInputs(
        on_hand=level * rng.uniform(0, 3, skus),
        receipts=receipts,
        demand=demand,
        demand_error_std=level * rng.uniform(0.1, 0.5, skus),
        lead_time_months=days_to_months(lead_days),
        lead_time_std_months=days_to_months(lead_std_days),
        abc_class=abc,
        unit_cost=unit_cost,
        unit_price=unit_price,
        moq=np.round(level * rng.uniform(0, 1, skus)),
        lot_size=np.where(rng.random(skus) < 0.5, rng.choice([1, 10, 25, 50], skus), 0.0),
        hours_per_unit=hours,
        capacity=capacity,
        keys=pd.Index([f"SKU{i:05d}@DC1" for i in range(skus)], name="sku_location"),
        months=pd.date_range("2027-01-01", periods=months, freq="MS", name="month"),
        resources=pd.Index(resources, name="resource"),
    )


def best_of(repeat: int, func: Callable[[], object]) -> tuple[float, object]:
    """Shortest wall time of `repeat` calls, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def time_steps(inputs: SupplyInputs, policy: Policy, repeat: int) -> dict[str, float]:
    """Seconds per step of the pipeline, each step timed on its own."""
    timings: dict[str, float] = {}
    mean_demand = inputs.demand.mean(axis=1)

    def run(name: str, func: Callable[[], object]) -> object:
        timings[name], result = best_of(repeat, func)
        return result

    ss = run(
        "safety stock",
        lambda: safety_stock(
            service_level=service_levels(inputs.abc_class, policy),
            demand_error_std=inputs.demand_error_std,
            mean_demand=mean_demand,
            lead_time_months=inputs.lead_time_months,
            lead_time_std_months=inputs.lead_time_std_months,
        ),
    )
    first = first_plannable_month(inputs.lead_time_months)
    unconstrained = run(
        "unconstrained plan",
        lambda: unconstrained_plan(
            on_hand=inputs.on_hand,
            receipts=inputs.receipts,
            demand=inputs.demand,
            safety_stock=ss,
            first_month=first,
            moq=inputs.moq,
            lot_size=inputs.lot_size,
        ),
    )
    constrained = run(
        "capacity-constrained plan",
        lambda: constrain_to_capacity(
            planned=unconstrained,
            receipts=inputs.receipts,
            hours_per_unit=inputs.hours_per_unit,
            capacity=inputs.capacity,
            first_month=first,
            priority=priority_order(inputs.abc_class, inputs.unit_price - inputs.unit_cost),
        ),
    )
    projection = run(
        "projection",
        lambda: project(
            on_hand=inputs.on_hand,
            receipts=inputs.receipts,
            supply=constrained.planned,
            demand=inputs.demand,
        ),
    )
    run(
        "weeks of cover",
        lambda: weeks_of_cover(
            projection.on_hand,
            weekly_forward_demand(inputs.demand, policy.cover_months),
            policy.cover_cap_weeks,
        ),
    )
    result = plan_supply(inputs, policy)
    run("stockout, excess, grid frames", lambda: tidy_frames(result))
    return timings


def tidy_frames(result: SupplyProjection) -> list[pd.DataFrame]:
    """The frames a service writes: the stockout and excess lists and both grids."""
    return [result.stockouts(), result.excess(), result.sku_months(), result.resource_months()]


def time_end_to_end(
    inputs: SupplyInputs, policy: Policy, repeat: int
) -> tuple[float, SupplyProjection]:
    """Seconds for `plan_supply` and its tidy frames, and the result."""

    def pipeline() -> SupplyProjection:
        result = plan_supply(inputs, policy)
        tidy_frames(result)
        return result

    seconds, result = best_of(repeat, pipeline)
    return seconds, result


def summarise(result: SupplyProjection) -> dict[str, float]:
    """The figures a supply planner would look at first."""
    capacity = result.inputs.capacity
    stockouts = result.stockouts()
    excess = result.excess()
    prebuilt = np.maximum(result.planned - result.planned_unconstrained, 0.0)
    return {
        "overloaded resource-months before": int((result.load_unconstrained > capacity).sum()),
        "overloaded resource-months after": int((result.load > capacity * (1 + 1e-9)).sum()),
        "units pre-built into earlier months": float(prebuilt.sum()),
        "shortage units (cut for capacity)": float(result.shortage.sum()),
        "SKU-locations with a shortage": int((result.shortage.sum(axis=1) > 0).sum()),
        "stockout rows (SKU-location x month)": len(stockouts),
        "stockout units": float(stockouts["quantity"].sum()),
        "revenue at risk": float(stockouts["revenue_at_risk"].sum()),
        "excess rows (SKU-location x month)": len(excess),
        "excess value, month 1": float(
            excess.loc[excess["month"] == result.inputs.months[0], "value"].sum()
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000, help="SKU-locations")
    parser.add_argument("--months", type=int, default=18, help="horizon in months")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    inputs = make_inputs(args.skus, args.months, args.seed)
    policy = Policy()
    print(
        f"{args.skus} SKU-locations x {args.months} months x {len(inputs.resources)} "
        f"resources, best of {args.repeat}"
    )
    for name, seconds in time_steps(inputs, policy, args.repeat).items():
        print(f"  {name:<30} {seconds * 1000:8.1f} ms")
    total, result = time_end_to_end(inputs, policy, args.repeat)
    verdict = "within" if total < BUDGET_SECONDS else "OVER"
    label = "end to end (plan_supply)"
    print(f"  {label:<30} {total * 1000:8.1f} ms  ({verdict} {BUDGET_SECONDS} s budget)")
    for name, value in summarise(result).items():
        print(f"  {name:<40} {value:>16,.0f}")
    return 0 if total < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
