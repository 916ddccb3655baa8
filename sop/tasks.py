"""Celery tasks of the core: thin wrappers that take ids and call a service."""

from __future__ import annotations

import logging
import time

from django.db import Error as DatabaseError
from django.db import connection
from django.utils import timezone

from sop import imports
from sop.celery import app
from sop.choices import JobStatus
from sop.models import ImportJob

logger = logging.getLogger(__name__)

LOST_DATABASE = (
    "The database connection was lost during the import (was PostgreSQL restarted?). The "
    "load is one transaction, so nothing of this file was loaded. Import the file again."
)
RECONNECT_ATTEMPTS = 30


# The page reads the job row, never this task's result.
@app.task(name="sop.import_job_run", ignore_result=True)
def import_job_run_task(job_id: int) -> None:
    try:
        imports.import_job_run(job_id=job_id)
    except DatabaseError:
        # import_job_run records its own failures, except when the database itself went
        # away (a restart mid-load): then the job would stay "running" for good.
        logger.exception("import job %s lost its database connection", job_id)
        _fail_once_reachable(job_id)


def _fail_once_reachable(job_id: int) -> None:
    for attempt in range(RECONNECT_ATTEMPTS):
        connection.close()  # the next query reconnects
        try:
            ImportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                phase="Stopped",
                progress=100,
                finished_at=timezone.now(),
                message=LOST_DATABASE,
            )
            return
        except DatabaseError:
            time.sleep(min(0.5 * (attempt + 1), 2))
    logger.error("import job %s: the database stayed unreachable; it still says running", job_id)
