"""Starting a run when the broker refuses the task: failed at once, with the reason.

No Redis at all here: the app publishes to a port nobody listens on.
"""

from __future__ import annotations

import time

import pytest

from demand import services as demand_services
from sop.choices import JobStatus
from sop.runs import QUEUE_UNREACHABLE
from supply import services as supply_services
from tests.faults.conftest import broker, free_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("start", ["forecast", "supply"])
def test_a_run_the_broker_refuses_comes_back_failed_within_seconds(
    start, published, planner, django_capture_on_commit_callbacks
):
    cycle = published.cycle
    with broker(f"redis://127.0.0.1:{free_port()}/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            if start == "forecast":
                run = demand_services.forecast_run_start(cycle=cycle, user=planner)
            else:
                run = supply_services.supply_run_start(cycle=cycle, user=None)
        seconds = time.monotonic() - started
    assert seconds < 5
    assert run.status == JobStatus.FAILED
    kept = (demand_services if start == "forecast" else supply_services).KEPT
    assert run.error == QUEUE_UNREACHABLE.format(what=f"{start} run", kept=kept)
    assert run.finished_at is not None
    published.refresh_from_db()
    assert published.is_published
