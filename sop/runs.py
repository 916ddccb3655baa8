"""The lifecycle shared by chunked background runs (forecast, supply plan, ...).

A run is a `sop.models.ChunkedRun` row: chunks report into it, the last one publishes it,
and whatever goes wrong leaves the previously published run of the cycle in place.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence

import redis.exceptions
from celery import Task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from sop.choices import JobStatus
from sop.models import ChunkedRun, Cycle

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)

QUEUE_UNREACHABLE = (
    "The task queue is unreachable, so the {what} was not started; the published plan is "
    "unchanged. Try again in a few minutes; if it keeps happening, ask an administrator to "
    "check Redis and the Celery workers."
)
# kombu wraps a refused publish in OperationalError; the others are a connection that
# breaks between the connect and the publish.
BROKER_ERRORS = (
    OperationalError,
    OSError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def run_publish(
    model: type[ChunkedRun],
    *,
    run_id: int,
    stages: Iterable[str],
    submitted: str,
    kept: str,
    scope: str = "cycle",
) -> tuple[ChunkedRun, Cycle | None]:
    """Make a fully computed run the published one of its `scope`; call inside a transaction.

    `scope` names the foreign key that has one published run: the cycle for forecast and
    supply runs, the scenario for scenario runs. Returns the run and its locked cycle, or
    None for the cycle when nothing was published: the run had already finished, or it
    failed here because a chunk is missing or the stage was submitted meanwhile
    (`submitted`, then `kept` is the error's last sentence).
    """
    run = model.objects.select_for_update().get(pk=run_id)
    if run.status != JobStatus.RUNNING:
        return run, None
    cycle = Cycle.objects.select_for_update().get(pk=run.cycle_id)
    problem = ""
    if run.chunks_done < run.chunks_total:
        problem = f"Only {run.chunks_done} of {run.chunks_total} chunks finished."
    elif cycle.stage not in stages:
        problem = submitted
    now = timezone.now()
    if problem:
        run.status = JobStatus.FAILED
        run.error = f"{problem} {kept}"
        run.finished_at = now
        run.save(update_fields=["status", "error", "finished_at"])
        return run, None
    owner = {f"{scope}_id": getattr(run, f"{scope}_id")}
    model.objects.filter(**owner, is_published=True).update(is_published=False)
    run.status = JobStatus.SUCCEEDED
    run.is_published = True
    run.published_at = run.finished_at = now
    run.progress = 100
    run.save(update_fields=["status", "is_published", "published_at", "finished_at", "progress"])
    return run, cycle


def run_fail(model: type[ChunkedRun], *, run_id: int, error: str) -> None:
    """Record why a run stopped; a finished run is left as it is."""
    model.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def runs_fail_stale(
    model: type[ChunkedRun], *, stale_after: dt.timedelta, kept: str, now: dt.datetime | None = None
) -> int:
    """Fail runs whose workers stopped reporting (killed); returns how many."""
    cutoff = (now or timezone.now()) - stale_after
    minutes = int(stale_after.total_seconds() // 60)
    return model.objects.filter(status__in=ACTIVE_STATUSES, heartbeat_at__lt=cutoff).update(
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
        error=f"No chunk reported for {minutes} minutes: a worker was lost. {kept}",
    )


def run_dispatch(
    model: type[ChunkedRun], *, run: ChunkedRun, task: Task, args: Sequence[object], what: str
) -> None:
    """Send the run's first task once the current transaction commits.

    If it cannot be queued, `run` is failed, on its row and in memory, with a message
    saying why (`QUEUE_UNREACHABLE` when the broker is down), so the view that started it
    can tell the user at once; it never stays pending until the stale-run sweep. `what`
    names the run in that message ("forecast run"). With no broker (eager mode) the task
    runs in-process as before and its errors propagate.
    """
    transaction.on_commit(lambda: run_send(model, run=run, task=task, args=args, what=what))


def run_send(
    model: type[ChunkedRun], *, run: ChunkedRun, task: Task, args: Sequence[object], what: str
) -> bool:
    """Queue the run's first task now; False (and the run failed) if it could not be."""
    try:
        # The page reads the run row, never this task's result: ignoring the result spares
        # the result backend's subscribe, which retries for 20 s when Redis is down.
        task.apply_async(tuple(args), ignore_result=True)
    except Exception as exc:
        if task.app.conf.task_always_eager:
            raise
        # Raising here would turn the committed request into a 500 and leave the run pending.
        logger.exception("could not queue %s %s", what, run.pk)
        if isinstance(exc, BROKER_ERRORS):
            error = QUEUE_UNREACHABLE.format(what=what)
        else:
            error = f"The {what} could not be queued ({exc}); the published plan is unchanged."
        run_fail(model, run_id=run.pk, error=error)
        run.refresh_from_db(fields=["status", "error", "finished_at"])
        return False
    return True


def run_wait(run: ChunkedRun, *, timeout: float, poll_seconds: float, label: str) -> ChunkedRun:
    """Block until the run finishes (for benchmarks and the demo seeder)."""
    deadline = time.monotonic() + timeout
    run.refresh_from_db()
    while not run.is_finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label} run {run.pk} still {run.status} after {timeout:.0f} s")
        time.sleep(poll_seconds)
        run.refresh_from_db()
    return run
