"""Pages of the reconciliation: gaps, scenarios, money, comparison, decisions log.

Writes are plain POST forms that redirect back to the review page. A refused write
renders the page again with the refusal and the user's input kept, with the status that
says why: 400 (not valid), 403 (not your role), 409 (someone changed the scenario).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from reconciliation import charts, selectors, services
from reconciliation.constants import COMPARE_MAX, COMPARE_MIN
from reconciliation.finance import FINANCIAL_COLUMNS, FINANCIAL_KINDS
from reconciliation.forms import (
    DELTA_FORMS,
    CopyForm,
    DecisionForm,
    RecommendForm,
    RenameForm,
    RiskForm,
    ScenarioForm,
    VersionForm,
    form_errors,
)
from reconciliation.models import Risk, Scenario, ScenarioRun
from sop.checks import send_back_open
from sop.choices import Stage
from sop.exports import table_response
from sop.formatting import export_number, unit_label
from sop.locking import EditConflict, edit_refusal
from sop.models import Cycle, Product
from sop.run_views import RunPanel
from sop.views import cycle_from_query, cycle_page

EXPORT_TABLES = ("financial", "gaps")
# The figures of a scenario shown in its row of the scenario list: (key, label, format).
ROW_KPIS = (
    ("revenue", "Revenue", "money"),
    ("revenue_vs_budget_pct", "vs budget", "pct"),
    ("margin_pct", "Margin", "pct"),
    ("fill_rate", "Fill rate", "fraction"),
    ("unmet_revenue", "Lost revenue", "money"),
)


# --- helpers ------------------------------------------------------------------------------


def _url(cycle: Cycle, scenario: int | None = None, anchor: str = "") -> str:
    query = {"cycle": cycle.pk, **({"scenario": scenario} if scenario else {})}
    return f"{reverse('reconciliation:review')}?{urlencode(query)}{anchor}"


def _permissions(request: HttpRequest, cycle: Cycle) -> dict[str, bool]:
    open_ = cycle.stage in services.EDITABLE_STAGES
    user = request.user
    return {
        "create": open_ and user.has_perm("reconciliation.add_scenario"),
        "change": open_ and user.has_perm("reconciliation.change_scenario"),
        "delete": open_ and user.has_perm("reconciliation.delete_scenario"),
        "recommend": open_ and user.has_perm("reconciliation.recommend_scenario"),
        "log": cycle.stage != Stage.APPROVED
        and user.has_perm("reconciliation.add_decisionlogentry"),
        "risks": cycle.stage != Stage.APPROVED and user.has_perm("reconciliation.change_risk"),
        "submit": cycle.stage == Stage.RECONCILIATION
        and user.has_perm("sop.submit_reconciliation"),
    }


def _rows(views: list[selectors.ScenarioView]) -> list[dict]:
    """The scenario list: each scenario with its changes in words and headline figures."""
    rows = []
    for view in views:
        kpis = view.run.kpis if view.run else {}
        rows.append(
            {
                "view": view,
                "scenario": view.scenario,
                "changes": _changes(view.scenario),
                "kpis": [(label, kpis.get(key), kind) for key, label, kind in ROW_KPIS],
            }
        )
    return rows


def _changes(scenario: Scenario) -> list[str]:
    try:
        return selectors.deltas_describe(scenario.deltas)
    except ValueError as exc:  # a delta stored by an older version of the engine
        return [f"Unreadable change: {exc}"]


def _selected(views: list[selectors.ScenarioView], params: QueryDict):
    pk = params.get("scenario", "")
    chosen = next((v for v in views if str(v.scenario.pk) == pk), None)
    chosen = chosen or next((v for v in views if v.scenario.recommended), None)
    return chosen or (views[0] if views else None)


def _gaps(run: ScenarioRun) -> selectors.GapTable:
    gap = selectors.gap_table(run=run)
    for family in gap.families:
        cells = {m["month"]: m for m in family["months"]}
        family["cells"] = [cells.get(month) for month in gap.months]
    return gap


def _review_context(
    request: HttpRequest,
    cycle: Cycle,
    params: QueryDict,
    *,
    bound: dict[str, Any] | None = None,
) -> dict:
    """Everything the review page shows; `bound` holds forms refused with the user's input."""
    bound = bound or {}
    views = selectors.scenario_views(cycle=cycle)
    selected = _selected(views, params)
    scenarios = [v.scenario for v in views]
    can = _permissions(request, cycle)
    scenario = selected.scenario if selected else None
    context: dict[str, Any] = {
        "cycle": cycle,
        "cycles": Cycle.objects.all()[:24],
        "selected": selected,
        **_list_context(cycle, views),
        "has_base": any(s.is_base for s in scenarios),
        "can": can,
        "decisions": selectors.decisions(cycle=cycle),
        "risks": [
            (risk, bound.get("risk") if bound.get("risk_pk") == risk.pk else RiskForm.of(risk))
            for risk in selectors.risks(cycle=cycle)
        ],
        "risk_form": bound.get("risk")
        if bound.get("risk_pk") is None and bound.get("risk")
        else RiskForm(prefix="risk"),
        "gate": selectors.reconciliation_gate(cycle) if can["submit"] else None,
        "send_back": send_back_open(cycle),
        "create_form": bound.get("create") or ScenarioForm(),
        "decision_form": bound.get("decision")
        or DecisionForm(scenarios=scenarios, initial={"scenario": scenario and scenario.pk}),
        "errors": bound.get("errors", []),
        "skus": Product.objects.values_list("sku", flat=True) if can["change"] else [],
    }
    if scenario is not None:
        context.update(
            copy_form=bound.get("copy") or CopyForm(initial={"name": f"{scenario.name} (copy)"}),
            rename_form=bound.get("rename")
            or RenameForm(
                initial={
                    "name": scenario.name,
                    "description": scenario.description,
                    "version": scenario.version,
                }
            ),
            recommend_form=bound.get("recommend") or RecommendForm(),
            delta_forms=[
                bound.get(kind) or form(cycle=cycle, initial={"version": scenario.version})
                for kind, form in DELTA_FORMS.items()
            ],
            open_delta=bound.get("open_delta", ""),
            changes=list(enumerate(_changes(scenario))),
        )
    run = selected.run if selected else None
    if run is not None:
        monthly = selectors.monthly_totals(run=run)
        context.update(
            run=run,
            gap=_gaps(run),
            financial=selectors.financial_table(run=run),
            revenue_json=charts.revenue_chart(
                [(scenario.name, monthly)], title="Revenue against budget by month"
            )
            if not monthly.empty
            else "",
        )
    return context


