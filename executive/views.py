"""Pages of the executive review: the sign-off page, its print view, approved plans."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from executive import charts, selectors, services
from executive.models import PlanApproval
from sop import accounts
from sop.checks import send_back_last
from sop.choices import Stage
from sop.exports import safe_filename, table_response
from sop.formatting import format_moment
from sop.models import Cycle
from sop.services import TransitionRefused


def _context(request: HttpRequest, cycle: Cycle | None) -> dict:
    if cycle is None:
        return {"cycle": None}
    pack = selectors.signoff(cycle=cycle)
    figures = {}
    if pack.monthly is not None and not pack.monthly.empty:
        figures["revenue"] = charts.revenue_chart(pack.monthly)
        figures["inventory"] = charts.inventory_chart(pack.monthly)
    if pack.resources is not None and not pack.resources.empty:
        figures["capacity"] = charts.capacity_chart(pack.resources)
    return {
        "cycle": cycle,
        "pack": pack,
        "figures": figures,
        "send_back": send_back_last(cycle),
        "cycles": Cycle.objects.order_by("-month").only("pk", "month", "stage"),
        "can_decide": cycle.stage == Stage.EXECUTIVE_REVIEW
        and request.user.has_perm("sop.approve_plan"),
        **accounts.reauth_context(request),
    }


@require_GET
def signoff(request: HttpRequest) -> HttpResponse:
    """The executive pack of a cycle, with approve / send back for executives."""
    cycle = selectors.signoff_cycle(request.GET.get("cycle"))
    return render(request, "executive/signoff.html", _context(request, cycle))


@require_GET
def signoff_print(request: HttpRequest) -> HttpResponse:
    """The same pack laid out for paper: print it, or save it as PDF from the dialog."""
    cycle = selectors.signoff_cycle(request.GET.get("cycle"))
    return render(request, "executive/signoff_print.html", _context(request, cycle))


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve the plan, or send it back to the reconciliation with a comment."""
    cycle = get_object_or_404(Cycle, pk=pk)
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "send_back"):
        return HttpResponse("Choose approve or send back.", status=400)
    back = f"{reverse('executive:signoff')}?cycle={cycle.pk}"
    if decision == "approve" and (refusal := accounts.reauth_refusal(request)):
        messages.error(request, refusal)
        return redirect(back)
    try:
        services.plan_decide(
            cycle=cycle,
            user=request.user,
            approve=decision == "approve",
            comment=request.POST.get("comment", ""),
        )
    except TransitionRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if decision == "approve":
            messages.success(request, f"{cycle} is approved: its plan is frozen.")
        else:
            messages.success(request, f"{cycle} was sent back to the reconciliation.")
    return redirect(back)


@require_GET
def approved(request: HttpRequest) -> HttpResponse:
    """Every approved cycle, newest first."""
    return render(request, "executive/approved_list.html", {"cycles": selectors.approved_cycles()})


@require_GET
def approved_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(selectors.approvals(), pk=pk)
    context = _context(request, approval.cycle)
    context["approval"] = approval
    return render(request, "executive/approved_detail.html", context)


def _export_name(approval: PlanApproval) -> str:
    return safe_filename(f"approved-plan-{approval.cycle.month:%Y-%m}")


def approved_csv(approval: PlanApproval) -> HttpResponse:
    """The approved plan's CSV download (the page's and the API's): the very bytes the
    approval's checksum was taken of, with the checksum in a header to compare."""
    response = HttpResponse(
        selectors.plan_csv(approval=approval), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(approval)}.csv"'
    response["X-Checksum-SHA256"] = approval.checksum
    return response


@require_GET
def approved_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The approved plan for the ERP: planned production and purchases by SKU, location
    and month. The CSV bytes are those the approval's checksum was taken of."""
    approval = get_object_or_404(PlanApproval.objects.select_related("cycle"), pk=pk)
    if fmt == "csv":
        return approved_csv(approval)
    if fmt != "xlsx":
        raise Http404("Export as csv or xlsx.")
    rows = (
        (*row[:4], *(Decimal(v) for v in row[4:8]), *row[8:])
        for row in selectors.plan_export_rows(approval=approval)
    )
    return table_response(
        name=_export_name(approval),
        fmt="xlsx",
        header=selectors.export_header(approval=approval),
        rows=rows,
        sheet_title="Approved plan",
        caption=[
            str(approval.cycle),
            f"approved by {approval.approved_by_name}",
            f"approved {format_moment(approval.approved_at)}",
            f"sha256 of the CSV {approval.checksum}",
        ],
    )
