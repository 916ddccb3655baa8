"""ERP extract imports: uploads and their preview, the import run kind, the all-or-nothing load.

A file comes in as an ImportUpload (the upload page): stored, read as its profile or the
admin states, and previewed (its first rows typed as they will be stored, with their
errors) until the admin confirms it. Confirming queues an ImportJob, a run of one chunk of
the core's kernel (`sop.runs`, kind "import"), which reads and validates the whole file
and loads nothing unless every row is valid. `import_file` (scripts, demo data) and
`import_job_create` queue a job directly. The load is one transaction and an upsert by
natural key, so a re-import of the same file inserts and updates nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import fnmatch
import hashlib
import logging
import pickle
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, NoReturn

import pandas as pd
import psycopg
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_valid_filename

from sop.choices import JobStatus
from sop.events import event_bounds
from sop.exports import cell_safe
from sop.extract_reader import (
    Extract,
    ExtractRefused,
    ReadOptions,
    Summary,
    error_frame,
    read_extract,
    read_extract_chunks,
)
from sop.extracts import ENTITIES, Entity
from sop.formatting import DASH, format_exact
from sop.import_problems import ErrorGroup, ProblemTally, error_groups
from sop.import_profiles import ImportReading
from sop.master_audit import import_changes
from sop.models import (
    Event,
    ImportJob,
    ImportProfile,
    ImportUpload,
    Location,
    Product,
    Resource,
    StoredExtract,
    Supplier,
)
from sop.roles import require, who
from sop.runs import ACTIVE_STATUSES, RunKind, RunRefused, run_create, run_progress
from sop.services import audit_of, products_classify
from sop.steps import calendar_changed

logger = logging.getLogger(__name__)

ERRORS_ON_PAGE = 1000
ERROR_VALUE_CHARS = 200
# The preview shows this many rows; it reads only about that many (a CSV's first MB).
PREVIEW_ROWS = 20
# Uploads nobody confirmed or cancelled are deleted, with their files, after this long.
UPLOAD_KEPT = dt.timedelta(days=1)
_STAGING = "sop_import_staging"
_ORM_BATCH = 2000
_ORM_SLICE = 20_000
# SQLite allows 999 variables per statement in old builds; stay well under it.
_IN_CHUNK = 900
# SQLite stores a decimal as a float, which Django reads back with 15 significant digits.
_SQLITE_SIGNIFICANT_DIGITS = 15


def import_job_create(
    *,
    entity: str,
    upload: File,
    user: AbstractBaseUser | None = None,
    file_name: str = "",
    reading: ImportReading | None = None,
) -> ImportJob:
    """Store the upload under MEDIA_ROOT/imports/<uuid>/ and queue its import."""
    require(user, "sop.run_import", "import extracts")
    _check_entity(entity)
    stored = _store(upload, file_name or upload.name or "extract.csv")
    return _job_queue(
        entity=entity, user=user, **stored, **(reading or ImportReading(ReadOptions())).fields()
    )


def import_file(
    *,
    entity: str,
    path: Path,
    user: AbstractBaseUser | None = None,
    file_name: str | None = None,
    options: ReadOptions | None = None,
    reading: ImportReading | None = None,
) -> ImportJob:
    """Import a file synchronously (scripts, demo data); returns the finished job.

    Read as `reading` says (a profile), else with `options`.
    """
    require(user, "sop.run_import", "import extracts")
    _check_entity(entity)
    reading = reading or ImportReading(options or ReadOptions())
    with Path(path).open("rb") as handle:
        stored = _store(File(handle), file_name or Path(path).name)
    job = ImportJob.objects.create(
        entity=entity,
        created_by=who(user),
        **stored,
        **reading.fields(),
    )
    return import_job_run(job_id=job.pk)


def import_upload_create(
    *,
    entity: str,
    upload: File,
    user: AbstractBaseUser | None,
    reading: ImportReading,
    file_name: str = "",
) -> ImportUpload:
    """Store an uploaded file for its preview; nothing is read or loaded until it is confirmed.

    Uploads older than UPLOAD_KEPT that nobody confirmed are deleted with their files.
    """
    require(user, "sop.run_import", "import extracts")
    _check_entity(entity)
    _uploads_sweep()
    stored = _store(upload, file_name or upload.name or "extract.csv")
    return ImportUpload.objects.create(
        entity=entity,
        created_by=who(user),
        **stored,
        **reading.fields(),
    )


def import_upload_confirm(*, upload: ImportUpload, user: AbstractBaseUser | None) -> ImportJob:
    """Queue the import of a previewed upload; confirming twice gives the same job."""
    require(user, "sop.run_import", "import extracts")
    with transaction.atomic():
        locked = ImportUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.job_id is not None:
            return locked.job
        locked.job = _job_queue(
            entity=locked.entity,
            user=user,
            **{
                f.name: getattr(locked, f.name)
                for f in StoredExtract._meta.fields
                if f.name != "entity"
            },
        )
        locked.save(update_fields=["job"])
    return locked.job


def import_upload_cancel(*, upload: ImportUpload, user: AbstractBaseUser | None) -> None:
    """Forget an upload that was not confirmed, and delete its file once that is committed."""
    require(user, "sop.run_import", "import extracts")
    with transaction.atomic():
        deleted, _ = ImportUpload.objects.filter(pk=upload.pk, job__isnull=True).delete()
        if deleted:
            directory = _stored_directory(upload)
            transaction.on_commit(lambda: shutil.rmtree(directory, ignore_errors=True))


def _uploads_sweep() -> None:
    stale = ImportUpload.objects.filter(created_at__lt=timezone.now() - UPLOAD_KEPT)
    for upload in stale.filter(job__isnull=True):
        directory = _stored_directory(upload)
        transaction.on_commit(lambda d=directory: shutil.rmtree(d, ignore_errors=True))
    stale.delete()


def _stored_directory(stored: StoredExtract) -> Path:
    """The stored file's own directory, MEDIA_ROOT/imports/<uuid>/, whatever its path says."""
    imports = (Path(settings.MEDIA_ROOT) / "imports").resolve()
    directory = (Path(settings.MEDIA_ROOT) / stored.file_path).resolve().parent
    if directory.parent != imports:
        raise ValueError(f"{stored.file_path} is not an upload's file")
    return directory


