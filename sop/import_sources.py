"""Scheduled pulls: extracts taken from where an ERP leaves them, imported as any file is.

An `ImportSource` is a folder the ERP drops files into, or an SQL query on the ERP's
database (PostgreSQL), read with an import profile. Each file, or each query result, becomes
an ordinary ImportJob (`sop.imports.import_file` / `import_rows`): the same validation, the
same all-or-nothing load, the same history. A pull that fails (a refused row, an unreachable
database, an SQL error, a missing folder) loads nothing and notifies the admins with the
reason. `import_sources_due` (Celery beat, every minute) starts the pulls that are due.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

import psycopg
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from psycopg import sql
from psycopg.rows import dict_row

from sop import run_views, selectors
from sop.choices import JobStatus, PullOutcome, SourceKind
from sop.import_problems import ErrorGroup, error_groups, job_error_groups
from sop.import_profiles import import_reading
from sop.imports import PushRefused, import_file, import_rows
from sop.models import ImportPull, ImportSource
from sop.notifications import notify_admins
from sop.roles import require
from sop.services import audit_record

logger = logging.getLogger(__name__)

# A file younger than this may still be being written by the ERP: it waits for the next pull.
FOLDER_SETTLE = dt.timedelta(seconds=60)
# A pull marked running for longer than this died with its process; the source is free again.
PULL_STUCK = dt.timedelta(hours=2)
DONE, REFUSED = "done", "refused"
FORECAST_RUN_KIND = "forecast"
CONNECT_TIMEOUT_SECONDS = 10
_FETCH_ROWS = 5000
# How many of a refused pull's problems the admins' notification names (the first row of each).
_ERRORS_TOLD = 3


class PullBusy(Exception):
    """The source is being pulled already; this pull did nothing."""


def import_source_pull(
    *, source: ImportSource, user: AbstractBaseUser | None = None
) -> list[ImportPull]:
    """Pull the source now: each new file of a folder, or the query's result, as one import.

    Returns a record per file or query run. Raises PullBusy when a pull of the source is
    running (the schedule and "pull now" never take the same file twice).
    """
    require(user, "sop.run_import", "pull imports")
    now = timezone.now()
    claimed = (
        ImportSource.objects.filter(pk=source.pk)
        .filter(Q(pulling_since__isnull=True) | Q(pulling_since__lt=now - PULL_STUCK))
        .update(pulling_since=now)
    )
    if not claimed:
        raise PullBusy(f"A pull of {source.name} is running already.")
    try:
        if source.kind == SourceKind.FOLDER:
            pulls = _pull_folder(source, user)
        else:
            pulls = [_pull_sql(source, user)]
        loaded = [
            p
            for p in pulls
            if p.outcome == PullOutcome.SUCCEEDED and p.job.rows_inserted + p.job.rows_updated
        ]
        if source.rerun_forecast and loaded:
            loaded[-1].message += f" {_forecast_rerun(user)}"
            loaded[-1].save(update_fields=["message"])
        return pulls
    finally:
        ImportSource.objects.filter(pk=source.pk).update(
            pulling_since=None, last_pull_at=timezone.now()
        )


def import_sources_due(*, now: dt.datetime | None = None) -> list[int]:
    """Claim the enabled sources whose pull is due and set their next time; returns their ids.

    The claim is a conditional update, so two beats that overlap start each pull once.
    """
    now = now or timezone.now()
    due = ImportSource.objects.filter(enabled=True).filter(
        Q(next_due_at__isnull=True) | Q(next_due_at__lte=now)
    )
    claimed = []
    for source in due:
        following = now + dt.timedelta(minutes=source.interval_minutes)
        if ImportSource.objects.filter(pk=source.pk, next_due_at=source.next_due_at).update(
            next_due_at=following
        ):
            claimed.append(source.pk)
    return claimed


def _forecast_rerun(user: AbstractBaseUser | None) -> str:
    """Start the current cycle's forecast run as its page's button does; say what happened.

    The forecast is the demand step's run kind: the core reaches it through the panel the
    step registered, never by importing the demand app.
    """
    panel = run_views.panels().get(FORECAST_RUN_KIND)
    cycle = selectors.cycle_current()
    if panel is None or panel.start is None or cycle is None:
        return "There is no cycle whose forecast could be re-run."
    try:
        panel.start(cycle=cycle, user=user)
    except (ValidationError, PermissionDenied) as exc:
        said = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        return f"The forecast was not re-run: {said}"
    return f"The forecast of {cycle} is re-running."


# -- Folders ---------------------------------------------------------------------------------


def _pull_folder(source: ImportSource, user: AbstractBaseUser | None) -> list[ImportPull]:
    """Import each settled file matching the glob, oldest first; move it to done/ or refused/."""
    folder = Path(source.folder)
    if not folder.is_dir():
        return [_failed(source, f"the folder {folder} is not there or is not a folder")]
    settled = time.time() - FOLDER_SETTLE.total_seconds()
    files = sorted(
        (p for p in folder.glob(source.file_glob) if p.is_file() and p.stat().st_mtime <= settled),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    pulls = []
    for path in files:
        checksum = _sha256(path)
        earlier = source.pulls.filter(checksum=checksum, outcome=PullOutcome.SUCCEEDED).first()
        if earlier is not None:
            _move(path, DONE)
            pulls.append(
                _record(
                    source,
                    PullOutcome.SKIPPED,
                    file_name=path.name,
                    checksum=checksum,
                    message=f"The same content as {earlier.file_name}, imported "
                    f"{earlier.at:%Y-%m-%d %H:%M}: not imported again.",
                )
            )
            continue
        try:
            reading = import_reading(
                entity=source.entity, file_name=path.name, profile=source.profile, match=False
            )
        except ValidationError as exc:
            _move(path, REFUSED)
            pulls.append(_failed(source, exc.messages[0], file_name=path.name, checksum=checksum))
            continue
        job = import_file(entity=source.entity, path=path, user=user, reading=reading)
        if job.status == JobStatus.SUCCEEDED:
            _move(path, DONE)
            pulls.append(
                _record(
                    source,
                    PullOutcome.SUCCEEDED,
                    job=job,
                    file_name=path.name,
                    checksum=checksum,
                    message=job.message,
                )
            )
        else:
            _move(path, REFUSED)
            pulls.append(
                _failed(
                    source,
                    _reason(job.message or job.error, job_error_groups(job)),
                    job=job,
                    file_name=path.name,
                    checksum=checksum,
                )
            )
    return pulls


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _move(path: Path, where: str) -> Path:
    """Move the file into the `where` subfolder, never over an earlier file of the same name."""
    target_dir = path.parent / where
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        target = target_dir / f"{path.stem}-{stamp}{path.suffix}"
    shutil.move(path, target)
    return target


# -- SQL -------------------------------------------------------------------------------------


def _pull_sql(source: ImportSource, user: AbstractBaseUser | None) -> ImportPull:
    """Run the query read-only and import its result set as the rows of a file."""
    url = os.environ.get(source.url_env, "")
    if not url:
        return _failed(
            source,
            f"the environment variable {source.url_env}, which should hold the database's "
            "connection URL, is not set on the server",
        )
    try:
        rows = source_query_rows(url=url, query=source.query)
    except psycopg.Error as exc:
        return _failed(source, f"the database could not run the query: {_first_line(exc)}")
    except ValueError as exc:
        return _failed(source, str(exc))
    if not rows:
        return _record(source, PullOutcome.SKIPPED, message="The query returned no rows.")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    file_name = f"{source.entity}-{_slug(source.name)}-{stamp}.csv"
    try:
        job = import_rows(
            entity=source.entity,
            rows=rows,
            user=user,
            profile=source.profile.name if source.profile else "",
            file_name=file_name,
        )
    except PushRefused as refused:
        found = [{**e, "column": e["field"]} for e in refused.errors]
        reason = _reason(str(refused), error_groups(found))
        return _failed(source, reason, job=refused.job, file_name=file_name)
    return _record(source, PullOutcome.SUCCEEDED, job=job, file_name=file_name, message=job.message)


def source_query_rows(*, url: str, query: str) -> list[dict[str, object]]:
    """The query's rows as {column: value}, run in a READ ONLY transaction with a timeout.

    The query runs as a server-side cursor, which takes one SELECT (or VALUES, TABLE) and
    nothing else: no second statement can follow it. ValueError if it names a column twice.
    """
    timeout_ms = settings.SOP_PULL_STATEMENT_TIMEOUT * 1000
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
        connection.read_only = True
        with connection.cursor() as setup:
            setup.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(timeout_ms))
        with connection.cursor(name="sop_pull", row_factory=dict_row) as cursor:
            cursor.execute(query)
            names = [column.name for column in cursor.description or ()]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(
                    f"the query names the column {', '.join(twice)} more than once: "
                    "give each column its own name (AS ...)"
                )
            rows = []
            while batch := cursor.fetchmany(_FETCH_ROWS):
                rows.extend(batch)
        connection.rollback()  # it read only; nothing to keep
    return rows


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "source"


# -- Records and notifications ---------------------------------------------------------------


def _reason(said: str, groups: list[ErrorGroup]) -> str:
    """A refusal and its first problems, wrong values before unknown references, for the
    admins' notification."""
    told = "; ".join(_told(group) for group in groups[:_ERRORS_TOLD])
    return f"{said} {told}".strip()


