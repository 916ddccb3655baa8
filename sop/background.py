"""The embedded default's task runner: a small thread pool inside the web process.

Without a broker (no REDIS_URL) there are no Celery workers, and running a forecast
eagerly inside the request froze the page for half a minute. Instead the dispatcher
(`sop.tasks.dispatch`) hands the task to these threads and the request answers at once;
the task runs as Celery would run it eagerly (`Task.apply`, so a run's chunks run one
after another in that thread) and writes progress to the run row, which the page polls
exactly as it does with workers. SQLite runs in WAL mode (`sop.env`), so pages read while
a run writes. Only the web process turns this on (`sop.wsgi`, `sop.asgi`, which `runserver`
and `manage.py demo` load too); tests, commands and scripts keep running tasks eagerly in
the caller, so they have the result when the call returns.

Why threads and not a worker process beside the dev server: nothing more to start or
stop, no broker or result backend to emulate, and the quick start stays one command. The
price: a run dies with the web process (the stale sweep fails it, as for a killed worker; a
daemon thread runs beat's schedule in this process), and the work shares its CPU.
Deployments that care run Redis and workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_enabled = False


def enable() -> None:
    """Make this process run broker-less tasks in the background (the WSGI/ASGI entry points).

    Without a broker there is no Celery beat either: a daemon thread runs its schedule
    (the stale-run sweep), so a run lost with an earlier web process is failed here too.
    """
    global _enabled
    with _lock:
        if _enabled:
            return
        _enabled = True
    if not settings.REDIS_URL:  # with a broker, Celery beat runs the schedule
        threading.Thread(target=_beat, name="sop-beat", daemon=True).start()


def _beat() -> None:
    from sop import tasks  # registers the tasks the schedule names

    app = tasks.app

    schedule = settings.CELERY_BEAT_SCHEDULE
    due = {name: time.monotonic() + entry["schedule"] for name, entry in schedule.items()}
    while due:
        name = min(due, key=due.get)
        time.sleep(max(due[name] - time.monotonic(), 0))
        submit(app.tasks[schedule[name]["task"]].apply, ())
        due[name] += schedule[name]["schedule"]


def enabled() -> bool:
    return _enabled


def submit(function: Callable, args: tuple) -> Future:
    """Run `function(args)` on a background thread of this process."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.SOP_BACKGROUND_THREADS, thread_name_prefix="sop-run"
            )
    return _pool.submit(_run, function, args)


def _run(function: Callable, args: tuple) -> None:
    try:
        function(args)
    except Exception:
        logger.exception("background task %s%r failed", function, args)
    finally:
        # Each thread has its own connections; a pool thread must not keep them open.
        connections.close_all()


def drain() -> None:
    """Wait for every submitted task to finish (a script that enabled the pool, before it exits)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
