# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from demand.models import ConsensusDemand, DemandOverride
from tests.browser.conftest import ARTIFACTS
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_planner_edits_the_family_workbook_in_excel_and_uploads_it_back(
    live_server, chromium_page, sign_in, published, planner, company, tmp_path
):
    page = chromium_page
    cycle = published.cycle
    sign_in(page, planner)
    page.goto(f"{live_server.url}/demand/?cycle={cycle.pk}&family=Bikes")

    with page.expect_download() as download:
        page.click("#workbook-download")
    exported = tmp_path / "bikes.xlsx"
    download.value.save_as(exported)

    # The planner's Excel session: BIKE-2 in November and December, with the row's why.
    book = load_workbook(exported)
    ws = book["Demand overrides"]
    assert (ws["B8"].value, ws["D8"].value, ws["E2"].value) == ("BIKE-2", "Override", "2026-11-01")
    ws["E8"], ws["F8"] = 480, "+10%"
    ws["W8"], ws["X8"] = "New customer", "Signed with Velo Centrale"
    book.save(exported)

    page.set_input_files("input[name=workbook]", str(exported))
    page.click(".workbook-upload button[type=submit]")
    page.wait_for_selector("#roundtrip-changes")
    preview = page.inner_text("#roundtrip-preview")
    assert "2 changed cells, each checked as if typed" in preview
    assert "E8" in preview and "F8" in preview and "Nov 2026" in preview and "Dec 2026" in preview
    assert not DemandOverride.objects.exists()
    page.screenshot(path=str(ARTIFACTS / "demand_roundtrip_preview.png"), full_page=True)

    page.click("text=Apply 2 changes")
    page.wait_for_selector("text=2 cells of the workbook saved.")
    saved = {o.month: (o.kind, o.value) for o in DemandOverride.objects.all()}
    assert saved == {
        cycle.horizon[0]: ("absolute", 480),
        cycle.horizon[1]: ("percent", 10),
    }
    november = ConsensusDemand.objects.filter(
        cycle=cycle, product__sku="BIKE-2", month=cycle.month
    ).aggregate(t=Sum("value"))["t"]
    assert round(november) == 480
    # The next export carries the new versions: uploading it unchanged changes nothing.
    with page.expect_download() as download:
        page.click("#workbook-download")
    download.value.save_as(exported)
    ws = load_workbook(exported)["Demand overrides"]
    assert (ws["E8"].value, ws["F8"].value) == (480, "+10%")
