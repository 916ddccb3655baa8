"""The demand review page, its htmx partials, forecast run controls and exports."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from demand import charts, roundtrip, selectors, services
from demand.choices import ExceptionFilter, GridLayer, GridSort, Pattern, ReasonCode
from demand.forms import ConsensusSourceForm, OverrideForm, StreamEntryForm
from demand.models import ConsensusSource, ForecastRun, InputStream
from demand.services.streams import stream_can_write
from demand.streams import STATISTICAL
from sop import roundtrip_views
from sop.choices import AbcClass, JobStatus, Stage
from sop.exports import XLSX_TYPE, safe_filename, table_response
from sop.formatting import format_number
from sop.locking import EditConflict, edit_refusal
from sop.models import Cycle, Location, Product
from sop.run_views import RunPanel
from sop.selectors import cycle_current, event_marks, product_families
from sop.views import cell_save, cycle_from_query, cycle_page

SELECTION_PARAMS = ("family", "sku", "location")
FILTER_PARAMS = ("only_family", "abc", "pattern", "exception")


def _selection(params: QueryDict, tree: list[dict]) -> selectors.Selection | None:
    sku = params.get("sku", "")
    if sku.isdigit():
        product = get_object_or_404(Product, pk=sku)
        location = None
        if params.get("location", "").isdigit():
            location = get_object_or_404(Location, pk=params["location"])
        return selectors.Selection(family=product.family, product=product, location=location)
    if params.get("total") == "1":
        return selectors.Selection(family="")
    family = params.get("family", "")
    if family:
        return selectors.Selection(family=family)
    return selectors.Selection(family=tree[0]["family"]) if tree else None


def _query(selection: selectors.Selection, cycle: Cycle, **extra: str) -> str:
    params: dict = {"cycle": cycle.pk}
    if selection.is_total:
        params["total"] = "1"
    else:
        params["family"] = selection.family
    if selection.product is not None:
        params["sku"] = selection.product.pk
    if selection.location is not None:
        params["location"] = selection.location.pk
    params.update({k: v for k, v in extra.items() if v})
    return urlencode(params)


def _columns(grid: selectors.Grid, pending: dict) -> list[dict]:
    """One dict per grid month, with what the cells show (and a refused value kept)."""
    horizon = set(grid.horizon_months)
    columns = []
    for month in grid.months:
        override = grid.overrides.get(month)
        key = month.isoformat()
        columns.append(
            {
                "month": month,
                "key": key,
                "future": month in horizon,
                "actual": grid.actuals.get(month),
                "statistical": grid.statistical.get(month),
                "event_effect": grid.events.get(month),
                "consensus": grid.consensus.get(month),
                "last_plan": grid.last_plan.get(month),
                "effect": grid.override_effect.get(month),
                "override": override,
                "input": pending.get(key, override.display_value if override else ""),
                "saved": override.display_value if override else "",
                "refused": key in pending,
            }
        )
    return columns


def _selection_events(selection: selectors.Selection, months: list) -> dict:
    """The events calendar's marks on the selection's months (sop.selectors.event_marks)."""
    target = (
        selection.family,
        getattr(selection.product, "pk", None),
        getattr(selection.location, "pk", None),
    )
    return event_marks(months=months, targets=[target])[0]


def _with_events(columns: list[dict], events: dict) -> list[dict]:
    for column in columns:
        column["events"] = events.get(column["month"], [])
    return columns


def _mark_rows(family: str, months: list, rows: list[dict]) -> None:
    """Put the events of each family-grid row (a SKU at a location) on its cells."""
    targets = [(family, r["row"].product_id, r["row"].location_id) for r in rows]
    for row, marks in zip(rows, event_marks(months=months, targets=targets), strict=True):
        for cell in row["cells"]:
            cell["events"] = marks.get(cell["month"], [])


def _source_label(source: ConsensusSource | None, names: dict[str, str]) -> str:
    """The planner's source as the page names it: "Sales 100%" or "Statistical 50% + ..."."""
    if source is None:
        return "the statistical forecast"
    return " + ".join(f"{names.get(code, code)} {share}%" for code, share in source.weights.items())


def _source_code(source: ConsensusSource | None) -> str:
    """The option of the source form that matches the current choice."""
    if source is None:
        return STATISTICAL
    return next(iter(source.weights)) if len(source.weights) == 1 else "mix"


def _can_run(request: HttpRequest, cycle: Cycle) -> bool:
    return (
        request.user.has_perm("demand.run_forecast") and cycle.stage in services.FORECASTABLE_STAGES
    )


