"""The one run kernel: the lifecycle of every background run (forecast, supply, scenario, import).

A run is a row of a `sop.models.Run` model. Its kind (a `RunKind` an app registers in its
`AppConfig.ready`) says only what is its own: how to split the work into chunks, compute a
chunk, store it, and what else publishing it does. Everything else is here, once:

    run_create  -> (after commit) task sop.run_start -> run_begin: claim, plan the chunks
                -> tasks sop.run_chunk -> run_chunk: compute, then store under the row lock;
                   the chunk that completes the set publishes, in the same transaction
    run_fail, runs_fail_stale (Celery beat), run_cancel, run_progress (heartbeat), run_wait

The core never imports a planning app: it reads kinds from the registry by name.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions
from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from sop.choices import JobStatus
from sop.models import Cycle, PublishedRun, Run
from sop.roles import who
from sop.services import audit_of

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
# A run whose chunks have not reported for this long lost its worker (killed, OOM, node
# gone); it is marked failed so the page stops waiting and a new run can start. A kind
# whose chunk may rightly stay silent longer says so (`RunKind.stale_after`).
STALE_AFTER = dt.timedelta(minutes=10)

QUEUE_UNREACHABLE = (
    "The task queue is unreachable, so the {what} was not started; {kept} Try again in a few "
    "minutes; if it keeps happening, ask an administrator to check Redis and the Celery workers."
)
LOST_DATABASE = (
    "The database connection was lost during the {what} (was PostgreSQL restarted?). {kept}"
)
# kombu wraps a refused publish in OperationalError; the others are a connection that
# breaks between the connect and the publish.
BROKER_ERRORS = (
    OperationalError,
    OSError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


class RunInProgress(ValidationError):
    """A run of the same scope is already pending or running."""


class RunRefused(Exception):
    """Raised by a kind's `compute` or `store` to fail its run with a message for the user.

    `fields` are saved on the failed row with it (an import's error report); raised in
    `store`, whatever the store wrote is rolled back first.
    """

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.fields = fields or {}


def _nothing(*args: object) -> None:
    return None


def _crash(exc: BaseException, chunk: int | None) -> str:
    where = "Planning the run" if chunk is None else f"Chunk {chunk}"
    return f"{where} failed:\n{''.join(traceback.format_exception(exc))}"


@dataclass(frozen=True)
class RunKind:
    """What one kind of run declares; the kernel does the rest.

    plan(run, options) -> chunk payloads (JSON): called with the locked, claimed row; it
        may set the run's own fields (saved by the kernel). No chunks: published at once.
    compute(run, payload) -> result, outside any lock; None when the run was stopped
        (`run_is_running` tells it). Raise `RunRefused` to fail the run with a message.
    store(run, payload, result): write the chunk's rows, under the run row's lock.
    publish(run, cycle): what else publishing does, inside the same transaction (`cycle`
        is the locked cycle of a cycle's run, else None).
    discard(run): drop the rows of a run that failed when it came to publish, when no
        later publish would (inside the same transaction).
    """

    name: str
    model: str  # "app_label.Model"
    label: str  # "forecast run", in messages
    kept: str  # the last sentence of every failure: what the user still has
    plan: Callable[[Run, dict], list]
    compute: Callable[[Run, Any], Any]
    store: Callable[[Run, Any, Any], None]
    publish: Callable[[Run, Cycle | None], None] = _nothing
    discard: Callable[[Run], None] = _nothing
    stages: tuple[str, ...] = ()  # the cycle stages it may publish in; empty: any
    submitted: str = ""  # why it failed when the stage moved on meanwhile
    first_phase: str = ""
    stale_after: dt.timedelta = STALE_AFTER
    crash: Callable[[BaseException, int | None], str] = _crash
    # Extra columns a failure writes (an import's message and phase).
    failed_fields: Callable[[str], dict] = field(default=lambda error: {})

    @property
    def run_model(self) -> type[Run]:
        return apps.get_model(self.model)


_KINDS: dict[str, RunKind] = {}


def register(kind: RunKind) -> RunKind:
    """Make a kind known to the kernel (from the app's `ready`); registering again replaces."""
    _KINDS[kind.name] = kind
    return kind


def kind_get(name: str) -> RunKind:
    return _KINDS[name]


def kinds() -> list[RunKind]:
    return list(_KINDS.values())


def kind_of(run: Run) -> RunKind:
    label = run._meta.label
    return next(k for k in _KINDS.values() if k.model == label)


# --- starting -------------------------------------------------------------------------------


def run_start(
    kind_name: str,
    *,
    cycle_id: int,
    user: AbstractBaseUser | None,
    admit: Callable[[Cycle], dict[str, Any]],
    audit_action: str,
    audit_new: Callable[[Run], dict[str, Any]] | None = None,
    plan_options: dict | None = None,
) -> Run:
    """Start a run of a cycle, the way every kind starts one; the caller checks permission.

    The kind's stale runs are failed first (a run whose worker died must not block a new one
    until the next sweep); then, with the cycle locked, `admit(cycle)` refuses (it raises)
    or returns the new run's `scope` and fields for `run_create`, and the start is audited.
    If the task queue is unreachable, the run comes back failed with a message saying so.
    """
    kind = kind_get(kind_name)
    runs_fail_stale(kind_names=[kind.name])
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        run = run_create(kind.name, user=user, plan_options=plan_options, **admit(cycle))
        audit_of(run, audit_action, user=user, new=audit_new(run) if audit_new else None)
    return run


def run_create(
    kind_name: str,
    *,
    scope: dict[str, object],
    user: AbstractBaseUser | None,
    plan_options: dict | None = None,
    **fields: object,
) -> Run:
    """Create a pending run and queue it once the current transaction commits.

    Call inside a transaction that holds the lock of what `scope` names (the cycle, the
    scenario), so two clicks cannot both pass the "one active run per scope" check. If the
    task queue is unreachable, the run comes back failed with a message saying so.
    """
    kind = kind_get(kind_name)
    model = kind.run_model
    active = scope and model.objects.filter(**scope, status__in=ACTIVE_STATUSES).first()
    if active:
        raise RunInProgress(
            f"{kind.label.capitalize()} {active.pk} is still "
            f"{active.get_status_display().lower()}: wait for it to finish or cancel it."
        )
    run = model.objects.create(
        **scope,
        **fields,
        phase=_queued_phase(kind),
        created_by=who(user),
        heartbeat_at=timezone.now(),
    )
    transaction.on_commit(lambda: run_send(run, options=plan_options or {}))
    return run


def run_send(run: Run, *, options: dict) -> bool:
    """Hand the run's start task to the dispatcher now; False (and the run failed) if it can't."""
    from sop import tasks  # the tasks call back into this module

    kind = kind_of(run)
    try:
        tasks.dispatch(tasks.run_start_task, kind.name, run.pk, options)
    except Exception as exc:
        if tasks.app.conf.task_always_eager:
            raise
        # Raising here would turn the committed request into a 500 and leave the run pending.
        logger.exception("could not queue %s %s", kind.label, run.pk)
        if isinstance(exc, BROKER_ERRORS):
            error = QUEUE_UNREACHABLE.format(what=kind.label, kept=kind.kept)
        else:
            error = f"The {kind.label} could not be queued ({exc}). {kind.kept}"
        run_fail(kind.name, run_id=run.pk, error=error)
        run.refresh_from_db()
        return False
    return True


# --- the work -------------------------------------------------------------------------------


def run_begin(kind_name: str, run_id: int, options: dict | None = None) -> list:
    """Claim a pending run and split it into chunks; returns their payloads.

    Empty when the run is not pending (a redelivered start) or has no chunks (then it is
    published at once).
    """
    kind = kind_get(kind_name)
    model = kind.run_model
    with transaction.atomic():
        run = model.objects.select_for_update().get(pk=run_id)
        if run.status != JobStatus.PENDING:
            return []
        chunks = kind.plan(run, options or {})
        if run.phase == _queued_phase(kind):
            # The kind's plan named no phase of its own: the page must not say "Queued"
            # while its chunks run.
            run.phase = "Running"
        now = timezone.now()
        run.status = JobStatus.RUNNING
        run.started_at = run.heartbeat_at = now
        run.chunks_total = len(chunks)
        run.save()
        if not chunks:
            _publish(kind, run)
    return chunks


def _queued_phase(kind: RunKind) -> str:
    return kind.first_phase or "Queued"


def run_is_running(model: type[Run], run_id: int) -> bool:
    """Heartbeat, and whether the run should go on (False once cancelled or failed)."""
    model.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
    status = model.objects.filter(pk=run_id).values_list("status", flat=True).first()
    return status == JobStatus.RUNNING


def run_progress(run: Run, progress: int, phase: str) -> None:
    """Report a running run's progress and phase (also its heartbeat)."""
    if (phase, progress) == (run.phase, run.progress):
        return
    run.phase, run.progress = phase, progress
    type(run).objects.filter(pk=run.pk, status=JobStatus.RUNNING).update(
        progress=progress, phase=phase, heartbeat_at=timezone.now()
    )


def run_chunk(kind_name: str, run_id: int, chunk: int, payload: Any) -> bool:
    """Compute one chunk and store it in the run; False if the run was stopped.

    Safe to run twice: a finished chunk is skipped, a half-done one starts over. The
    chunk that completes the set publishes the run in the same transaction.
    """
    kind = kind_get(kind_name)
    model = kind.run_model
    run = model.objects.get(pk=run_id)
    if run.status != JobStatus.RUNNING:
        return False
    if chunk in run.chunks_finished:
        return True
    try:
        result = kind.compute(run, payload)
        if result is None:
            return False
        with transaction.atomic():
            # The run row lock serialises the chunks' bookkeeping across workers.
            locked = model.objects.select_for_update().get(pk=run_id)
            if locked.status != JobStatus.RUNNING:
                return False
            if chunk in locked.chunks_finished:
                return True
            kind.store(locked, payload, result)
            locked.chunks_finished = [*locked.chunks_finished, chunk]
            locked.chunks_done = len(locked.chunks_finished)
            locked.progress = max(
                locked.progress, int(100 * locked.chunks_done / max(locked.chunks_total, 1))
            )
            locked.heartbeat_at = timezone.now()
            locked.save()
            if locked.chunks_done == locked.chunks_total:
                _publish(kind, locked)
    except RunRefused as refused:
        run_fail(kind.name, run_id=run_id, error=str(refused), fields=refused.fields)
        return False
    return True


def run_finish(kind_name: str, run_id: int) -> Run:
    """Publish a run whose chunks have all finished, or fail it; a finished run is left alone."""
    kind = kind_get(kind_name)
    with transaction.atomic():
        run = kind.run_model.objects.select_for_update().get(pk=run_id)
        if run.status == JobStatus.RUNNING:
            _publish(kind, run)
    return run


def _publish(kind: RunKind, run: Run) -> None:
    """Complete a locked running run: publish it, or fail it when it cannot be."""
    cycle = None
    if hasattr(run, "cycle_id"):
        cycle = Cycle.objects.select_for_update().get(pk=run.cycle_id)
    problem = ""
    if run.chunks_done < run.chunks_total:
        problem = f"Only {run.chunks_done} of {run.chunks_total} chunks finished."
    elif kind.stages and cycle is not None and cycle.stage not in kind.stages:
        problem = kind.submitted
    now = timezone.now()
    if problem:
        run.status = JobStatus.FAILED
        run.error = f"{problem} {kind.kept}"
        run.finished_at = now
        for name, value in kind.failed_fields(run.error).items():
            setattr(run, name, value)
        run.save()
        kind.discard(run)
        return
    if isinstance(run, PublishedRun):
        scope = f"{run.publish_scope}_id"
        type(run).objects.filter(**{scope: getattr(run, scope)}, is_published=True).update(
            is_published=False
        )
        run.is_published = True
        run.published_at = now
    run.status = JobStatus.SUCCEEDED
    run.finished_at = now
    run.progress = 100
    run.phase = "Done"
    run.save()  # first: what the kind does next reads the published run
    kind.publish(run, cycle)
    run.save()


# --- stopping -------------------------------------------------------------------------------


def run_fail(
    kind_name: str, *, run_id: int, error: str, fields: dict[str, Any] | None = None
) -> bool:
    """Record why a run stopped; a finished run is left as it is. True if it was failed.

    `fields` are saved with the failure (see `RunRefused`).
    """
    kind = kind_get(kind_name)
    error = error[:5000]
    return bool(
        kind.run_model.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
            status=JobStatus.FAILED,
            error=error,
            finished_at=timezone.now(),
            **{"phase": "Stopped", **kind.failed_fields(error), **(fields or {})},
        )
    )


def run_lost_database(kind_name: str) -> str:
    kind = kind_get(kind_name)
    return LOST_DATABASE.format(what=kind.label, kept=kind.kept)


def run_cancel(run: Run) -> bool:
    """Stop a pending or running run; its chunks notice within seconds. True if it was active."""
    cancelled = (
        type(run)
        .objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES)
        .update(status=JobStatus.CANCELLED, phase="Cancelled", finished_at=timezone.now())
    )
    run.refresh_from_db()
    return bool(cancelled)


def runs_fail_stale(*, now: dt.datetime | None = None, kind_names: Sequence[str] = ()) -> int:
    """Fail the runs of every kind whose workers stopped reporting (killed); returns how many."""
    failed = 0
    for kind in kinds():
        if kind_names and kind.name not in kind_names:
            continue
        cutoff = (now or timezone.now()) - kind.stale_after
        minutes = int(kind.stale_after.total_seconds() // 60)
        error = f"Nothing reported for {minutes} minutes: a worker was lost. {kind.kept}"
        failed += kind.run_model.objects.filter(
            status__in=ACTIVE_STATUSES, heartbeat_at__lt=cutoff
        ).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=error,
            **{"phase": "Stopped", **kind.failed_fields(error)},
        )
    return failed


def run_wait(run: Run, *, timeout: float, poll_seconds: float = 0.2, label: str = "") -> Run:
    """Block until the run finishes (for benchmarks and scripts)."""
    deadline = time.monotonic() + timeout
    run.refresh_from_db()
    while not run.is_finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label or run} still {run.status} after {timeout:.0f} s")
        time.sleep(poll_seconds)
        run.refresh_from_db()
    return run