def imports_sweep(*, now: dt.datetime | None = None) -> int:
    """Delete the stored files the import history no longer needs; returns how many.

    A loaded file is kept SOP_IMPORT_KEEP_DAYS after its import, a refused or failed one
    SOP_IMPORT_REFUSED_KEEP_DAYS (0: a refused file is deleted as it is refused). The job
    keeps the file's name, size, checksum and error report; its `file_path` is emptied.
    Uploads nobody confirmed go too (after UPLOAD_KEPT).
    """
    now = now or timezone.now()
    days = dt.timedelta(days=1)
    stored = ImportJob.objects.exclude(file_path="").exclude(status__in=ACTIVE_STATUSES)
    old = stored.filter(
        status=JobStatus.SUCCEEDED, finished_at__lt=now - settings.SOP_IMPORT_KEEP_DAYS * days
    ) | stored.exclude(status=JobStatus.SUCCEEDED).filter(
        finished_at__lt=now - settings.SOP_IMPORT_REFUSED_KEEP_DAYS * days
    )
    removed = 0
    for job in old:
        _stored_file_delete(job)
        ImportJob.objects.filter(pk=job.pk).update(file_path="")
        removed += 1
    _uploads_sweep()
    return removed


def _stored_file_delete(stored: StoredExtract) -> None:
    try:
        directory = _stored_directory(stored)
    except ValueError:
        logger.warning("not deleting %s: outside MEDIA_ROOT/imports", stored.file_path)
        return
    shutil.rmtree(directory, ignore_errors=True)


def _refused_file_forget(job: ImportJob) -> dict:
    """Delete a refused job's stored file now, unless refused files are kept a while; the
    fields to save with the refusal."""
    if settings.SOP_IMPORT_REFUSED_KEEP_DAYS or not job.file_path:
        return {}
    _stored_file_delete(job)
    return {"file_path": ""}


def _check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ValidationError(f"Unknown entity {entity!r}.")


def _store(upload: File, file_name: str) -> dict:
    """Copy the file to MEDIA_ROOT/imports/<uuid>/ with its checksum and size."""
    name = get_valid_filename(Path(file_name).name)
    directory = Path(settings.MEDIA_ROOT) / "imports" / uuid.uuid4().hex
    directory.mkdir(parents=True)
    target = directory / name
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {
        "file_name": name,
        "file_path": str(target.relative_to(settings.MEDIA_ROOT)),
        "checksum": digest.hexdigest(),
        "size_bytes": size,
    }


def _job_queue(*, entity: str, user: AbstractBaseUser | None, **fields) -> ImportJob:
    # Concurrent imports are fine (the load locks what it writes): no scope to keep single.
    return run_create(IMPORT_RUN_KIND, scope={}, user=user, entity=entity, **fields)


# -- Reading and the preview -----------------------------------------------------------------


def import_read(
    *, entity: str, path: Path, options: ReadOptions, head: int | None = None, progress=None
) -> Extract:
    """Read and check a stored file as the import will (`head`: only its first rows)."""
    return read_extract(path, options=options, head=head, progress=progress, **_reading(entity))


def _reading(entity: str) -> dict:
    """What every read of a stored extract takes: its entity and references, the size
    limits, and the digits the database keeps."""
    entity_ = ENTITIES[entity]
    return {
        "entity": entity_,
        "refs": import_refs(entity=entity_),
        "max_bytes": settings.SOP_IMPORT_MAX_BYTES,
        "max_unpacked_bytes": settings.SOP_IMPORT_MAX_UNPACKED_BYTES,
        "significant_digits": _SQLITE_SIGNIFICANT_DIGITS if connection.vendor == "sqlite" else None,
    }


