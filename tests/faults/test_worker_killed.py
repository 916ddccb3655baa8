"""A Celery worker SIGKILLed mid-run: the run is redelivered or failed, the plan is kept.

Extends tests/demand/test_workers.py (a whole worker killed mid forecast run, the stale
sweep): here a pool process killed mid-chunk is redelivered and the run still completes
once, and a whole worker killed mid supply run leaves the published plan byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import time
from decimal import Decimal

import pytest
from celery import Celery
from django.utils import timezone

from demand.models import ConsensusDemand, ForecastRun, StatisticalForecast
from sop.choices import JobStatus
from sop.runs import STALE_AFTER, run_wait, runs_fail_stale
from sop.services import add_months
from supply import services as supply_services
from supply.models import CapacityLoad, InventoryProjection, StockTarget, SupplyRun
from tests.factories import LocationFactory, ProductFactory
from tests.faults.conftest import WORKER_TIMEOUT, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def send(redis_url: str, task: str, *args) -> None:
    # Not the current app: @shared_task tasks bind to the current one, and the runs this
    # process starts itself must stay eager.
    sender = Celery(broker=redis_url, set_as_current=False)
    try:
        sender.send_task(task, args=list(args))
    finally:
        sender.close()


def status_of(model, pk: int) -> str:
    return model.objects.values_list("status", flat=True).get(pk=pk)


def rows_digest(*querysets) -> str:
    """A hash of every row, in key order: equal digests mean byte-for-byte equal tables."""
    digest = hashlib.sha256()
    for qs in querysets:
        fields = [f.attname for f in qs.model._meta.concrete_fields if f.attname != "id"]
        for row in qs.order_by(*fields).values_list(*fields):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_killed_pool_processes_have_their_chunks_redelivered_and_each_chunk_lands_once(
    many_series, cycle, private_redis, start_worker
):
    worker = start_worker(private_redis.url)
    run = ForecastRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    send(private_redis.url, "sop.run_start", "forecast", run.pk, {"chunk_series": 30})
    # Once the chunks are out and one is in, both pool processes hold a chunk.
    wait_for(lambda: ForecastRun.objects.get(pk=run.pk).chunks_done >= 1, WORKER_TIMEOUT, "a chunk")
    # acks_late + reject_on_worker_lost: the chunks they held go back to the queue.
    for pid in worker.children():
        os.kill(pid, signal.SIGKILL)

    def settled() -> bool:
        now = ForecastRun.objects.get(pk=run.pk)
        return now.is_finished or now.chunks_done == now.chunks_total

    wait_for(settled, WORKER_TIMEOUT, "every chunk", poll=0.2)
    received = re.findall(r"sop\.run_chunk\[([0-9a-f-]+)\] received", worker.output())
    assert len(received) > len(set(received)), "no chunk was redelivered"
    run.refresh_from_db()
    assert sorted(run.chunks_finished) == list(range(run.chunks_total)) == [0, 1, 2, 3, 4]
    assert StatisticalForecast.objects.filter(run=run).count() == 128 * cycle.horizon_months
    if run.status == JobStatus.RUNNING:
        # The chunk that completes the set publishes in its own transaction, so a run with
        # every chunk in is published; should one still say running, the sweep fails it.
        time.sleep(2)
        run.refresh_from_db()
    if run.status == JobStatus.RUNNING:
        assert not ConsensusDemand.objects.filter(cycle=cycle).exists()
        later = timezone.now() + STALE_AFTER + dt.timedelta(seconds=1)
        assert runs_fail_stale(now=later) == 1
        run.refresh_from_db()
        assert run.status == JobStatus.FAILED and not run.is_published
    else:
        assert run.status == JobStatus.SUCCEEDED and run.is_published, run.error
        assert ConsensusDemand.objects.filter(cycle=cycle).count() == 128 * cycle.horizon_months


@pytest.fixture
def supply_cycle(cycle):
    """The demand cycle with a consensus for 150 unrouted SKUs: 30 chunks of five."""
    location = LocationFactory(code="DC-F")
    months = [add_months(cycle.month, h) for h in range(cycle.horizon_months)]
    products = [ProductFactory(sku=f"F-{i:03d}", family="Faults") for i in range(150)]
    ConsensusDemand.objects.bulk_create(
        ConsensusDemand(
            cycle=cycle,
            product=p,
            location=location,
            month=m,
            statistical=Decimal(40 + i % 7),
            value=Decimal(40 + i % 7),
        )
        for i, p in enumerate(products)
        for m in months
    )
    return cycle


def published_supply(cycle) -> str:
    run = SupplyRun.objects.get(cycle=cycle, is_published=True)
    return rows_digest(
        InventoryProjection.objects.filter(run=run),
        StockTarget.objects.filter(run=run),
        CapacityLoad.objects.filter(run=run),
    )


def test_a_worker_killed_mid_supply_run_keeps_the_published_plan_and_the_next_run_works(
    supply_cycle, private_redis, start_worker
):
    cycle = supply_cycle
    first = supply_services.supply_run_start(cycle=cycle, user=None)  # eager: runs in-process
    first.refresh_from_db()
    assert first.is_published, first.error
    before = published_supply(cycle)
    sku_locations = InventoryProjection.objects.filter(run=first).values("product", "location")
    expected_rows = InventoryProjection.objects.filter(run=first).count()
    assert expected_rows == sku_locations.distinct().count() * cycle.horizon_months

    worker = start_worker(private_redis.url)
    second = SupplyRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    send(private_redis.url, "sop.run_start", "supply", second.pk, {"chunk_rows": 5})
    wait_for(
        lambda: SupplyRun.objects.get(pk=second.pk).chunks_done >= 1, WORKER_TIMEOUT, "a chunk"
    )
    worker.kill()

    second.refresh_from_db()
    assert second.status == JobStatus.RUNNING, "the run finished before the kill landed"
    assert second.chunks_done < second.chunks_total
    assert not second.is_published
    assert SupplyRun.objects.get(cycle=cycle, is_published=True) == first
    assert published_supply(cycle) == before

    later = timezone.now() + STALE_AFTER + dt.timedelta(seconds=1)
    assert runs_fail_stale(now=later) == 1
    second.refresh_from_db()
    assert second.status == JobStatus.FAILED
    assert "a worker was lost" in second.error
    assert published_supply(cycle) == before

    # A new worker takes what the dead one left in the queue (harmless: the run is failed)
    # and a new run completes with one row per SKU-location-month.
    start_worker(private_redis.url)
    third = SupplyRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
    send(private_redis.url, "sop.run_start", "supply", third.pk, {"chunk_rows": 5})
    third = run_wait(third, timeout=WORKER_TIMEOUT)
    assert third.status == JobStatus.SUCCEEDED, third.error
    assert SupplyRun.objects.get(cycle=cycle, is_published=True) == third
    assert status_of(SupplyRun, second.pk) == JobStatus.FAILED
    assert InventoryProjection.objects.filter(run=third).count() == expected_rows
    assert not InventoryProjection.objects.exclude(run=third).exists()
