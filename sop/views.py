"""Core pages: the cycle home and stage transitions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from sop import selectors, services, workflow
from sop.choices import Stage
from sop.models import Cycle


def home(request: HttpRequest) -> HttpResponse:
    cycle = selectors.cycle_current()
    context = {"cycle": cycle}
    if cycle is not None:
        stage_rows = []
        for stage in workflow.STAGE_ORDER:
            stage_rows.append(
                {
                    "stage": stage,
                    "label": Stage(stage).label,
                    "owners": ", ".join(str(o) for o in workflow.STAGE_OWNERS[stage]),
                    "due": cycle.due_date(stage),
                    "current": stage == cycle.stage,
                    "done": workflow.STAGE_ORDER.index(stage)
                    < workflow.STAGE_ORDER.index(cycle.stage),
                }
            )
        context.update(
            stages=stage_rows,
            moves=selectors.cycle_moves_for(cycle=cycle, user=request.user),
            history=selectors.cycle_history(cycle=cycle),
            waiting_on_me=selectors.cycle_waiting_on(cycle=cycle, user=request.user),
        )
    return render(request, "sop/cycle_home.html", context)


@require_POST
def cycle_advance(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = get_object_or_404(Cycle, pk=pk)
    target = request.POST.get("target", "")
    comment = request.POST.get("comment", "")
    try:
        services.cycle_advance(cycle=cycle, target=target, user=request.user, comment=comment)
    except services.TransitionRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{cycle} moved to {cycle.get_stage_display()}.")
    return redirect("sop:home")