def _told(group: ErrorGroup) -> str:
    first = group.first[0]
    more = f" (and {group.count - 1:,} more)" if group.count > 1 else ""
    return f"row {first['row']} {group.column} {first['value']!r}: {first['reason']}{more}"


def _record(source: ImportSource, outcome: str, **fields) -> ImportPull:
    return ImportPull.objects.create(source=source, outcome=outcome, **fields)


def _failed(source: ImportSource, reason: str, **fields) -> ImportPull:
    """Record a failed pull and tell the admins why; nothing was loaded."""
    pull = _record(source, PullOutcome.FAILED, message=reason, **fields)
    what = f"{fields['file_name']} from " if fields.get("file_name") else ""
    job = fields.get("job")
    url = reverse("sop:import_detail", args=[job.pk]) if job is not None else ""
    notify_admins(
        subject=f"S&OP: the pull of {source.name} failed",
        message=f"The scheduled pull of {what}{source.name} failed and loaded nothing: {reason}",
        url=url,
    )
    logger.warning("Pull of %s failed: %s", source.name, reason)
    return pull


# -- Saving and checking a source ------------------------------------------------------------


def import_source_save(
    *, user: AbstractBaseUser | None, source: ImportSource | None = None, values: dict
) -> ImportSource:
    """Create a source, or save an edit of `source`; ValidationError names each wrong field."""
    action = "add" if source is None else "change"
    require(user, f"sop.{action}_importsource", f"{action} import sources")
    row = source or ImportSource()
    old = _audited(row) if source is not None else None
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()
    with transaction.atomic():
        row.save()
        audit_record(
            user=user,
            action=f"import_source.{'create' if source is None else 'update'}",
            object_type="import_source",
            object_id=row.pk,
            old=old,
            new=_audited(row),
        )
    return row


