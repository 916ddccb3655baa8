# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from demand.models import DemandOverride
from sop.models import AuditEvent
from tests.browser.conftest import ARTIFACTS
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_planner_overrides_a_sku_and_sees_chart_and_consensus_change(
    live_server, chromium_page, sign_in, published, planner, company
):
    page = chromium_page
    bike = company["products"][0]
    cycle = published.cycle
    sign_in(page, planner)
    page.goto(f"{live_server.url}/demand/?sku={bike.pk}")

    page.wait_for_selector("#demand-chart .main-svg")
    assert "Statistical forecast" in page.inner_text("#demand-chart")
    month = cycle.month.isoformat()
    consensus = page.locator(f".consensus-row td[data-month='{month}']")
    before = consensus.inner_text()

    page.select_option("#override-reason", "promotion")
    page.fill("#override-comment", "Retailer promotion in the first week")
    cell = page.locator(f"input.override-input[data-month='{month}']")
    # Within 10x the SKU's best month of sales (about 120): no confirmation asked.
    cell.fill("1000")
    cell.press("Enter")

    page.wait_for_selector("text=the consensus is updated")
    assert consensus.inner_text() == "1,000" != before
    history = page.inner_text("#override-history")
    assert "→ 1000" in history and "Promotion" in history
    # The chart was redrawn with the override marker.
    assert "Override" in page.inner_text("#demand-chart")
    page.screenshot(path=str(ARTIFACTS / "demand_review_override.png"), full_page=True)

    override = DemandOverride.objects.get()
    assert (override.product, override.value, override.author) == (bike, 1000, planner)
    assert AuditEvent.objects.get(object_type="demand_override").new["reason"] == "promotion"
