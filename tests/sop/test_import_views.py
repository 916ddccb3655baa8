from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sop import imports
from sop.choices import JobStatus, Role
from sop.models import ImportJob, SalesHistory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
NON_ADMINS = [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def master_data():
    for entity in ("suppliers", "products", "locations"):
        imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")


@pytest.fixture
def failed_job(master_data):
    return imports.import_file(
        entity="sales_history", path=SAMPLES / "sales_history_with_errors.csv"
    )


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Post a file to the import page and confirm its preview (unless `confirm` is False);
    the queued task runs as it would after the commit. Returns the page the admin lands on."""

    def _upload(
        client,
        name: str,
        entity: str = "sales_history",
        content: bytes | None = None,
        confirm: bool = True,
        **fields,
    ):
        content = (SAMPLES / name).read_bytes() if content is None else content
        response = client.post(
            "/imports/", {"entity": entity, "file": SimpleUploadedFile(name, content), **fields}
        )
        if response.status_code != 302:
            return response
        if not confirm:
            return client.get(response["Location"])
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = client.post(response["Location"] + "confirm/")
        return client.get(confirmed["Location"])

    return _upload


def import_urls(job: ImportJob) -> list[str]:
    return [
        "/imports/",
        f"/imports/{job.pk}/",
        f"/imports/{job.pk}/progress/",
        f"/imports/{job.pk}/errors.csv",
        "/imports/samples/products.csv",
    ]


def test_an_admin_opens_every_import_page(client_for, failed_job):
    admin = client_for(Role.ADMIN)
    for url in import_urls(failed_job):
        assert admin.get(url).status_code == 200, url


@pytest.mark.parametrize("role", NON_ADMINS)
def test_every_other_role_gets_403_on_every_import_page(client_for, failed_job, upload, role):
    other = client_for(role)
    for url in import_urls(failed_job):
        assert other.get(url).status_code == 403, url
    response = upload(other, "sales_history.csv")
    assert response.status_code == 403
    assert ImportJob.objects.count() == 4  # the fixture's imports only


def test_an_anonymous_visitor_is_sent_to_sign_in(client, failed_job):
    for url in import_urls(failed_job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/")


def test_only_admins_see_imports_in_the_navigation(client_for):
    assert 'href="/imports/"' in client_for(Role.ADMIN).get("/").content.decode()
    assert 'href="/imports/"' not in client_for(Role.EXECUTIVE).get("/").content.decode()


def test_uploading_a_valid_extract_loads_it_and_shows_the_counts(client_for, master_data, upload):
    response = upload(client_for(Role.ADMIN), "sales_history.csv")
    page = response.content.decode()
    job = ImportJob.objects.get(entity="sales_history")
    assert response.request["PATH_INFO"] == f"/imports/{job.pk}/"
    assert job.status == JobStatus.SUCCEEDED
    assert job.created_by.username == "admin"
    assert "Loaded 100 rows: 100 inserted, 0 updated, 0 unchanged." in page
    assert 'hx-trigger="every 1s"' not in page  # finished: the page stops polling
    assert SalesHistory.objects.count() == 100


def test_uploading_a_bad_extract_shows_the_row_level_report(client_for, master_data, upload):
    page = upload(client_for(Role.ADMIN), "sales_history_with_errors.csv").content.decode()
    assert "5 errors found; nothing was loaded." in page
    assert '<td class="num">13</td><td><code>quantity</code></td>' in page
    assert "negative quantity: must be 0 or more" in page
    assert "WID-999" in page
    assert SalesHistory.objects.count() == 0


def test_the_errors_csv_holds_every_error(client_for, failed_job):
    response = client_for(Role.ADMIN).get(f"/imports/{failed_job.pk}/errors.csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert "sales_history_with_errors-errors.csv" in response["Content-Disposition"]
    assert lines[0] == "row,column,value,reason,problem"
    assert lines[1].startswith('0,,,"the file does not say how it writes numbers')
    assert lines[2] == "6,sku,WID-999,unknown SKU,unknown SKU"
    assert len(lines) == 6


def test_a_file_over_the_limit_is_refused_before_any_job(client_for, upload, settings):
    settings.SOP_IMPORT_MAX_BYTES = 1024
    response = upload(client_for(Role.ADMIN), "big.csv", content=b"x" * 2048)
    assert "the limit is 1,024 bytes" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_old_excel_file_is_refused_with_a_hint(client_for, upload):
    response = upload(client_for(Role.ADMIN), "sales.xls", content=b"\xd0\xcf\x11\xe0")
    assert "save as .xlsx or CSV" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_running_job_page_polls_its_progress(client_for, master_data):
    job = ImportJob.objects.create(
        entity="sales_history",
        file_name="big.csv",
        status=JobStatus.RUNNING,
        progress=40,
        phase="Validating",
    )
    admin = client_for(Role.ADMIN)
    page = admin.get(f"/imports/{job.pk}/").content.decode()
    partial = admin.get(f"/imports/{job.pk}/progress/").content.decode()
    assert f'hx-get="/imports/{job.pk}/progress/" hx-trigger="every 1s"' in page
    assert "Validating…" in partial and 'aria-valuenow="40"' in partial
    assert "<html" not in partial
    listing = admin.get("/imports/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in listing and "big.csv" in listing


def test_the_format_section_lists_every_entity_with_its_sample(client_for):
    page = client_for(Role.ADMIN).get("/imports/").content.decode()
    for entity in ("suppliers", "products", "sales_history", "budget"):
        assert f'href="/imports/samples/{entity}.csv"' in page


def test_an_unknown_sample_is_404(client_for):
    assert client_for(Role.ADMIN).get("/imports/samples/secrets.csv").status_code == 404
