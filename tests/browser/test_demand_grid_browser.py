# The grid fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from demand.models import DemandOverride
from sop.choices import Role
from tests.browser.conftest import ARTIFACTS
from tests.demand.test_series_grid import DEC, JAN, plan  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row_keys(page) -> list[str]:
    return page.locator("table[data-grid] tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('th').innerText.replace(/\\s+/g, ''))"
    )


def test_a_planner_sorts_filters_and_edits_several_skus_in_the_family_grid(
    live_server, chromium_page, sign_in, plan
):
    page = chromium_page
    sign_in(page, plan["planner"])
    cycle = plan["cycle"]
    page.goto(f"{live_server.url}/demand/grid/?cycle={cycle.pk}&family=Kits&layer=override")
    assert row_keys(page) == ["K1@N", "K2@N", "K1@S"]  # consensus volume 320, 180, 30

    page.select_option("select[name=sort]", "error")
    page.click("form.grid-controls button[type=submit]")
    page.wait_for_url("**sort=error**")
    assert row_keys(page) == ["K1@S", "K1@N", "K2@N"]  # WAPE 50 %, 10 %, 0 %

    page.select_option("select[name=abc]", "A")
    page.click("form.grid-controls button[type=submit]")
    page.wait_for_url("**abc=A**")
    assert row_keys(page) == ["K1@S", "K1@N"]

    page.select_option("select[name=abc]", "")
    page.click("form.grid-controls button[type=submit]")
    page.wait_for_url("**abc=&**")
    page.select_option("#override-reason", "promotion")
    page.fill("#override-comment", "Retailer promotion")
    for sku, month, value in (("K1", DEC, "25"), ("K2", JAN, "90")):
        product, location = plan["products"][sku], plan["locations"]["S" if sku == "K1" else "N"]
        row = f"tr[data-series='{product.pk}-{location.pk}']"
        cell = page.locator(f"{row} td[data-month='{month.isoformat()}'] input")
        cell.fill(value)
        cell.press("Enter")
        page.wait_for_selector(f"#grid-message:has-text('Saved {sku} @ {location.code}')")
        assert cell.input_value() == value
    page.screenshot(path=str(ARTIFACTS / "demand_family_grid.png"), full_page=True)

    saved = {
        (o.product.sku, o.location.code, o.month): o.value
        for o in DemandOverride.objects.filter(month__in=[DEC, JAN])
    }
    assert saved == {("K1", "S", DEC): 25, ("K2", "N", JAN): 90}


def test_an_executive_reads_the_family_grid_without_inputs(
    live_server, chromium_page, sign_in, plan, make_user
):
    page = chromium_page
    sign_in(page, make_user(Role.EXECUTIVE))
    page.goto(f"{live_server.url}/demand/grid/?cycle={plan['cycle'].pk}&family=Kits&layer=override")
    assert row_keys(page) == ["K1@N", "K2@N", "K1@S"]
    assert page.locator("input.grid-input").count() == 0
