"""The cycle page in a real browser: a move whose data check fails is disabled with the
reason beside it, the next cycle is not offered while this one is in draft, and an admin's
override with a comment moves the cycle and shows in its history."""

# ruff: noqa: F811
from __future__ import annotations

import datetime as dt

import pytest

from sop import services
from sop.choices import Role, Stage
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in  # noqa: F401
from tests.factories import SalesHistoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failing_data_check_disables_the_move_with_its_reason_until_an_admin_overrides(
    live_server, chromium_page, sign_in, make_user
):
    admin = make_user(Role.ADMIN)
    SalesHistoryFactory(month=dt.date(2026, 9, 1))
    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=admin)
    page = chromium_page
    page.set_viewport_size({"width": 1280, "height": 720})
    sign_in(page, admin)
    page.goto(f"{live_server.url}/?cycle={cycle.pk}")

    button = page.get_by_role("button", name="Start demand review", exact=True)
    assert button.is_disabled()
    reason = page.locator("#" + button.get_attribute("aria-describedby"))
    assert reason.inner_text() == (
        "Sales history imported: Only through Sep 2026; Oct 2026 is missing."
    )
    failing = page.locator(".checks li.todo").first.inner_text()
    assert "Sales history imported" in failing and "Oct 2026 is missing" in failing
    opener = page.get_by_role("button", name="Open the December 2026 cycle")
    assert opener.is_disabled()
    assert "November is still in draft" in page.locator("#open-blocker").inner_text()
    page.screenshot(path=str(ARTIFACTS / "cycle_checks_disabled.png"), full_page=True)

    page.locator("details.override summary").click()
    page.fill("details.override input[name=comment]", "October's sales arrive Monday")
    page.get_by_role("button", name="Start demand review anyway").click()
    page.wait_for_selector("text=moved to Demand review")
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DEMAND_REVIEW
    history = page.locator("section:has(h2:text('History')) tbody tr").first.inner_text()
    assert "Data checks overridden (Sales history imported" in history
    assert "October's sales arrive Monday" in history
    assert page.get_by_role("button", name="Open the December 2026 cycle").is_enabled()
