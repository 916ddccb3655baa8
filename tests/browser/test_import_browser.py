from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop.choices import Role
from sop.models import SalesHistory
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture
def admin_page(chromium_page, sign_in, make_user, settings, tmp_path):
    """An admin signed in, with the sample master data loaded."""
    settings.MEDIA_ROOT = tmp_path / "media"
    for entity in ("suppliers", "products", "locations"):
        imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
    sign_in(chromium_page, make_user(Role.ADMIN))
    return chromium_page


def test_an_admin_sees_the_bad_rows_fixes_the_file_and_loads_it(admin_page):
    page = admin_page

    page.click("nav >> text=Imports")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(SAMPLES / "sales_history_with_errors.csv"))
    page.click("text=Upload and preview")
    page.click("text=Confirm and import")

    page.wait_for_selector("#import-job >> text=What to fix")
    row_13 = page.locator("table.errors tbody tr", has_text="negative quantity")
    assert row_13.locator("td").all_inner_texts() == [
        "13",
        "quantity",
        "-12",
        "negative quantity: must be 0 or more",
    ]
    # Four bad rows and, for the decimal comma in one of them, one hint for the file.
    assert page.locator("table.errors tbody tr").count() == 4
    assert page.locator("#import-problems section.problem").count() == 5
    assert "nothing was loaded" in page.inner_text("#import-job")
    page.screenshot(path=str(ARTIFACTS / "import_error_report.png"), full_page=True)
    assert SalesHistory.objects.count() == 0

    page.click("text=Import another file")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(SAMPLES / "sales_history.csv"))
    page.click("text=Upload and preview")
    page.click("text=Confirm and import")

    page.wait_for_selector(".badge:has-text('Succeeded')")
    assert "Loaded 100 rows: 100 inserted, 0 updated, 0 unchanged." in page.inner_text(
        "#import-job"
    )
    assert SalesHistory.objects.count() == 100
    page.click("text=All imports")
    assert page.locator("#import-jobs tbody tr").count() == 5  # with the master data loads
    page.screenshot(path=str(ARTIFACTS / "import_list.png"), full_page=True)


SAP_FILE = (
    "sep=;\n"
    "Material;Plant;Period;Billed Qty;Net Value;Currency\n"
    "WID-100;WH-NORTH;03.2026;1.250,000;13.625,00;EUR\n"
    "WID-200;WH-NORTH;03.2026;40,5;587,25;EUR\n"
)


def test_the_real_problems_come_before_a_hundred_unknown_skus(admin_page, tmp_path):
    page = admin_page
    unknown = "".join(f"NEW-{i},WH-NORTH,2026-01,1,\n" for i in range(100))
    real = (
        "WID-100,WH-NORTH,2026-01,abc,\n"  # row 102: no number
        "WID-100,WH-NORTH,2026-13,5,\n"  # row 103: no month
        "WID-200,WH-NORTH,2026-02,1,\n"
        "WID-200,WH-NORTH,2026-02,2,\n"  # row 105: the key of row 104 again
    )
    path = tmp_path / "sales-new-skus.csv"
    path.write_text("sku,location_code,month,quantity,revenue\n" + unknown + real)

    page.click("nav >> text=Imports")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(path))
    page.click("text=Upload and preview")
    page.click("text=Confirm and import")

    page.wait_for_selector("#import-problems")
    problems = page.locator("#import-problems section.problem")
    headings = [" ".join(h.split()) for h in problems.locator("h3").all_inner_texts()]
    assert headings == [
        "quantity · Not a number 1 row",
        "month · Not a month (use YYYY-MM, YYYY-MM-DD or an Excel date) 1 row",
        "sku, location_code, month · Duplicate key (sku, location_code, month) 1 row",
        "sku · Unknown SKU 100 rows",
    ]
    # The real problems are on screen without scrolling past the unknown SKUs.
    assert problems.nth(0).locator("td").all_inner_texts() == [
        "102", "quantity", "abc", "not a number"
    ]  # fmt: skip
    unknown_skus = problems.nth(3)
    assert unknown_skus.locator("tbody tr").count() == 5
    assert "import the products first" in unknown_skus.inner_text()
    assert "The first 5 of 100." in unknown_skus.inner_text()
    page.screenshot(path=str(ARTIFACTS / "import_problems.png"), full_page=True)

    with page.expect_download() as download:
        unknown_skus.locator("text=Download all 100 (CSV)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,reason,problem"
    assert lines[1] == "2,sku,NEW-0,unknown SKU,unknown SKU" and len(lines) == 101
    assert SalesHistory.objects.count() == 0


def test_an_admin_saves_a_profile_then_previews_and_confirms_a_sap_file(
    live_server, admin_page, tmp_path
):
    page = admin_page

    page.goto(f"{live_server.url}/imports/profiles/")
    page.click("text=New profile")
    page.fill("#id_name", "SAP billing")
    page.fill("#id_source", "SAP ECC")
    page.select_option("#id_entity", "sales_history")
    page.fill("#id_file_name_pattern", "VBRK_*.csv")
    page.select_option("#id_number_format", "1.234,5")
    page.select_option("#id_month_format", "mm.yyyy")
    page.fill(
        "#id_columns",
        "Material = sku\nPlant = location_code\nPeriod = month\nBilled Qty = quantity\n"
        "Net Value = revenue",
    )
    page.fill("#id_ignored", "Currency")
    page.screenshot(path=str(ARTIFACTS / "import_profile_form.png"), full_page=True)
    page.click("text=Save the profile")
    page.wait_for_selector("text=The import profile SAP billing is saved.")

    extract = tmp_path / "VBRK_2026_03.csv"
    extract.write_text(SAP_FILE, encoding="utf-8")
    page.click("text=← Imports")
    page.select_option("#id_entity", "sales_history")
    page.set_input_files("#id_file", str(extract))
    page.click("text=Upload and preview")

    page.wait_for_selector("table.preview")
    assert "SAP billing (its file-name pattern VBRK_*.csv fits the file)" in page.inner_text(
        "#import-preview"
    )
    cells = [
        row.locator("td").all_inner_texts() for row in page.locator("table.preview tbody tr").all()
    ]
    # As stored: 1.250,000 is 1,250 units, 13.625,00 is 13,625 in money, months their first day.
    assert cells == [
        ["2", "WID-100", "WH-NORTH", "2026-03-01", "1,250", "13,625"],
        ["3", "WID-200", "WH-NORTH", "2026-03-01", "40.5", "587.25"],
    ]
    page.screenshot(path=str(ARTIFACTS / "import_preview.png"), full_page=True)
    assert SalesHistory.objects.count() == 0  # nothing is written before the confirmation

    page.click("text=Confirm and import")
    page.wait_for_selector(".badge:has-text('Succeeded')")
    assert "Loaded 2 rows: 2 inserted, 0 updated, 0 unchanged." in page.inner_text("#import-job")
    stored = SalesHistory.objects.get(product__sku="WID-100")
    assert (stored.quantity, stored.revenue) == (Decimal("1250"), Decimal("13625"))
