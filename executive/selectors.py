"""Reads of the executive review: the sign-off pack, approved plans and their ERP export.

The pack reads a plan either from the recommended scenario's published run (while the
cycle is under review) or from the frozen copy of an approved cycle; both have the same
columns, so one set of aggregate queries serves both, and none loops over SKUs.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from django.db.models import Count, F, FloatField, Max, QuerySet, Sum
from django.db.models.functions import Cast, Coalesce

from demand import forecasting
from demand.models import DemandPlanSnapshot
from demand.selectors import stream_fva, stream_fva_sentences
from executive.constants import (
    ACCURACY_CYCLES,
    CUSTOMER_OTIF_KPI_MONTHS,
    CUSTOMER_OTIF_MATERIALITY,
    EXPORT_WITH_LIFECYCLE,
    FORECAST_MATERIALITY,
    NOT_YET,
    NOT_YET_KPI,
    OWN_KPIS,
    PLAN_KPIS,
    REGISTER_ROWS,
    RISK_ROWS,
)
from executive.models import FrozenFamilyMonth, FrozenPlanLine, FrozenResourceMonth, PlanApproval
from reconciliation import selectors as recon
from reconciliation.constants import OVERLOAD
from reconciliation.models import (
    DecisionLogEntry,
    Risk,
    ScenarioFamilyMonth,
    ScenarioLine,
    ScenarioResourceMonth,
    ScenarioRun,
)
from sop import materiality
from sop.choices import Stage
from sop.exports import cell_safe
from sop.formatting import format_moment
from sop.models import Cycle, CycleTransition, Location, Product, Resource, SalesHistory
from sop.numbers import finite_or_none
from sop.selectors import PlanFilters
from sop.services import add_months
from sop.steps import Check
from supply.selectors import CUSTOMER_OTIF_NOT_YET, customer_otif_kpi

# --- the ERP export (also what the approval's checksum is taken of) ---------------------

EXPORT_HEADER = (
    "sku",
    "location",
    "month",
    "kind",
    "planned_quantity",
    "consensus_demand",
    "projected_on_hand",
    "unmet_demand",
)
# Added at the end, and only to plans approved since (PlanApproval.export_version): an
# older plan's export, and so its stored checksum, stays byte for byte what it was.
LIFECYCLE_HEADER = ("lifecycle", "like_sku", "end_of_life_month")
_KIND = {"make": "production", "buy": "purchase"}


def export_header(*, approval: PlanApproval) -> tuple[str, ...]:
    """The export's columns for this approval."""
    if approval.export_version == EXPORT_WITH_LIFECYCLE:
        return EXPORT_HEADER + LIFECYCLE_HEADER
    return EXPORT_HEADER


def plan_export_rows(*, approval: PlanApproval) -> Iterator[tuple]:
    """The frozen plan's lines in ERP order: planned production and purchases per SKU,
    location and month, with the demand they answer (and, for plans approved with them,
    each product's lifecycle: new from a like product, ending, its end-of-life month)."""
    lifecycle = approval.export_version == EXPORT_WITH_LIFECYCLE
    rows = (
        FrozenPlanLine.objects.filter(approval=approval)
        .order_by("sku", "location_code", "month")
        .values_list(
            "sku",
            "location_code",
            "month",
            "make_or_buy",
            "planned",
            "consensus",
            "on_hand",
            "unmet",
            "lifecycle",
            "like_sku",
            "end_of_life_month",
        )
        .iterator(chunk_size=5000)
    )
    for sku, location, month, kind, planned, consensus, on_hand, unmet, *life in rows:
        row = (
            # Codes come from ERP extracts: one starting "=" must not run in a spreadsheet.
            cell_safe(sku),
            cell_safe(location),
            month.isoformat(),
            _KIND.get(kind, kind),
            _qty(planned),
            _qty(consensus),
            _qty(on_hand),
            _qty(unmet),
        )
        if lifecycle:
            status, like, end = life
            row += (status or "", cell_safe(like or ""), end.isoformat() if end else "")
        yield row


def _qty(value: Decimal) -> str:
    # Fixed three decimals whatever the database hands back (SQLite drops trailing zeros).
    return f"{Decimal(value):.3f}"


