"""Spreadsheet keys on the supply grid (static/sop/grid.js): arrows, and focus after a save."""

# The supply fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from supply.models import PlannedSupplyEdit
from tests.browser.conftest import ARTIFACTS, wait_until
from tests.supply.conftest import (  # noqa: F401
    MONTHS,
    company,
    cycle,
    published,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED_MONTH = "document.activeElement && document.activeElement.dataset.month"


def test_arrows_move_between_cells_and_focus_stays_in_the_grid_after_a_save(
    live_server, chromium_page, sign_in, published, supply_planner, company
):
    page = chromium_page
    sign_in(page, supply_planner)
    bike, dc = company["BIKE"], company["dc"]
    page.goto(f"{live_server.url}/supply/?sku={bike.pk}&location={dc.pk}")
    page.wait_for_selector("#supply-grid input.grid-input")
    page.select_option("#supply-reason", "campaign")
    page.fill("#supply-comment", "December campaign")
    first, second, third = (m.isoformat() for m in MONTHS[:3])

    page.locator(f"#supply-grid input.grid-input[data-month='{first}']").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED_MONTH) == second
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(FOCUSED_MONTH) == first
    page.keyboard.press("ArrowRight")
    page.keyboard.type("80")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=the plan is updated")
    # The SKU card was swapped: the focus is on the next month of the new grid.
    wait_until(page, f"({FOCUSED_MONTH}) === '{third}'")
    cell = page.locator(f"#supply-grid td[data-month='{second}']")
    assert "firm" in cell.get_attribute("class")
    assert cell.locator("input").input_value() == "80"
    assert PlannedSupplyEdit.objects.get().quantity == 80
    page.screenshot(path=str(ARTIFACTS / "supply_grid_keys.png"))
