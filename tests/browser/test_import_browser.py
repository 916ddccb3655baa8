from __future__ import annotations

from pathlib import Path

import pytest

from sop import imports
from sop.choices import Role
from sop.models import SalesHistory
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def test_an_admin_sees_the_bad_rows_fixes_the_file_and_loads_it(
    live_server, chromium_page, sign_in, make_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    for entity in ("suppliers", "products", "locations"):
        imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
    page = chromium_page
    sign_in(page, make_user(Role.ADMIN))

    page.click("nav >> text=Imports")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(SAMPLES / "sales_history_with_errors.csv"))
    page.click("text=Upload and import")

    page.wait_for_selector("text=What to fix")
    row_13 = page.locator("table.errors tbody tr", has_text="negative quantity")
    assert row_13.locator("td").all_inner_texts() == [
        "13",
        "quantity",
        "-12",
        "negative quantity: must be 0 or more",
    ]
    # Four bad rows and, for the decimal comma in one of them, one hint for the file.
    assert page.locator("table.errors tbody tr").count() == 5
    assert "nothing was loaded" in page.inner_text("#import-job")
    page.screenshot(path=str(ARTIFACTS / "import_error_report.png"), full_page=True)
    assert SalesHistory.objects.count() == 0

    page.click("text=Import another file")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(SAMPLES / "sales_history.csv"))
    page.click("text=Upload and import")

    page.wait_for_selector(".badge:has-text('Succeeded')")
    assert "Loaded 100 rows: 100 inserted, 0 updated, 0 unchanged." in page.inner_text(
        "#import-job"
    )
    assert SalesHistory.objects.count() == 100
    page.click("text=All imports")
    assert page.locator("#import-jobs tbody tr").count() == 5  # with the master data loads
    page.screenshot(path=str(ARTIFACTS / "import_list.png"), full_page=True)
