"""ERP import pages (admins only): upload, job list, job progress and error report."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from sop import imports, selectors
from sop.extracts import ENTITIES
from sop.forms import ImportUploadForm
from sop.models import ImportJob
from sop.run_views import RunPanel

SAMPLES_DIR = settings.BASE_DIR / "docs" / "samples"

run_import_required = permission_required("sop.run_import", raise_exception=True)


@run_import_required
def import_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            job = imports.import_job_create(
                entity=form.cleaned_data["entity"],
                upload=form.cleaned_data["file"],
                user=request.user,
                options=form.read_options(),
            )
            return redirect("sop:import_detail", pk=job.pk)
    else:
        form = ImportUploadForm()
    jobs = selectors.import_jobs_recent()
    if request.headers.get("HX-Request"):
        return render(request, "sop/partials/import_jobs.html", {"jobs": jobs})
    return render(
        request,
        "sop/import_list.html",
        {"form": form, "jobs": jobs, "entities": list(ENTITIES.values())},
    )


@require_GET
@run_import_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    return render(request, "sop/import_detail.html", {"job": job})


# The job's progress fragment, polled by its page; served by the core's run_status view.
IMPORT_PANEL = RunPanel(
    template="sop/partials/import_progress.html",
    context=lambda request, job: {"job": job},
    permission="sop.run_import",
    reload_on_publish=False,
)


@require_GET
@run_import_required
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    # The BOM makes Excel read the file as UTF-8 when the admin opens it.
    response = HttpResponse("\ufeff" + job.errors_csv, content_type="text/csv; charset=utf-8")
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-errors.csv"'
    return response


@require_GET
@run_import_required
def import_sample(request: HttpRequest, entity: str) -> FileResponse:
    if entity not in ENTITIES:
        raise Http404("No such extract format.")
    return FileResponse(
        (SAMPLES_DIR / f"{entity}.csv").open("rb"),
        as_attachment=True,
        filename=f"{entity}.csv",
        content_type="text/csv",
    )
