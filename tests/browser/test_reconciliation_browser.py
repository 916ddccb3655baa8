# The supply and reconciliation fixtures are imported by name and requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from reconciliation import services
from reconciliation.models import Scenario
from tests.browser.conftest import ARTIFACTS
from tests.reconciliation.conftest import finance, reconciling  # noqa: F401
from tests.supply.conftest import (  # noqa: F401
    MONTHS,
    company,
    cycle,
    published,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_builds_a_scenario_runs_it_and_compares_it_with_the_base(
    live_server, chromium_page, sign_in, reconciling, finance
):
    # Outside a transaction the run's on_commit fires at once and Celery is eager: the
    # base is computed here, the what-if inside the Run request.
    services.scenario_run_start(scenario=services.scenario_base(cycle=reconciling), user=None)
    page = chromium_page
    sign_in(page, finance)
    page.click("nav >> text=Reconciliation")
    page.wait_for_selector("#scenarios [data-run-status=current]")
    assert "Base plan" in page.inner_text("#scenarios")

    page.click("#new-scenario summary")
    page.fill("#create-form input[name=name]", "Bikes +10%")
    page.fill("#create-form textarea[name=description]", "Spring campaign")
    page.click("#create-form button[type=submit]")
    page.wait_for_selector("text=Scenario Bikes +10% created")
    scenario = Scenario.objects.get(name="Bikes +10%")

    page.click("#add-change summary:has-text('Demand')")
    page.select_option("#id_demand-family", "Bikes")
    page.fill("#id_demand-amount", "10")
    page.select_option("#id_demand-unit", "percent")
    page.select_option("#id_demand-start", MONTHS[0].isoformat())
    page.select_option("#id_demand-end", MONTHS[-1].isoformat())
    page.click("#delta-demand button[type=submit]")
    page.wait_for_selector("text=Demand of family Bikes +10 %, Nov 2026 to Jan 2027")

    page.click(f"#scenario-{scenario.pk} button[aria-label='Run Bikes +10%']")
    page.wait_for_selector(f"#scenario-{scenario.pk} [data-run-status=current]", timeout=30_000)
    # The line cannot make the extra bikes and the lamps: the lamps are cut.
    page.click("#gaps button[aria-label='SKUs of Lamps']")
    page.wait_for_selector(".sku-drill[data-family=Lamps]")
    assert "LAMP @ DC" in page.inner_text(".sku-drill")
    page.screenshot(path=str(ARTIFACTS / "reconciliation_review.png"), full_page=True)

    # The base and the selected scenario come ticked for the comparison.
    assert page.is_checked(f"#scenario-{scenario.pk} input[name=s]")
    page.click("#compare-button")
    page.wait_for_selector("#kpis")
    header = page.inner_text("#kpis thead")
    assert "Base plan" in header and "Bikes +10%" in header
    unmet = page.locator("#kpis tr[data-kpi=unmet_units] td.bad")
    assert unmet.inner_text().startswith("18") and "+18" in unmet.inner_text()
    page.wait_for_selector("#revenue-chart .main-svg")
    page.wait_for_selector("#capacity-chart .main-svg")
    assert "Bikes +10%" in page.inner_text("#revenue-chart")
    page.screenshot(path=str(ARTIFACTS / "reconciliation_compare.png"), full_page=True)