@dataclass
class ImportPreview:
    """The first rows of a file as they will be stored, and what is wrong with them.

    `rows` are (spreadsheet row, [(value shown, error or "")]) under `columns` (the
    documented names the file fills); `absent` the optional columns it does not have.
    `refused`: the file cannot be read at all, so there is nothing to confirm. `groups`:
    the errors by problem (sop.import_problems).
    """

    columns: list[str]
    rows: list[tuple[int, list[tuple[str, str]]]]
    errors: list[dict]
    warnings: list[str]
    groups: list[ErrorGroup] = dataclasses.field(default_factory=list)
    sheet: str = ""
    absent: list[str] = dataclasses.field(default_factory=list)
    rows_read: int = 0
    refused: bool = False


def import_upload_preview(*, upload: ImportUpload) -> ImportPreview:
    """The upload's first rows read as its import will read them (the head of the file only:
    the whole file is checked by the import)."""
    path = Path(settings.MEDIA_ROOT) / upload.file_path
    if not path.is_file():
        return _preview_refused("the uploaded file is no longer on the server: upload it again")
    options = ReadOptions.from_dict(upload.options)
    return import_preview(
        import_read(entity=upload.entity, path=path, options=options, head=PREVIEW_ROWS),
        entity=upload.entity,
    )


def import_preview(extract: Extract, *, entity: str, rows: int = PREVIEW_ROWS) -> ImportPreview:
    """The extract's first rows typed as they will be stored: numbers rounded to their
    column's decimals, months as their first day, references as their code."""
    declared = ENTITIES[entity]
    model = apps.get_model(declared.model)
    columns = list(extract.source.columns)
    problems = {(e["row"], e["column"]): e["reason"] for e in extract.errors.to_dict("records")}
    shown = []
    head = extract.source.head(rows)
    for row in head.index:
        cells = []
        for name in columns:
            column = declared.column(name)
            field_ = model._meta.get_field(column.model_field)
            reason = problems.get((row, name), "")
            if reason or column.ref:
                value = head.at[row, name].strip()
            else:
                value = _shown(extract.frame.at[row, field_.attname], column.kind, field_)
            cells.append((value, reason))
        shown.append((int(row), cells))
    errors = _clipped(extract.errors)
    return ImportPreview(
        columns=columns,
        rows=shown,
        errors=errors.head(ERRORS_ON_PAGE).to_dict("records"),
        warnings=extract.warnings,
        groups=error_groups(errors),
        sheet=extract.sheet,
        absent=[c.name for c in declared.columns if c.name not in columns],
        rows_read=extract.rows_read,
        refused=extract.refused,
    )


def _shown(value, kind: str, field_) -> str:
    if value is None or value == "":
        return DASH
    if kind == "decimal":
        step = Decimal(1).scaleb(-field_.decimal_places)
        return format_exact(Decimal(str(value)).quantize(step, ROUND_HALF_UP))
    if kind == "int":
        return format_exact(Decimal(str(value)))
    if kind == "bool":
        return "yes" if value else "no"
    return str(value)


def _preview_refused(reason: str) -> ImportPreview:
    errors = [{"row": 0, "column": "", "value": "", "reason": reason}]
    return ImportPreview([], [], errors, [], groups=error_groups(errors), refused=True)


# Pushed rows are JSON: numbers have a decimal point and no thousands separator, text is
# Unicode, so what reads as text decoded twice is the sender's error.
PUSH_READ_OPTIONS = ReadOptions(decimal_separator=".", encoding="utf-8")
# What a profile says that holds for rows sent as values rather than as a file's layout.
_PROFILE_OPTIONS_FOR_ROWS = (
    "trailing_minus",
    "parentheses",
    "date_format",
    "month_format",
    "with_time",
    "columns",
    "ignored",
    "constants",
    "factors",
)


class PushRefused(Exception):
    """Pushed rows were refused and nothing was loaded; `errors` say where and why.

    Each error is {"row", "field", "value", "reason"}: row n is the n-th pushed row, row 0
    the push as a whole. `job` is the failed import, when the rows got as far as one.
    """

    def __init__(self, message: str, *, errors: list[dict], job: ImportJob | None = None):
        super().__init__(message)
        self.errors = errors
        self.job = job


