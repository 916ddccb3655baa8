# The supply fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from supply.models import CapacityAdjustment
from tests.browser.conftest import ARTIFACTS
from tests.supply.conftest import (  # noqa: F401
    MONTHS,
    company,
    cycle,
    published,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supply_planner_lowers_a_resources_capacity_and_sees_the_shortage(
    live_server, chromium_page, sign_in, published, supply_planner, company
):
    page = chromium_page
    sign_in(page, supply_planner)
    page.goto(f"{live_server.url}/supply/")
    page.wait_for_selector("#capacity-heatmap .main-svg")
    page.wait_for_selector("#sku-chart .main-svg")
    assert "No stockout and no cut in the plan." in page.inner_text("#shortages")
    page.screenshot(path=str(ARTIFACTS / "supply_review_before.png"), full_page=True)

    # A click on the heatmap's middle cell (the line in December) opens its drill-down.
    cells = page.locator("#capacity-heatmap .nsewdrag")
    box = cells.bounding_box()
    # force: plotly's text layer lies over the drag layer that takes the clicks.
    cells.click(position={"x": box["width"] / 2, "y": box["height"] / 2}, force=True)
    page.wait_for_selector(f"#drill-panel[data-month='{MONTHS[1].isoformat()}']")
    assert "the plan asks 110 h" in page.inner_text("#drill")

    # Open the line's January: the SKUs loading it and the form to change its hours.
    page.select_option("#drill-resource", str(company["line"].pk))
    page.select_option("#drill-month", MONTHS[2].isoformat())
    page.click("#drill-form button[type=submit]")
    page.wait_for_selector(f"#drill-panel[data-month='{MONTHS[2].isoformat()}'] #capacity-form")
    assert "LAMP @ DC" in page.inner_text("#drill")

    page.fill("#capacity-delta", "-30")
    page.select_option("#capacity-reason", "lost_shift")
    page.fill("#capacity-comment", "Night shift cancelled")
    page.click("#capacity-form button[type=submit]")

    page.wait_for_selector("text=changed by -30 h: the plan is updated")
    shortages = page.inner_text("#shortages")
    assert "LAMP @ DC" in shortages and "300" in shortages
    assert "Night shift cancelled" in page.inner_text("#edit-history")
    # The drill-down stays open on the changed month, now with 70 h available.
    assert "Available 70 h" in page.inner_text("#drill")
    page.wait_for_selector("#capacity-heatmap .main-svg")
    page.screenshot(path=str(ARTIFACTS / "supply_review_shortage.png"), full_page=True)
    assert CapacityAdjustment.objects.get().author == supply_planner
