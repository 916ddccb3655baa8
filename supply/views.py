"""The supply review page, its htmx partials, supply run controls and exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from sop.choices import AbcClass
from sop.exports import XLSX_TYPE, safe_filename, table_response
from sop.formatting import format_day, format_moment, format_number
from sop.forms import PlannerEditForm
from sop.models import Cycle, Location, Product, Resource
from sop.run_views import RunPanel
from sop.selectors import product_families
from sop.views import cell_save, cycle_from_query, cycle_page
from supply import charts, roundtrip, selectors, services
from supply.choices import CapacityReason, ExceptionFilter, GridLayer, GridSort, SupplyReason
from supply.constants import (
    MISSED_LINES_ROWS,
    OVERLOAD_BADGES,
    PERFORMANCE_WINDOWS,
    SHORT_LIST_ROWS,
)
from supply.forms import CapacityForm, PlannedSupplyForm
from supply.models import SupplyRun

FILTER_PARAMS = ("family", "abc", "exception")
EXPORT_TABLES = ("plan", "targets", "capacity", "shortages", "excess")


def _filters(params: QueryDict) -> selectors.Filters:
    return selectors.Filters(**{k: params.get(k, "") for k in FILTER_PARAMS})


def _month(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value).replace(day=1)
    except ValueError:
        return None


def _plan_context(
    request: HttpRequest,
    cycle: Cycle,
    run: SupplyRun | None,
    params: QueryDict,
    *,
    pending: dict | None = None,
) -> dict:
    """Everything under #plan: the SKU list and grid, capacity, lists, history."""
    filters = _filters(params)
    context: dict = {
        "cycle": cycle,
        "run": run,
        "filters": filters,
        "editable": selectors.plan_is_editable(cycle=cycle, user=request.user),
        "capacity_editable": selectors.capacity_is_editable(cycle=cycle, user=request.user),
        "supply_reasons": SupplyReason.choices,
        "capacity_reasons": CapacityReason.choices,
        "history": selectors.edit_history(cycle=cycle),
        "capacity_gaps": selectors.capacity_gap_warning(cycle=cycle),
        "odd_sources": selectors.odd_source_list(),
        "filter_query": urlencode({k: params[k] for k in FILTER_PARAMS if params.get(k)}),
    }
    if run is None:
        return context
    skus = selectors.sku_list(run=run, filters=filters)
    product = location = None
    if params.get("sku", "").isdigit() and params.get("location", "").isdigit():
        product = get_object_or_404(Product, pk=params["sku"])
        location = get_object_or_404(Location, pk=params["location"])
    elif skus:
        product = Product.objects.get(pk=skus[0]["product"])
        location = Location.objects.get(pk=skus[0]["location"])
    heatmap = selectors.capacity_heatmap(run=run)
    context.update(
        skus=skus,
        summary=selectors.plan_summary(run=run),
        heatmap=heatmap,
        heatmap_json=charts.heatmap_chart(heatmap) if heatmap.resources else "",
        **_short_lists(heatmap, run),
    )
    if product is not None:
        context.update(_card_context(cycle, run, product, location, pending or {}))
    resource_pk, month = params.get("resource", ""), _month(params.get("month", ""))
    if resource_pk.isdigit() and month is not None:
        context.update(
            _drill_context(cycle, run, get_object_or_404(Resource, pk=resource_pk), month)
        )
    return context


def _card_context(
    cycle: Cycle, run: SupplyRun, product: Product, location: Location, pending: dict
) -> dict:
    """The SKU card of #plan: the grid of one SKU-location, and whether it is being recomputed."""
    grid = selectors.sku_grid(run=run, product=product, location=location)
    label = f"{product.sku} {product.name} @ {location.code}"
    return {
        "grid": grid,
        "columns": _columns(grid, pending),
        "selection_label": label,
        "selection_query": f"sku={product.pk}&location={location.pk}",
        "chart_json": charts.sku_chart(grid, title=label),
        "recomputing": selectors.recompute_pending(cycle=cycle, product=product),
    }


def _short_lists(heatmap: selectors.Heatmap, run: SupplyRun) -> dict:
    """The worst overloads, shortages and excess of the plan, with how many there are."""
    overloads = sorted(heatmap.overloads(), key=lambda o: -(o["pct"] or float("inf")))
    shortages = selectors.shortage_list(run=run, limit=None)
    excess = selectors.excess_list(run=run, limit=None)
    end_of_life = selectors.end_of_life_stock(run=run)
    return {
        "end_of_life": end_of_life.rows[:SHORT_LIST_ROWS],
        "end_of_life_count": len(end_of_life.rows),
        "end_of_life_value": end_of_life.total_value,
        "end_of_life_quantity": end_of_life.total_quantity,
        "overloads": overloads[:OVERLOAD_BADGES],
        "overload_count": len(overloads),
        "shortages": shortages[:SHORT_LIST_ROWS],
        "shortage_count": len(shortages),
        "excess": excess[:SHORT_LIST_ROWS],
        "excess_count": len(excess),
    }


