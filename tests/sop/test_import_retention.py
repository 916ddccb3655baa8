"""Stored import files are kept as long as the history needs them, refused ones not at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from sop import tasks
from sop.choices import JobStatus
from sop.models import ImportJob
from tests.sop.extract_files import run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

GOOD = "sku,location_code,month,quantity,revenue\nA1,WH1,2026-01,1,\n"
BAD = "sku,location_code,month,quantity,revenue\nA1,WH1,2026-01,-1,\n"


def stored(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file_path


def imported_files() -> list[Path]:
    return sorted((Path(settings.MEDIA_ROOT) / "imports").glob("*/*"))


def test_a_refused_file_is_deleted_at_once_and_its_history_kept(tmp_path, refs):
    job = run(tmp_path, "sales_history", BAD)
    assert job.status == JobStatus.FAILED
    assert job.file_path == "" and imported_files() == []
    assert (job.file_name, job.size_bytes, len(job.checksum), job.error_count) == (
        job.file_name,
        len(BAD),
        64,
        1,
    )


def test_a_refused_file_is_kept_the_days_set(tmp_path, refs, settings):
    settings.SOP_IMPORT_REFUSED_KEEP_DAYS = 2
    job = run(tmp_path, "sales_history", BAD)
    assert stored(job).is_file()
    now = timezone.now()
    assert tasks.imports_sweep_task.apply(kwargs={}).get() == 0
    from sop.imports import imports_sweep

    assert imports_sweep(now=now + dt.timedelta(days=1, hours=23)) == 0
    assert imports_sweep(now=now + dt.timedelta(days=2, minutes=1)) == 1
    job.refresh_from_db()
    assert job.file_path == "" and imported_files() == []


def test_a_loaded_file_is_deleted_after_the_keep_days_only(tmp_path, refs, settings):
    from sop.imports import imports_sweep

    settings.SOP_IMPORT_KEEP_DAYS = 30
    old = run(tmp_path, "sales_history", GOOD)
    recent = run(tmp_path, "sales_history", GOOD)
    ImportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - dt.timedelta(days=31))
    ImportJob.objects.filter(pk=recent.pk).update(
        finished_at=timezone.now() - dt.timedelta(days=29)
    )
    running = ImportJob.objects.create(
        entity="sales_history",
        file_name="x.csv",
        file_path=recent.file_path.replace(recent.file_name, "other.csv"),
        status=JobStatus.RUNNING,
    )
    assert imports_sweep() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.file_path == "" and old.status == JobStatus.SUCCEEDED and old.rows_inserted == 1
    assert stored(recent).is_file()
    assert running.file_path  # a running import's file is never swept
    assert imported_files() == [stored(recent)]


def test_the_cli_leaves_no_copy_of_a_refused_file(tmp_path, refs):
    path = tmp_path / "refused.csv"
    path.write_text(BAD)
    with pytest.raises(SystemExit):
        call_command("import_extract", "sales_history", str(path))
    assert imported_files() == []


def test_the_cli_leaves_no_copy_of_a_file_over_the_size_limit(tmp_path, refs, settings):
    settings.SOP_IMPORT_MAX_BYTES = 1024
    path = tmp_path / "big.csv"
    path.write_text(GOOD + "A1,WH1,2026-02,1,\n" * 100)
    with pytest.raises(SystemExit):
        call_command("import_extract", "sales_history", str(path))
    job = ImportJob.objects.get()
    assert "larger than the limit" in job.errors[0]["reason"]
    assert imported_files() == []
