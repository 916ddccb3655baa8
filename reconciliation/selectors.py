"""Reads of the reconciliation: what a scenario run reads, scenarios with their results, gaps,
money, the comparison, the deltas as sentences."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    QuerySet,
    Sum,
    Value,
)

from reconciliation import scenarios as engine
from reconciliation.constants import DRILL_ROWS, OVERLOAD
from reconciliation.finance import (
    FINANCIAL_COLUMNS,
    MONEY_RATIOS,
    compare,
    money_ratios,
    money_totals,
)
from reconciliation.models import (
    DecisionLogEntry,
    Risk,
    Scenario,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
    ScenarioRun,
)
from reconciliation.scenarios import PriceCostDelta, deltas_from_json
from sop import materiality
from sop.choices import MakeOrBuy, Stage
from sop.formatting import format_month
from sop.materiality import Materiality
from sop.models import AuditEvent, Budget, Cycle, Location, Product, Resource
from sop.numbers import finite_or_none
from sop.runs import ACTIVE_STATUSES
from sop.services import add_months
from sop.steps import Check
from supply.models import SupplyRun
from supply.selectors import consensus_fingerprint, edits_stamp
from supply.services import supply_plan_inputs

_MONEY_FIELDS = tuple(c for c in FINANCIAL_COLUMNS if c not in MONEY_RATIOS)
_UNKNOWABLE = ("budget_revenue", *MONEY_RATIOS)
# (key, label, format, higher is better: True/False, None = neither)
KPI_ROWS: tuple[tuple[str, str, str, bool | None], ...] = (
    ("revenue", "Revenue", "money", True),
    ("revenue_vs_budget", "Revenue vs budget", "money", True),
    ("revenue_vs_budget_pct", "Revenue vs budget %", "pct", True),
    ("gross_margin", "Gross margin", "money", True),
    ("margin_pct", "Margin %", "pct", True),
    ("fill_rate", "Fill rate", "fraction", True),
    ("service_level", "Service level (months without stockout)", "fraction", True),
    ("unmet_units", "Unmet demand (units)", "units", False),
    ("unmet_revenue", "Unmet demand (revenue)", "money", False),
    ("inventory_value_avg", "Inventory value (average)", "money", None),
    ("inventory_value_end", "Inventory value (end of horizon)", "money", None),
    ("weeks_of_cover", "Weeks of cover (stock / forward demand)", "number", None),
    ("capacity_utilisation", "Capacity utilisation", "fraction", None),
    ("overloaded_resource_months", "Overloaded resource-months", "int", False),
    ("alternate_units", "Supply from alternate sources (units)", "units", None),
    ("alternate_extra_cost", "Extra cost of alternate sources", "money", False),
)
# The smallest difference of each KPI that the comparison and the executive pack colour:
# money against the reference plan's revenue, quantities against its demand, rates in
# points, counts by one; the company's scale is its own, so no amount of money is fixed.
_OF_REVENUE = Materiality(share=0.005, of="revenue")
KPI_MATERIALITY: dict[str, Materiality] = {
    "revenue": _OF_REVENUE,
    "revenue_vs_budget": _OF_REVENUE,
    "revenue_vs_budget_pct": Materiality(amount=0.5),
    "gross_margin": _OF_REVENUE,
    "margin_pct": Materiality(amount=0.5),
    "fill_rate": Materiality(amount=0.005),
    "service_level": Materiality(amount=0.005),
    "unmet_units": Materiality(share=0.005, of="demand_units"),
    "unmet_revenue": _OF_REVENUE,
    "inventory_value_avg": _OF_REVENUE,
    "inventory_value_end": _OF_REVENUE,
    "weeks_of_cover": Materiality(amount=0.5),
    "capacity_utilisation": Materiality(amount=0.01),
    "overloaded_resource_months": Materiality(amount=1),
    "alternate_units": Materiality(share=0.005, of="demand_units"),
    "alternate_extra_cost": Materiality(share=0.001, of="revenue"),
}
# Names of the KPIs a threshold is a share of, for the legend.
MATERIALITY_LABELS = {"revenue": "Revenue", "demand_units": "Demand"}


def kpi_legend() -> str:
    """What the comparison's and the pack's colours mean, from the thresholds above."""
    return materiality.legend(KPI_ROWS, KPI_MATERIALITY, labels=MATERIALITY_LABELS)


# --- what a scenario run reads ----------------------------------------------------------


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
    report = progress or (lambda pct, phase: None)
    parsed = engine.deltas_from_json(deltas)
    report(10, "Loading the plan")
    inputs, policy = supply_plan_inputs(cycle=cycle)
    labels = plan_labels(inputs)
    report(40, "Recomputing supply and money")
    result = engine.run_scenario(inputs, policy, parsed, labels, budget=_budget(cycle))
    return result, labels


# --- scenarios and their results ----------------------------------------------------------


@dataclass
class ScenarioView:
    scenario: Scenario
    run: ScenarioRun | None  # the published result
    latest: ScenarioRun | None  # the newest run, maybe active or failed
    stale_reasons: list[str] = field(default_factory=list)

    @property
    def is_current(self) -> bool:
        return self.run is not None and not self.stale_reasons

    @property
    def active(self) -> bool:
        return self.latest is not None and self.latest.status in ACTIVE_STATUSES


def _staleness(scenario: Scenario, run: ScenarioRun | None, basis: str) -> list[str]:
    if run is None:
        return ["not computed yet"]
    reasons = []
    if run.deltas != scenario.deltas:
        reasons.append("its changes were edited since the last run")
    if run.basis != basis:
        reasons.append("the demand, supply plan or budget changed since the last run")
    return reasons


def scenario_views(*, cycle: Cycle, basis: str | None = None) -> list[ScenarioView]:
    """Every scenario of the cycle (base first) with its published and newest runs."""
    basis = plan_basis(cycle=cycle) if basis is None else basis
    runs = ScenarioRun.objects.select_related("created_by").order_by("-created_at", "-id")
    scenarios = Scenario.objects.filter(cycle=cycle).prefetch_related(
        Prefetch("runs", queryset=runs, to_attr="all_runs")
    )
    out = []
    for scenario in scenarios:
        published = next((r for r in scenario.all_runs if r.is_published), None)
        latest = scenario.all_runs[0] if scenario.all_runs else None
        out.append(
            ScenarioView(scenario, published, latest, _staleness(scenario, published, basis))
        )
    return out


def recommended(*, cycle: Cycle) -> ScenarioView | None:
    return next((v for v in scenario_views(cycle=cycle) if v.scenario.recommended), None)


def reconciliation_gate(cycle: Cycle) -> str | None:
    """Gate of the reconciliation: a recommended scenario whose figures are current."""
    view = recommended(cycle=cycle)
    if view is None:
        return "Mark one scenario as recommended (the base plan or a what-if)."
    if not view.is_current:
        return (
            f"Re-run the recommended scenario {view.scenario.name!r}: "
            f"{'; '.join(view.stale_reasons)}."
        )
    return None


# What a send-back to the reconciliation is answered by: the audit actions of a person that
# change the plan the executives will see (renaming a scenario changes nothing in it, and a
# run the system starts, the base plan's on every entry, is no one's answer).
SEND_BACK_ANSWERS: dict[str, tuple[str, str]] = {
    "scenario.create": ("scenario created", "scenarios created"),
    "scenario.copy": ("scenario copied", "scenarios copied"),
    "scenario.delete": ("scenario deleted", "scenarios deleted"),
    "scenario.delta_add": ("change added to a scenario", "changes added to scenarios"),
    "scenario.delta_remove": ("change removed from a scenario", "changes removed from scenarios"),
    "scenario.recommend": ("scenario recommended", "scenarios recommended"),
    "scenario.run": ("scenario run", "scenario runs"),
    "decision.add": ("entry in the decision log", "entries in the decision log"),
}


def send_back_answers(cycle: Cycle, since: dt.datetime, until: dt.datetime | None) -> list[str]:
    """What people changed in the reconciliation between `since` and `until`, one line per
    kind of change ("2 changes added to scenarios"), in the order of `SEND_BACK_ANSWERS`."""
    events = AuditEvent.objects.filter(
        cycle=cycle, at__gt=since, user__isnull=False, action__in=SEND_BACK_ANSWERS
    )
    if until is not None:
        events = events.filter(at__lte=until)
    counts = dict(
        events.order_by().values_list("action").annotate(n=Count("id")).values_list("action", "n")
    )
    return [
        f"{counts[action]} {one if counts[action] == 1 else many}"
        for action, (one, many) in SEND_BACK_ANSWERS.items()
        if counts.get(action)
    ]


def is_editable(*, cycle: Cycle, user) -> bool:
    return cycle.stage == Stage.RECONCILIATION and user.has_perm("reconciliation.change_scenario")


# --- gaps -------------------------------------------------------------------------------


@dataclass
class GapTable:
    months: list
    # One dict per family, biggest unmet revenue first: totals and a per-month list.
    families: list[dict]
    totals: dict
    overloads: list[dict]


def gap_table(*, run: ScenarioRun) -> GapTable:
    """Demand vs constrained supply by family and month; the biggest gaps first."""
    rows = list(
        ScenarioFamilyMonth.objects.filter(run=run).values(
            "family",
            "month",
            "demand",
            "volume",
            "unmet_units",
            "unmet_revenue",
            "excess_value",
            "revenue",
            "inventory_value",
        )
    )
    frame = pd.DataFrame(rows)
    months: list = sorted(frame["month"].unique()) if not frame.empty else []
    families = []
    if not frame.empty:
        for family, part in frame.groupby("family", sort=False):
            part = part.sort_values("month")
            families.append(
                {
                    "family": family,
                    "demand": part["demand"].sum(),
                    "volume": part["volume"].sum(),
                    "unmet_units": part["unmet_units"].sum(),
                    "unmet_revenue": part["unmet_revenue"].sum(),
                    "excess_value": part["excess_value"].max(),
                    "months": part[["month", "demand", "unmet_units", "unmet_revenue"]].to_dict(
                        "records"
                    ),
                }
            )
        families.sort(key=lambda f: (-f["unmet_revenue"], -f["excess_value"], f["family"]))
    totals = {
        key: float(frame[key].sum()) if not frame.empty else 0.0
        for key in ("demand", "volume", "unmet_units", "unmet_revenue")
    }
    totals["fill_rate"] = totals["volume"] / totals["demand"] if totals["demand"] else math.nan
    return GapTable(months=months, families=families, totals=totals, overloads=overloads(run=run))


def overloads(*, run: ScenarioRun, limit: int = 20) -> list[dict]:
    """Resource-months whose unconstrained load is above capacity, worst first."""
    rows = (
        ScenarioResourceMonth.objects.filter(
            run=run, load_unconstrained__gt=F("capacity") * OVERLOAD + 1e-6
        )
        .annotate(over=F("load_unconstrained") - F("capacity"))
        .order_by("-over")
        .values("resource_id", "month", "capacity", "load", "load_unconstrained", "over")[:limit]
    )
    rows = list(rows)
    names = dict(
        Resource.objects.filter(pk__in=[r["resource_id"] for r in rows]).values_list("pk", "code")
    )
    for row in rows:
        row["resource"] = names.get(row["resource_id"], row["resource_id"])
        row["utilisation"] = (
            row["load_unconstrained"] / row["capacity"] if row["capacity"] else math.inf
        )
    return rows


def sku_gaps(*, run: ScenarioRun, family: str, limit: int = DRILL_ROWS) -> list[dict]:
    """The SKU-locations of a family with unmet demand or excess, biggest unmet first."""
    products = dict(Product.objects.filter(family=family).values_list("pk", "unit_price"))
    if not products:
        return []
    rows = (
        ScenarioLine.objects.filter(run=run, product_id__in=list(products))
        .values("product_id", "location_id")
        .annotate(
            demand=Sum("demand"),
            planned=Sum("planned"),
            unmet=Sum("unmet"),
            shortage=Sum("shortage"),
            excess=Sum("excess_quantity"),
        )
    )
    price = _price_factor(run.deltas, family)
    out = []
    for row in rows:
        row["unmet_revenue"] = row["unmet"] * float(products[row["product_id"]]) * price
        if row["unmet"] > 1e-6 or row["excess"] > 1e-6:
            out.append(row)
    out.sort(key=lambda r: (-r["unmet_revenue"], -r["excess"]))
    out = out[:limit]
    skus = dict(
        Product.objects.filter(pk__in=[r["product_id"] for r in out]).values_list("pk", "sku")
    )
    locations = dict(Location.objects.values_list("pk", "code"))
    for row in out:
        row["sku"] = skus.get(row["product_id"])
        row["location"] = locations.get(row["location_id"])
    return out


def _price_factor(deltas: list[dict], family: str) -> float:
    """What the run's price changes multiply the family's prices by (1.0: none)."""
    factor = 1.0
    for delta in deltas_from_json(deltas):
        if isinstance(delta, PriceCostDelta) and delta.family in (None, family):
            factor *= 1 + delta.price_percent / 100
    return factor


# --- money and comparison ---------------------------------------------------------------


def _money_frame(run: ScenarioRun) -> pd.DataFrame:
    rows = ScenarioFamilyMonth.objects.filter(run=run).values_list(*_MONEY_FIELDS)
    frame = pd.DataFrame(list(rows), columns=list(_MONEY_FIELDS))
    frame["budget_revenue"] = frame["budget_revenue"].astype(float)
    return money_ratios(frame)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a money frame, None where a figure is unknown (no budget, no revenue)."""
    rows = frame.to_dict("records")
    for row in rows:
        for key in _UNKNOWABLE:
            row[key] = finite_or_none(row[key])
    return rows