def _columns(grid: selectors.SkuGrid, pending: dict) -> list[dict]:
    """One dict per month of the SKU grid, with the planned-supply cell's input."""
    columns = []
    for i, month in enumerate(grid.months):
        edit = grid.edits.get(month)
        key = month.isoformat()
        saved = f"{edit.quantity:f}".rstrip("0").rstrip(".") if edit else ""
        columns.append(
            {
                "month": month,
                "key": key,
                "values": {name: grid.rows[name][i] for name in grid.rows},
                # An edit is firm at once; the plan's rows follow its background recompute.
                "firm": grid.firm[i] or edit is not None,
                "edit": edit,
                "input": pending.get(key, saved),
                "saved": saved,
                "refused": key in pending,
            }
        )
    return columns


def _drill_context(cycle: Cycle, run: SupplyRun, resource: Resource, month: dt.date) -> dict:
    heatmap = selectors.capacity_heatmap(run=run)
    r = next((i for i, res in enumerate(heatmap.resources) if res.pk == resource.pk), None)
    c = heatmap.months.index(month) if month in heatmap.months else None
    cell = {}
    if r is not None and c is not None:
        cell = {
            "available": heatmap.available[r, c],
            "base": heatmap.base[r, c],
            "load": heatmap.load[r, c],
            "load_unconstrained": heatmap.load_unconstrained[r, c],
            "utilisation": heatmap.utilisation[r, c],
        }
    return {
        "drill_resource": resource,
        "drill_month": month,
        "drill_cell": cell,
        "drill_rows": selectors.capacity_drill(run=run, resource=resource, month=month),
        "drill_adjustment": heatmap.adjustments.get((resource.pk, month)),
    }