def _refused(
    request: HttpRequest,
    cycle: Cycle,
    status: int,
    errors: list[str],
    *,
    scenario: int | None = None,
    **bound: Any,
) -> HttpResponse:
    """The review page again, saying why the write was refused, with the input kept.

    After a conflict the kept input carries the scenario's new version: the page now shows
    what the other person changed, so sending the input again is a decision, not a blind
    overwrite.
    """
    if status == 409 and bound.get("risk_pk"):
        # A risk changed by someone else: resending is now a decision over their change.
        risk = Risk.objects.filter(pk=bound["risk_pk"]).first()
        if risk is not None:
            form = bound["risk"]
            form.data = form.data.copy()
            form.data[form.add_prefix("version")] = str(risk.version)
    if status == 409 and scenario:
        version = str(Scenario.objects.get(pk=scenario).version)
        for form in bound.values():
            if isinstance(form, forms.Form) and "version" in form.fields:
                data = form.data.copy()
                data[form.add_prefix("version")] = version
                form.data = data
    params = QueryDict(mutable=True)
    params["cycle"] = str(cycle.pk)
    if scenario:
        params["scenario"] = str(scenario)
    context = _review_context(request, cycle, params, bound={**bound, "errors": errors})
    return render(request, "reconciliation/review.html", context, status=status)


_REFUSALS = (EditConflict, ValidationError, ValueError)


# --- pages --------------------------------------------------------------------------------