def _money_total(frame: pd.DataFrame, *, inventory: float) -> dict:
    total = {**money_totals(frame), "inventory_value": inventory}
    return {key: finite_or_none(value) for key, value in total.items()}


def financial_rows(*, run: ScenarioRun) -> list[dict]:
    """Money per family and month with the budget gap, for the financial table."""
    return _records(_money_frame(run))


def financial_table(*, run: ScenarioRun) -> list[dict]:
    """The financial table: all families by month first, then each family by month.

    A group's total row sums revenue, COGS and margin over the horizon; its inventory value
    is the end of the horizon's (a sum of month-end stocks means nothing). Each row's
    `gap_tone` colours its gap to the budget when material (the KPI's threshold).
    """
    frame = _money_frame(run)
    if frame.empty:
        return []
    months = [
        {"month": month, **_money_total(part, inventory=float(part["inventory_value"].sum()))}
        for month, part in frame.groupby("month", sort=True)
    ]
    blocks = [
        {
            "family": "All families",
            "months": months,
            "total": _money_total(frame, inventory=months[-1]["inventory_value"]),
        }
    ]
    for family, part in frame.groupby("family", sort=False):
        part = part.sort_values("month")
        blocks.append(
            {
                "family": family,
                "months": _records(part),
                "total": _money_total(part, inventory=float(part["inventory_value"].iloc[-1])),
            }
        )
    gap = KPI_MATERIALITY["revenue_vs_budget_pct"]
    for block in blocks:
        for row in (*block["months"], block["total"]):
            pct = finite_or_none(row["budget_gap_pct"])
            row["gap_tone"] = materiality.tone(pct, higher=True, materiality=gap, reference={})
    return blocks


