"""Writes of the reconciliation: scenarios and their deltas, scenario runs, the decisions log.

A scenario run reads the cycle's whole plan the way a supply run does
(`supply.services.supply_plan_inputs`), applies the scenario's deltas copy-on-write and
recomputes supply, money and KPIs (`reconciliation.scenarios.run_scenario`). It writes
only its own rows: the base plan's published numbers are never touched. A run becomes the
scenario's published result only when it has finished, so a failed rerun keeps the last
good one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum

from reconciliation import scenarios as engine
from reconciliation.constants import STALE_AFTER
from reconciliation.finance import PriceCost
from reconciliation.models import (
    DecisionLogEntry,
    Scenario,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
    ScenarioRun,
)
from sop.choices import MakeOrBuy, Stage
from sop.locking import VersionedRow
from sop.models import Budget, Cycle, Product, Resource
from sop.numbers import finite_or_none
from sop.roles import require
from sop.runs import (
    ACTIVE_STATUSES,
    RunInProgress,
    RunKind,
    run_create,
    run_progress,
    runs_fail_stale,
)
from sop.services import add_months, audit_record, bulk_insert_frame
from supply.models import SupplyRun
from supply.selectors import consensus_fingerprint, edits_stamp

BASE_NAME = "Base plan"
EDITABLE_STAGES = (Stage.RECONCILIATION,)
KEPT = "The scenario's last result was kept."
SCENARIO_RUN_KIND = "scenario"


class ScenarioReadOnly(ValidationError):
    """The cycle's scenarios cannot change now (wrong stage, or the base plan)."""


