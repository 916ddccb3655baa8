"""Import source pages (admins only): list, create, edit, check what a pull would take, pull now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from sop import import_sources, selectors
from sop.forms import ImportSourceForm
from sop.models import ImportSource
from sop.services import audit_of
from sop.tasks import dispatch, import_source_pull_task


@require_GET
@permission_required("sop.view_importsource", raise_exception=True)
def import_source_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "sop/import_source_list.html", {"sources": selectors.import_sources_described()}
    )


@permission_required("sop.add_importsource", raise_exception=True)
def import_source_create(request: HttpRequest) -> HttpResponse:
    return _source_page(request, None)


@permission_required("sop.change_importsource", raise_exception=True)
def import_source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _source_page(request, get_object_or_404(ImportSource, pk=pk))


def _source_page(request: HttpRequest, source: ImportSource | None) -> HttpResponse:
    # The form works on its own copy: the service audits the row as it was.
    copy = ImportSource.objects.get(pk=source.pk) if source is not None else None
    form = ImportSourceForm(request.POST or None, instance=copy)
    if request.method == "POST" and form.is_valid():
        try:
            saved = import_sources.import_source_save(
                user=request.user, source=source, values=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The import source {saved.name} is saved.")
            return redirect("sop:import_source_list")
    return render(request, "sop/import_source_form.html", {"form": form, "source": source})


@require_POST
@permission_required("sop.run_import", raise_exception=True)
def import_source_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Say what a pull would take now (the files, the query's rows); nothing is imported."""
    source = get_object_or_404(ImportSource, pk=pk)
    return render(
        request,
        "sop/import_source_form.html",
        {
            "form": ImportSourceForm(instance=source),
            "source": source,
            "checked": import_sources.import_source_check(source=source),
        },
    )


@require_POST
@permission_required("sop.run_import", raise_exception=True)
def import_source_pull(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a pull now; its imports appear in the history, a failure notifies the admins."""
    source = get_object_or_404(ImportSource, pk=pk)
    audit_of(source, "import_source.pull", user=request.user)
    dispatch(import_source_pull_task, source.pk)
    messages.success(
        request, f"The pull of {source.name} is started: its imports appear under Imports."
    )
    return redirect("sop:import_source_list")