def monthly_totals(*, run: ScenarioRun) -> pd.DataFrame:
    """Revenue, budget, margin, inventory value and unmet revenue per month (all families)."""
    return money_by_month(ScenarioFamilyMonth.objects.filter(run=run))


def money_by_month(families: QuerySet) -> pd.DataFrame:
    """`monthly_totals` of family-month rows: a run's, or an approval's frozen copy."""
    rows = (
        families.values("month")
        .annotate(
            revenue=Sum("revenue"),
            budget=Sum("budget_revenue"),
            margin=Sum("gross_margin"),
            inventory=Sum("inventory_value"),
            unmet_revenue=Sum("unmet_revenue"),
        )
        .order_by("month")
    )
    return pd.DataFrame(
        list(rows), columns=["month", "revenue", "budget", "margin", "inventory", "unmet_revenue"]
    )


def resource_loads(*, run: ScenarioRun) -> pd.DataFrame:
    """Load and capacity per resource over the horizon (for the capacity chart)."""
    return loads_by_resource(ScenarioResourceMonth.objects.filter(run=run))


def loads_by_resource(resources: QuerySet) -> pd.DataFrame:
    """`resource_loads` of resource-month rows: a run's, or an approval's frozen copy."""
    rows = (
        resources.values("resource_id")
        .annotate(capacity=Sum("capacity"), load=Sum("load"), wanted=Sum("load_unconstrained"))
        .order_by("resource_id")
    )
    frame = pd.DataFrame(list(rows), columns=["resource_id", "capacity", "load", "wanted"])
    codes = dict(
        Resource.objects.filter(pk__in=frame["resource_id"].tolist()).values_list("pk", "code")
    )
    frame["resource"] = frame["resource_id"].map(codes)
    return frame.sort_values("resource")


