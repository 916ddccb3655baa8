"""Spreadsheet keys of the plan grids (static/sop/grid.js) and the sanity confirmation."""

# The demand fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from demand.models import DemandOverride
from sop.services import add_months
from tests.browser.conftest import ARTIFACTS, wait_until
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED_MONTH = "document.activeElement && document.activeElement.dataset.month"


def open_grid(page, live_server, sign_in, planner, sku, *, reason="promotion"):
    sign_in(page, planner)
    page.goto(f"{live_server.url}/demand/?sku={sku.pk}")
    page.wait_for_selector("#demand-grid input.grid-input")
    if reason:
        page.select_option("#override-reason", reason)
    page.fill("#override-comment", "Retailer promotion")


def months(cycle, n):
    return [add_months(cycle.month, i).isoformat() for i in range(n)]


def cell(page, month):
    return page.locator(f"#demand-grid input.grid-input[data-month='{month}']")


def test_keys_move_between_cells_and_focus_stays_in_the_grid_after_a_save(
    live_server, chromium_page, sign_in, published, planner, company
):
    page = chromium_page
    first, second, third = months(published.cycle, 3)
    open_grid(page, live_server, sign_in, planner, company["products"][0])

    cell(page, first).focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED_MONTH) == second
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_MONTH) == third
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(FOCUSED_MONTH) == first

    scroll = page.evaluate("[window.scrollY, document.querySelector('.grid-scroll').scrollLeft]")
    page.keyboard.type("1000")
    page.keyboard.press("Enter")  # saves, and moves on (the override row has no row below)
    page.wait_for_selector("text=the consensus is updated")
    wait_until(page, f"({FOCUSED_MONTH}) === '{second}'")
    # The grid was swapped: the saved cell is marked, the focus is on the next cell of the
    # new grid, and nothing moved.
    assert (
        page.locator(f"td:has(input[data-month='{first}'])")
        .get_attribute("class")
        .count("grid-saved")
    )
    assert cell(page, first).input_value() == "1000"
    assert (
        page.evaluate("[window.scrollY, document.querySelector('.grid-scroll').scrollLeft]")
        == scroll
    )
    assert DemandOverride.objects.get().value == 1000
    page.screenshot(path=str(ARTIFACTS / "demand_grid_saved.png"))

    # Escape puts back the saved value; nothing is sent.
    cell(page, first).focus()
    page.keyboard.type("999")
    page.keyboard.press("Escape")
    assert cell(page, first).input_value() == "1000"
    page.keyboard.press("ArrowRight")
    assert DemandOverride.objects.get().value == 1000


def test_a_retry_after_a_refusal_submits_the_same_value(
    live_server, chromium_page, sign_in, published, planner, company
):
    page = chromium_page
    first = months(published.cycle, 1)[0]
    open_grid(page, live_server, sign_in, planner, company["products"][0], reason="")
    cell(page, first).fill("500")
    cell(page, first).press("Enter")
    page.wait_for_selector("text=Choose a reason code.")
    assert cell(page, first).input_value() == "500"
    assert not DemandOverride.objects.exists()

    page.select_option("#override-reason", "promotion")
    cell(page, first).focus()
    page.keyboard.press("Enter")  # the value did not change: it is sent again all the same
    page.wait_for_selector("text=the consensus is updated")
    assert DemandOverride.objects.get().value == 500


def test_a_row_pasted_from_excel_fills_the_following_months(
    live_server, chromium_page, sign_in, published, planner, company
):
    page = chromium_page
    first, second, third = months(published.cycle, 3)
    open_grid(page, live_server, sign_in, planner, company["products"][0])
    cell(page, first).focus()
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.setData("text/plain", "100\\t1,000\\t300\\r\\n");
          document.activeElement.dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )
    wait_until(
        page, f"document.querySelector(\"input[data-month='{third}']\").defaultValue === '300'"
    )
    saved = dict(DemandOverride.objects.values_list("month", "value"))
    assert {m.isoformat(): v for m, v in saved.items()} == {first: 100, second: 1000, third: 300}


def test_a_value_far_outside_history_is_saved_once_the_planner_confirms(
    live_server, chromium_page, sign_in, published, planner, company
):
    page = chromium_page
    first = months(published.cycle, 1)[0]
    open_grid(page, live_server, sign_in, planner, company["products"][0])
    cell(page, first).fill("99999999999")
    cell(page, first).press("Enter")
    page.wait_for_selector("[data-grid-confirm]")
    assert "Confirm to save it anyway" in page.inner_text("[data-grid-message]")
    assert cell(page, first).input_value() == "99999999999"
    assert not DemandOverride.objects.exists()
    page.screenshot(path=str(ARTIFACTS / "demand_grid_confirm.png"))

    page.click("[data-grid-confirm]")
    page.wait_for_selector("text=the consensus is updated")
    override = DemandOverride.objects.get()
    assert (override.value, override.outside_history) == (99999999999, True)
    assert "outside-history" in page.locator(f"td:has(input[data-month='{first}'])").get_attribute(
        "class"
    )
