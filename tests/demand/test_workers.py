"""Forecast runs on real Celery workers (Redis broker, PostgreSQL), killed mid-run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import numpy as np
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from demand.models import ConsensusDemand, ForecastRun
from sop.choices import JobStatus
from sop.models import SalesHistory
from sop.runs import STALE_AFTER, run_wait, runs_fail_stale
from sop.services import add_months
from tests.demand.conftest import CYCLE_MONTH
from tests.factories import LocationFactory, ProductFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# The worker imports Django and both pools; give it time on a loaded machine.
WORKER_TIMEOUT = 180
SERIES_PER_CHUNK = 30

# Runs a worker whose chord parts go to this test's own queue, so other workers on the
# same broker (another test run, a developer's) never take them.
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
def many_series(db):
    """60 SKUs at 2 locations: enough that a run takes a few seconds in four chunks."""
    rng = np.random.default_rng(11)
    locations = [LocationFactory(code="EAST"), LocationFactory(code="WEST")]
    rows = []
    for i in range(60):
        product = ProductFactory(sku=f"W-{i:03d}", family=f"F{i % 3}")
        for location in locations:
            for k in range(36):
                month = add_months(CYCLE_MONTH, k - 36)
                qty = max(0, round(50 + 10 * np.sin(k / 2) + rng.normal(0, 6)))
                rows.append(
                    SalesHistory(
                        product=product, location=location, month=month, quantity=Decimal(qty)
                    )
                )
    SalesHistory.objects.bulk_create(rows)


@pytest.fixture
def worker_queue():
    """A Celery worker with two processes on a private queue; yields (queue, process)."""
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["REDIS_URL"] = os.environ["SOP_TEST_REDIS_URL"]
    queue = f"test-demand-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER, queue],
        cwd=settings.BASE_DIR,
        env=env,
        start_new_session=True,
    )
    yield queue, process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with Celery(broker=env["REDIS_URL"], set_as_current=False).connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def send_run(queue: str, run: ForecastRun) -> None:
    sender = Celery(broker=os.environ["SOP_TEST_REDIS_URL"], set_as_current=False)
    try:
        sender.send_task(
            "sop.run_start",
            args=["forecast", run.pk, {"chunk_series": SERIES_PER_CHUNK}],
            queue=queue,
        )
    finally:
        sender.close()


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_workers_publish_a_run_and_a_killed_worker_leaves_the_published_forecast(
    many_series, cycle, worker_queue
):
    queue, process = worker_queue
    first = ForecastRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    send_run(queue, first)
    first = run_wait(first, timeout=WORKER_TIMEOUT)
    assert first.status == JobStatus.SUCCEEDED, first.error
    assert first.is_published
    assert first.chunks_total == 4 + 1  # 60 SKUs + the company's 4, 30 series a chunk
    before = {
        (c.product_id, c.location_id, c.month): c.value
        for c in ConsensusDemand.objects.filter(cycle=cycle)
    }
    assert len(before) == (120 + 8) * cycle.horizon_months

    second = ForecastRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    send_run(queue, second)
    wait_for(
        lambda: ForecastRun.objects.get(pk=second.pk).status != JobStatus.PENDING,
        WORKER_TIMEOUT,
    )
    os.killpg(process.pid, signal.SIGKILL)  # the whole worker, mid-run
    process.wait(timeout=30)

    second.refresh_from_db()
    first.refresh_from_db()
    if second.status == JobStatus.SUCCEEDED:
        pytest.skip("the run finished before the kill landed; nothing to check")
    assert second.status == JobStatus.RUNNING
    assert not second.is_published
    assert first.is_published
    after = {
        (c.product_id, c.location_id, c.month): c.value
        for c in ConsensusDemand.objects.filter(cycle=cycle)
    }
    assert after == before
    later = timezone.now() + STALE_AFTER + dt.timedelta(seconds=1)
    assert runs_fail_stale(now=later) == 1
    second.refresh_from_db()
    assert second.status == JobStatus.FAILED
    assert ForecastRun.objects.get(cycle=cycle, is_published=True) == first