def import_rows(
    *,
    entity: str,
    rows: list[dict[str, object]],
    user: AbstractBaseUser | None,
    options: ReadOptions | None = None,
    profile: str = "",
    file_name: str = "",
) -> ImportJob:
    """Import rows sent as JSON objects (the REST API) exactly as a file of them is imported.

    The rows become a CSV file (the pushed row n is the file's row n + 1, under the header)
    that `import_file` validates and loads all or nothing, so a push checks what an upload
    checks and appears in the import history with its stored copy (`file_name`, by default
    <entity>-api.csv). The file is read with `options` (JSON's own by default) or with the
    import profile named `profile` (`push_reading`). Returns the succeeded job; raises
    PushRefused with every error otherwise.
    """
    require(user, "sop.run_import", "import extracts")
    if entity not in ENTITIES:
        raise ValidationError(f"Unknown entity {entity!r}: one of {', '.join(ENTITIES)}.")
    if profile and options is not None:
        raise ValueError("a push is read with a profile or with options, not both")
    if profile:
        try:
            reading = push_reading(entity=entity, profile=profile)
        except ValidationError as exc:
            error = {"row": 0, "field": "profile", "value": profile, "reason": exc.messages[0]}
            raise PushRefused(exc.messages[0], errors=[error]) from None
    else:
        reading = ImportReading(options or PUSH_READ_OPTIONS)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    problems = _push_problems(ENTITIES[entity], rows, reading.options)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise PushRefused(f"{len(problems)} {noun} found; nothing was loaded.", errors=problems)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / (file_name or f"{entity}-api.csv")
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_push_cell(row.get(c)) for c in columns] for row in rows)
        job = import_file(entity=entity, path=path, user=user, reading=reading)
    if job.status != JobStatus.SUCCEEDED:
        errors = [
            {
                "row": max(int(e["row"]) - 1, 0),
                "field": e["column"],
                "value": e["value"],
                "reason": e["reason"],
            }
            for e in job.errors
        ]
        message = job.message or job.error
        if job.error_count:
            noun = "error" if job.error_count == 1 else "errors"
            message = f"{job.error_count:,} {noun} found; nothing was loaded."
        raise PushRefused(message, errors=errors, job=job)
    return job


def push_reading(*, entity: str, profile: str) -> ImportReading:
    """How rows sent as JSON are read with the import profile named `profile`.

    The profile's columns, ignored columns, constants, factors, date and month forms and
    negative forms apply as to a file; the file's own layout and number format do not, since
    the rows are JSON written as a UTF-8 CSV: a JSON number has a decimal point and no
    thousands separator whatever the ERP's files use. ValidationError names what is wrong.
    """
    found = ImportProfile.objects.filter(name=profile).first()
    if found is None:
        raise ValidationError(f"There is no import profile named {profile}.")
    if found.entity != entity:
        raise ValidationError(f"The profile {found.name} reads {found.entity}, not {entity}.")
    stated = ReadOptions.from_profile(found)
    options = dataclasses.replace(
        PUSH_READ_OPTIONS,
        **{name: getattr(stated, name) for name in _PROFILE_OPTIONS_FOR_ROWS},
    )
    return ImportReading(options, found, profile_name=found.name)


def _push_problems(
    entity: Entity, rows: list[dict[str, object]], options: ReadOptions
) -> list[dict]:
    """What makes pushed rows no table of the entity: no rows, unknown fields, non-values.

    These are refused before a file is written: an unknown field could not even be named
    in a CSV header that reads back the same (a ";" in it changes the delimiter). A field
    the profile maps or ignores is known.
    """
    if not rows:
        return [{"row": 0, "field": "", "value": "", "reason": "the push holds no rows"}]
    known = [c.name for c in entity.columns if c.name not in options.columns.values()]
    known += list(options.columns)
    problems, reported = [], set()
    for number, row in enumerate(rows, start=1):
        for name, value in row.items():
            ignored = any(fnmatch.fnmatchcase(name, p) for p in options.ignored)
            if name not in known and not ignored and name not in reported:
                reported.add(name)
                reason = f"unknown field; the {entity.name} fields are {', '.join(known)}"
                problems.append({"row": number, "field": name, "value": name, "reason": reason})
            elif isinstance(value, dict | list):
                problems.append(
                    {
                        "row": number,
                        "field": name,
                        "value": _clip(str(value)),
                        "reason": "a value is a string, a number, true, false or null",
                    }
                )
    return problems


def _push_cell(value: object) -> str:
    """A JSON value as the CSV cell that reads back as it: null is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # a float as its shortest exact text: 1e-05 reads back as 0.00001


def import_job_run(*, job_id: int) -> ImportJob:
    """Run the job in this process, through the run kernel; returns it finished.

    A job that is no longer pending is left alone (a redelivered or duplicated task).
    """
    from sop.tasks import run_now  # the tasks import the kernel, which reads the kinds

    run_now(IMPORT_RUN_KIND, job_id)
    return ImportJob.objects.get(pk=job_id)


def import_refs(*, entity: Entity) -> dict[str, dict[str, object]]:
    """The reference maps the entity's columns need, one query per reference kind."""
    refs: dict[str, dict[str, object]] = {}
    if entity.name == "events":
        refs["event_bounds"] = {"bounds": event_bounds()}
    for kind in {c.ref for c in entity.columns if c.ref}:
        if kind == "user":
            refs[kind] = dict(get_user_model().objects.values_list("username", "pk"))
        elif kind == "family":
            families = Product.objects.values_list("family", flat=True).distinct()
            refs[kind] = {f: f for f in families}
        else:
            model, code = {
                "product": (Product, "sku"),
                "like": (Product, "sku"),
                "location": (Location, "code"),
                "resource": (Resource, "code"),
                "supplier": (Supplier, "code"),
            }[kind]
            refs[kind] = dict(model.objects.values_list(code, "pk"))
    return refs


