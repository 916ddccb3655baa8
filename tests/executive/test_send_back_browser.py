"""The send-back in a real browser: the finance planner finds it at the top of the
reconciliation page, a resubmit with no change and no comment is refused there with the
reason, and one with an answer goes to the executives, who read it in the pack."""

# ruff: noqa: F811
from __future__ import annotations

import pytest

from executive import services as exec_services
from sop.choices import Stage
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_send_back_banner_and_the_refused_then_accepted_resubmit(
    live_server, chromium_page, sign_in, in_review, finance, executive
):
    exec_services.plan_decide(
        cycle=in_review, user=executive, approve=False, comment="Margin too thin"
    )
    page = chromium_page
    page.set_viewport_size({"width": 1280, "height": 720})
    sign_in(page, finance)
    page.goto(f"{live_server.url}/reconciliation/?cycle={in_review.pk}")
    banner = page.locator("#send-back")
    assert banner.locator("h2").inner_text().startswith("Sent back by Eve Executive, ")
    assert banner.locator("blockquote").inner_text() == "Margin too thin"
    assert "Nothing has changed since" in banner.inner_text()
    # The banner is the first thing under the page's title.
    assert banner.bounding_box()["y"] < page.locator("#scenarios, .card").nth(1).bounding_box()["y"]
    page.screenshot(path=str(ARTIFACTS / "send_back_banner.png"), full_page=False)

    page.get_by_role("button", name="Submit to executive review").click()
    page.wait_for_selector("text=Nothing in it has changed since")
    assert page.url.startswith(f"{live_server.url}/reconciliation/")
    in_review.refresh_from_db()
    assert in_review.stage == Stage.RECONCILIATION

    page.fill("#submit-comment", "Margin holds: the supplier funds the promo")
    page.get_by_role("button", name="Submit to executive review").click()
    page.wait_for_selector("text=moved to Executive review")
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW

    sign_in(page, executive)
    page.goto(f"{live_server.url}/executive/?cycle={in_review.pk}")
    answer = page.locator("#send-back-answer")
    assert "Margin holds: the supplier funds the promo" in answer.locator("q.answer").inner_text()
    page.screenshot(path=str(ARTIFACTS / "send_back_answer.png"), full_page=True)
