"""Redis down while the app is used: pages work, starting work says so at once, nothing hangs.

The app is pointed at a private redis-server, which is killed mid-test and started again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from demand.models import ConsensusDemand, ForecastRun, StatisticalForecast
from sop.choices import JobStatus, Role
from sop.models import ImportJob
from sop.runs import ACTIVE_STATUSES, run_wait
from supply import services as supply_services
from supply.models import InventoryProjection, SupplyRun
from tests.faults.conftest import WORKER_TIMEOUT, broker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
# The broker timeouts in settings make a refused publish fail in about a second.
ANSWER_WITHIN = 5.0
UNREACHABLE = "The task queue is unreachable"


def published_digest(cycle) -> str:
    forecast = ForecastRun.objects.get(cycle=cycle, is_published=True)
    supply = SupplyRun.objects.get(cycle=cycle, is_published=True)
    digest = hashlib.sha256()
    for qs, key in (
        (ConsensusDemand.objects.filter(cycle=cycle), ("product", "location", "month")),
        (StatisticalForecast.objects.filter(run=forecast), ("product", "location", "month")),
        (InventoryProjection.objects.filter(run=supply), ("product", "location", "month")),
    ):
        fields = [f.attname for f in qs.model._meta.concrete_fields if f.attname != "id"]
        for row in qs.order_by(*key).values_list(*fields):
            digest.update(repr(row).encode())
    return f"{forecast.pk}/{supply.pk}/{digest.hexdigest()}"


def timed_post(client, url: str, data: dict | None = None):
    started = time.monotonic()
    response = client.post(url, data or {}, follow=True)
    return response, time.monotonic() - started


def test_with_redis_down_pages_work_and_runs_and_imports_fail_fast_with_a_message(
    published, planner, client_for, private_redis, start_worker, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    cycle = published.cycle
    supply_services.supply_run_start(cycle=cycle, user=None)  # eager: published in-process
    before = published_digest(cycle)
    admin = client_for(Role.ADMIN)
    demand_planner = client_for(None)
    demand_planner.force_login(planner)
    supply_planner = client_for(Role.SUPPLY_PLANNER)

    with broker(private_redis.url):
        private_redis.stop()

        for client, url in [
            (admin, "/"),
            (demand_planner, f"/demand/?cycle={cycle.pk}&family=Bikes"),
            (supply_planner, f"/supply/?cycle={cycle.pk}"),
            (admin, "/imports/"),
        ]:
            assert client.get(url).status_code == 200, url

        response, seconds = timed_post(demand_planner, f"/demand/cycles/{cycle.pk}/forecast/")
        assert response.status_code == 200 and seconds < ANSWER_WITHIN
        assert UNREACHABLE in response.content.decode()
        run = ForecastRun.objects.latest("pk")
        assert run.status == JobStatus.FAILED and run.error.startswith(UNREACHABLE)

        response, seconds = timed_post(supply_planner, f"/supply/cycles/{cycle.pk}/run/")
        assert response.status_code == 200 and seconds < ANSWER_WITHIN
        assert UNREACHABLE in response.content.decode()
        run = SupplyRun.objects.latest("pk")
        assert run.status == JobStatus.FAILED and run.error.startswith(UNREACHABLE)

        upload = SimpleUploadedFile("locations.csv", (SAMPLES / "locations.csv").read_bytes())
        preview, seconds = timed_post(admin, "/imports/", {"entity": "locations", "file": upload})
        assert "Confirm and import" in preview.content.decode() and seconds < ANSWER_WITHIN
        confirm = preview.request["PATH_INFO"] + "confirm/"
        response, seconds = timed_post(admin, confirm)
        assert response.status_code == 200 and seconds < ANSWER_WITHIN
        job = ImportJob.objects.get()
        assert job.status == JobStatus.FAILED and "unreachable" in job.message
        assert job.message in response.content.decode()

        assert not ForecastRun.objects.filter(status__in=ACTIVE_STATUSES).exists()
        assert not SupplyRun.objects.filter(status__in=ACTIVE_STATUSES).exists()
        assert published_digest(cycle) == before

        # Redis is back: the next runs are queued, taken by a worker and published.
        private_redis.start()
        start_worker(private_redis.url)
        response, _ = timed_post(demand_planner, f"/demand/cycles/{cycle.pk}/forecast/")
        assert "started" in response.content.decode()
        forecast = run_wait(
            ForecastRun.objects.latest("pk"), timeout=WORKER_TIMEOUT, poll_seconds=0.2, label="F"
        )
        assert forecast.status == JobStatus.SUCCEEDED and forecast.is_published, forecast.error
        response, _ = timed_post(supply_planner, f"/supply/cycles/{cycle.pk}/run/")
        assert "started" in response.content.decode()
        supply = run_wait(
            SupplyRun.objects.latest("pk"), timeout=WORKER_TIMEOUT, poll_seconds=0.2, label="S"
        )
        assert supply.status == JobStatus.SUCCEEDED and supply.is_published, supply.error
