"""The run kernel (sop.runs): every kind shares one lifecycle, one sweep and one dispatcher."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from sop import background, runs, tasks
from sop.choices import JobStatus
from sop.models import ImportJob

pytestmark = pytest.mark.django_db


def test_every_planning_app_registers_its_kind_of_run():
    assert {kind.name: kind.model for kind in runs.kinds()} == {
        "import": "sop.ImportJob",
        "forecast": "demand.ForecastRun",
        "supply": "supply.SupplyRun",
        "scenario": "reconciliation.ScenarioRun",
    }


def test_beat_runs_one_sweep_for_every_kind_the_due_pulls_and_the_import_files_sweep():
    assert [job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()] == [
        "sop.runs_fail_stale",
        "sop.import_sources_due",
        "sop.imports_sweep",
    ]


def test_an_import_whose_worker_was_killed_is_failed_by_the_sweep_and_says_nothing_loaded():
    job = ImportJob.objects.create(
        entity="products",
        file_name="products.csv",
        status=JobStatus.RUNNING,
        phase="Loading 10 rows",
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    fresh = ImportJob.objects.create(
        entity="products",
        file_name="other.csv",
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now(),
    )
    assert tasks.runs_fail_stale_task.apply().get() == 1
    job.refresh_from_db()
    assert (job.status, job.phase, job.progress) == (JobStatus.FAILED, "Stopped", 100)
    assert "a worker was lost" in job.message and "nothing of this file was loaded" in job.message
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.RUNNING


def test_without_a_broker_the_web_process_hands_tasks_to_its_background_threads(monkeypatch):
    sent = []
    monkeypatch.setattr(background, "enabled", lambda: True)
    monkeypatch.setattr(background, "submit", lambda function, args: sent.append(args))
    tasks.dispatch(tasks.run_start_task, "import", 1, {})
    assert sent == [("import", 1, {})]  # queued for a thread, not run in the caller


def test_a_started_run_whose_kind_names_no_phase_no_longer_says_queued():
    kind = runs.RunKind(
        name="test-quiet",
        model="sop.ImportJob",
        label="quiet run",
        kept="Nothing changed.",
        plan=lambda run, options: [None],
        compute=lambda run, chunk: chunk,
        store=lambda run, chunk, result: None,
    )
    runs.register(kind)
    try:
        job = runs.run_create(kind.name, scope={}, user=None, entity="products", file_name="p.csv")
        assert job.phase == "Queued"
        assert runs.run_begin(kind.name, job.pk) == [None]
        job.refresh_from_db()
        assert (job.status, job.phase) == (JobStatus.RUNNING, "Running")
    finally:
        runs._KINDS.pop(kind.name)
