# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from demand import services
from demand.models import (
    ConsensusSource,
    DemandPlanSnapshot,
    InputStream,
    StreamPlanSnapshot,
)
from sop.choices import Role, Stage
from sop.models import Cycle, SalesHistory
from tests.browser.conftest import ARTIFACTS
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _past_plan(company) -> None:
    """An approved September plan with both streams frozen, against the real sales."""
    past = Cycle.objects.create(month=dt.date(2026, 9, 1), stage=Stage.APPROVED)
    sales, marketing = InputStream.objects.order_by("id")
    for row in SalesHistory.objects.filter(month__gte=past.month):
        actual = float(row.quantity)
        keys = {"cycle": past, "product": row.product, "location": row.location}
        DemandPlanSnapshot.objects.create(
            **keys,
            month=row.month,
            naive=actual * 0.7,
            statistical=actual * 0.8,
            consensus=actual * 0.95,
        )
        StreamPlanSnapshot.objects.create(**keys, stream=sales, month=row.month, value=actual * 1.1)
        StreamPlanSnapshot.objects.create(
            **keys, stream=marketing, month=row.month, value=actual * 1.5
        )


def test_the_planner_accepts_the_sales_stream_for_a_family_and_sees_the_fva_waterfall(
    live_server, chromium_page, sign_in, published, planner, company, make_user
):
    page = chromium_page
    cycle = published.cycle
    sales_user = make_user(Role.SALES)
    services.stream_entry_save(
        cycle=cycle,
        stream=InputStream.objects.get(code="sales"),
        user=sales_user,
        family="Bikes",
        month=cycle.month,
        value=Decimal(1000),
        comment="Order book",
        expected_version=None,
    )
    _past_plan(company)
    sign_in(page, planner)
    page.goto(f"{live_server.url}/demand/?cycle={cycle.pk}&family=Bikes")

    month = cycle.month.isoformat()
    consensus = page.locator(f".consensus-row td[data-month='{month}']")
    assert consensus.inner_text() != "1,000"
    assert "1,000" in page.inner_text(".stream-row[data-stream='sales']")
    page.select_option("#source-select", "sales")
    page.select_option("#source-form select[name=reason]", "market_intelligence")
    page.fill("#source-form input[name=comment]", "Sales has the order book")
    page.click("#source-form button[type=submit]")

    page.wait_for_selector("text=Consensus source of Family Bikes saved")
    assert page.inner_text("#source-now") == "Sales 100%"
    assert page.locator(f".consensus-row td[data-month='{month}']").inner_text() == "1,000"
    page.wait_for_selector("#fva-chart .main-svg")
    chart = page.inner_text("#fva-chart")
    for label in ("Naive", "Statistical", "Sales", "Marketing", "Consensus"):
        assert label in chart
    # Hand-computed: statistical misses by 20 % of every sale, sales by 10 %, marketing
    # by 50 %: sales gains 10 points over statistical, marketing loses 30.
    assert "-30.0 pts vs Statistical" in chart and "+10.0 pts vs Statistical" in chart
    page.locator("#fva-waterfall").screenshot(path=str(ARTIFACTS / "streams_fva.png"))
    page.screenshot(path=str(ARTIFACTS / "streams_review.png"), full_page=True)
    source = ConsensusSource.objects.get()
    assert (source.family, source.weights, source.author) == ("Bikes", {"sales": 100}, planner)