def comparison(views: list[ScenarioView]) -> list[dict]:
    """KPI rows side by side: per scenario the value, its difference vs the first, and a tone.

    Tone says whether the difference is better ('good') or worse ('bad') for the business
    by a material amount (`KPI_MATERIALITY`, against the first scenario's figures), for the
    KPIs where that is clear; the page highlights those.
    """
    computed = [v for v in views if v.run is not None]
    if not computed:
        return []
    names = [str(v.scenario.pk) for v in computed]
    table = compare({name: v.run.kpis for name, v in zip(names, computed, strict=True)})
    reference = computed[0].run.kpis
    out = []
    for key, label, fmt, higher in KPI_ROWS:
        if key not in table.index:
            continue
        cells = []
        for name in names:
            value = finite_or_none(table.loc[key, (name, "value")])
            diff = finite_or_none(table.loc[key, (name, "diff")])
            pct = finite_or_none(table.loc[key, (name, "diff_pct")])
            changed = name != names[0] and diff is not None and abs(diff) > 1e-9
            tone = materiality.tone(
                diff if changed else None,
                higher=higher,
                materiality=KPI_MATERIALITY[key],
                reference=reference,
            )
            cells.append(
                {"value": value, "diff": diff, "diff_pct": pct, "tone": tone, "changed": changed}
            )
        out.append({"key": key, "label": label, "format": fmt, "cells": cells})
    return out


