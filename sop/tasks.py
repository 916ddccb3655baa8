"""The Celery tasks of every background run, and where they are sent.

Thin: they take a kind's name and a run id and call the kernel (`sop.runs`). The delivery
policy is here once: acks late and requeue on a lost worker (settings), every failure
recorded on the run row rather than raised (the page reads the row, never the queue), and a
lost database retried with backoff until the row can say so.

Where a task goes (`dispatch`):
- a broker is configured (REDIS_URL): the Celery workers;
- no broker, in the web process (the embedded default of `manage.py demo`): a small thread
  pool in this process (`sop.background`), so the request that started the run answers at
  once and the page polls the row for progress, exactly as with workers;
- no broker anywhere else (the test command, management commands, scripts): eagerly, in
  the caller's thread, so the caller has the result when the call returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from celery import group
from django.db import Error as DatabaseError
from django.db import InterfaceError, OperationalError, connection

from sop import background, import_sources, runs
from sop.celery import app
from sop.models import ImportSource

logger = logging.getLogger(__name__)

# Ten attempts, 1 s apart and doubling up to 30 s: a PostgreSQL restart takes seconds.
LOST_DATABASE_RETRIES = 10
# What a dropped or refused connection raises; an IntegrityError is the step's own failure.
LOST_CONNECTION = (OperationalError, InterfaceError)

_in_process: ContextVar[bool] = ContextVar("sop_tasks_in_process", default=False)


@contextmanager
def in_process() -> Iterator[None]:
    """Run every task dispatched in the block in this thread, broker or not.

    For a command that walks a cycle through its stages and needs each run's result before
    the next move (the demo's past cycles): the runs are started by the same services as
    on the pages, but finish before the service that queued them returns.
    """
    eager, token = app.conf.task_always_eager, _in_process.set(True)
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        _in_process.reset(token)


def dispatch(task, *args: object) -> None:
    """Send `task` where this deployment runs tasks (see the module docstring)."""
    if app.conf.task_always_eager and background.enabled() and not _in_process.get():
        background.submit(task.apply, args)
    else:
        # The page reads the run row, never this task's result: ignoring the result spares
        # the result backend's subscribe, which retries for 20 s when Redis is down.
        task.apply_async(args, ignore_result=True)


def _guarded(kind: str, run_id: int, chunk: int | None, work):
    """Run a step of a run; record any failure on the row instead of raising it."""
    try:
        return work()
    except LOST_CONNECTION:
        # The step's own writes are gone with the connection; the row must still say failed.
        logger.exception("%s run %s lost its database connection", kind, run_id)
        connection.close()  # the next query reconnects
        try:
            run_fail_task.delay(kind, run_id, runs.run_lost_database(kind))
        except DatabaseError:
            logger.error("%s run %s: the database stayed unreachable", kind, run_id)
    except Exception as exc:
        logger.exception("%s run %s failed", kind, run_id)
        runs.run_fail(kind, run_id=run_id, error=runs.kind_get(kind).crash(exc, chunk))
    return None


@app.task(name="sop.run_start", ignore_result=True)
def run_start_task(kind: str, run_id: int, options: dict) -> None:
    """Claim the run, plan its chunks and fan them out to every worker."""
    chunks = _guarded(kind, run_id, None, lambda: runs.run_begin(kind, run_id, options))
    if chunks:
        group(
            run_chunk_task.si(kind, run_id, index, payload) for index, payload in enumerate(chunks)
        ).apply_async(ignore_result=True)


def run_now(kind: str, run_id: int, options: dict | None = None) -> None:
    """Run a whole run in this process, broker or not (commands that need the result)."""
    chunks = _guarded(kind, run_id, None, lambda: runs.run_begin(kind, run_id, options or {}))
    for index, payload in enumerate(chunks or ()):
        _guarded(kind, run_id, index, partial(runs.run_chunk, kind, run_id, index, payload))


# acks_late + reject_on_worker_lost (settings): a chunk whose worker dies is redelivered.
@app.task(name="sop.run_chunk", ignore_result=True)
def run_chunk_task(kind: str, run_id: int, chunk: int, payload: object) -> None:
    _guarded(kind, run_id, chunk, lambda: runs.run_chunk(kind, run_id, chunk, payload))


@app.task(
    bind=True,
    name="sop.run_fail",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=LOST_DATABASE_RETRIES,
)
def run_fail_task(self, kind: str, run_id: int, error: str) -> None:
    if self.request.is_eager and self.request.retries:
        # Eager retries ignore the countdown; wait as a worker would before trying again.
        time.sleep(min(2 ** (self.request.retries - 1), 5))
        connection.close()
    runs.run_fail(kind, run_id=run_id, error=error)


@app.task(name="sop.runs_fail_stale")
def runs_fail_stale_task() -> int:
    return runs.runs_fail_stale()


@app.task(name="sop.import_sources_due")
def import_sources_due_task() -> list[int]:
    """Start the pulls that are due, each in its own task."""
    due = import_sources.import_sources_due()
    for source_id in due:
        dispatch(import_source_pull_task, source_id)
    return due


@app.task(name="sop.import_source_pull", ignore_result=True)
def import_source_pull_task(source_id: int) -> None:
    source = ImportSource.objects.filter(pk=source_id).first()
    if source is None:
        return
    try:
        import_sources.import_source_pull(source=source)
    except import_sources.PullBusy:
        logger.info("Pull of source %s skipped: one is running", source_id)


@app.task(name="sop.imports_sweep")
def imports_sweep_task() -> int:
    """Delete the stored import files the history no longer needs (SOP_IMPORT_KEEP_DAYS)."""
    from sop.imports import imports_sweep  # the imports read the kernel, which reads the tasks

    return imports_sweep()
