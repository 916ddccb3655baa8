"""A whole S&OP cycle in the browser, through all five roles, down to the frozen plan.

Celery is eager here (the test command unsets REDIS_URL): each run the pages start is
computed inside the request that starts it, so a page shows its result once it reloads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from executive.models import FrozenPlanLine, PlanApproval
from reconciliation.models import DecisionLogEntry, Scenario, ScenarioLine, ScenarioRun
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.models import Cycle
from supply.models import PlannedSupplyEdit
from tests.browser.conftest import ARTIFACTS
from tests.browser.fullcycle_data import (
    CYCLE_MONTH,
    HORIZON,
    MONTHS,
    SKUS,
    budget_csv,
    company_build,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The runs compute inside a request on a loaded two-core machine.
RUN_TIMEOUT = 90_000
SCENARIO = "Bikes +10%"


def _stage(page, stage: str) -> None:
    page.wait_for_selector(f".lead .stage-{stage}", timeout=RUN_TIMEOUT)


def _move(page, verb: str, comment: str) -> None:
    """Make a stage move from the cycle home's "Waiting on you" card."""
    page.click("nav >> text=Cycle home")
    page.fill(f"#waiting input[aria-label='Comment for {verb}']", comment)
    page.click(f"#waiting button:has-text('{verb}')")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"full_cycle_{name}.png"), full_page=True)