def _selection_context(
    request: HttpRequest, cycle: Cycle, selection: selectors.Selection, pending: dict | None = None
) -> dict:
    grid = selectors.review_grid(cycle=cycle, selection=selection)
    events = _selection_events(selection, grid.months)
    fva = selectors.stream_fva(cycle=cycle, scope=selection.q())
    horizon = set(grid.horizon_months)
    active = list(InputStream.objects.filter(active=True))
    source = selectors.consensus_source(cycle=cycle, selection=selection)
    names = {STATISTICAL: "Statistical", **{s.code: s.name for s in active}}
    locations = (
        selectors.product_locations(product=selection.product, cycle=cycle)
        if selection.product is not None
        else []
    )
    return {
        "cycle": cycle,
        "selection": selection,
        "query": _query(selection, cycle),
        "grid": grid,
        "columns": _with_events(_columns(grid, pending or {}), events),
        "events": events,
        "chart_json": charts.demand_chart(grid, title=selection.label, events=events),
        "history": selectors.override_history(cycle=cycle, selection=selection),
        "accuracy": selectors.accuracy_summary(cycle=cycle, selection=selection),
        "fva_legend": selectors.FVA_LEGEND,
        # The total is the sum of the families: read-only, its overrides are the families'.
        "editable": not selection.is_total
        and selectors.plan_is_editable(cycle=cycle, user=request.user),
        "can_run": _can_run(request, cycle),
        "reasons": ReasonCode.choices,
        "locations": locations,
        "stream_rows": [
            {
                "code": row.stream.code,
                "name": row.stream.name,
                "cells": [
                    {"future": m in horizon, "value": row.values.get(m)} for m in grid.months
                ],
            }
            for row in selectors.selection_streams(cycle=cycle, selection=selection)
        ],
        "writable_streams": [s for s in active if stream_can_write(stream=s, user=request.user)],
        "source": source,
        "source_label": _source_label(source, names),
        "source_code": _source_code(source),
        "source_choices": list(names.items()),
        "can_choose_source": not selection.is_total
        and cycle.stage == Stage.DEMAND_REVIEW
        and request.user.has_perm("demand.change_consensussource"),
        "stream_fva": fva,
        "fva_chart": charts.fva_waterfall(fva) if fva.steps else "",
        "badges": selectors.selection_badges(cycle=cycle, selection=selection),
    }