def import_source_check(*, source: ImportSource) -> str:
    """What a pull would take now, in a sentence, without importing anything."""
    if source.kind == SourceKind.FOLDER:
        folder = Path(source.folder)
        if not folder.is_dir():
            return f"The folder {folder} is not there or is not a folder."
        settled = time.time() - FOLDER_SETTLE.total_seconds()
        files = sorted(p for p in folder.glob(source.file_glob) if p.is_file())
        waiting = sum(1 for p in files if p.stat().st_mtime > settled)
        if not files:
            return f"No file in {folder} matches {source.file_glob}."
        named = ", ".join(p.name for p in files[:10]) + (" …" if len(files) > 10 else "")
        noun = "file matches" if len(files) == 1 else "files match"
        still = f" ({waiting} still being written)" if waiting else ""
        return f"{len(files)} {noun} {source.file_glob}{still}: {named}."
    url = os.environ.get(source.url_env, "")
    if not url:
        return f"The environment variable {source.url_env} is not set on the server."
    try:
        rows = source_query_rows(url=url, query=source.query)
    except psycopg.Error as exc:
        return f"The database could not run the query: {_first_line(exc)}"
    except ValueError as exc:
        return f"{str(exc)[0].upper()}{str(exc)[1:]}."
    if not rows:
        return "The query ran and returned no rows."
    return f"The query returned {len(rows):,} rows with the columns {', '.join(rows[0])}."


def _audited(source: ImportSource) -> dict:
    return {
        "name": source.name,
        "kind": source.kind,
        "entity": source.entity,
        "profile": source.profile.name if source.profile_id else "",
        "folder": source.folder,
        "file_glob": source.file_glob,
        "url_env": source.url_env,
        "query": source.query,
        "interval_minutes": source.interval_minutes,
        "enabled": source.enabled,
        "rerun_forecast": source.rerun_forecast,
    }
