"""Pages of the reconciliation: gaps, scenarios, money, comparison, decisions log."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reconciliation import selectors
from sop.models import Cycle


@require_GET
def review(request: HttpRequest) -> HttpResponse:
    cycle = Cycle.objects.order_by("-month").first()
    views = selectors.scenario_views(cycle=cycle) if cycle else []
    return render(request, "reconciliation/review.html", {"cycle": cycle, "views": views})