def test_a_cycle_goes_from_import_to_a_frozen_approved_plan_through_all_five_roles(
    live_server, chromium_page, sign_in, make_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    company = company_build()
    admin = make_user(Role.ADMIN)
    demand = make_user(Role.DEMAND_PLANNER, first_name="Dana", last_name="Planner")
    supply = make_user(Role.SUPPLY_PLANNER, first_name="Sam", last_name="Supply")
    finance = make_user(Role.FINANCE, first_name="Fay", last_name="Finance")
    executive = make_user(Role.EXECUTIVE, first_name="Eve", last_name="Exec")
    cycle = sop_services.cycle_open(month=CYCLE_MONTH, user=admin, horizon_months=HORIZON)
    page = chromium_page
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Admin: loads the finance budget extract, then starts the demand review.
    sign_in(page, admin)
    page.click("nav >> text=Imports")
    page.select_option("#id_entity", "budget")
    page.set_input_files("#id_file", str(budget_csv(tmp_path / "budget.csv")))
    page.click("text=Upload and preview")
    page.click("text=Confirm and import")
    page.wait_for_selector(".badge:has-text('Succeeded')", timeout=RUN_TIMEOUT)
    rows = 2 * HORIZON
    assert f"Loaded {rows} rows: {rows} inserted, 0 updated, 0 unchanged." in page.inner_text(
        "#import-job"
    )
    _shot(page, "1_admin_import")
    _move(page, "Start demand review", "Budget loaded")
    _stage(page, Stage.DEMAND_REVIEW)

    # Demand planner: runs the forecast, overrides BIKE-1 for a promotion, submits.
    sign_in(page, demand)
    page.click("nav >> text=Demand review")
    page.click("#run-panel button:has-text('Run forecast')")
    page.wait_for_selector("#run-panel:has-text('Published: run')", timeout=RUN_TIMEOUT)
    page.get_by_role("link", name="BIKE-1", exact=True).click()
    page.wait_for_selector("#demand-chart .main-svg")
    first = MONTHS[0].isoformat()
    page.select_option("#override-reason", "promotion")
    page.fill("#override-comment", "Retailer promotion in November")
    cell = page.locator(f"input.override-input[data-month='{first}']")
    cell.fill("95")
    cell.press("Enter")
    page.wait_for_selector("text=the consensus is updated")
    assert page.inner_text(f".consensus-row td[data-month='{first}']") == "95"
    assert "Retailer promotion in November" in page.inner_text("#override-history")
    _shot(page, "2_demand_override")
    _move(page, "Submit demand plan", "Promotion on BIKE-1 included")
    _stage(page, Stage.SUPPLY_REVIEW)

    # Supply planner: runs the plan, fixes a purchase of LAMP-2, submits.
    sign_in(page, supply)
    page.click("nav >> text=Supply review")
    page.click("#run-panel button:has-text('Run supply plan')")
    page.wait_for_selector("#run-panel:has-text('Published: run')", timeout=RUN_TIMEOUT)
    page.click(".sku-list >> text=LAMP-2 @ DC")
    page.wait_for_selector("#sku-card h2:has-text('LAMP-2')")
    third = MONTHS[2].isoformat()
    page.select_option("#supply-reason", "supplier")
    page.fill("#supply-comment", "LEAF allocates us 80 in January")
    cell = page.locator(f"input.planned-input[data-month='{third}']")
    cell.fill("80")
    cell.press("Enter")
    page.wait_for_selector("text=fixed: the plan is updated", timeout=RUN_TIMEOUT)
    assert "LEAF allocates us 80 in January" in page.inner_text("#edit-history")
    _shot(page, "3_supply_edit")
    # Entering the reconciliation computes the base scenario inside this request.
    _move(page, "Submit supply plan", "LAMP-2 purchase fixed")
    _stage(page, Stage.RECONCILIATION)

    # Finance: a what-if with more bikes, run, recommended, logged, submitted.
    sign_in(page, finance)
    page.click("nav >> text=Reconciliation")
    page.wait_for_selector(
        "#scenarios tr[data-scenario='Base plan'] [data-run-status=current]", timeout=RUN_TIMEOUT
    )
    page.click("#new-scenario summary")
    page.fill("#create-form input[name=name]", SCENARIO)
    page.fill("#create-form textarea[name=description]", "Spring campaign on bikes")
    page.click("#create-form button[type=submit]")
    page.wait_for_selector(f"text=Scenario {SCENARIO} created")
    page.click("#add-change summary:has-text('Demand')")
    page.select_option("#id_demand-family", "Bikes")
    page.fill("#id_demand-amount", "10")
    page.select_option("#id_demand-unit", "percent")
    page.select_option("#id_demand-start", first)
    page.select_option("#id_demand-end", MONTHS[-1].isoformat())
    page.click("#delta-demand button[type=submit]")
    page.wait_for_selector("#changes:has-text('Demand of family Bikes +10 %')")
    page.click(f"button[aria-label='Run {SCENARIO}']")
    page.wait_for_selector(
        f"#scenarios tr[data-scenario='{SCENARIO}'] [data-run-status=current]",
        timeout=RUN_TIMEOUT,
    )
    page.click("#editor summary:has-text('Recommend')")
    page.fill("#recommend-form input[name=comment]", "Marketing commits to the campaign")
    page.click("#recommend-form button[type=submit]")
    page.wait_for_selector(f"text={SCENARIO} is now the recommended scenario.")
    assert page.is_visible(f"#scenarios tr[data-scenario='{SCENARIO}'] .recommended")
    page.select_option("#decision-form select[name=kind]", "decision")
    page.fill("#decision-form textarea[name=text]", "Overtime on the line is not approved")
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("text=Decision added to the log.")
    assert "Overtime on the line is not approved" in page.inner_text("#decisions")
    _shot(page, "4_finance_reconciliation")
    page.fill("#submit input[name=comment]", "Campaign plan, line at capacity")
    page.click("#submit button[type=submit]")
    _stage(page, Stage.EXECUTIVE_REVIEW)

    # Executive: reads the pack and approves.
    sign_in(page, executive)
    page.click("nav >> text=Executive review")
    status = page.inner_text("section[aria-labelledby=plan-status]")
    assert f"Recommended scenario: {SCENARIO}" in status
    assert page.locator("dl.kpis .kpi").count() >= 4
    assert SCENARIO in page.inner_text("section[aria-labelledby=vs-base]")
    page.wait_for_selector("#revenue-chart .main-svg")
    _shot(page, "5_executive_signoff")
    page.fill("#approve-comment", "Approved with the campaign")
    page.click("text=Approve and freeze the plan")
    page.wait_for_selector("text=is approved: its plan is frozen.", timeout=RUN_TIMEOUT)

    cycle.refresh_from_db()
    assert cycle.stage == Stage.APPROVED
    approval = PlanApproval.objects.get(cycle=cycle)
    assert approval.approved_by == executive
    assert approval.comment == "Approved with the campaign"
    assert len(approval.checksum) == 64
    recommended = Scenario.objects.get(cycle=cycle, recommended=True)
    assert recommended.name == SCENARIO
    assert DecisionLogEntry.objects.filter(cycle=cycle, author=finance).exists()

    # The frozen plan page, and its ERP export whose bytes the checksum was taken of.
    page.click("text=Approved plans")
    page.get_by_role("link", name="November 2026").click()
    page.wait_for_selector(f"h1:has-text('Approved plan · {cycle}')")
    assert page.inner_text(".checksum") == approval.checksum
    _shot(page, "6_frozen_plan")
    with page.expect_download() as download_info:
        page.click("text=ERP export (CSV)")
    exported = Path(download_info.value.path()).read_bytes()
    assert hashlib.sha256(exported).hexdigest() == approval.checksum
    assert exported.startswith(b"sku,location,month,kind,planned_quantity")

    # The frozen lines are the recommended scenario's published run, line for line.
    run = ScenarioRun.objects.get(scenario=recommended, is_published=True)
    assert approval.run_id == run.pk
    fields = ("demand", "planned", "on_hand", "unmet", "excess_quantity")
    frozen = {
        (line.product_id, line.location_id, line.month): [float(getattr(line, f)) for f in fields]
        for line in FrozenPlanLine.objects.filter(approval=approval)
    }
    published = {
        (line.product_id, line.location_id, line.month): [getattr(line, f) for f in fields]
        for line in ScenarioLine.objects.filter(run=run)
    }
    assert len(frozen) == approval.line_count == len(published) == len(SKUS) * HORIZON
    assert frozen.keys() == published.keys()
    for key, values in published.items():
        assert frozen[key] == pytest.approx(values, abs=1e-3), key

    # Once approved, the plan cannot change: the supply page is read-only and a forged
    # edit from the supply planner's session is refused.
    sign_in(page, supply)
    page.click("nav >> text=Supply review")
    assert "Read-only" in page.inner_text(".demand-head")
    assert page.locator("input.planned-input").count() == 0
    edits = list(PlannedSupplyEdit.objects.values_list("pk", "quantity", "version"))
    token = json.loads(page.get_attribute("body", "hx-headers"))["X-CSRFToken"]
    refused = page.request.post(
        f"{live_server.url}/supply/cycles/{cycle.pk}/planned/",
        form={
            "product": str(company["BIKE-1"].pk),
            "location": str(company["dc"].pk),
            "month": first,
            "quantity": "500",
            "reason": "capacity",
            "comment": "After the meeting",
        },
        headers={"X-CSRFToken": token},
    )
    assert refused.status == 400
    assert "its supply plan is read-only" in refused.text()
    assert list(PlannedSupplyEdit.objects.values_list("pk", "quantity", "version")) == edits
    assert Cycle.objects.get(pk=cycle.pk).stage == Stage.APPROVED
    _shot(page, "7_supply_read_only")
    assert not errors