@require_GET
@cycle_page("reconciliation/review.html")
def review(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    return render(
        request, "reconciliation/review.html", _review_context(request, cycle, request.GET)
    )


def _list_context(cycle: Cycle, views: list[selectors.ScenarioView]) -> dict:
    """What the scenario list (and its polling) needs."""
    latest = [v.latest.pk for v in views if v.latest is not None]
    return {
        "rows": _rows(views),
        "active": any(v.active for v in views),
        "last_run": max(latest, default=0),
        "poll_idle": cycle.stage in services.EDITABLE_STAGES,
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
    }


@require_GET
def scenarios_status(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """The scenario list, polled by the page: every second while a run is active, else slowly.

    The slow poll is how a run started by someone else shows up: when the newest run is
    not the one the page knows (`seen`), the list comes back with its status. When a run
    the page watched has finished, the page reloads to show the new figures; a change
    nobody on the page asked for only refreshes the list, so no half-typed form is lost.
    """
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    views = selectors.scenario_views(cycle=cycle)
    selected = _selected(views, request.GET)
    context = {
        "cycle": cycle,
        "selected": selected,
        "can": _permissions(request, cycle),
        **_list_context(cycle, views),
    }
    seen = request.GET.get("seen", "")
    changed = not seen.isdigit() or int(seen) != context["last_run"]
    watched = request.GET.get("active") == "1"
    if request.headers.get("HX-Request") and not context["active"]:
        if watched:
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        if not changed:
            return HttpResponse(status=204)  # nothing new: htmx leaves the list as it is
    return render(request, "reconciliation/partials/scenarios.html", context)


# One scenario run's status and progress, polling itself while active: a fragment any page
# can embed (`hx-get` it with `hx-trigger="load"`); served by the core's run_status view.
RUN_PANEL = RunPanel(
    template="reconciliation/partials/run_status.html",
    context=lambda request, run: {"run": run},
    reload_on_publish=False,
)


@require_GET
def sku_gaps(request: HttpRequest, run_pk: int) -> HttpResponse:
    """The SKU-locations behind a family's gap (htmx)."""
    run = get_object_or_404(ScenarioRun, pk=run_pk)
    family = request.GET.get("family", "")
    rows = selectors.sku_gaps(run=run, family=family) if family else []
    return render(
        request,
        "reconciliation/partials/sku_gaps.html",
        {"run": run, "family": family, "rows": rows},
    )


@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The selected scenario's financial plan (or gap table) as CSV or XLSX."""
    cycle = cycle_from_query(request.GET)
    table = request.GET.get("table", "financial")
    views = selectors.scenario_views(cycle=cycle) if cycle else []
    selected = _selected(views, request.GET)
    run = selected.run if selected else None
    if run is None or table not in EXPORT_TABLES:
        return HttpResponse("Choose a cycle and a computed scenario.", status=400)
    if table == "financial":
        header = list(FINANCIAL_COLUMNS)
        kinds = [FINANCIAL_KINDS.get(key) for key in header]
        rows = [[row[key] for key in header] for row in selectors.financial_rows(run=run)]
    else:
        header = ["family", "month", "demand", "unmet", "unmet_revenue"]
        kinds = [None, None, "units", "units", "money"]
        rows = [
            [family["family"], m["month"], m["demand"], m["unmet_units"], m["unmet_revenue"]]
            for family in selectors.gap_table(run=run).families
            for m in family["months"]
        ]
    scenario = selected.scenario
    return table_response(
        name=f"reconciliation-{cycle.month:%Y-%m}-{scenario.name}-{table}",
        fmt=fmt,
        header=header,
        rows=rows,
        sheet_title=f"{table.title()} {scenario.name}",
        caption=[str(cycle), scenario.name, f"scenario run {run.pk}"],
        kinds=kinds,
    )


def _comparison(cycle: Cycle, params: QueryDict) -> dict[str, Any]:
    """The scenarios picked with `s=` (base first), checked: 2 to 4, and which have figures."""
    views = selectors.scenario_views(cycle=cycle)
    if "s" in params:
        wanted = {pk for pk in params.getlist("s") if pk.isdigit()}
        chosen = [v for v in views if str(v.scenario.pk) in wanted]
    else:
        # Arriving from a link: the base, the recommended one, then the newest what-ifs.
        ranked = sorted(
            (v for v in views if v.run is not None),
            key=lambda v: (not v.scenario.is_base, not v.scenario.recommended, -v.scenario.pk),
        )
        picked = {v.scenario.pk for v in ranked[:COMPARE_MAX]}
        chosen = [v for v in views if v.scenario.pk in picked]
    computed = [v for v in chosen if v.run is not None]
    errors = []
    too_few_computed = "s" not in params and len(chosen) < COMPARE_MIN
    if "s" in params and not COMPARE_MIN <= len(chosen) <= COMPARE_MAX:
        errors.append(
            f"Choose between {COMPARE_MIN} and {COMPARE_MAX} scenarios to compare "
            f"({len(chosen)} chosen)."
        )
    warnings = [
        f"{v.scenario.name} is not computed yet: run it to compare it."
        for v in chosen
        if v.run is None
    ] + [
        f"{v.scenario.name} is out of date: {'; '.join(v.stale_reasons)}."
        for v in computed
        if v.stale_reasons
    ]
    if too_few_computed:
        warnings.append(f"Compute at least {COMPARE_MIN} scenarios to compare them.")
    ok = not errors and len(computed) >= COMPARE_MIN
    return {
        "cycle": cycle,
        "views": views,
        "chosen": chosen,
        "computed": computed,
        "errors": errors,
        "warnings": warnings,
        "rows": selectors.comparison(computed) if ok else [],
        "query": urlencode([("cycle", cycle.pk), *(("s", v.scenario.pk) for v in chosen)]),
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
    }


@require_GET
@cycle_page("reconciliation/compare.html")
def compare(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """Two to four scenarios side by side: KPIs (diff against the first) and charts."""
    context = _comparison(cycle, request.GET)
    if context["errors"]:
        return render(request, "reconciliation/compare.html", context, status=400)
    if not context["rows"]:
        return render(request, "reconciliation/compare.html", context)
    computed = context["computed"]
    context["described"] = [(v, _changes(v.scenario)) for v in computed]
    context["legend"] = selectors.kpi_legend()
    context["sources"] = selectors.source_comparison(computed)
    monthly = [(v.scenario.name, selectors.monthly_totals(run=v.run)) for v in computed]
    loads = [(v.scenario.name, selectors.resource_loads(run=v.run)) for v in computed]
    context.update(
        revenue_json=charts.revenue_chart(monthly, title="Revenue against budget by month"),
        inventory_json=charts.inventory_chart(monthly),
        capacity_json=charts.capacity_chart(loads) if any(not f.empty for _, f in loads) else "",
    )
    return render(request, "reconciliation/compare.html", context)


@require_GET
def compare_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The KPI table of the comparison: per scenario its value and difference."""
    cycle = cycle_from_query(request.GET)
    context = _comparison(cycle, request.GET) if cycle else None
    if context is None or not context["rows"]:
        message = " ".join(context["errors"]) if context else "Choose a cycle."
        return HttpResponse(message or "Run the scenarios to compare them first.", status=400)
    names = [v.scenario.name for v in context["computed"]]
    # Each row is one KPI of its own kind: its unit goes in a column, its figures are rounded
    # by the rule (a fraction in %, its difference in points).
    header = ["kpi", "unit", *(f"{name} {part}" for name in names for part in ("value", "diff"))]
    rows = [
        [
            row["label"],
            {"pct": "%", "fraction": "%"}.get(row["format"], unit_label(row["format"])),
            *(
                export_number(c[part], row["format"])
                for c in row["cells"]
                for part in ("value", "diff")
            ),
        ]
        for row in context["rows"]
    ]
    return table_response(
        name=f"reconciliation-{cycle.month:%Y-%m}-comparison",
        fmt=fmt,
        header=header,
        rows=rows,
        sheet_title="Comparison",
        caption=[str(cycle), f"differences against {names[0]}"],
    )


# --- writes -------------------------------------------------------------------------------


def _scenario(pk: int) -> Scenario:
    return get_object_or_404(Scenario.objects.select_related("cycle"), pk=pk)


def _submit(
    request: HttpRequest,
    cycle: Cycle,
    form: forms.Form | None,
    write: Callable[[dict[str, Any]], tuple[str, str]],
    **bound: Any,
) -> HttpResponse:
    """The one way a write answers: `write(cleaned data)` saves and returns its message and
    where to go next; an invalid form or a refusal renders the page again (`_refused`),
    with `bound` (the forms to keep, the scenario) as it was."""
    if form is not None and not form.is_valid():
        return _refused(request, cycle, 400, form_errors(form), **bound)
    try:
        message, url = write(form.cleaned_data if form is not None else {})
    except _REFUSALS as exc:
        status, errors = edit_refusal(exc)
        return _refused(request, cycle, status, errors, **bound)
    messages.success(request, message)
    return redirect(url)


@require_POST
def scenario_create(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    form = ScenarioForm(request.POST)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        scenario = services.scenario_create(
            cycle=cycle, name=data["name"], description=data["description"], user=request.user
        )
        message = f"Scenario {scenario.name} created: add its changes, then run it."
        return message, _url(cycle, scenario.pk, "#editor")

    return _submit(request, cycle, form, write, create=form)


@require_POST
def base_run(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Compute the base plan of a cycle that has none yet (it is made on entering the stage)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        run = services.scenario_base_run_start(cycle=cycle, user=request.user)
        return f"{run.scenario.name}: run {run.pk} started.", _url(cycle, run.scenario_id)

    return _submit(request, cycle, None, write)


@require_POST
def scenario_run(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(pk)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        run = services.scenario_run_start(scenario=scenario, user=request.user)
        return f"{scenario.name}: run {run.pk} started.", _url(scenario.cycle, pk)

    return _submit(request, scenario.cycle, None, write, scenario=pk)


@require_POST
def scenario_copy(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(pk)
    form = CopyForm(request.POST)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        copy = services.scenario_copy(scenario=scenario, name=data["name"], user=request.user)
        return f"{scenario.name} copied into {copy.name}.", _url(scenario.cycle, copy.pk, "#editor")

    return _submit(request, scenario.cycle, form, write, scenario=pk, copy=form)


@require_POST
def scenario_rename(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(pk)
    form = RenameForm(request.POST)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.scenario_rename(
            scenario=scenario,
            name=data["name"],
            description=data["description"],
            version=data["version"],
            user=request.user,
        )
        return f"Scenario renamed to {data['name']}.", _url(scenario.cycle, pk, "#editor")

    return _submit(request, scenario.cycle, form, write, scenario=pk, rename=form)


@require_POST
def scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(pk)
    if request.POST.get("confirm") != "yes":
        return _refused(request, scenario.cycle, 400, ["Tick the box to confirm the delete."])

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.scenario_delete(scenario=scenario, version=data["version"], user=request.user)
        return f"Scenario {scenario.name} deleted.", _url(scenario.cycle)

    return _submit(request, scenario.cycle, VersionForm(request.POST), write, scenario=pk)


@require_POST
def scenario_recommend(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario(pk)
    form = RecommendForm(request.POST)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.scenario_recommend(scenario=scenario, user=request.user, comment=data["comment"])
        return f"{scenario.name} is now the recommended scenario.", _url(scenario.cycle, pk)

    return _submit(request, scenario.cycle, form, write, scenario=pk, recommend=form)


@require_POST
def delta_add(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    scenario = _scenario(pk)
    form_class = DELTA_FORMS.get(kind)
    if form_class is None:
        return HttpResponse(f"Unknown kind of change {kind!r}.", status=404)
    form = form_class(request.POST, cycle=scenario.cycle)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.scenario_delta_add(
            scenario=scenario, delta=form.delta(), version=data["version"], user=request.user
        )
        message = f"{form_class.label} change added to {scenario.name}: run it."
        return message, _url(scenario.cycle, pk, "#editor")

    return _submit(
        request, scenario.cycle, form, write, scenario=pk, open_delta=kind, **{kind: form}
    )


@require_POST
def delta_remove(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    scenario = _scenario(pk)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        services.scenario_delta_remove(
            scenario=scenario, index=index, version=data["version"], user=request.user
        )
        message = f"Change {index + 1} removed from {scenario.name}: run it again."
        return message, _url(scenario.cycle, pk, "#editor")

    return _submit(request, scenario.cycle, VersionForm(request.POST), write, scenario=pk)


@require_POST
def risk_save(request: HttpRequest, cycle_pk: int, pk: int | None = None) -> HttpResponse:
    """Add a risk to the cycle's register, or change one at the version the user saw."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    risk = get_object_or_404(Risk, pk=pk, cycle=cycle) if pk is not None else None
    form = RiskForm(request.POST, prefix=f"risk{pk}" if pk else "risk")

    def write(data: dict[str, Any]) -> tuple[str, str]:
        saved = services.risk_save(
            cycle=cycle,
            user=request.user,
            risk=risk,
            version=data["version"],
            **{k: data[k] for k in ("title", "owner", "due", "probability", "impact", "status")},
            note=data["note"],
        )
        verb = "added to" if risk is None else "saved in"
        return f"Risk {saved.title!r} {verb} the register.", _url(cycle, anchor="#risks")

    return _submit(request, cycle, form, write, risk=form, risk_pk=pk)


@require_POST
def decision_add(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    scenarios = list(Scenario.objects.filter(cycle=cycle))
    form = DecisionForm(request.POST, scenarios=scenarios)

    def write(data: dict[str, Any]) -> tuple[str, str]:
        scenario = next((s for s in scenarios if s.pk == data["scenario"]), None)
        entry = services.decision_add(
            cycle=cycle, text=data["text"], kind=data["kind"], scenario=scenario, user=request.user
        )
        url = _url(cycle, scenario.pk if scenario else None, "#decisions")
        return f"{entry.get_kind_display()} added to the log.", url

    return _submit(request, cycle, form, write, decision=form)