@require_GET
@cycle_page("demand/review.html")
def review(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    filters = selectors.Filters(
        family=request.GET.get("only_family", ""),
        abc=request.GET.get("abc", ""),
        pattern=request.GET.get("pattern", ""),
        exception=request.GET.get("exception", ""),
    )
    tree = selectors.review_tree(cycle=cycle, filters=filters)
    selection = _selection(request.GET, tree)
    context = {
        "cycle": cycle,
        "cycles": Cycle.objects.all()[:24],
        "current_cycle_pk": getattr(cycle_current(), "pk", None),
        "tree": tree,
        "filters": filters,
        "filter_query": urlencode({k: request.GET[k] for k in FILTER_PARAMS if request.GET.get(k)}),
        "family_choices": product_families(active_only=True),
        "abc_choices": AbcClass.choices,
        "pattern_choices": Pattern.choices,
        "exception_choices": ExceptionFilter.choices,
        "run": selectors.forecast_run_latest(cycle=cycle),
        "published": selectors.forecast_run_published(cycle=cycle),
    }
    if selection is not None:
        context.update(_selection_context(request, cycle, selection))
    else:
        context["can_run"] = request.user.has_perm("demand.run_forecast")
    return render(request, "demand/review.html", context)


def _grid_params(params: QueryDict) -> dict:
    """The family grid's layer, sort, filters and page as the query names them."""
    layer = params.get("layer", "")
    sort = params.get("sort", "")
    page = params.get("page", "")
    return {
        "layer": layer if layer in GridLayer.values else GridLayer.CONSENSUS,
        "sort": sort if sort in GridSort.values else GridSort.VOLUME,
        "filters": selectors.Filters(
            abc=params.get("abc", ""),
            pattern=params.get("pattern", ""),
            exception=params.get("exception", ""),
        ),
        "page": int(page) if page.isdigit() else 1,
    }


def _row_cells(row: selectors.SeriesRow, months: list, pending: dict) -> list[dict]:
    """One dict per month of a family-grid row, with its input (a refused value kept)."""
    cells = []
    for month, value in zip(months, row.values, strict=True):
        override = row.overrides.get(month)
        key = month.isoformat()
        cells.append(
            {
                "key": key,
                "month": month,
                # Formatted here once: a page of the grid has a thousand cells.
                "text": "" if value is None else format_number(value, "units", labelled=False),
                "override": override,
                "input": pending.get(key, override.display_value if override else ""),
                "refused": key in pending,
            }
        )
    return cells


def _grid_editable(
    request: HttpRequest, cycle: Cycle, layer: str, stream: InputStream | None = None
) -> bool:
    if layer == GridLayer.STREAM:
        return (
            stream is not None
            and cycle.stage == Stage.DEMAND_REVIEW
            and stream_can_write(stream=stream, user=request.user)
        )
    return layer == GridLayer.OVERRIDE and selectors.plan_is_editable(
        cycle=cycle, user=request.user
    )


def _grid_stream(request: HttpRequest, params: QueryDict) -> InputStream | None:
    """The stream the grid shows: the one asked for, else the first the user enters."""
    active = list(InputStream.objects.filter(active=True))
    asked = next((s for s in active if s.code == params.get("stream")), None)
    mine = next((s for s in active if stream_can_write(stream=s, user=request.user)), None)
    return asked or mine or (active[0] if active else None)


@require_GET
@cycle_page("demand/grid.html")
def grid(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """A family's SKU-locations as rows, months as columns: one layer, sorted and filtered."""
    families = product_families(active_only=True)
    family = request.GET.get("family", "")
    if family not in families:
        family = families[0] if families else ""
    params = _grid_params(request.GET)
    stream = _grid_stream(request, request.GET)
    if params["layer"] == GridLayer.STREAM and stream is None:
        params["layer"] = GridLayer.CONSENSUS
    series = (
        selectors.series_grid(cycle=cycle, family=family, stream=stream, **params)
        if family
        else None
    )
    rows = (
        [{"row": r, "cells": _row_cells(r, series.months, {})} for r in series.rows]
        if series
        else []
    )
    if series:
        _mark_rows(family, series.months, rows)
    state = {"cycle": cycle.pk, "family": family, "layer": params["layer"]}
    if params["layer"] == GridLayer.STREAM:
        state["stream"] = stream.code
    state.update(
        sort=params["sort"],
        abc=params["filters"].abc,
        pattern=params["filters"].pattern,
        exception=params["filters"].exception,
    )
    context = {
        "cycle": cycle,
        "family": family,
        "families": families,
        "series": series,
        "rows": rows,
        "params": params,
        "query": urlencode({k: v for k, v in state.items() if v}),
        "layer_choices": GridLayer.choices,
        "sort_choices": GridSort.choices,
        "abc_choices": AbcClass.choices,
        "pattern_choices": Pattern.choices,
        "exception_choices": ExceptionFilter.choices,
        "editable": _grid_editable(request, cycle, params["layer"], stream),
        "save_url": reverse(
            "demand:grid_stream_save"
            if params["layer"] == GridLayer.STREAM
            else "demand:grid_override_save",
            args=[cycle.pk],
        ),
        "reasons": ReasonCode.choices,
        "stream": stream,
        "stream_choices": InputStream.objects.filter(active=True),
        "stream_writable": stream is not None
        and stream_can_write(stream=stream, user=request.user),
    }
    return render(request, "demand/grid.html", context)


@dataclass
class _GridRow:
    """One SKU-location row of the family grid as a cell save sends it back (htmx)."""

    request: HttpRequest
    context: dict

    def answer(self, status: int, level: str, message: str) -> HttpResponse:
        context = {**self.context, "message": message, "message_level": level}
        return render(self.request, "demand/partials/grid_row.html", context, status=status)


def _grid_row(
    request: HttpRequest,
    cycle: Cycle,
    target: tuple[Product, Location],
    layer: str,
    pending: dict,
    *,
    stream: InputStream | None = None,
) -> _GridRow:
    """The row of `target` in `layer` (a stream's, when given), with the typed `pending`
    values and the events on its months."""
    product, location = target
    series = selectors.series_grid(
        cycle=cycle,
        family=product.family,
        layer=layer,
        series=(product.pk, location.pk),
        **({"stream": stream} if stream is not None else {}),
    )
    row = series.rows[0] if series.rows else None
    cells = _row_cells(row, series.months, pending) if row else []
    _mark_rows(product.family, series.months, [{"row": row, "cells": cells}] if row else [])
    save = "demand:grid_stream_save" if layer == GridLayer.STREAM else "demand:grid_override_save"
    return _GridRow(
        request,
        {
            "cycle": cycle,
            "series": series,
            "row": row,
            "cells": cells,
            "editable": _grid_editable(request, cycle, layer, stream),
            "layer": layer,
            "save_url": reverse(save, args=[cycle.pk]),
        },
    )


@require_POST
def grid_stream_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Save one cell of an input stream in the family grid; its row comes back (htmx)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    stream = get_object_or_404(InputStream, code=request.POST.get("stream", ""), active=True)
    product = get_object_or_404(Product, pk=request.POST.get("sku", "0") or 0)
    location = get_object_or_404(Location, pk=request.POST.get("location", "0") or 0)
    form = StreamEntryForm(request.POST)

    def save() -> str:
        services.stream_entry_save(
            cycle=cycle,
            stream=stream,
            user=request.user,
            product=product,
            location=location,
            **form.stream_fields(),
        )
        month = form.cleaned_data["month"]
        return f"Saved the {stream} input of {product.sku} @ {location.code} {month:%b %Y}."

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        return _grid_row(
            request, cycle, (product, location), GridLayer.STREAM, pending, stream=stream
        ).answer(status, level, message)

    typed = {request.POST.get("month", ""): request.POST.get("value", "")}
    return cell_save(form, typed, save, respond)


@require_POST
def consensus_source_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """The planner chooses the consensus source of the selected family or SKU."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    selection = _selection(request.POST, [])
    if selection is None or selection.is_total:
        return HttpResponse("Choose a family or SKU.", status=400)
    codes = [STATISTICAL, *InputStream.objects.filter(active=True).values_list("code", flat=True)]
    form = ConsensusSourceForm(request.POST, codes=codes)
    back = f"{reverse('demand:review')}?{_query(selection, cycle)}"
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return redirect(back)
    try:
        services.consensus_source_save(
            cycle=cycle,
            user=request.user,
            weights=form.weights(),
            reason=form.cleaned_data["reason"],
            comment=form.cleaned_data["comment"],
            family=selection.family,
            product=selection.product,
            expected_version=form.cleaned_data["version"],
        )
    except (EditConflict, ValidationError) as exc:
        for message in edit_refusal(exc)[1]:
            messages.error(request, message)
    else:
        messages.success(
            request, f"Consensus source of {selection.label} saved: the consensus is updated."
        )
    return redirect(back)


@require_POST
def grid_override_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Save one override cell of the family grid; its row comes back (htmx)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    product = get_object_or_404(Product, pk=request.POST.get("sku", "0") or 0)
    location = get_object_or_404(Location, pk=request.POST.get("location", "0") or 0)
    form = OverrideForm(request.POST)

    def save() -> str:
        kind, value = form.cleaned_data["value"]
        services.override_save(
            cycle=cycle,
            user=request.user,
            value=value,
            kind=kind,
            product=product,
            location=location,
            **form.edit_fields(),
            **form.confirmation(),
        )
        month = form.cleaned_data["month"]
        return f"Saved {product.sku} @ {location.code} {month:%b %Y}: the consensus is updated."

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        return _grid_row(request, cycle, (product, location), GridLayer.OVERRIDE, pending).answer(
            status, level, message
        )

    typed = {request.POST.get("month", ""): request.POST.get("value", "")}
    return cell_save(form, typed, save, respond)


@require_POST
def override_save(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Save one grid cell; the selection panel comes back re-rendered (htmx)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    selection = _selection(request.POST, [])
    if selection is None:
        return HttpResponse("Choose a family or SKU.", status=400)

    form = OverrideForm(request.POST)

    def save() -> str:
        kind, value = form.cleaned_data["value"]
        services.override_save(
            cycle=cycle,
            user=request.user,
            value=value,
            kind=kind,
            family=selection.family,
            product=selection.product,
            location=selection.location,
            **form.edit_fields(),
            **form.confirmation(),
        )
        return f"Saved {form.cleaned_data['month']:%b %Y}: the consensus is updated."

    def respond(status: int, level: str, message: str, pending: dict) -> HttpResponse:
        context = _selection_context(request, cycle, selection, pending=pending)
        context.update(message=message, message_level=level)
        return render(request, "demand/partials/selection.html", context, status=status)

    typed = {request.POST.get("month", ""): request.POST.get("value", "")}
    return cell_save(form, typed, save, respond)


@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ForecastRun.objects.select_related("cycle"), pk=pk)
    run = services.forecast_run_cancel(run=run, user=request.user)
    if run.status == JobStatus.CANCELLED:
        messages.info(request, f"Forecast run {run.pk} cancelled; the published forecast is kept.")
    else:
        messages.info(
            request, f"Forecast run {run.pk} had already {run.get_status_display().lower()}."
        )
    return redirect(_back(request, run.cycle))


def _run_panel(request: HttpRequest, run: ForecastRun) -> dict:
    return {
        "cycle": run.cycle,
        "run": run,
        "published": selectors.forecast_run_published(cycle=run.cycle),
        "can_run": _can_run(request, run.cycle),
    }


# The forecast run's start and status views are the core's (sop.run_views), mounted in urls.py.
RUN_PANEL = RunPanel(
    template="demand/partials/run_panel.html",
    context=_run_panel,
    start=services.forecast_run_start,
    page="demand:review",
)


@require_POST
def sku_reforecast(request: HttpRequest, cycle_pk: int, product_pk: int) -> HttpResponse:
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    product = get_object_or_404(Product, pk=product_pk)
    try:
        count = services.forecast_sku_refresh(cycle=cycle, product=product, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{product.sku} re-forecast ({count} locations).")
    return redirect(_back(request, cycle))


def _back(request: HttpRequest, cycle: Cycle) -> str:
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return back
    return f"{reverse('demand:review')}?cycle={cycle.pk}"


@require_GET
@cycle_page("demand/event_lift.html")
def event_lift(request: HttpRequest, cycle: Cycle) -> HttpResponse:
    """Past events: the lift planned beside the lift measured against the cleansed history."""
    rows, error = selectors.event_lifts(before=cycle.month)
    return render(request, "demand/event_lift.html", {"cycle": cycle, "rows": rows, "error": error})


@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The grid of the selection as CSV or XLSX: one row per row kind, one column per month."""
    cycle = cycle_from_query(request.GET)
    selection = _selection(request.GET, []) if cycle else None
    if cycle is None or selection is None:
        return HttpResponse("Choose a cycle and a family or SKU.", status=400)
    grid = selectors.review_grid(cycle=cycle, selection=selection)
    header = ["row (units)", *(m.isoformat() for m in grid.months)]
    override_row = ["Override"] + [
        grid.overrides[m].display_value if m in grid.overrides else "" for m in grid.months
    ]
    body = [[label, *(values.get(m) for m in grid.months)] for label, values in grid.rows()]
    body.insert(2, override_row)
    return table_response(
        name=f"demand-{cycle.month:%Y-%m}-total"
        if selection.is_total
        else f"demand-{cycle.month:%Y-%m}-{selection.label.split(' ')[0]}-{selection.family}",
        fmt=fmt,
        header=header,
        rows=body,
        sheet_title="Demand plan",
        caption=[str(cycle), selection.label, "quantities in units"],
        kinds=[None, *("units" for _ in grid.months)],
        labelled=False,
    )


@require_GET
def workbook(request: HttpRequest) -> HttpResponse:
    """The family's overrides as a workbook to edit in Excel and upload back."""
    cycle = cycle_from_query(request.GET)
    family = request.GET.get("family", "")
    if cycle is None or not family:
        return HttpResponse("Choose a cycle and a family.", status=400)
    response = HttpResponse(roundtrip.workbook(cycle=cycle, family=family), content_type=XLSX_TYPE)
    name = safe_filename(f"demand-overrides-{cycle.month:%Y-%m}-{family}")
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@require_GET
def stream_workbook(request: HttpRequest, code: str) -> HttpResponse:
    """A family's input stream as a workbook to fill in Excel and upload back."""
    cycle = cycle_from_query(request.GET)
    family = request.GET.get("family", "")
    stream = get_object_or_404(InputStream, code=code, active=True)
    if cycle is None or not family:
        return HttpResponse("Choose a cycle and a family.", status=400)
    data = roundtrip.stream_workbook(cycle=cycle, family=family, stream=stream)
    response = HttpResponse(data, content_type=XLSX_TYPE)
    name = safe_filename(f"demand-{stream.code}-{cycle.month:%Y-%m}-{family}")
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def _writable_stream(request: HttpRequest, code: str) -> InputStream:
    """The stream of an upload; 403 unless the user enters it (the grid's perm is shared)."""
    stream = get_object_or_404(InputStream, code=code, active=True)
    if not stream_can_write(stream=stream, user=request.user):
        raise PermissionDenied(f"Only {stream.get_role_display()} can enter the {stream} input.")
    return stream


@require_POST
def stream_workbook_preview(request: HttpRequest, cycle_pk: int, code: str) -> HttpResponse:
    stream = _writable_stream(request, code)
    return roundtrip_views.workbook_preview(
        request, cycle_pk=cycle_pk, grid=roundtrip.stream_roundtrip(stream)
    )


@require_POST
def stream_workbook_apply(request: HttpRequest, cycle_pk: int, code: str) -> HttpResponse:
    stream = _writable_stream(request, code)
    return roundtrip_views.workbook_apply(
        request, cycle_pk=cycle_pk, grid=roundtrip.stream_roundtrip(stream)
    )
