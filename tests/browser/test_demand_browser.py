# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import os
from pathlib import Path

import pytest

from demand.models import DemandOverride, OverrideHistory
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def chromium_page():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from
    # the test body are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ["SOP_TEST_CHROMIUM"],
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        yield page
        browser.close()


def test_a_planner_overrides_a_sku_and_sees_chart_and_consensus_change(
    live_server, chromium_page, published, planner, company
):
    page = chromium_page
    bike = company["products"][0]
    cycle = published.cycle
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", planner.username)
    page.fill("input[name=password]", "pass-for-tests-1")
    page.click("form button[type=submit]")
    page.goto(f"{live_server.url}/demand/?sku={bike.pk}")

    page.wait_for_selector("#demand-chart .main-svg")
    assert "Statistical forecast" in page.inner_text("#demand-chart")
    month = cycle.month.isoformat()
    consensus = page.locator(f".consensus-row td[data-month='{month}']")
    before = consensus.inner_text()

    page.select_option("#override-reason", "promotion")
    page.fill("#override-comment", "Retailer promotion in the first week")
    cell = page.locator(f"input.override-input[data-month='{month}']")
    cell.fill("1234")
    cell.press("Enter")

    page.wait_for_selector("text=the consensus is updated")
    assert consensus.inner_text() == "1,234" != before
    history = page.inner_text("#override-history")
    assert "→ 1234" in history and "Promotion" in history
    # The chart was redrawn with the override marker.
    assert "Override" in page.inner_text("#demand-chart")
    page.screenshot(path=str(ARTIFACTS / "demand_review_override.png"), full_page=True)

    override = DemandOverride.objects.get()
    assert (override.product, override.value, override.author) == (bike, 1234, planner)
    assert OverrideHistory.objects.get().reason == "promotion"