def _import_plan(job: ImportJob, options: dict) -> list[None]:
    """One chunk of the kernel, the whole file: it is validated whole and loaded all or
    nothing (the file itself is read in chunks of SOP_IMPORT_CHUNK_BYTES)."""
    job.phase, job.progress = "Reading the file", 2
    return [None]


@dataclass
class _Staged:
    """A file read and checked: its summary, and its valid rows staged on disk one chunk
    after the other (pickled frames in an anonymous temporary file), to load in one go."""

    summary: Summary
    rows: IO[bytes] | None = None
    chunks: int = 0
    problems: ProblemTally = dataclasses.field(default_factory=ProblemTally)

    def extracts(self):
        """The staged chunks, as extracts to load."""
        if self.rows is None:
            return
        self.rows.seek(0)
        for _ in range(self.chunks):
            frame = pickle.load(self.rows)
            yield Extract(len(frame), frame, self.summary.present_fields, pd.DataFrame(), [])


def import_read_chunks(
    *, entity: str, path: Path, options: ReadOptions, progress=None
) -> Iterator[Extract]:
    """Read and check a stored file as the import does: SOP_IMPORT_CHUNK_BYTES at a time."""
    return read_extract_chunks(
        path,
        options=options,
        chunk_bytes=settings.SOP_IMPORT_CHUNK_BYTES,
        progress=progress,
        **_reading(entity),
    )


def import_check(
    *, entity: str, path: Path, options: ReadOptions
) -> tuple[ImportPreview, Extract, int]:
    """Check a whole file as its import would, in the import's chunks, and write nothing.

    Returns the preview of its first rows (with the file's errors, not only theirs), the
    file as an extract without rows (its first SOP_IMPORT_ERRORS_KEPT errors, its warnings)
    and how many errors it has.
    """
    summary = Summary(kept=settings.SOP_IMPORT_ERRORS_KEPT)
    problems = ProblemTally()  # every error counted by problem, past the ones kept
    preview = None
    for extract in import_read_chunks(entity=entity, path=path, options=options):
        summary.add(extract)
        problems.add(_clipped(extract.errors))
        if preview is None:  # the first rows are the first chunk's
            preview = import_preview(extract, entity=entity)
    whole = summary.extract()
    preview = dataclasses.replace(
        preview,
        errors=_clipped(whole.errors).head(ERRORS_ON_PAGE).to_dict("records"),
        groups=problems.groups(),
        warnings=whole.warnings,
        rows_read=whole.rows_read,
        refused=whole.refused,
    )
    return preview, whole, summary.error_count


def _import_compute(job: ImportJob, chunk: None) -> _Staged:
    """Read and validate every row, chunk by chunk, staging the valid rows on disk; a file
    with errors fails the job with its report and stages nothing further."""
    summary = Summary(kept=settings.SOP_IMPORT_ERRORS_KEPT)
    # The store step closes it (an anonymous file: the system frees it even on a crash).
    staged = _Staged(summary, rows=tempfile.TemporaryFile(prefix="sop-import-"))  # noqa: SIM115
    try:
        for extract in import_read_chunks(
            entity=job.entity,
            path=Path(settings.MEDIA_ROOT) / job.file_path,
            options=ReadOptions.from_dict(job.options),
            progress=lambda share: run_progress(
                job, 10 + int(share * 50), f"Validating ({int(share * 100)}% of the file read)"
            ),
        ):
            summary.add(extract)
            # Counted by problem here, every error of every chunk: the report keeps only
            # the first SOP_IMPORT_ERRORS_KEPT errors, but each problem's count is whole.
            staged.problems.add(_clipped(extract.errors))
            if summary.error_count:
                continue  # keep counting the errors; nothing will be loaded
            pickle.dump(extract.frame, staged.rows, protocol=pickle.HIGHEST_PROTOCOL)
            staged.chunks += 1
    except BaseException:
        staged.rows.close()
        raise
    if summary.error_count:
        staged.rows.close()
        _reject(summary.extract(), job, count=summary.error_count, problems=staged.problems)
    run_progress(job, 60, f"Loading {summary.rows_read:,} rows")
    return staged


