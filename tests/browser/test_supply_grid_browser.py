# The supply fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from supply.models import PlannedSupplyEdit
from tests.browser.conftest import ARTIFACTS
from tests.supply.conftest import (  # noqa: F401
    MONTHS,
    company,
    cycle,
    published,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row_skus(page) -> list[str]:
    return page.locator("table[data-grid] tbody tr th a").all_inner_texts()


def test_a_supply_planner_filters_by_resource_and_fixes_planned_supply_in_the_grid(
    live_server, chromium_page, sign_in, published, supply_planner, company
):
    page = chromium_page
    sign_in(page, supply_planner)
    cycle = published.cycle
    page.goto(f"{live_server.url}/supply/grid/?cycle={cycle.pk}&sort=volume")
    assert row_skus(page) == ["BIKE", "LAMP", "TEA"]  # horizon demand 180, 150, 120

    page.select_option("select[name=resource]", str(company["line"].pk))
    page.click("form.grid-controls button[type=submit]")
    page.wait_for_url(f"**resource={company['line'].pk}**")
    assert row_skus(page) == ["BIKE", "LAMP"]  # routed through the assembly line

    page.select_option("#supply-reason", "campaign")
    page.fill("#supply-comment", "December campaign")
    bike = f"tr[data-series='{company['BIKE'].pk}-{company['dc'].pk}']"
    cell = page.locator(f"{bike} td[data-month='{MONTHS[1].isoformat()}'] input")
    cell.fill("80")
    cell.press("Enter")
    page.wait_for_selector("#grid-message:has-text('BIKE @ DC Dec 2026 fixed')")
    assert cell.input_value() == "80"
    page.screenshot(path=str(ARTIFACTS / "supply_grid.png"), full_page=True)
    edit = PlannedSupplyEdit.objects.get()
    assert (edit.product.sku, edit.month, edit.quantity, edit.author) == (
        "BIKE",
        MONTHS[1],
        80,
        supply_planner,
    )