@require_GET
@cycle_page("supply/review.html")
def review(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    run = selectors.supply_run_published(cycle=cycle)
    context = {
        "cycles": Cycle.objects.all()[:24],
        "families": product_families(),
        "abc_choices": AbcClass.choices,
        "exception_choices": ExceptionFilter.choices,
        "latest": selectors.supply_run_latest(cycle=cycle),
        "published": run,
        "demand_changed": selectors.demand_changed_since(cycle=cycle, run=run),
        "can_run": _can_run(request, cycle),
        "horizon": cycle.horizon,
        **_plan_context(request, cycle, run, request.GET),
    }
    service = selectors.customer_service(cycle=cycle)
    context["customer_service"] = service
    context["customer_chart"] = "" if service.basis else charts.customer_otif_chart(service)
    return render(request, "supply/review.html", context)


def _can_run(request: HttpRequest, cycle: Cycle) -> bool:
    return request.user.has_perm("supply.run_supply") and cycle.stage in services.RUNNABLE_STAGES


def _cell_save(
    request: HttpRequest,
    cycle_pk: int,
    form: PlannerEditForm,
    typed: dict,
    save: Callable[[Cycle], str],
) -> HttpResponse:
    """A cell of #plan saved by `save(cycle)`; #plan comes back recomputed."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        run = selectors.supply_run_published(cycle=cycle)
        context = _plan_context(request, cycle, run, request.POST, pending=pending)
        context.update(message=message, message_level=level)
        return render(request, "supply/partials/plan.html", context, status=status)

    return cell_save(form, typed, lambda: save(cycle), respond)


@require_POST
def planned_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Fix one planned-supply cell; #plan comes back recomputed (htmx)."""

    form = PlannedSupplyForm(request.POST)

    def save(cycle: Cycle) -> str:
        data = form.cleaned_data
        product = get_object_or_404(Product, pk=data["product"])
        location = get_object_or_404(Location, pk=data["location"])
        services.planned_supply_save(
            cycle=cycle,
            user=request.user,
            product=product,
            location=location,
            quantity=data["quantity"],
            **form.edit_fields(),
            **form.confirmation(),
        )
        what = "released to the engine" if data["quantity"] is None else "fixed"
        return f"{product.sku} @ {location.code} {data['month']:%b %Y} {what}: the plan is updated."

    typed = {request.POST.get("month", ""): request.POST.get("quantity", "")}
    cycle = get_object_or_404(Cycle, pk=cycle_pk)

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        context = _sku_card(request, cycle, request.POST, pending)
        context.update(message=message, message_level=level)
        if status == 200 and context.get("recomputing") is False:
            # Recomputed already (no background threads: tests, scripts): the whole plan.
            return _whole_plan(request, cycle, request.POST, message=message)
        return render(request, "supply/partials/sku_card.html", context, status=status)

    # The card only: the rest of #plan follows the background recompute (sku_card polls).
    return cell_save(form, typed, lambda: save(cycle), respond)


def _whole_plan(request: HttpRequest, cycle: Cycle, params: QueryDict, **extra) -> HttpResponse:
    """#plan in place of the SKU card that asked (htmx retargets the swap)."""
    run = selectors.supply_run_published(cycle=cycle)
    context = _plan_context(request, cycle, run, params)
    if extra.get("message"):
        # Said once, on the SKU card's message line beside the cell.
        context.update(message_level="success", cell_message=True, **extra)
    response = render(request, "supply/partials/plan.html", context)
    response["HX-Retarget"] = "#plan"
    response["HX-Reswap"] = "innerHTML"
    return response


def _sku_card(request: HttpRequest, cycle: Cycle, params: QueryDict, pending: dict) -> dict:
    run = selectors.supply_run_published(cycle=cycle)
    product = get_object_or_404(Product, pk=params.get("sku") or params.get("product"))
    location = get_object_or_404(Location, pk=params.get("location"))
    context = {
        "cycle": cycle,
        "run": run,
        "filter_query": urlencode({k: params[k] for k in FILTER_PARAMS if params.get(k)}),
        "editable": selectors.plan_is_editable(cycle=cycle, user=request.user),
        "supply_reasons": SupplyReason.choices,
    }
    if run is not None:
        context.update(_card_context(cycle, run, product, location, pending))
    return context


@require_GET
def sku_card(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """The SKU card while its recompute runs (polled); once done, the whole #plan again."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    context = _sku_card(request, cycle, request.GET, {})
    if context.get("recomputing") is False:
        return _whole_plan(request, cycle, request.GET)
    return render(request, "supply/partials/sku_card.html", context)


def _grid_cells(row: selectors.PlanRow, months: list, pending: dict) -> list[dict]:
    """One dict per month of a supply-grid row, with its planned-supply input."""
    cells = []
    for month, value in zip(months, row.values, strict=True):
        edit = row.edits.get(month)
        key = month.isoformat()
        cells.append(
            {
                "key": key,
                "month": month,
                # Formatted here once: a page of the grid has a thousand cells.
                "text": "" if value is None else format_number(value, "units", labelled=False),
                "edit": edit,
                "input": pending.get(
                    key, f"{edit.quantity:f}".rstrip("0").rstrip(".") if edit else ""
                ),
                "refused": key in pending,
            }
        )
    return cells


def _grid_editable(request: HttpRequest, cycle: Cycle, layer: str) -> bool:
    return layer == GridLayer.PLANNED and selectors.plan_is_editable(cycle=cycle, user=request.user)


@require_GET
@cycle_page("supply/grid.html")
def grid(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """The published plan's SKU-locations as rows (by family or resource), months as columns."""
    params = request.GET
    layer = params.get("layer", "")
    layer = layer if layer in GridLayer.values else GridLayer.PLANNED
    sort = params.get("sort", "")
    page = params.get("page", "")
    resource = params.get("resource", "")
    filters = selectors.Filters(
        family=params.get("family", ""),
        abc=params.get("abc", ""),
        exception=params.get("exception", ""),
        resource=resource if resource.isdigit() else "",
    )
    run = selectors.supply_run_published(cycle=cycle)
    plan = None
    rows = []
    if run is not None:
        plan = selectors.plan_grid(
            run=run,
            layer=layer,
            sort=sort,
            filters=filters,
            page=int(page) if page.isdigit() else 1,
        )
        rows = [{"row": r, "cells": _grid_cells(r, plan.months, {})} for r in plan.rows]
    state = {"cycle": cycle.pk, "layer": layer, "sort": sort, "family": filters.family}
    state.update(resource=filters.resource, abc=filters.abc, exception=filters.exception)
    context = {
        "cycle": cycle,
        "run": run,
        "plan": plan,
        "rows": rows,
        "layer": layer,
        "filters": filters,
        "query": urlencode({k: v for k, v in state.items() if v}),
        "families": product_families(),
        "resources": Resource.objects.order_by("code").values_list("pk", "code"),
        "layer_choices": GridLayer.choices,
        "sort_choices": GridSort.choices,
        "abc_choices": AbcClass.choices,
        "exception_choices": ExceptionFilter.choices,
        "editable": _grid_editable(request, cycle, layer),
        "save_url": reverse("supply:grid_planned_save", args=[cycle.pk]),
        "supply_reasons": SupplyReason.choices,
    }
    return render(request, "supply/grid.html", context)


@require_POST
def grid_planned_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Fix one planned-supply cell of the supply grid; its row comes back recomputed (htmx)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    form = PlannedSupplyForm(request.POST)
    product = get_object_or_404(Product, pk=request.POST.get("product", "0") or 0)
    location = get_object_or_404(Location, pk=request.POST.get("location", "0") or 0)

    def save() -> str:
        data = form.cleaned_data
        services.planned_supply_save(
            cycle=cycle,
            user=request.user,
            product=product,
            location=location,
            quantity=data["quantity"],
            **form.edit_fields(),
            **form.confirmation(),
        )
        what = "released to the engine" if data["quantity"] is None else "fixed"
        said = f"{product.sku} @ {location.code} {data['month']:%b %Y} {what}"
        if selectors.recompute_pending(cycle=cycle, product=product):
            return f"{said}: the plan is being recomputed; reload the grid for its new figures."
        return f"{said}: the plan is updated."

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        run = selectors.supply_run_published(cycle=cycle)
        row = None
        if run is not None:
            plan = selectors.plan_grid(
                run=run, layer=GridLayer.PLANNED, series=(product.pk, location.pk)
            )
            if plan.rows:
                row = plan.rows[0]
        context = {
            "cycle": cycle,
            "row": row,
            "cells": _grid_cells(row, plan.months, pending) if row else [],
            "layer": GridLayer.PLANNED,
            "editable": _grid_editable(request, cycle, GridLayer.PLANNED),
            "save_url": reverse("supply:grid_planned_save", args=[cycle.pk]),
            "message": message,
            "message_level": level,
        }
        return render(request, "supply/partials/grid_row.html", context, status=status)

    typed = {request.POST.get("month", ""): request.POST.get("quantity", "")}
    return cell_save(form, typed, save, respond)


@require_POST
def capacity_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Change one resource-month's hours; #plan comes back recomputed (htmx)."""

    form = CapacityForm(request.POST)

    def save(cycle: Cycle) -> str:
        data = form.cleaned_data
        resource = get_object_or_404(Resource, pk=data["resource"])
        services.capacity_adjustment_save(
            cycle=cycle,
            user=request.user,
            resource=resource,
            delta_hours=data["delta_hours"],
            **form.edit_fields(),
        )
        delta = data["delta_hours"]
        change = "reset to the imported hours" if delta is None else f"changed by {delta:+,.0f} h"
        return f"{resource.code} {data['month']:%b %Y} {change}: the plan is updated."

    return _cell_save(request, cycle_pk, form, {}, save)


@require_GET
def capacity_drill(request: HttpRequest, run_pk: int) -> HttpResponse:
    """The SKUs loading a resource in a month, and the form to change its hours (htmx)."""
    run = get_object_or_404(SupplyRun.objects.select_related("cycle"), pk=run_pk)
    resource_pk, month = request.GET.get("resource", ""), _month(request.GET.get("month", ""))
    if not resource_pk.isdigit() or month is None:
        return HttpResponse("Choose a resource and a month.", status=400)
    resource = get_object_or_404(Resource, pk=resource_pk)
    context = {
        "cycle": run.cycle,
        "run": run,
        "capacity_editable": selectors.capacity_is_editable(cycle=run.cycle, user=request.user),
        "capacity_reasons": CapacityReason.choices,
        **_drill_context(run.cycle, run, resource, month),
    }
    return render(request, "supply/partials/drill.html", context)


def _run_panel(request: HttpRequest, run: SupplyRun) -> dict:
    published = selectors.supply_run_published(cycle=run.cycle)
    return {
        "cycle": run.cycle,
        "latest": run,
        "published": published,
        "demand_changed": selectors.demand_changed_since(cycle=run.cycle, run=published),
        "can_run": _can_run(request, run.cycle),
    }


# The supply run's start and status views are the core's (sop.run_views), mounted in urls.py.
RUN_PANEL = RunPanel(
    template="supply/partials/run_panel.html",
    context=_run_panel,
    start=services.supply_run_start,
    page="supply:review",
)


@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """A table of the published plan as CSV or XLSX: plan, targets, capacity, shortages, excess."""
    cycle = cycle_from_query(request.GET)
    run = selectors.supply_run_published(cycle=cycle) if cycle else None
    table = request.GET.get("table", "plan")
    if run is None or table not in EXPORT_TABLES:
        return HttpResponse("Choose a cycle with a published supply plan.", status=400)
    return export_response(
        cycle=cycle, run=run, table=table, filters=_filters(request.GET), fmt=fmt
    )


@require_GET
def workbook(request: HttpRequest) -> HttpResponse:
    """The published plan's planned supply as a workbook to edit in Excel and upload back."""
    cycle = cycle_from_query(request.GET)
    run = selectors.supply_run_published(cycle=cycle) if cycle else None
    if run is None:
        return HttpResponse("Choose a cycle with a published supply plan.", status=400)
    filters = _filters(request.GET)
    data = roundtrip.workbook(cycle=cycle, run=run, filters=filters)
    response = HttpResponse(data, content_type=XLSX_TYPE)
    name = safe_filename(f"planned-supply-{cycle.month:%Y-%m}-{filters.family or 'all'}")
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def export_response(
    *, cycle: Cycle, run: SupplyRun, table: str, filters: selectors.Filters, fmt: str
) -> HttpResponse:
    """A table of the published plan as a CSV or XLSX download (the page's and the API's)."""
    header, rows = selectors.export_table(run=run, table=table, filters=filters)
    return table_response(
        name=f"supply-{cycle.month:%Y-%m}-{table}",
        fmt=fmt,
        header=header,
        rows=rows,
        sheet_title=f"Supply {table}",
        caption=[
            str(cycle),
            f"supply run {run.pk}",
            f"published {format_moment(run.published_at)}",
        ],
        kinds=[selectors.EXPORT_KINDS.get(name) for name in header],
    )


@require_GET
@cycle_page("supply/classification.html")
def classification(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """ABC/XYZ: the Pareto of revenue by SKU and the class matrix."""
    pareto = selectors.pareto(cycle=cycle)
    context = {
        "cycle": cycle,
        "pareto": pareto,
        "has_revenue": pareto.has_revenue,
        "chart_json": charts.pareto_chart(pareto) if pareto.has_revenue else "",
        "sku_count": len(pareto.skus),
        "top_count": pareto.top_count,
        "top_share": pareto.top_share,
        "matrix_rows": [
            (cls or "none", [pareto.matrix[cls][x] for x in ("X", "Y", "Z", "")])
            for cls in ("A", "B", "C", "")
        ],
    }
    return render(request, "supply/classification.html", context)


def _supplier_performance(params: QueryDict, **options) -> selectors.SupplierPerformance:
    """Supplier performance today over the ?months= window (3 unless 6 or 12), of the
    ?supplier= missed lines."""
    months = params.get("months", "")
    return selectors.supplier_performance(
        as_of=timezone.localdate(),
        window=int(months) if months in {str(w) for w in PERFORMANCE_WINDOWS} else 3,
        supplier=params.get("supplier", ""),
        tolerance=selectors.otif_tolerance(),
        **options,
    )


@require_GET
@cycle_page("supply/suppliers.html")
def suppliers(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """Supplier performance from goods receipts: OTIF trend, worst suppliers, lines missed."""
    measured = _supplier_performance(request.GET, missed_limit=MISSED_LINES_ROWS)
    context = {
        "cycle": cycle,
        "performance": measured,
        "windows": PERFORMANCE_WINDOWS,
        "chart_json": charts.otif_trend_chart(measured) if measured.trend else "",
    }
    return render(request, "supply/suppliers.html", context)


MISSED_EXPORT_COLUMNS = (
    ("order_ref", None),
    ("supplier", None),
    ("sku", None),
    ("location", None),
    ("order_date", None),
    ("promised_date", None),
    ("last_receipt", None),
    ("promised_quantity", "units"),
    ("received", "units"),
    ("days_late", "int"),
    ("quantity_short", "units"),
)


@require_GET
def suppliers_missed_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every order line that missed in the window, as CSV or XLSX (to chase the suppliers)."""
    measured = _supplier_performance(request.GET)
    return table_response(
        name=f"supplier-missed-lines-{measured.as_of:%Y-%m-%d}",
        fmt=fmt,
        header=[name for name, _ in MISSED_EXPORT_COLUMNS],
        rows=([line[name] for name, _ in MISSED_EXPORT_COLUMNS] for line in measured.missed),
        sheet_title="Missed order lines",
        caption=[
            f"Order lines not on time or not in full, last {measured.window} months",
            measured.supplier or "all suppliers",
            f"measured {format_day(measured.as_of)}",
        ],
        kinds=[kind for _, kind in MISSED_EXPORT_COLUMNS],
    )