def _import_store(job: ImportJob, chunk: None, staged: _Staged) -> None:
    """Load the staged rows, in the kernel's transaction that also marks the job succeeded."""
    entity = ENTITIES[job.entity]
    summary = staged.summary
    inserted = updated = 0
    try:
        # A savepoint: a row the database refuses rolls back the load, not the kernel's
        # bookkeeping, and the refusal names its spreadsheet row. The chunks hold no key
        # twice (checked across chunks), so upserting them one after the other is the
        # upsert of the whole file.
        with transaction.atomic(), import_changes(entity.model) as changes:
            for extract in staged.extracts():
                new, changed = extract_load(entity=entity, extract=extract)
                inserted, updated = inserted + new, updated + changed
    except ExtractRefused as refused:
        failed = summary.extract()
        failed.errors = refused.errors
        _reject(failed, job)
    finally:
        if staged.rows is not None:
            staged.rows.close()
    if entity.name == "sales_history" and (inserted or updated):
        # Classes steer service levels and shortage priority; new sales move them.
        products_classify()
    job.rows_read = summary.rows_read
    job.warnings = summary.warnings
    job.rows_inserted, job.rows_updated = inserted, updated
    job.rows_unchanged = summary.rows_read - inserted - updated
    hidden = (
        f" ({summary.hidden_rows:,} of them hidden in the workbook, by a filter or by hand)"
        if summary.hidden_rows
        else ""
    )
    job.message = (
        f"Loaded {job.rows_read:,} rows{_sheet_said(summary, 'from')}{hidden}: "
        f"{inserted:,} inserted, {updated:,} updated, {job.rows_unchanged:,} unchanged."
    )
    audit_of(
        job,
        "import.load",
        user=job.created_by,
        old=changes.old or None,
        new={
            "entity": job.entity,
            "file_name": job.file_name,
            "checksum": job.checksum,
            "profile": job.profile_name,
            "rows_read": job.rows_read,
            "inserted": inserted,
            "updated": updated,
            **changes.new,
        },
    )


def _sheet_said(extract: Extract | Summary, preposition: str) -> str:
    """Which sheet of a workbook was read, for the job's message."""
    return f' {preposition} sheet "{extract.sheet}"' if extract.sheet else ""


def _reject(
    extract: Extract,
    job: ImportJob,
    *,
    count: int | None = None,
    problems: ProblemTally | None = None,
) -> NoReturn:
    """Fail the job with its error report: nothing is loaded, and the file is deleted unless
    refused files are kept. `count`: the errors found, when the extract keeps only the first
    of them; `problems`: all of them counted by problem."""
    errors = _clipped(extract.errors)
    count = len(errors) if count is None else count
    if problems is None:
        problems = ProblemTally()
        problems.add(errors)
    # The download: the errors kept, and the first rows of each problem past them.
    listed = problems.download(errors)
    noun = "error" if count == 1 else "errors"
    shown = f" (the first {len(errors):,} are listed)" if count > len(errors) else ""
    raise RunRefused(
        f"{count:,} {noun} found{_sheet_said(extract, 'in')}{shown}; nothing was loaded. "
        "Fix the file and upload it again.",
        fields={
            "rows_read": extract.rows_read,
            "error_count": count,
            "errors": errors.head(ERRORS_ON_PAGE).to_dict("records"),
            # The values and column names are the file's own text; the admin opens this
            # report in a spreadsheet, so whatever would run as a formula there is quoted.
            "errors_csv": listed.assign(
                column=listed["column"].map(cell_safe), value=listed["value"].map(cell_safe)
            ).to_csv(index=False),
            "error_groups": [g.as_dict() for g in problems.groups(listed=listed)],
            "warnings": extract.warnings,
            **_refused_file_forget(job),
        },
    )


def _clipped(errors: pd.DataFrame) -> pd.DataFrame:
    # A value is there to find the cell, not to keep it: a 1 MB cell stays out of the job row.
    return errors.assign(
        column=errors["column"].astype(str).map(_clip),
        value=errors["value"].astype(str).map(_clip),
    )


def _import_failed(error: str) -> dict:
    return {"message": error, "progress": 100}


IMPORT_RUN_KIND = "import"
IMPORT_RUN = RunKind(
    name=IMPORT_RUN_KIND,
    model="sop.ImportJob",
    label="import",
    kept="The load is all or nothing, so nothing of this file was loaded: import it again.",
    plan=_import_plan,
    compute=_import_compute,
    store=_import_store,
    first_phase="Waiting for a worker",
    # A million-row load reports nothing while its one transaction runs.
    stale_after=dt.timedelta(minutes=30),
    crash=lambda exc, chunk: (
        "The import stopped on an unexpected error and loaded nothing: " + _clip(str(exc))
    ),
    failed_fields=_import_failed,
)