def source_comparison(views: list[ScenarioView]) -> list[dict]:
    """Supply by source side by side: per source (the primary first) and computed scenario,
    the units over the horizon and their extra cost over the primary's unit cost.

    Empty when no scenario takes anything from an alternate source.
    """
    computed = [v for v in views if v.run is not None]
    tables = [{(r["kind"], r["code"]): r for r in v.run.sources} for v in computed]
    keys = list(dict.fromkeys(key for table in tables for key in table))
    if all(kind == "primary" for kind, _ in keys):
        return []
    rows = []
    for kind, code in keys:
        cells = [table.get((kind, code), {"units": 0.0, "extra_cost": 0.0}) for table in tables]
        label = "Primary sources" if kind == "primary" else f"{kind.title()} {code}"
        rows.append(
            {
                "label": label,
                "cells": [
                    {
                        "units": c["units"],
                        "extra_cost": None if kind == "primary" else c["extra_cost"],
                    }
                    for c in cells
                ],
            }
        )
    return rows


def decisions(*, cycle: Cycle) -> list[DecisionLogEntry]:
    """The log's entries; its old free-text risks are in the risk register (migration 0003)."""
    return list(
        DecisionLogEntry.objects.filter(cycle=cycle)
        .exclude(kind=DecisionLogEntry.Kind.RISK)
        .select_related("author", "scenario")
    )


def risks(*, cycle: Cycle, open_only: bool = False, limit: int | None = None) -> list[Risk]:
    """The cycle's risk register, highest exposure (probability x impact) first.

    `exposure` is computed in the query, in the company currency like the impact.
    """
    rows = Risk.objects.filter(cycle=cycle)
    if open_only:
        rows = rows.exclude(status=Risk.Status.CLOSED)
    rows = (
        rows.annotate(
            exposure=ExpressionWrapper(
                F("probability") * F("impact") / Value(Decimal(100)),
                output_field=DecimalField(max_digits=18, decimal_places=2),
            )
        )
        .select_related("owner")
        .order_by("-exposure", "due", "id")
    )
    return list(rows[:limit] if limit is not None else rows)


# --- the deltas as sentences ------------------------------------------------------------


def deltas_describe(deltas: list[dict[str, Any]]) -> list[str]:
    """Each delta as a sentence for the page and the executive pack."""
    out = []
    for delta in engine.deltas_from_json(deltas):
        data = asdict(delta)
        out.append(_describe(delta.kind, data))
    return out


def _amount(percent: float | None, value: float | None, unit: str) -> str:
    if percent is not None:
        return f"{percent:+g} %"
    return f"{value:+g} {unit}"


def _range(data: dict) -> str:
    return f"{format_month(data['start'])} to {format_month(data['end'])}"


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
    if kind == "source":
        source = (
            f"Supplier {data['supplier']}"
            if data.get("supplier")
            else f"Resource {data['resource']}"
        )
        return f"{source} unavailable, {_range(data)}"
    return json.dumps(data, default=str)


# --- the cycle home's checklist --------------------------------------------------------------


def decisions_carried_checklist(cycle: Cycle) -> list[Check]:
    """The draft's line saying what `decisions_carry_over` brought into the opened cycle."""
    carried = (
        DecisionLogEntry.objects.filter(cycle=cycle, carried_from__isnull=False).count()
        + Risk.objects.filter(cycle=cycle, carried_from__isnull=False).count()
    )
    return [
        Check(
            "Assumptions and risks carried over",
            "info",
            f"{carried} carried from the previous cycle when this one was opened.",
        )
    ]


def reconciliation_checklist(cycle: Cycle) -> list[Check]:
    """The reconciliation's lines of the cycle home checklist."""
    gate = reconciliation_gate(cycle)
    if gate:
        scenario = Check("Scenario recommended and current", "todo", gate)
    else:
        name = Scenario.objects.filter(cycle=cycle, recommended=True).values_list("name", flat=True)
        scenario = Check("Scenario recommended and current", "done", f"{name.first()}.")
    kinds = dict(
        DecisionLogEntry.objects.filter(cycle=cycle)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    log = ", ".join(
        f"{kinds.get(k, 0)} {label.lower()}s" for k, label in DecisionLogEntry.Kind.choices
    )
    return [scenario, Check("Decision log", "info", log + ".")]
