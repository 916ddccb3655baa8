"""Pages of the executive review: the sign-off page, its print view, approved plans."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sop.models import Cycle


@require_GET
def signoff(request: HttpRequest) -> HttpResponse:
    cycle = Cycle.objects.order_by("-month").first()
    return render(request, "executive/signoff.html", {"cycle": cycle})
