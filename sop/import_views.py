"""ERP import pages (admins only): upload and preview, job list, job progress and error
report, and the import profiles."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from sop import import_problems, import_profiles, imports, selectors
from sop.extracts import ENTITIES
from sop.forms import ImportProfileForm, ImportUploadForm
from sop.import_profiles import ImportReading
from sop.locking import EditConflict, edit_refusal
from sop.models import ImportJob, ImportProfile, ImportUpload
from sop.run_views import RunPanel

SAMPLES_DIR = settings.BASE_DIR / "docs" / "samples"

run_import_required = permission_required("sop.run_import", raise_exception=True)


@run_import_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports so far, and the upload form; an upload goes to its preview."""
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            profile, match = form.chosen_profile()
            upload = form.cleaned_data["file"]
            try:
                reading = import_profiles.import_reading(
                    entity=form.cleaned_data["entity"],
                    file_name=upload.name,
                    profile=profile,
                    match=match,
                    options=form.read_options(),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                stored = imports.import_upload_create(
                    entity=form.cleaned_data["entity"],
                    upload=upload,
                    user=request.user,
                    reading=reading,
                )
                return redirect("sop:import_upload", pk=stored.pk)
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
def import_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview: the file's first rows as they will be stored, to confirm or cancel."""
    upload = get_object_or_404(ImportUpload.objects.select_related("created_by"), pk=pk)
    if upload.job_id is not None:
        return redirect("sop:import_detail", pk=upload.job_id)
    return render(
        request,
        "sop/import_upload.html",
        {
            "upload": upload,
            "reading": ImportReading.of(upload),
            "preview": imports.import_upload_preview(upload=upload),
            "preview_rows": imports.PREVIEW_ROWS,
        },
    )


@require_POST
@run_import_required
def import_upload_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload, pk=pk)
    job = imports.import_upload_confirm(upload=upload, user=request.user)
    return redirect("sop:import_detail", pk=job.pk)


@require_POST
@run_import_required
def import_upload_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload, pk=pk)
    if upload.job_id is not None:
        return redirect("sop:import_detail", pk=upload.job_id)
    imports.import_upload_cancel(upload=upload, user=request.user)
    messages.info(request, f"{upload.file_name} was not imported; its upload is deleted.")
    return redirect("sop:import_list")


@require_GET
@run_import_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    return render(request, "sop/import_detail.html", _job_context(job))


def _job_context(job: ImportJob) -> dict:
    groups = import_problems.job_error_groups(job)
    return {
        "job": job,
        "reading": ImportReading.of(job),
        "groups": groups,
        "listed": sum(g.listed for g in groups),
    }


# The job's progress fragment, polled by its page; served by the core's run_status view.
IMPORT_PANEL = RunPanel(
    template="sop/partials/import_progress.html",
    context=lambda request, job: _job_context(job),
    permission="sop.run_import",
    reload_on_publish=False,
)


@require_GET
@run_import_required
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's errors as CSV; `?problem=n`: only those of its n-th problem (from 1)."""
    job = get_object_or_404(ImportJob, pk=pk)
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    text = job.errors_csv
    if "problem" in request.GET:
        try:
            number = int(request.GET["problem"])
        except ValueError:
            raise Http404("No such problem.") from None
        text = import_problems.errors_csv_of(job, number)
        if text is None:
            raise Http404("No such problem.")
        stem += f"-problem-{number}"
    # The BOM makes Excel read the file as UTF-8 when the admin opens it.
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
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


# -- Import profiles -----------------------------------------------------------------------


@require_GET
@permission_required("sop.view_importprofile", raise_exception=True)
def import_profile_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sop/import_profile_list.html",
        {"profiles": selectors.import_profiles_described()},
    )


@permission_required("sop.add_importprofile", raise_exception=True)
def import_profile_create(request: HttpRequest) -> HttpResponse:
    form = ImportProfileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = import_profiles.import_profile_create(
                user=request.user, options=form.read_options(), **_profile_fields(form)
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The import profile {profile.name} is saved.")
            return redirect("sop:import_profile_list")
    return _profile_page(request, form, profile=None)


@permission_required("sop.change_importprofile", raise_exception=True)
def import_profile_edit(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ImportProfile, pk=pk)
    if request.method != "POST":
        form = ImportProfileForm(initial=ImportProfileForm.initial_of(profile))
        return _profile_page(request, form, profile=profile)
    form = ImportProfileForm(request.POST)
    if form.is_valid():
        try:
            import_profiles.import_profile_update(
                profile=profile,
                version=form.cleaned_data["version"],
                user=request.user,
                options=form.read_options(),
                **_profile_fields(form),
            )
        except (ValidationError, EditConflict) as exc:
            status, sentences = edit_refusal(exc)
            for sentence in sentences:
                form.add_error(None, sentence)
            return _profile_page(request, form, profile=profile, status=status)
        messages.success(request, f"The import profile {form.cleaned_data['name']} is saved.")
        return redirect("sop:import_profile_list")
    return _profile_page(request, form, profile=profile, status=400)


@require_POST
@permission_required("sop.delete_importprofile", raise_exception=True)
def import_profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ImportProfile, pk=pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        import_profiles.import_profile_delete(profile=profile, version=version, user=request.user)
    except EditConflict as exc:
        current = ImportProfile.objects.filter(pk=pk).first()
        if current is None:
            messages.info(request, f"The import profile {profile.name} was already deleted.")
            return redirect("sop:import_profile_list")
        form = ImportProfileForm(initial=ImportProfileForm.initial_of(current))
        return _profile_page(request, form, profile=current, status=409, refusal=str(exc))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("sop:import_profile_list")
    messages.success(request, f"The import profile {profile.name} is deleted.")
    return redirect("sop:import_profile_list")


def _profile_fields(form: ImportProfileForm) -> dict:
    data = form.cleaned_data
    return {name: data[name] for name in ("name", "source", "entity", "file_name_pattern")}


def _profile_page(
    request: HttpRequest,
    form: ImportProfileForm,
    *,
    profile: ImportProfile | None,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    return render(
        request,
        "sop/import_profile_form.html",
        {
            "form": form,
            "profile": profile,
            "refusal": refusal,
            "entities": list(ENTITIES.values()),
        },
        status=status,
    )
