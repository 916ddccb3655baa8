from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from celery.signals import task_postrun, task_received
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from sop import imports
from sop.celery import app
from sop.choices import JobStatus, Role
from sop.models import ImportJob, SalesHistory

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture
def redis_celery():
    """The project's Celery app on the test Redis broker, with a worker thread consuming."""
    from celery.contrib.testing.worker import start_worker

    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    _drop_broker_pools()
    app.conf.update(
        broker_url=os.environ["SOP_TEST_REDIS_URL"], task_always_eager=False, result_backend=None
    )
    app.control.purge()  # tasks left by an interrupted earlier run would name missing jobs

    def close_worker_connections(**kwargs):
        # The worker thread's connection would otherwise outlive the test database.
        connections.close_all()

    received: list[str] = []

    def record(request, **kwargs):
        received.append(request.name)  # only a worker taking a message off the broker sends it

    task_postrun.connect(close_worker_connections, weak=False)
    task_received.connect(record, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, loglevel="WARNING"):
            yield received
    finally:
        task_postrun.disconnect(close_worker_connections)
        task_received.disconnect(record)
        app.conf.update(saved)
        _drop_broker_pools()


def _drop_broker_pools() -> None:
    # Even eager calls open a producer pool on the configured broker (memory://) and Celery
    # keeps it, so drop both caches. Not app.close(): it also deregisters the app, and task
    # modules imported later (shared_task) would never register with it.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_upload_is_imported_by_a_celery_worker_through_redis(
    redis_celery, client_for, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    for entity in ("suppliers", "products", "locations"):
        imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
    content = (SAMPLES / "sales_history.csv").read_bytes()
    admin = client_for(Role.ADMIN)
    preview = admin.post(
        "/imports/",
        {"entity": "sales_history", "file": SimpleUploadedFile("sales_history.csv", content)},
    )
    response = admin.post(preview["Location"] + "confirm/")
    job = ImportJob.objects.get(entity="sales_history")
    assert response["Location"] == f"/imports/{job.pk}/"

    deadline = time.monotonic() + 30
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.rows_inserted == SalesHistory.objects.count() == 100
    assert redis_celery == ["sop.run_start", "sop.run_chunk"]
