"""The run views every app mounts: start a cycle's run, and the status fragment htmx polls.

An app registers a `RunPanel` for its kind (in `AppConfig.ready`) and mounts the views in its
urls.py with `{"kind": ...}`. Starting answers at once in every deployment (the work is
queued or handed to background threads, `sop.tasks.dispatch`): an htmx click gets the panel
back, polling itself while the run is active, so the user stays where they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sop import runs
from sop.choices import JobStatus
from sop.models import Cycle, Run


@dataclass(frozen=True)
class RunPanel:
    """How an app shows its kind of run.

    context(request, run) -> the template's context for a run (`run.cycle` is at hand);
    start(cycle, user) -> a new run (raises ValidationError / PermissionDenied to refuse);
    page: the URL name of the page that shows the panel, with ?cycle=: where a plain
    (non-htmx) start form returns to.
    """

    template: str
    context: Callable[[HttpRequest, Run], dict]
    start: Callable[..., Run] | None = None
    page: str = ""
    permission: str = ""  # needed to watch a run; signed in is enough when empty
    reload_on_publish: bool = True  # a finished run changes the page around the panel


_PANELS: dict[str, RunPanel] = {}


def register_panel(kind: str, panel: RunPanel) -> None:
    _PANELS[kind] = panel


def panel_get(kind: str) -> RunPanel:
    """The panel of a kind of run; KeyError for a kind that has none."""
    return _PANELS[kind]


def panels() -> dict[str, RunPanel]:
    """Every kind's panel, by kind: the REST API starts and reads runs through them too."""
    return dict(_PANELS)


@require_POST
def run_start(request: HttpRequest, kind: str, cycle_pk: int) -> HttpResponse:
    panel = panel_get(kind)
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    user: AbstractBaseUser = request.user
    run, level, message = None, "error", ""
    try:
        run = panel.start(cycle=cycle, user=user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
    else:
        if run.status == JobStatus.FAILED:
            message = run.error
        else:
            label = runs.kind_get(kind).label.capitalize()
            level, message = "success", f"{label} {run.pk} started."
    if request.headers.get("HX-Request"):
        # A refused start shows the cycle's newest run (runs are ordered newest first).
        run = run or runs.kind_get(kind).run_model.objects.filter(cycle=cycle).first()
        context = panel.context(request, run) if run else {"cycle": cycle}
        context.update(cycle=cycle, message=message, message_level=level)
        return render(request, panel.template, context)
    getattr(messages, level)(request, message)
    return redirect(f"{reverse(panel.page)}?cycle={cycle.pk}")


@require_GET
def run_status(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The run's panel; it polls this view every second while the run is active."""
    panel = panel_get(kind)
    if panel.permission and not request.user.has_perm(panel.permission):
        raise PermissionDenied
    run = get_object_or_404(runs.kind_get(kind).run_model, pk=pk)
    response = render(request, panel.template, panel.context(request, run))
    if (
        panel.reload_on_publish
        and request.headers.get("HX-Request")
        and run.status == JobStatus.SUCCEEDED
    ):
        # The page polled a run that just finished: reload it to show the new result.
        response["HX-Refresh"] = "true"
    return response
