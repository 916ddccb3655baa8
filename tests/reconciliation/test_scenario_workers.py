"""A scenario run on a real Celery worker (Redis broker, PostgreSQL), started by the service."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from celery import Celery

from reconciliation import services
from reconciliation.models import ScenarioLine
from sop import tasks
from sop.choices import JobStatus
from sop.runs import run_wait
from tests.supply import test_workers as supply_workers
from tests.supply.conftest import MONTHS

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

worker_queue = supply_workers.worker_queue


def test_a_worker_computes_the_scenario_and_publishes_it(
    reconciling, finance, worker_queue, monkeypatch
):
    sender = Celery(broker=os.environ["SOP_TEST_REDIS_URL"], set_as_current=False)

    def enqueue(args, **options) -> None:
        # The service's own enqueue, sent to this test's queue instead of the eager default.
        sender.send_task("sop.run_start", args=args, queue=worker_queue)

    fake = SimpleNamespace(apply_async=enqueue, app=SimpleNamespace(conf=sender.conf))
    monkeypatch.setattr(tasks, "run_start_task", fake)
    scenario = services.scenario_create(
        cycle=reconciling,
        name="Thirsty winter",
        user=finance,
        deltas=[
            {
                "kind": "demand",
                "family": "Drinks",
                "percent": 10,
                "start": MONTHS[0].isoformat(),
                "end": MONTHS[-1].isoformat(),
            }
        ],
    )
    try:
        run = services.scenario_run_start(scenario=scenario, user=finance)
        run = run_wait(run, timeout=supply_workers.WORKER_TIMEOUT)
    finally:
        sender.close()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.is_published
    assert ScenarioLine.objects.filter(run=run).count() == 3 * len(MONTHS)
    # The base plan's 4,500 with 4 more units of TEA a month at 10.
    assert run.kpis["revenue"] == pytest.approx(4500 + 3 * 40)