def plan_lines(*, approval: PlanApproval, filters: PlanFilters) -> QuerySet:
    """The frozen plan's lines as plain rows (the API), in the export's order."""
    lines = filters.apply(
        FrozenPlanLine.objects.filter(approval=approval),
        family="family",
        sku="sku",
        location="location_code",
    )
    return lines.order_by("sku", "location_code", "month").values(
        "sku",
        "location_code",
        "family",
        "month",
        "make_or_buy",
        "planned",
        "consensus",
        "demand",
        "on_hand",
        "unmet",
    )


def plan_csv(*, approval: PlanApproval) -> bytes:
    """The frozen plan as CSV bytes: the download, and the input of the checksum."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(export_header(approval=approval))
    writer.writerows(plan_export_rows(approval=approval))
    return text.getvalue().encode("utf-8")


def plan_checksum(*, approval: PlanApproval) -> str:
    return hashlib.sha256(plan_csv(approval=approval)).hexdigest()


# --- approved plans ---------------------------------------------------------------------


def approvals() -> QuerySet[PlanApproval]:
    return PlanApproval.objects.select_related("cycle", "approved_by").order_by("-cycle__month")


def approved_cycles() -> QuerySet[Cycle]:
    """Every approved cycle, newest first, with its approval record where it has one.

    A cycle approved before the application froze plans has none: it is listed all the
    same, without a frozen copy to open or export.
    """
    return (
        Cycle.objects.filter(stage=Stage.APPROVED)
        .select_related("approval", "approval__approved_by")
        .order_by("-month")
    )


def cycle_previous_approved(*, cycle: Cycle) -> Cycle | None:
    """The last approved cycle before this one, with its approval record if it has one.

    Cycles approved before the application froze plans (the demo's past cycles) have
    none: only their demand plan snapshot, from which their accuracy is measured.
    """
    return (
        Cycle.objects.filter(stage=Stage.APPROVED, month__lt=cycle.month)
        .select_related("approval")
        .order_by("-month")
        .first()
    )


def signoff_cycle(pk: str | int | None) -> Cycle | None:
    """The cycle asked for; else the one in executive review; else the latest."""
    cycles = Cycle.objects.select_related("approval")
    if pk not in (None, ""):
        try:
            return cycles.filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            return None
    in_review = cycles.filter(stage=Stage.EXECUTIVE_REVIEW).order_by("-month").first()
    return in_review or cycles.order_by("-month").first()


# --- forecast accuracy of past frozen plans ---------------------------------------------


def forecast_accuracy(*, cycle: Cycle) -> dict[str, float | str | None]:
    """Accuracy (100 - WAPE) and bias in % of the consensus of the past year's frozen plans.

    Measured on the company total per plan and month, as the demand review's Total row;
    the plans are the demand plans frozen when each earlier cycle's demand was submitted,
    over the months up to the last one with sales recorded (a month not imported yet is
    not a month of zero demand). Without such a plan-month there is no figure, and
    `forecast_basis` says why. The engine's own definitions (`demand.forecasting.wape/bias`)
    on aggregate queries: the page cannot spend pandas' fixed cost on a few dozen numbers.
    """
    snapshots = DemandPlanSnapshot.objects.filter(
        cycle__month__lt=cycle.month,
        cycle__month__gte=add_months(cycle.month, -ACCURACY_CYCLES),
        month__lt=cycle.month,
    )
    last_sale = SalesHistory.objects.filter(month__lt=cycle.month).aggregate(last=Max("month"))[
        "last"
    ]
    plans = []
    if last_sale is not None:
        plans = list(
            snapshots.filter(month__lte=last_sale)
            .values("cycle__month", "month")
            .annotate(consensus=Sum("consensus"))
            .values_list("cycle__month", "month", "consensus")
        )
    if not plans:
        reason = NOT_YET["no_sales"] if snapshots.exists() else NOT_YET["no_frozen_plan"]
        return {
            "forecast_accuracy": None,
            "forecast_bias": None,
            "forecast_months": 0,
            "forecast_basis": reason,
        }
    actuals = dict(
        SalesHistory.objects.filter(
            month__gte=min(month for _, month, _ in plans), month__lte=last_sale
        )
        .values("month")
        .annotate(actual=Sum("quantity"))
        .values_list("month", "actual")
    )
    # A month up to the last import without a recorded sale had zero demand.
    actual = [float(actuals.get(month, 0)) for _, month, _ in plans]
    planned = [float(value) for _, _, value in plans]
    wape = finite_or_none(forecasting.wape(actual, planned))
    bias = finite_or_none(forecasting.bias(actual, planned))
    return {
        "forecast_accuracy": None if wape is None else 100 - wape,
        "forecast_bias": bias,
        "forecast_months": len(plans),
        "forecast_basis": "" if wape is not None else NOT_YET["no_demand"],
    }


# --- the plan a page reads --------------------------------------------------------------


@dataclass(frozen=True)
class PlanSource:
    """A plan's rows: a scenario run's, or an approval's frozen copy (same columns)."""

    lines: QuerySet
    families: QuerySet
    resources: QuerySet
    kpis: dict
    frozen: bool

    @classmethod
    def of_run(cls, run: ScenarioRun) -> PlanSource:
        return cls(
            lines=ScenarioLine.objects.filter(run=run),
            families=ScenarioFamilyMonth.objects.filter(run=run),
            resources=ScenarioResourceMonth.objects.filter(run=run),
            kpis=run.kpis,
            frozen=False,
        )

    @classmethod
    def of_approval(cls, approval: PlanApproval) -> PlanSource:
        return cls(
            lines=FrozenPlanLine.objects.filter(approval=approval),
            families=FrozenFamilyMonth.objects.filter(approval=approval),
            resources=FrozenResourceMonth.objects.filter(approval=approval),
            kpis=approval.kpis,
            frozen=True,
        )


def _float(field_name: str):
    return Cast(field_name, FloatField())


def _plan_money(stored: str, quantity: str, unit: str):
    """A line's money as the plan valued it (a scenario's price delta included).

    Lines stored before the plan's money was kept have none: those are valued at the
    product's price or cost as it is now, the best figure left.
    """
    return Coalesce(F(stored), _float(quantity) * _float(unit), output_field=FloatField())


def shortages(*, source: PlanSource, limit: int = RISK_ROWS) -> list[dict]:
    """The SKU-locations with the most unmet demand (in revenue) over the horizon."""
    rows = (
        source.lines.filter(unmet__gt=1e-6)
        .values("product_id", "location_id")
        .annotate(
            unmet_units=Sum(_float("unmet")),
            demand_units=Sum(_float("demand")),
            unmet_revenue=Sum(_plan_money("unmet_revenue", "unmet", "product__unit_price")),
        )
        .order_by("-unmet_revenue", "product_id", "location_id")[:limit]
    )
    return _labelled(list(rows))


def excess(*, source: PlanSource, limit: int = RISK_ROWS) -> list[dict]:
    """The SKU-locations with the highest peak stock above target, in value at cost."""
    rows = (
        source.lines.filter(excess_quantity__gt=1e-6)
        .values("product_id", "location_id")
        .annotate(
            peak_excess=Max(_float("excess_quantity")),
            excess_value=Max(_plan_money("excess_value", "excess_quantity", "product__unit_cost")),
        )
        .order_by("-excess_value", "product_id", "location_id")[:limit]
    )
    return _labelled(list(rows))


def _labelled(rows: list[dict]) -> list[dict]:
    products = dict(
        Product.objects.filter(pk__in=[r["product_id"] for r in rows]).values_list("pk", "sku")
    )
    locations = dict(
        Location.objects.filter(pk__in=[r["location_id"] for r in rows]).values_list("pk", "code")
    )
    for row in rows:
        row["sku"] = products.get(row["product_id"], row["product_id"])
        row["location"] = locations.get(row["location_id"], row["location_id"])
    return rows


def overloads(*, source: PlanSource, limit: int = RISK_ROWS) -> list[dict]:
    """Resources whose wanted load exceeds capacity: months overloaded and the worst one."""
    rows = list(
        source.resources.filter(load_unconstrained__gt=F("capacity") * OVERLOAD + 1e-6)
        .values("resource_id")
        .annotate(
            months=Count("id"),
            over_hours=Sum(F("load_unconstrained") - F("capacity")),
            worst=Max(F("load_unconstrained") - F("capacity")),
        )
        .order_by("-over_hours", "resource_id")[:limit]
    )
    codes = dict(
        Resource.objects.filter(pk__in=[r["resource_id"] for r in rows]).values_list("pk", "code")
    )
    for row in rows:
        row["resource"] = codes.get(row["resource_id"], row["resource_id"])
    return rows


# --- the sign-off pack ------------------------------------------------------------------


@dataclass
class Signoff:
    cycle: Cycle
    approval: PlanApproval | None
    previous: PlanApproval | None
    previous_cycle: Cycle | None
    recommended: recon.ScenarioView | None
    base: recon.ScenarioView | None
    source: PlanSource | None
    headline: list[dict] = field(default_factory=list)
    versus_base: list[dict] = field(default_factory=list)
    scenario_changes: list[str] = field(default_factory=list)
    shortages: list[dict] = field(default_factory=list)
    excess: list[dict] = field(default_factory=list)
    overloads: list[dict] = field(default_factory=list)
    monthly: pd.DataFrame | None = None
    resources: pd.DataFrame | None = None
    decisions: list[DecisionLogEntry] = field(default_factory=list)
    register: list[Risk] = field(default_factory=list)
    history: list[CycleTransition] = field(default_factory=list)
    legend: str = ""
    # "Sales input improved accuracy by 3.2 points over the last 6 cycles", one per stream.
    stream_lines: list[str] = field(default_factory=list)

    @property
    def scenario_name(self) -> str:
        if self.approval is not None:
            return self.approval.scenario_name
        return self.recommended.scenario.name if self.recommended else ""

    @property
    def is_current(self) -> bool:
        return self.approval is not None or (
            self.recommended is not None and self.recommended.is_current
        )


def signoff(*, cycle: Cycle) -> Signoff:
    """Everything the sign-off page and the printed pack show, in a bounded set of queries."""
    approval = getattr(cycle, "approval", None) if cycle.stage == Stage.APPROVED else None
    previous_cycle = cycle_previous_approved(cycle=cycle)
    previous = getattr(previous_cycle, "approval", None) if previous_cycle else None
    rec_view = base_view = None
    if approval is not None:
        source = PlanSource.of_approval(approval)
        kpis, base_kpis = dict(approval.kpis), approval.base_kpis
        changes = list(approval.scenario_changes)
    else:
        views = recon.scenario_views(cycle=cycle)
        rec_view = next((v for v in views if v.scenario.recommended), None)
        base_view = next((v for v in views if v.scenario.is_base), None)
        run = rec_view.run if rec_view else None
        source = PlanSource.of_run(run) if run is not None else None
        kpis = dict(run.kpis) if run is not None else {}
        base_kpis = base_view.run.kpis if base_view and base_view.run else {}
        changes = recon.deltas_describe(rec_view.scenario.deltas) if rec_view else []
        kpis.update(forecast_accuracy(cycle=cycle))
    pack = Signoff(
        cycle=cycle,
        approval=approval,
        previous=previous,
        previous_cycle=previous_cycle,
        recommended=rec_view,
        base=base_view,
        source=source,
        scenario_changes=changes,
        decisions=recon.decisions(cycle=cycle),
        register=recon.risks(cycle=cycle, open_only=True, limit=REGISTER_ROWS),
        history=list(cycle.transitions.select_related("user")),
    )
    before = dict(previous.kpis) if previous is not None else {}
    if previous_cycle is not None and "forecast_accuracy" not in before:
        before.update(forecast_accuracy(cycle=previous_cycle))
    # Measured live, on the pack and on an approved one: order lines keep being imported.
    otif = customer_otif_kpi(
        cycle_months=[c.month for c in (cycle, previous_cycle) if c is not None],
        months=CUSTOMER_OTIF_KPI_MONTHS,
    )
    kpis.update(otif[cycle.month])
    if previous_cycle is not None:
        before.update(otif[previous_cycle.month])
    pack.headline = headline(kpis, before, planned=source is not None)
    pack.stream_lines = stream_fva_sentences(stream_fva(cycle=cycle))
    pack.legend = legend()
    if source is not None:
        is_base = approval.scenario_is_base if approval else rec_view.scenario.is_base
        pack.versus_base = [] if is_base else versus_base(kpis, base_kpis)
        pack.shortages = shortages(source=source)
        pack.excess = excess(source=source)
        pack.overloads = overloads(source=source)
        pack.monthly = recon.money_by_month(source.families)
        pack.resources = recon.loads_by_resource(source.resources)
    return pack


_KPI_ROWS = {row[0]: row for row in recon.KPI_ROWS}
HEADLINE_KPIS = (*OWN_KPIS, *(_KPI_ROWS[key] for key in PLAN_KPIS))


def headline(kpis: dict, before: dict, *, planned: bool = True) -> list[dict]:
    """The headline figures with their change since the last approved plan.

    A figure without a basis has no value but a `not_yet` reason: `planned` is False while
    the cycle has no computed plan to read (no recommended scenario yet), and each KPI of a
    plan says what it lacks (`NOT_YET_KPI`); the forecast's say what they lack themselves.
    """
    out = []
    for key, label, fmt, higher in HEADLINE_KPIS:
        value, previous = finite_or_none(kpis.get(key)), finite_or_none(before.get(key))
        change = None if value is None or previous is None else value - previous
        out.append(
            {
                "key": key,
                "label": label,
                "format": fmt,
                "value": value,
                "previous": previous,
                "change": change,
                "tone": _tone(key, change, value, previous, higher, before),
                "not_yet": "" if value is not None else _not_yet(key, kpis, planned=planned),
            }
        )
    return out


def _not_yet(key: str, kpis: dict, *, planned: bool) -> str:
    if key == "customer_otif":
        return kpis.get("customer_otif_basis") or CUSTOMER_OTIF_NOT_YET["no_lines"]
    if key in FORECAST_MATERIALITY:
        return kpis.get("forecast_basis") or NOT_YET["no_frozen_plan"]
    if not planned:
        return NOT_YET["no_plan"]
    return NOT_YET_KPI.get(key, NOT_YET["no_figure"])


def _materiality(key: str) -> materiality.Materiality:
    if key == "customer_otif":
        return CUSTOMER_OTIF_MATERIALITY
    return FORECAST_MATERIALITY.get(key) or recon.KPI_MATERIALITY[key]


def _tone(key, change, value, previous, higher, reference: dict) -> str:
    """The colour of a change against `reference`'s figures: material, and which way."""
    if change is None:
        return ""
    if key == "forecast_bias":  # nearer zero is better, on either side
        change, higher = abs(value) - abs(previous), False
    return materiality.tone(
        change, higher=higher, materiality=_materiality(key), reference=reference
    )


def legend() -> str:
    """What the pack's colours mean: the headline's and the scenario table's thresholds."""
    rows = {key: row for key, *row in (*HEADLINE_KPIS, *recon.KPI_ROWS)}
    # Bias is coloured by its distance from zero, which the legend says after the list.
    rows["forecast_bias"][2] = False
    kpis = [(key, label, kind, higher) for key, (label, kind, higher) in rows.items()]
    thresholds = {key: _materiality(key) for key in rows}
    text = materiality.legend(kpis, thresholds, labels=recon.MATERIALITY_LABELS)
    return f"{text} A forecast bias is better nearer zero, on either side."


def versus_base(kpis: dict, base_kpis: dict) -> list[dict]:
    """The recommended scenario's KPIs next to the base plan's, with the difference."""
    out = []
    for key, label, fmt, higher in recon.KPI_ROWS:
        value, base = finite_or_none(kpis.get(key)), finite_or_none(base_kpis.get(key))
        if value is None and base is None:
            continue
        diff = None if value is None or base is None else value - base
        out.append(
            {
                "label": label,
                "format": fmt,
                "value": value,
                "base": base,
                "diff": diff,
                "tone": _tone(key, diff, value, base, higher, base_kpis),
            }
        )
    return out


# --- the cycle home's checklist --------------------------------------------------------------


def approval_checklist(cycle: Cycle) -> list[Check]:
    """The executive review's line of the cycle home checklist: approved, by whom, when."""
    if cycle.stage != Stage.APPROVED:
        return [Check("Plan approved", "todo", "Waiting on the executives.")]
    approval = cycle.transitions.filter(to_stage=Stage.APPROVED).select_related("user").last()
    detail = ""
    if approval is not None:
        detail = f"By {_name(approval.user)}, {format_moment(approval.at)}."
    return [Check("Plan approved", "done", detail)]


def _name(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