def _clip(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL: a file's NUL must not keep its own error
    # report from being saved.
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= ERROR_VALUE_CHARS else text[:ERROR_VALUE_CHARS] + "…"


# -- Loading ---------------------------------------------------------------------------------


def extract_load(*, entity: Entity, extract: Extract) -> tuple[int, int]:
    """Upsert the validated rows by natural key; returns (inserted, updated)."""
    if not len(extract.frame):
        return 0, 0
    model = apps.get_model(entity.model)
    key = [model._meta.get_field(entity.column(k).model_field).attname for k in entity.key]
    use_copy = (
        connection.vendor == "postgresql"
        and len(extract.frame) >= settings.SOP_IMPORT_COPY_THRESHOLD
    )
    loader = _load_copy if use_copy else _load_orm
    if model is Event:
        calendar_changed()  # the steps hear of it once the load commits
    if any(f.attname in extract.frame for f in model._meta.many_to_many):
        return _load_many(model=model, frame=extract.frame, key=key, present=extract.present_fields)
    try:
        return loader(model=model, frame=extract.frame, key=key, present=extract.present_fields)
    except psycopg.DataError as exc:
        # Only COPY reaches the driver's errors unwrapped, and they name the line it read.
        raise _copy_refusal(exc, entity=entity, model=model, frame=extract.frame) from exc


def _copy_refusal(
    exc: psycopg.DataError, *, entity: Entity, model, frame: pd.DataFrame
) -> ExtractRefused:
    """The database's refusal of a COPY line, said as the file's row, column and value.

    COPY counts the data lines it was sent from 1; the frame holds them in order, indexed by
    the row a spreadsheet shows (header row 1, blank rows skipped).
    """
    where = re.search(r", line (\d+)(?:, column (\w+))?", exc.diag.context or "")
    if where is None:
        raise exc
    line, db_column = int(where[1]), where[2] or ""
    attname = next((f.attname for f in model._meta.concrete_fields if f.column == db_column), "")
    names = {model._meta.get_field(c.model_field).attname: c.name for c in entity.columns}
    value = frame[attname].iloc[line - 1] if attname in frame else ""
    return ExtractRefused(
        error_frame(
            [frame.index[line - 1]],
            names.get(attname, db_column),
            ["" if value is None else str(value)],
            f"the database refused this value: {exc.diag.message_primary}",
        )
    )


def _load_copy(*, model, frame: pd.DataFrame, key: list[str], present: list[str]):
    """COPY into a temporary staging table, then merge it with one UPDATE and one INSERT."""
    qn = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in frame.columns]
    table = qn(model._meta.db_table)
    columns = ", ".join(qn(f.column) for f in fields)
    staging_columns = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in fields)
    # A nullable key column (an open purchase line's receipt date) matches NULL to NULL; the
    # other key columns stay plain equalities, which the planner hash-joins on.
    same_key = " AND ".join(
        f"t.{qn(k)} IS NOT DISTINCT FROM s.{qn(k)}"
        if model._meta.get_field(k).null
        else f"t.{qn(k)} = s.{qn(k)}"
        for k in key
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGING}")
        cursor.execute(f"CREATE TEMP TABLE {_STAGING} ({staging_columns}) ON COMMIT DROP")
        rows = zip(*(frame[c].to_numpy(dtype=object).tolist() for c in frame.columns), strict=True)
        with cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Concurrent imports of the same table would race between the UPDATE and the
        # INSERT; this lock queues them while readers carry on.
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        # Without statistics the planner takes the temporary table for tiny and picks
        # nested loops; with them it hash-joins a million rows in seconds.
        cursor.execute(f"ANALYZE {_STAGING}")
        relations = [f for f in fields if f.is_relation]
        skip_row_checks = bool(relations) and _row_triggers_can_be_skipped(cursor)
        if skip_row_checks:
            _check_references(cursor, staging=_STAGING, table=table, relations=relations)
            # Postgres checks a foreign key with one trigger call per row, more than half
            # of a million-row load; the references were just checked in bulk under a lock.
            cursor.execute("SET LOCAL session_replication_role = replica")
        updated = 0
        if present:
            assign = ", ".join(f"{qn(p)} = s.{qn(p)}" for p in present)
            old = ", ".join(f"t.{qn(p)}" for p in present)
            new = ", ".join(f"s.{qn(p)}" for p in present)
            # Identical rows are left untouched, so a re-import updates nothing.
            cursor.execute(
                f"UPDATE {table} AS t SET {assign} FROM {_STAGING} AS s "
                f"WHERE {same_key} AND ROW({old}) IS DISTINCT FROM ROW({new})"
            )
            updated = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_STAGING} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same_key})"
        )
        inserted = cursor.rowcount
        if skip_row_checks:
            cursor.execute("SET LOCAL session_replication_role = origin")
        # Django's foreign keys are deferred to the commit; checking them here keeps a
        # violation inside the load step and its time inside the "Loading" phase.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP TABLE {_STAGING}")
    return inserted, updated


def _row_triggers_can_be_skipped(cursor) -> bool:
    """Whether this database role may turn off trigger-based checks for the transaction.

    A superuser may, and so may a role granted it (PostgreSQL 15+: GRANT SET ON PARAMETER
    session_replication_role TO ...); anyone else keeps the per-row foreign-key checks.
    """
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL session_replication_role = origin")
    except DatabaseError:
        return False
    return True


