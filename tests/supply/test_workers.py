"""A supply run on real Celery workers (Redis broker, PostgreSQL): chunks from the queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from sop.choices import JobStatus
from sop.runs import run_wait
from supply.models import InventoryProjection, SupplyRun
from tests.supply.conftest import MONTHS

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# The worker imports Django and both pools; give it time on a loaded machine.
WORKER_TIMEOUT = 180

# A worker whose chord parts go to this test's own queue, so other workers on the same
# broker (another test run, a developer's) never take them.
_WORKER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
django.setup()
from sop.celery import app
app.conf.task_default_queue = sys.argv[1]
app.worker_main(["worker", "-c", "2", "-Q", sys.argv[1], "-l", "WARNING", "-P", "prefork",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


@pytest.fixture
def worker_queue():
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["REDIS_URL"] = os.environ["SOP_TEST_REDIS_URL"]
    queue = f"test-supply-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER, queue],
        cwd=settings.BASE_DIR,
        env=env,
        start_new_session=True,
    )
    yield queue
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with Celery(broker=env["REDIS_URL"], set_as_current=False).connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def test_workers_compute_the_chunks_and_publish_the_run(cycle, worker_queue):
    run = SupplyRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    sender = Celery(broker=os.environ["SOP_TEST_REDIS_URL"], set_as_current=False)
    try:
        # One SKU-location a chunk: the line's group and TEA go to the workers apart.
        sender.send_task(
            "sop.run_start", args=["supply", run.pk, {"chunk_rows": 1}], queue=worker_queue
        )
    finally:
        sender.close()
    run = run_wait(run, timeout=WORKER_TIMEOUT)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.is_published
    assert (run.chunks_total, run.chunks_done, sorted(run.chunks_finished)) == (2, 2, [0, 1])
    assert InventoryProjection.objects.filter(run=run).count() == 3 * len(MONTHS)
