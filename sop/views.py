"""Core pages: the cycle home, stage transitions, notifications, the audit trail, API tokens."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from sop import accounts, checks, notifications, selectors, services
from sop.choices import Stage
from sop.exports import cells_safe
from sop.forms import ApiTokenForm, PlannerEditForm
from sop.locking import EditConflict, edit_refusal
from sop.models import ApiToken, Cycle, Notification
from sop.sanity import NeedsConfirmation

AUDIT_PAGE_SIZE = 50
CyclePageView = Callable[[HttpRequest, Cycle], HttpResponse]


def cycle_from_query(params: QueryDict) -> Cycle | None:
    """The cycle a planning page shows: ?cycle= (404 if there is no such), else the current."""
    pk = params.get("cycle", "")
    if pk.isdigit():
        return get_object_or_404(Cycle, pk=pk)
    return selectors.cycle_current()


def cycle_page(template: str) -> Callable[[CyclePageView], Callable[..., HttpResponse]]:
    """Decorate a planning page of the ?cycle= cycle (`cycle_from_query`): the view is
    called with it; while there is no cycle at all, `template` says so (`sop/cycle_page.html`).
    """

    def decorate(view: CyclePageView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def page(request: HttpRequest) -> HttpResponse:
            cycle = cycle_from_query(request.GET)
            if cycle is None:
                return render(request, template, {"cycle": None})
            return view(request, cycle)

        return page

    return decorate


def cell_save(
    form: PlannerEditForm,
    typed: dict[str, str],
    save: Callable[[], str],
    respond: Callable[[int, str, str, dict[str, str]], HttpResponse],
) -> HttpResponse:
    """Save one cell a planner typed in a grid, the way every planning page does.

    `save()` writes the valid form's cell and says what happened; `respond(status, level,
    message, pending)` renders the grid again. An invalid form (400) or a refused save (400, 409
    on a conflict) keeps what was typed (`typed`: the cell's key and value) in the grid; a
    value that needs a confirmation (`sop.sanity`) comes back with the level "confirm".
    """
    if not form.is_valid():
        return respond(400, "error", form.error_text(), typed)
    try:
        message = save()
    except NeedsConfirmation as exc:
        # The page asks: the cell keeps the value, the message offers to save it anyway.
        return respond(400, "confirm", " ".join(exc.messages), typed)
    except (EditConflict, ValidationError) as exc:
        status, errors = edit_refusal(exc)
        return respond(status, "error", " ".join(errors), typed)
    return respond(200, "success", message, {})


def _cycle_url(cycle_id: int | None) -> str:
    home = reverse("sop:home")
    return f"{home}?cycle={cycle_id}" if cycle_id else home


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    cycles = selectors.cycle_list()
    cycle = _chosen_cycle(request, cycles)
    user = request.user
    can_open = user.has_perm("sop.open_cycle")
    next_month = services.cycle_next_month() if can_open else None
    context = {
        "cycles": cycles,
        "cycle": cycle,
        "notifications": selectors.notifications_unread(user=user),
        "can_open": can_open,
        "next_month": next_month,
        "open_blocker": checks.cycle_open_blocker(next_month) if next_month else None,
        "approved_url": _reverse_or_none("executive:approved"),
        "also_waiting": selectors.cycles_waiting_on(cycles=cycles, user=user, exclude=cycle),
        **accounts.reauth_context(request),
    }
    if cycle is not None:
        history = list(selectors.cycle_history(cycle=cycle))
        checklist = selectors.cycle_checklist(cycle=cycle)
        moves = selectors.cycle_moves_for(cycle=cycle, user=user, checklist=checklist)
        context.update(
            stages=selectors.cycle_stage_rows(cycle=cycle, history=history),
            checklist=checklist,
            moves=moves,
            my_moves=[m for m in moves if m["allowed"]],
            history=history,
            send_back=checks.send_back_open(cycle, history),
            waiting_on_me=selectors.cycle_waiting_on(cycle=cycle, user=user),
            approved_plan_url=_reverse_or_none("executive:approved_detail", cycle.pk)
            if cycle.is_frozen
            else None,
            due=cycle.due_date(cycle.stage),
            overdue=bool(
                cycle.due_date(cycle.stage) and timezone.localdate() > cycle.due_date(cycle.stage)
            ),
        )
    return render(request, "sop/cycle_home.html", context)


def _chosen_cycle(request: HttpRequest, cycles: list[Cycle]) -> Cycle | None:
    """The cycle named by ?cycle=, else the newest open one, else the newest."""
    raw = request.GET.get("cycle")
    if raw:
        chosen = next((c for c in cycles if str(c.pk) == raw), None)
        if chosen is None:
            raise Http404("No such cycle.")
        return chosen
    return next((c for c in cycles if c.stage != Stage.APPROVED), cycles[0] if cycles else None)


def _reverse_or_none(name: str, *args) -> str | None:
    """The URL of another app's page, or None while that app does not have it."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@require_POST
def cycle_advance(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = get_object_or_404(Cycle, pk=pk)
    target = request.POST.get("target", "")
    comment = request.POST.get("comment", "")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = _cycle_url(cycle.pk)
    if target == Stage.APPROVED and (refusal := accounts.reauth_refusal(request)):
        messages.error(request, refusal)
        return redirect(back)
    try:
        services.cycle_advance(
            cycle=cycle,
            target=target,
            user=request.user,
            comment=comment,
            override=request.POST.get("override") == "1",
        )
    except services.TransitionRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(request, f"{cycle} moved to {cycle.get_stage_display()}.")
    return redirect(_cycle_url(cycle.pk))


@require_POST
def cycle_open(request: HttpRequest) -> HttpResponse:
    try:
        cycle = services.cycle_open(month=services.cycle_next_month(), user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("sop:home")
    messages.success(
        request,
        f"{cycle} is open in draft. The previous cycle's assumptions and risks were carried "
        "over; its overrides are copied when the demand review starts.",
    )
    return redirect(_cycle_url(cycle.pk))


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.notifications_mark_read(user=request.user, pk=note.pk)
    return redirect(_cycle_url(note.cycle_id))


@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notifications.notifications_mark_read(user=request.user)
    return redirect("sop:home")


@require_GET
@permission_required("sop.view_auditevent", raise_exception=True)
def audit(request: HttpRequest) -> HttpResponse:
    filters = selectors.AuditFilters.from_query(request.GET)
    page = Paginator(selectors.audit_events(filters=filters), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"event": e, "changes": selectors.audit_changes(e.old, e.new)} for e in page.object_list
    ]
    return render(
        request,
        "sop/audit.html",
        {
            "filters": filters,
            "query": filters.querystring(),
            "page": page,
            "rows": rows,
            "cycles": selectors.cycle_list(),
            "users": selectors.audit_users(),
            "object_types": selectors.audit_object_types(),
        },
    )


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


AUDIT_CSV_HEADER = [
    "at",
    "user",
    "action",
    "object_type",
    "object_id",
    "cycle",
    "old",
    "new",
    "reason",
]


@require_GET
@permission_required("sop.view_auditevent", raise_exception=True)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV, streamed: it may hold every change ever made."""
    filters = selectors.AuditFilters.from_query(request.GET)
    events = selectors.audit_events(filters=filters).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(AUDIT_CSV_HEADER)
        for e in events:
            row = [
                timezone.localtime(e.at).isoformat(),
                e.user.get_username() if e.user else "",
                e.action,
                e.object_type,
                e.object_id,
                f"{e.cycle.month:%Y-%m}" if e.cycle else "",
                "" if e.old is None else json.dumps(e.old, sort_keys=True),
                "" if e.new is None else json.dumps(e.new, sort_keys=True),
                e.reason,
            ]
            yield writer.writerow(cells_safe(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@never_cache  # the POST's answer shows a new token's text
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create one (its text is shown this once) or revoke one.

    Admins also see everyone's tokens, and may create one for another user.
    """
    manager = request.user.has_perm("sop.manage_apitoken")
    form = ApiTokenForm(request.POST or None, manager=manager)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, text = services.api_token_create(
                owner=form.cleaned_data.get("owner") or request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created = {"token": token, "text": text}
            form = ApiTokenForm(manager=manager)
    return render(
        request,
        "sop/api_tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": selectors.api_tokens(user=request.user),
            "everyone": selectors.api_tokens() if manager else None,
        },
    )


@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if token.user_id != request.user.pk and not request.user.has_perm("sop.manage_apitoken"):
        raise Http404("No such token.")  # someone else's token is none of this user's business
    if services.api_token_revoke(token=token, user=request.user):
        messages.success(request, f"Token {token} of {token.user} is revoked: it no longer works.")
    else:
        messages.info(request, f"Token {token} was already revoked.")
    return redirect("sop:api_tokens")
