"""The sign-off page in a real browser: plotly draws the hand-written figures, and the
executive approves from the page."""

# The browser fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from executive.models import PlanApproval
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_executive_reads_the_charts_approves_and_prints_the_pack(
    live_server, chromium_page, sign_in, in_review, executive
):
    page = chromium_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, executive)
    page.goto(f"{live_server.url}/executive/?cycle={in_review.pk}")
    for chart in ("revenue", "inventory", "capacity"):
        page.wait_for_selector(f"#{chart}-chart .main-svg")
    assert "Gross margin" in page.inner_text("#revenue-chart")  # the company has no budget
    page.screenshot(path=str(ARTIFACTS / "executive_signoff.png"), full_page=True)

    page.fill("#approve-comment", "Agreed in the S&OP meeting")
    page.click("text=Approve and freeze the plan")
    page.wait_for_selector("text=its plan is frozen")
    approval = PlanApproval.objects.get(cycle=in_review)
    assert approval.comment == "Agreed in the S&OP meeting"
    assert approval.checksum in page.inner_text("main")

    page.goto(f"{live_server.url}/executive/print/?cycle={in_review.pk}")
    page.wait_for_selector("#capacity-chart .main-svg")
    page.emulate_media(media="print")
    assert not page.is_visible("nav")
    assert not page.is_visible("text=Print / save as PDF")
    page.pdf(path=str(ARTIFACTS / "executive_pack.pdf"), format="A4")
    assert not errors
