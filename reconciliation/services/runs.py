"""Scenario runs: a kind of the core's run kernel (`sop.runs`).

A scenario run reads the cycle's whole plan the way a supply run does
(`supply.services.supply_plan_inputs`), applies the scenario's deltas copy-on-write and
recomputes supply, money and KPIs (`reconciliation.selectors.compute_scenario`). It writes
only its own rows: the base plan's published numbers are never touched. A run becomes the
scenario's published result only when it has finished, so a failed rerun keeps the last
good one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from reconciliation import scenarios as engine
from reconciliation.finance import PriceCost
from reconciliation.models import (
    FAMILY_MONTH_COLUMNS,
    Scenario,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
    ScenarioRun,
)
from reconciliation.selectors import compute_scenario, plan_basis
from reconciliation.services._common import EDITABLE_STAGES, ScenarioReadOnly, editable
from reconciliation.services.scenarios import scenario_base
from sop.models import Cycle
from sop.numbers import finite_or_none
from sop.roles import require
from sop.runs import ACTIVE_STATUSES, RunKind, run_progress, run_start
from sop.services import audit_of, bulk_insert_frame
from supply.models import SupplyRun

KEPT = "The scenario's last result was kept."
SCENARIO_RUN_KIND = "scenario"


def scenario_base_run_start(*, cycle: Cycle, user: AbstractBaseUser | None) -> ScenarioRun:
    """Compute the base plan of a cycle that has none yet (it is made on entering the stage)."""
    require(user, "reconciliation.change_scenario", "run scenarios")
    if cycle.stage not in EDITABLE_STAGES:
        raise ScenarioReadOnly("Scenarios run only during the reconciliation.")
    return scenario_run_start(scenario=scenario_base(cycle=cycle), user=user)


def scenario_run_start(*, scenario: Scenario, user: AbstractBaseUser | None) -> ScenarioRun:
    """Create a run row and queue it after commit."""
    require(user, "reconciliation.change_scenario", "run scenarios")

    def admit(cycle: Cycle) -> dict:
        editable(cycle)
        # Read under the cycle's lock: the run computes the scenario as it is now.
        current = Scenario.objects.get(pk=scenario.pk)
        if not SupplyRun.objects.filter(cycle=cycle, is_published=True).exists():
            raise ValidationError(f"{cycle} has no published supply plan to start from.")
        return {
            "scope": {"scenario": current},
            "cycle": cycle,
            "deltas": list(current.deltas),
            "scenario_version": current.version,
        }

    return run_start(
        SCENARIO_RUN_KIND,
        cycle_id=scenario.cycle_id,
        user=user,
        admit=admit,
        audit_action="scenario.run",
        audit_new=lambda run: {"scenario": run.scenario.name, "deltas": run.deltas},
    )


def _write(run_id: int, result: engine.ScenarioResult, labels: engine.PlanLabels) -> None:
    projection = result.projection
    grid = projection.sku_months()
    lines = pd.DataFrame(
        {
            "run_id": run_id,
            "product_id": grid["product"].to_numpy(),
            "location_id": grid["location"].to_numpy(),
            "month": grid["month"].to_numpy(),
            "demand": grid["demand"].to_numpy(),
            "planned": grid["planned"].to_numpy(),
            "shortage": grid["shortage"].to_numpy(),
            "on_hand": grid["on_hand"].to_numpy(),
            "unmet": grid["unmet"].to_numpy(),
            "excess_quantity": grid["excess_quantity"].to_numpy(),
            # sku_months() is SKU-major, as ravel() of the n x T grids.
            "unmet_revenue": (projection.unmet * result.prices.price[:, None]).ravel(),
            "excess_value": (projection.excess_quantity * result.prices.cost[:, None]).ravel(),
        }
    )
    bulk_insert_frame(ScenarioLine, lines)

    inputs = result.inputs
    prices: PriceCost = result.prices
    money = result.financials.copy()
    families, codes = np.unique(labels.family.astype(str), return_inverse=True)
    T = len(inputs.months)

    def by_family(values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(families), T))
        np.add.at(out, codes, values)
        return out.ravel()

    extra = pd.DataFrame(
        {
            "family": np.repeat(families.astype(object), T),
            "month": np.tile(np.asarray(inputs.months, dtype=object), len(families)),
            "demand": by_family(inputs.demand),
            "unmet_units": by_family(projection.unmet),
            "unmet_revenue": by_family(projection.unmet * prices.price[:, None]),
            "excess_value": by_family(projection.excess_quantity * prices.cost[:, None]),
        }
    )
    money["family"] = money["family"].astype(str)
    money = money.merge(extra, on=["family", "month"], how="left")
    frame = money[FAMILY_MONTH_COLUMNS].copy()
    frame.insert(0, "run_id", run_id)
    bulk_insert_frame(ScenarioFamilyMonth, frame)

    loads = pd.DataFrame(
        {
            "run_id": run_id,
            "resource_id": np.repeat(np.asarray(inputs.resources), T),
            "month": np.tile(np.asarray(inputs.months, dtype=object), len(inputs.resources)),
            "capacity": inputs.capacity.ravel(),
            "load": projection.load.ravel(),
            "load_unconstrained": projection.load_unconstrained.ravel(),
        }
    )
    bulk_insert_frame(ScenarioResourceMonth, loads)


def _scenario_plan(run: ScenarioRun, options: dict) -> list[None]:
    """One chunk: the whole scenario, recomputed through the engine in one go.

    The recompute takes well under a second at 10,000 SKU-locations, so splitting it would
    only add queue round trips.
    """
    run.basis = plan_basis(cycle=run.cycle)
    return [None]


def _scenario_compute(run: ScenarioRun, chunk: None) -> tuple:
    result, labels = compute_scenario(
        cycle=run.cycle,
        deltas=run.deltas,
        progress=lambda pct, phase: run_progress(run, pct, phase),
    )
    run_progress(run, 70, "Writing results")
    return result, labels


def _scenario_store(run: ScenarioRun, chunk: None, computed: tuple) -> None:
    result, labels = computed
    for model in (ScenarioLine, ScenarioFamilyMonth, ScenarioResourceMonth):
        model.objects.filter(run_id=run.pk).delete()
    _write(run.pk, result, labels)
    run.kpis = {key: finite_or_none(value) for key, value in result.kpis.items()}
    run.sources = engine.source_volumes(result.projection).to_dict("records")
    run.sku_location_count = run.kpis["sku_locations"] = int(result.inputs.demand.shape[0])


def _scenario_publish(run: ScenarioRun, cycle: Cycle) -> None:
    """The scenario's older runs and their rows go: only its published result is read."""
    older = ScenarioRun.objects.filter(scenario_id=run.scenario_id).exclude(pk=run.pk)
    stale = list(older.exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    ScenarioLine.objects.filter(run_id__in=stale).delete()
    ScenarioRun.objects.filter(pk__in=stale).delete()
    audit_of(
        run,
        "scenario.publish",
        user=None,
        new={"scenario": run.scenario_id, "revenue": run.kpis.get("revenue")},
    )


def _scenario_discard(run: ScenarioRun) -> None:
    # Nothing reads an unpublished run's rows, and no later publish of the scenario will
    # come to drop them (180,000 plan lines at the demo scale).
    for model in (ScenarioLine, ScenarioFamilyMonth, ScenarioResourceMonth):
        model.objects.filter(run_id=run.pk).delete()


SCENARIO_RUN = RunKind(
    name=SCENARIO_RUN_KIND,
    model="reconciliation.ScenarioRun",
    label="scenario run",
    kept=KEPT,
    plan=_scenario_plan,
    compute=_scenario_compute,
    store=_scenario_store,
    publish=_scenario_publish,
    discard=_scenario_discard,
    stages=EDITABLE_STAGES,
    submitted="The reconciliation was submitted during the run.",
    crash=lambda exc, chunk: f"{exc} {KEPT}",
)


def scenario_start_base(*, cycle: Cycle) -> ScenarioRun | None:
    """Compute the base scenario when the cycle enters the reconciliation (if it can)."""
    base = scenario_base(cycle=cycle)
    try:
        return scenario_run_start(scenario=base, user=None)
    except ValidationError:
        return None
