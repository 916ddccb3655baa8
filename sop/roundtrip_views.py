"""The pages of an Excel round-trip: upload a workbook, preview its changes, apply them.

Each planning app mounts `workbook_preview` and `workbook_apply` with its `RoundTrip` as
`{"grid": ...}` (as it mounts the run views with its kind).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from sop import roundtrip
from sop.choices import Stage
from sop.models import Cycle
from sop.roles import require

MAX_WORKBOOK_BYTES = 5 * 1024 * 1024


def _open(request: HttpRequest, cycle_pk: int, grid: roundtrip.RoundTrip) -> tuple[Cycle, str]:
    """The cycle, and why it takes no upload now ("" when it does); 403 without the right."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    require(request.user, grid.perm, f"upload the {grid.title.lower()} workbook")
    if cycle.stage != grid.stage:
        stage = Stage(grid.stage).label.lower()
        return cycle, (
            f"{cycle} is in {cycle.get_stage_display().lower()}, not in {stage}: "
            f"the {grid.title.lower()} cannot change, so nothing was read."
        )
    return cycle, ""


def _render(
    request: HttpRequest,
    *,
    cycle: Cycle,
    grid: roundtrip.RoundTrip,
    outcome: roundtrip.Outcome,
    applied_failed: bool = False,
    status: int = 200,
) -> HttpResponse:
    rows, labels = [], dict(grid.reasons)
    failed = {id(edit): problem for edit, problem in outcome.problems if edit is not None}
    for edit in outcome.edits:
        problem = failed.get(id(edit))
        rows.append(
            {
                "edit": edit,
                "month": roundtrip.month_label(edit.month),
                "reason": labels.get(edit.reason, edit.reason),
                "problem": problem,
            }
        )
    context = {
        "cycle": cycle,
        "grid": grid,
        "rows": rows,
        "outcome": outcome,
        "workbook_problems": [p for edit, p in outcome.problems if edit is None],
        "token": roundtrip.edits_sign(
            grid=grid, cycle=cycle, user=request.user, edits=outcome.edits
        )
        if (outcome.ok or outcome.ok_if_confirmed) and outcome.edits
        else "",
        "back": f"{reverse(grid.review_url)}?cycle={cycle.pk}",
        "apply_url": reverse(
            grid.apply_url or f"{grid.name}:workbook_apply", args=[cycle.pk, *grid.apply_args]
        ),
        "applied_failed": applied_failed,
    }
    return render(request, "sop/roundtrip_preview.html", context, status=status)


@require_POST
def workbook_preview(
    request: HttpRequest, cycle_pk: int, grid: roundtrip.RoundTrip
) -> HttpResponse:
    """Read the uploaded workbook and show what it would change; nothing is saved."""
    cycle, closed = _open(request, cycle_pk, grid)
    outcome = roundtrip.Outcome()
    upload = request.FILES.get("workbook")
    if closed:
        outcome.problems.append((None, roundtrip.Problem("", closed)))
    elif upload is None:
        outcome.problems.append((None, roundtrip.Problem("", "Choose the workbook to upload.")))
    elif upload.size > MAX_WORKBOOK_BYTES:
        outcome.problems.append(
            (None, roundtrip.Problem("", "The workbook is larger than 5 MB: is it this grid's?"))
        )
    else:
        outcome = roundtrip.workbook_read(grid=grid, cycle=cycle, data=upload.read())
        if outcome.readable:
            roundtrip.edits_run(
                grid=grid, cycle=cycle, user=request.user, outcome=outcome, apply=False
            )
    return _render(
        request, cycle=cycle, grid=grid, outcome=outcome, status=200 if outcome.ok else 400
    )


@require_POST
def workbook_apply(request: HttpRequest, cycle_pk: int, grid: roundtrip.RoundTrip) -> HttpResponse:
    """Save the previewed changes in one transaction, or none of them."""
    cycle, closed = _open(request, cycle_pk, grid)
    outcome = roundtrip.Outcome()
    if closed:
        outcome.problems.append((None, roundtrip.Problem("", closed)))
        return _render(request, cycle=cycle, grid=grid, outcome=outcome, status=400)
    try:
        outcome.edits = roundtrip.edits_unsign(
            grid=grid, cycle=cycle, user=request.user, token=request.POST.get("token", "")
        )
    except ValidationError as exc:
        outcome.problems.append((None, roundtrip.Problem("", " ".join(exc.messages))))
        return _render(request, cycle=cycle, grid=grid, outcome=outcome, status=400)
    roundtrip.edits_run(
        grid=grid,
        cycle=cycle,
        user=request.user,
        outcome=outcome,
        apply=True,
        confirmed=request.POST.get("confirmed") == "1",
    )
    if not outcome.ok:
        status = 409 if outcome.conflicts else 400
        return _render(
            request, cycle=cycle, grid=grid, outcome=outcome, applied_failed=True, status=status
        )
    count = len(outcome.passed)
    messages.success(request, f"{count} cell{'s' if count != 1 else ''} of the workbook saved.")
    return redirect(f"{reverse(grid.review_url)}?cycle={cycle.pk}")
