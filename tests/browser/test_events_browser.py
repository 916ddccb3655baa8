# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
"""A marketing user records a promotion; the demand planner sees it listed and marked."""

from __future__ import annotations

import datetime as dt

import pytest

from sop.choices import Role
from sop.models import Event
from tests.browser.conftest import ARTIFACTS
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_records_a_promotion_and_the_planner_sees_it_on_the_review(
    live_server, chromium_page, sign_in, published, planner, company, make_user
):
    page = chromium_page
    bike = company["products"][0]
    north = company["locations"][0]
    sign_in(page, make_user(Role.MARKETING))
    page.goto(f"{live_server.url}/")
    page.click("nav.app-nav >> text=Events")
    page.click("text=+ Record an event")
    page.fill("#id_code", "PROMO-JAN")
    page.fill("#id_name", "New year bikes")
    page.select_option("#id_kind", "promotion")
    page.select_option("#id_status", "confirmed")
    page.select_option("#id_scope", "product")
    page.select_option("#id_product", str(bike.pk))
    page.check(f"input[name=locations][value='{north.pk}']")
    page.fill("#id_start_month", "2027-01")
    page.fill("#id_end_month", "2027-01")
    page.fill("#id_effect_value", "40")
    page.fill("#id_dip_months", "1")
    page.fill("#id_dip_percent", "-15")
    page.click("text=Record the event")
    page.wait_for_selector("text=The event PROMO-JAN New year bikes is recorded.")
    event = Event.objects.get(code="PROMO-JAN")
    assert (event.product, event.start_month, list(event.locations.all())) == (
        bike,
        dt.date(2027, 1, 1),
        [north],
    )

    page.context.clear_cookies()
    sign_in(page, planner)
    page.goto(f"{live_server.url}/events/?when=planned&product={bike.pk}")
    row = page.locator("tr[data-event='PROMO-JAN']")
    assert "+40.0 % of the baseline, then -15.0 % for 1 month" in row.inner_text()
    assert "Confirmed" in row.inner_text()

    page.goto(f"{live_server.url}/demand/?sku={bike.pk}&location={north.pk}")
    page.wait_for_selector("#demand-chart .main-svg")
    assert "Events" in page.inner_text("#demand-chart")
    marks = page.locator(".events-row .event-mark")
    assert marks.all_inner_texts() == ["Promo", "Dip"]
    assert marks.first.get_attribute("title") == (
        "New year bikes (PROMO-JAN, confirmed): +40.0 % of the baseline, then -15.0 % for 1 month"
    )
    page.screenshot(path=str(ARTIFACTS / "events_on_demand_review.png"), full_page=True)