def _who(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _editable(scenario_or_cycle: Scenario | Cycle) -> Cycle:
    cycle = getattr(scenario_or_cycle, "cycle", scenario_or_cycle)
    if cycle.stage not in EDITABLE_STAGES:
        raise ScenarioReadOnly(
            f"{cycle} is in {cycle.get_stage_display().lower()}: scenarios change only during "
            "the reconciliation."
        )
    return cycle


def _row(scenario: Scenario) -> VersionedRow:
    return VersionedRow(
        rows=Scenario.objects.filter(pk=scenario.pk).select_related("cycle", "updated_by"),
        what="The scenario",
        show=lambda s: f"{s.name} (version {s.version})" if s is not None else "deleted",
        object_type="scenario",
        object_id=str(scenario.pk),
    )


def _locked(scenario: Scenario, version: int | None) -> Scenario:
    """The scenario row locked for update, refused when its version moved on."""
    row = _row(scenario)
    if version is None:  # the system's own edits name no version
        return row.rows.select_for_update(of=("self",)).get()
    return row.lock(seen=int(version))  # a deleted scenario is a conflict too


def _bump(scenario: Scenario, user: AbstractBaseUser | None, fields: list[str]) -> None:
    values = {field: getattr(scenario, field) for field in fields}
    _row(scenario).update(scenario, {**values, "updated_by": _who(user)})


# --- scenarios --------------------------------------------------------------------------


def scenario_base(*, cycle: Cycle) -> Scenario:
    """The cycle's base scenario (no deltas), created on first use."""
    base = Scenario.objects.filter(cycle=cycle, is_base=True).first()
    if base is not None:
        return base
    try:
        with transaction.atomic():
            return Scenario.objects.create(
                cycle=cycle,
                name=BASE_NAME,
                is_base=True,
                description="The published supply plan, unchanged.",
            )
    except IntegrityError:
        return Scenario.objects.get(cycle=cycle, is_base=True)


def _check_name(cycle: Cycle, name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the scenario a name.")
    if len(name) > 120:
        raise ValidationError("A scenario name has at most 120 characters.")
    taken = Scenario.objects.filter(cycle=cycle, name__iexact=name).exclude(pk=exclude)
    if taken.exists():
        raise ValidationError(f"{cycle} already has a scenario named {name!r}.")
    return name


def scenario_create(
    *,
    cycle: Cycle,
    name: str,
    user: AbstractBaseUser | None,
    description: str = "",
    deltas: list[dict[str, Any]] | None = None,
) -> Scenario:
    """A new what-if scenario of the cycle; its deltas are validated before it is saved."""
    require(user, "reconciliation.add_scenario", "create scenarios")
    checked = engine.deltas_to_json(engine.deltas_from_json(deltas or []))
    with transaction.atomic():
        cycle = _editable(Cycle.objects.select_for_update().get(pk=cycle.pk))
        scenario_base(cycle=cycle)
        scenario = Scenario.objects.create(
            cycle=cycle,
            name=_check_name(cycle, name),
            description=description.strip(),
            deltas=checked,
            created_by=_who(user),
            updated_by=_who(user),
        )
        audit_record(
            user=user,
            action="scenario.create",
            object_type="scenario",
            object_id=scenario.pk,
            cycle=cycle,
            new={"name": scenario.name, "deltas": checked},
        )
    return scenario


def scenario_copy(*, scenario: Scenario, name: str, user: AbstractBaseUser | None) -> Scenario:
    """A new scenario with the same deltas (copying the base gives an empty what-if)."""
    require(user, "reconciliation.add_scenario", "copy scenarios")
    with transaction.atomic():
        cycle = _editable(Cycle.objects.select_for_update().get(pk=scenario.cycle_id))
        source = Scenario.objects.get(pk=scenario.pk)
        copy = Scenario.objects.create(
            cycle=cycle,
            name=_check_name(cycle, name),
            description=source.description if not source.is_base else "",
            deltas=list(source.deltas),
            copied_from=source,
            created_by=_who(user),
            updated_by=_who(user),
        )
        audit_record(
            user=user,
            action="scenario.copy",
            object_type="scenario",
            object_id=copy.pk,
            cycle=cycle,
            old={"from": source.pk, "name": source.name},
            new={"name": copy.name, "deltas": copy.deltas},
        )
    return copy


def scenario_rename(
    *,
    scenario: Scenario,
    name: str,
    description: str,
    version: int | None,
    user: AbstractBaseUser | None,
) -> Scenario:
    require(user, "reconciliation.change_scenario", "rename scenarios")
    with transaction.atomic():
        current = _locked(scenario, version)
        _editable(current)
        if current.is_base:
            raise ScenarioReadOnly("The base plan keeps its name.")
        old = {"name": current.name, "description": current.description}
        current.name = _check_name(current.cycle, name, exclude=current.pk)
        current.description = (description or "").strip()
        _bump(current, user, ["name", "description"])
        audit_record(
            user=user,
            action="scenario.rename",
            object_type="scenario",
            object_id=current.pk,
            cycle=current.cycle,
            old=old,
            new={"name": current.name, "description": current.description},
        )
    return current


def scenario_delete(*, scenario: Scenario, version: int | None, user: AbstractBaseUser | None):
    """Delete a what-if and its results; the base plan and its numbers stay as they are."""
    require(user, "reconciliation.delete_scenario", "delete scenarios")
    with transaction.atomic():
        current = _locked(scenario, version)
        _editable(current)
        if current.is_base:
            raise ScenarioReadOnly("The base plan cannot be deleted.")
        if ScenarioRun.objects.filter(scenario=current, status__in=ACTIVE_STATUSES).exists():
            raise RunInProgress(f"{current.name} is being computed: delete it when it finishes.")
        runs = list(current.runs.values_list("pk", flat=True))
        ScenarioLine.objects.filter(run_id__in=runs).delete()
        audit_record(
            user=user,
            action="scenario.delete",
            object_type="scenario",
            object_id=current.pk,
            cycle=current.cycle,
            old={
                "name": current.name,
                "deltas": current.deltas,
                "recommended": current.recommended,
            },
        )
        current.delete()


def _deltas_change(
    *,
    scenario: Scenario,
    version: int | None,
    user: AbstractBaseUser | None,
    action: str,
    change: Callable[[Scenario, list[dict[str, Any]]], list[dict[str, Any]]],
) -> Scenario:
    """Lock the scenario, give its deltas to `change`, save the result and audit it."""
    with transaction.atomic():
        current = _locked(scenario, version)
        _editable(current)
        old = list(current.deltas)
        current.deltas = change(current, old)
        _bump(current, user, ["deltas"])
        audit_record(
            user=user,
            action=action,
            object_type="scenario",
            object_id=current.pk,
            cycle=current.cycle,
            old={"deltas": old},
            new={"deltas": current.deltas},
        )
    return current


def scenario_delta_add(
    *,
    scenario: Scenario,
    delta: dict[str, Any],
    version: int | None,
    user: AbstractBaseUser | None,
) -> Scenario:
    """Append one delta (validated by the engine's own checks) to a what-if."""
    require(user, "reconciliation.change_scenario", "change scenarios")
    (checked,) = engine.deltas_to_json(engine.deltas_from_json([delta]))

    def append(current: Scenario, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if current.is_base:
            raise ScenarioReadOnly("The base plan has no deltas: copy it into a scenario first.")
        return [*deltas, checked]

    return _deltas_change(
        scenario=scenario, version=version, user=user, action="scenario.delta_add", change=append
    )


def scenario_delta_remove(
    *, scenario: Scenario, index: int, version: int | None, user: AbstractBaseUser | None
) -> Scenario:
    require(user, "reconciliation.change_scenario", "change scenarios")

    def drop(current: Scenario, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not 0 <= index < len(deltas):
            raise ValidationError(f"{current.name} has no delta number {index + 1}.")
        return deltas[:index] + deltas[index + 1 :]

    return _deltas_change(
        scenario=scenario, version=version, user=user, action="scenario.delta_remove", change=drop
    )


def scenario_recommend(
    *, scenario: Scenario, user: AbstractBaseUser | None, comment: str = ""
) -> Scenario:
    """Mark the scenario as the one the reconciliation recommends (one per cycle)."""
    require(user, "reconciliation.recommend_scenario", "recommend a scenario")
    with transaction.atomic():
        cycle = _editable(Cycle.objects.select_for_update().get(pk=scenario.cycle_id))
        previous = Scenario.objects.filter(cycle=cycle, recommended=True).first()
        Scenario.objects.filter(cycle=cycle, recommended=True).update(recommended=False)
        current = Scenario.objects.select_for_update().get(pk=scenario.pk)
        current.recommended = True
        _bump(current, user, ["recommended"])
        audit_record(
            user=user,
            action="scenario.recommend",
            object_type="scenario",
            object_id=current.pk,
            cycle=cycle,
            old={"recommended": previous.name if previous else None},
            new={"recommended": current.name},
            reason=comment,
        )
    return current


# --- the decisions log --------------------------------------------------------------------


def decision_add(
    *,
    cycle: Cycle,
    text: str,
    user: AbstractBaseUser | None,
    kind: str = DecisionLogEntry.Kind.DECISION,
    scenario: Scenario | None = None,
) -> DecisionLogEntry:
    require(user, "reconciliation.add_decisionlogentry", "write to the decisions log")
    text = (text or "").strip()
    if not text:
        raise ValidationError("Write the assumption or decision.")
    if kind not in DecisionLogEntry.Kind.values:
        raise ValidationError(f"Unknown entry kind {kind!r}.")
    if scenario is not None and scenario.cycle_id != cycle.pk:
        raise ValidationError("The scenario belongs to another cycle.")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if cycle.stage == Stage.APPROVED:
            raise ScenarioReadOnly(f"{cycle} is approved: its log is closed.")
        entry = DecisionLogEntry.objects.create(
            cycle=cycle,
            kind=kind,
            text=text,
            scenario=scenario,
            scenario_name=scenario.name if scenario else "",
            author=_who(user),
        )
        audit_record(
            user=user,
            action="decision.add",
            object_type="decision",
            object_id=entry.pk,
            cycle=cycle,
            new={"kind": kind, "text": text, "scenario": entry.scenario_name},
        )
    return entry


# Assumptions and risks hold until someone retires them; decisions belong to their cycle.
CARRIED_KINDS = (DecisionLogEntry.Kind.ASSUMPTION, DecisionLogEntry.Kind.RISK)


def decisions_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's assumptions and risks into a newly opened cycle.

    Idempotent: an entry already carried into this cycle is not copied twice. Links to
    scenarios are dropped (scenarios are per cycle) but their names are kept in the text's
    `scenario_name`. Returns how many entries were copied.
    """
    previous = Cycle.objects.filter(month__lt=cycle.month).order_by("-month").first()
    if previous is None:
        return 0
    done = set(
        DecisionLogEntry.objects.filter(cycle=cycle, carried_from__isnull=False).values_list(
            "carried_from_id", flat=True
        )
    )
    entries = [
        DecisionLogEntry(
            cycle=cycle,
            kind=entry.kind,
            text=entry.text,
            scenario_name=entry.scenario_name,
            author=entry.author,
            carried_from=entry,
        )
        for entry in DecisionLogEntry.objects.filter(cycle=previous, kind__in=CARRIED_KINDS)
        .exclude(pk__in=done)
        .order_by("created_at", "id")
    ]
    DecisionLogEntry.objects.bulk_create(entries)
    return len(entries)


# --- scenario runs --------------------------------------------------------------------------


def plan_basis(*, cycle: Cycle) -> str:
    """Fingerprint of what a scenario run reads: demand, the published plan, edits, budget."""
    run = SupplyRun.objects.filter(cycle=cycle, is_published=True).values_list("pk", flat=True)
    parts = [
        consensus_fingerprint(cycle=cycle),
        f"run{run.first() or 0}",
        *edits_stamp(cycle_id=cycle.pk),
    ]
    budget = Budget.objects.filter(
        month__gte=cycle.month, month__lt=add_months(cycle.month, cycle.horizon_months)
    ).aggregate(n=Count("id"), total=Sum("revenue"))
    parts.append(f"b{budget['n']}:{budget['total'] or 0}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def scenario_base_run_start(*, cycle: Cycle, user: AbstractBaseUser | None) -> ScenarioRun:
    """Compute the base plan of a cycle that has none yet (it is made on entering the stage)."""
    require(user, "reconciliation.change_scenario", "run scenarios")
    if cycle.stage not in EDITABLE_STAGES:
        raise ScenarioReadOnly("Scenarios run only during the reconciliation.")
    return scenario_run_start(scenario=scenario_base(cycle=cycle), user=user)


def scenario_run_start(*, scenario: Scenario, user: AbstractBaseUser | None) -> ScenarioRun:
    """Create a run row and queue it after commit."""
    require(user, "reconciliation.change_scenario", "run scenarios")
    # A run whose worker died must not block a new one until the next sweep.
    runs_fail_stale(kind_names=[SCENARIO_RUN_KIND])
    with transaction.atomic():
        cycle = _editable(Cycle.objects.select_for_update().get(pk=scenario.cycle_id))
        current = Scenario.objects.get(pk=scenario.pk)
        if not SupplyRun.objects.filter(cycle=cycle, is_published=True).exists():
            raise ValidationError(f"{cycle} has no published supply plan to start from.")
        run = run_create(
            SCENARIO_RUN_KIND,
            scope={"scenario": current},
            user=user,
            cycle=cycle,
            deltas=list(current.deltas),
            scenario_version=current.version,
        )
        audit_record(
            user=user,
            action="scenario.run",
            object_type="scenario_run",
            object_id=run.pk,
            cycle=cycle,
            new={"scenario": current.name, "deltas": current.deltas},
        )
    return run


def plan_labels(inputs) -> engine.PlanLabels:
    """What the deltas name for each row of the plan: family, SKU, supplier; resource codes."""
    product_of = inputs.keys.get_level_values("product").to_numpy()
    products = pd.DataFrame(
        list(
            Product.objects.filter(pk__in=np.unique(product_of).tolist()).values_list(
                "pk", "family", "sku", "make_or_buy", "supplier__code"
            )
        ),
        columns=["pk", "family", "sku", "make_or_buy", "supplier"],
    ).set_index("pk")
    item = products.reindex(product_of)
    bought = (item["make_or_buy"] == MakeOrBuy.BUY).to_numpy()
    supplier = np.where(bought, item["supplier"].to_numpy(dtype=object), None)
    codes = dict(Resource.objects.values_list("pk", "code"))
    return engine.PlanLabels(
        family=item["family"].to_numpy(dtype=object),
        product=item["sku"].to_numpy(dtype=object),
        supplier=supplier,
        resources=np.array([codes[pk] for pk in inputs.resources], dtype=object),
    )


def _budget(cycle: Cycle) -> pd.DataFrame:
    rows = Budget.objects.filter(
        month__gte=cycle.month, month__lt=add_months(cycle.month, cycle.horizon_months)
    ).values_list("family", "month", "revenue")
    return pd.DataFrame(list(rows), columns=["family", "month", "revenue"])


def compute_scenario(*, cycle: Cycle, deltas: list[dict[str, Any]], progress=None):
    """The scenario's engine result on the cycle's current inputs (no database writes)."""
    from supply.services import supply_plan_inputs

    report = progress or (lambda pct, phase: None)
    parsed = engine.deltas_from_json(deltas)
    report(10, "Loading the plan")
    inputs, policy = supply_plan_inputs(cycle=cycle)
    labels = plan_labels(inputs)
    report(40, "Recomputing supply and money")
    result = engine.run_scenario(inputs, policy, parsed, labels, budget=_budget(cycle))
    return result, labels


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
    frame = money[
        [
            "family",
            "month",
            "demand",
            "volume",
            "unmet_units",
            "unmet_revenue",
            "revenue",
            "cogs",
            "gross_margin",
            "inventory_value",
            "excess_value",
            "budget_revenue",
        ]
    ].copy()
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
    run.sku_location_count = run.kpis["sku_locations"] = int(result.inputs.demand.shape[0])


def _scenario_publish(run: ScenarioRun, cycle: Cycle) -> None:
    """The scenario's older runs and their rows go: only its published result is read."""
    older = ScenarioRun.objects.filter(scenario_id=run.scenario_id).exclude(pk=run.pk)
    stale = list(older.exclude(status__in=ACTIVE_STATUSES).values_list("pk", flat=True))
    ScenarioLine.objects.filter(run_id__in=stale).delete()
    ScenarioRun.objects.filter(pk__in=stale).delete()
    audit_record(
        user=None,
        action="scenario.publish",
        object_type="scenario_run",
        object_id=run.pk,
        cycle=cycle,
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
    stale_after=STALE_AFTER,
    crash=lambda exc, chunk: f"{exc} {KEPT}",
)


def scenario_start_base(*, cycle: Cycle) -> ScenarioRun | None:
    """Compute the base scenario when the cycle enters the reconciliation (if it can)."""
    base = scenario_base(cycle=cycle)
    try:
        return scenario_run_start(scenario=base, user=None)
    except ValidationError:
        return None


def deltas_describe(deltas: list[dict[str, Any]]) -> list[str]:
    """Each delta as a sentence for the page and the executive pack."""
    out = []
    for delta in engine.deltas_from_json(deltas):
        data = dataclasses.asdict(delta)
        out.append(_describe(delta.kind, data))
    return out


def _amount(percent: float | None, value: float | None, unit: str) -> str:
    if percent is not None:
        return f"{percent:+g} %"
    return f"{value:+g} {unit}"


def _range(data: dict) -> str:
    return f"{data['start']:%b %Y} to {data['end']:%b %Y}"


def _describe(kind: str, data: dict) -> str:
    if kind == "demand":
        scope = (
            f"family {data['family']}"
            if data.get("family")
            else f"product {data['product']}"
            if data.get("product")
            else "all demand"
        )
        amount = _amount(data.get("percent"), data.get("units"), "units/month")
        return f"Demand of {scope} {amount}, {_range(data)}"
    if kind == "capacity":
        amount = _amount(data.get("percent"), data.get("hours"), "hours/month")
        return f"Capacity of {data['resource']} {amount}, {_range(data)}"
    if kind == "lead_time":
        amount = _amount(data.get("percent"), data.get("days"), "days")
        return f"Lead time from supplier {data['supplier']} {amount}"
    if kind == "price_cost":
        scope = f"family {data['family']}" if data.get("family") else "all families"
        return f"Price {data['price_percent']:+g} %, cost {data['cost_percent']:+g} % for {scope}"
    if kind == "service_level":
        scope = f"class {data['abc_class']}" if data.get("abc_class") else "every item"
        return f"Service level target {data['level']:.1%} for {scope}"
    return json.dumps(data, default=str)
