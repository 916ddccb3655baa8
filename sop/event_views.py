"""The events calendar's pages: the list with its filters, record, change, cancel, delete.

Everyone signed in reads the calendar; marketing, demand planners and admins keep it (the
services check the permission again, so the pages and the import meet one rule).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from sop import events, selectors
from sop.choices import EventKind, EventStatus
from sop.forms import EventForm
from sop.locking import EditConflict, edit_refusal
from sop.models import Event, Location, Product


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.EventFilters.from_query(request.GET)
    rows = [
        {"event": e, "effect": selectors.event_effect(e)}
        for e in selectors.event_list(filters=filters)
    ]
    return render(
        request,
        "sop/event_list.html",
        {
            "filters": filters,
            "rows": rows,
            "split": selectors.event_planning_month(),
            "kinds": EventKind.choices,
            "statuses": EventStatus.choices,
            "families": selectors.product_families(),
            "products": Product.objects.order_by("sku").only("pk", "sku", "name"),
            "locations": Location.objects.order_by("code"),
            "owners": get_user_model().objects.filter(is_active=True).order_by("username"),
            "when_choices": selectors.EVENT_WHEN,
            "can_edit": request.user.has_perm("sop.change_event"),
            "can_add": request.user.has_perm("sop.add_event"),
            "can_delete": request.user.has_perm("sop.delete_event"),
        },
    )


@permission_required("sop.add_event", raise_exception=True)
def event_create(request: HttpRequest) -> HttpResponse:
    families = selectors.product_families()
    form = EventForm(request.POST or None, families=families, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            event = events.event_create(
                user=request.user, locations=form.cleaned_data["locations"], **form.event_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The event {event.code} {event.name} is recorded.")
            return redirect("sop:event_list")
    status = 400 if request.method == "POST" else 200
    return _event_page(request, form, event=None, status=status)


@permission_required("sop.change_event", raise_exception=True)
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    families = selectors.product_families()
    if request.method != "POST":
        form = EventForm(initial=EventForm.initial_of(event), families=families)
        return _event_page(request, form, event=event)
    form = EventForm(request.POST, families=families)
    if form.is_valid():
        try:
            events.event_update(
                event=event,
                version=form.cleaned_data["version"],
                user=request.user,
                locations=form.cleaned_data["locations"],
                **form.event_fields(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return _event_page(request, form, event=event, status=400)
        except EditConflict as exc:
            status, sentences = edit_refusal(exc)
            return _event_page(request, form, event=event, status=status, refusal=sentences[0])
        messages.success(request, f"The event {form.cleaned_data['code']} is saved.")
        return redirect("sop:event_list")
    return _event_page(request, form, event=event, status=400)


@require_POST
@permission_required("sop.change_event", raise_exception=True)
def event_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    try:
        events.event_cancel(event=event, version=_version(request), user=request.user)
    except (EditConflict, ValidationError) as exc:
        messages.error(request, edit_refusal(exc)[1][0])
    else:
        messages.success(
            request, f"The event {event.code} is cancelled: it no longer moves demand."
        )
    return redirect("sop:event_list")


@require_POST
@permission_required("sop.delete_event", raise_exception=True)
def event_delete(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    try:
        events.event_delete(event=event, version=_version(request), user=request.user)
    except EditConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The event {event.code} is deleted.")
    return redirect("sop:event_list")


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _event_page(
    request: HttpRequest,
    form: EventForm,
    *,
    event: Event | None,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    return render(
        request,
        "sop/event_form.html",
        {"form": form, "event": event, "refusal": refusal},
        status=status,
    )
