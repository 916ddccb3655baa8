"""Celery tasks of the core: thin wrappers that take ids and call a service."""

from __future__ import annotations

from sop import imports
from sop.celery import app


@app.task(name="sop.import_job_run")
def import_job_run_task(job_id: int) -> None:
    imports.import_job_run(job_id=job_id)