def _check_references(cursor, *, staging: str, table: str, relations: list) -> None:
    """Refuse staged rows whose references are missing, and keep them from vanishing.

    The SHARE lock makes writers of the referenced table wait until this import commits,
    while readers carry on, so what this anti-join finds stays true until the commit.
    """
    qn = connection.ops.quote_name
    for field in relations:
        target = field.related_model._meta
        target_table = qn(target.db_table)
        target_column = qn(field.target_field.column)
        column = qn(field.column)
        cursor.execute(f"LOCK TABLE {target_table} IN SHARE MODE")
        cursor.execute(
            f"SELECT s.{column} FROM {staging} AS s WHERE s.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {target_table} AS r WHERE r.{target_column} = s.{column}) LIMIT 1"
        )
        missing = cursor.fetchone()
        if missing is not None:
            raise IntegrityError(
                f"insert or update on table {table} violates foreign key constraint on "
                f"{field.column}: key {missing[0]} is not present in table {target_table}"
            )


def _load_orm(*, model, frame: pd.DataFrame, key: list[str], present: list[str]):
    """Load the frame _ORM_SLICE rows at a time: their Python objects are what takes memory."""
    inserted = updated = 0
    for start in range(0, len(frame), _ORM_SLICE):
        part = frame.iloc[start : start + _ORM_SLICE]
        new, changed = _load_orm_slice(model=model, frame=part, key=key, present=present)
        inserted, updated = inserted + new, updated + changed
    return inserted, updated


def _load_orm_slice(*, model, frame: pd.DataFrame, key: list[str], present: list[str]):
    """Compare with the stored rows, then bulk_create the new and bulk_update the changed."""
    meta = model._meta
    convert = {name: _python_value(meta.get_field(name)) for name in frame.columns}
    records = [
        {name: convert[name](value) for name, value in zip(frame.columns, values, strict=True)}
        for values in frame.itertuples(index=False, name=None)
    ]
    existing = {}
    firsts = sorted({r[key[0]] for r in records}, key=str)
    for start in range(0, len(firsts), _IN_CHUNK):
        rows = model.objects.filter(**{f"{key[0]}__in": firsts[start : start + _IN_CHUNK]})
        for row in rows.values_list("pk", *key, *present):
            existing[tuple(row[1 : 1 + len(key)])] = (row[0], row[1 + len(key) :])
    new, changed = [], []
    for record in records:
        found = existing.get(tuple(record[k] for k in key))
        if found is None:
            new.append(model(**record))
        elif tuple(record[p] for p in present) != tuple(found[1]):
            changed.append(model(pk=found[0], **record))
    model.objects.bulk_create(new, batch_size=_ORM_BATCH)
    if changed and present:
        model.objects.bulk_update(changed, present, batch_size=_ORM_BATCH // 4)
    return len(new), len(changed)


def _load_many(*, model, frame: pd.DataFrame, key: list[str], present: list[str]):
    """Load rows with a many-to-many column (an event's locations: ids joined by "|"): the
    row through the ORM loader, then its links replaced. A row counts as updated when a
    field or its links changed, and its version is bumped, so a page opened before the load
    cannot overwrite it. The tables that have one are small (the events calendar)."""
    many = [f for f in model._meta.many_to_many if f.attname in frame]
    plain = [name for name in present if name not in {f.attname for f in many}]
    before = _many_snapshot(model, key, plain, many)
    _load_orm(
        model=model, frame=frame.drop(columns=[f.attname for f in many]), key=key, present=plain
    )
    pks = dict((tuple(row[1:]), row[0]) for row in model.objects.values_list("pk", *key))
    for field in many:
        through = field.remote_field.through
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        links = {
            pks[tuple(row[k] for k in key)]: [
                int(i) for i in str(row[field.attname]).split("|") if i
            ]
            for row in frame.to_dict("records")
        }
        through.objects.filter(**{f"{source}_id__in": list(links)}).delete()
        through.objects.bulk_create(
            through(**{f"{source}_id": pk, f"{target}_id": other})
            for pk, others in links.items()
            for other in others
        )
    after = _many_snapshot(model, key, plain, many)
    changed = [pks[k] for k, values in before.items() if after.get(k) != values]
    if changed and hasattr(model, "version"):
        model.objects.filter(pk__in=changed).update(version=F("version") + 1)
    return len(set(after) - set(before)), len(changed)


def _many_snapshot(model, key: list[str], plain: list[str], many: list) -> dict[tuple, tuple]:
    """Each row's fields and links, by key: what a load compares to say what it changed."""
    rows = model.objects.prefetch_related(*(f.name for f in many)).order_by()
    return {
        tuple(getattr(row, k) for k in key): (
            tuple(getattr(row, name) for name in plain),
            tuple(tuple(sorted(o.pk for o in getattr(row, f.name).all())) for f in many),
        )
        for row in rows
    }


def _python_value(field):
    """A converter from the validated text to the value the database would store."""
    internal = field.get_internal_type()
    if internal == "DecimalField":
        step = Decimal(1).scaleb(-field.decimal_places)
        return lambda v: None if v is None else Decimal(str(v)).quantize(step, ROUND_HALF_UP)
    return lambda v: None if v is None else field.to_python(v)
