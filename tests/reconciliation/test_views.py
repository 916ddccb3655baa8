"""The reconciliation pages: who sees and may do what, scenario editing, comparison, exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from reconciliation import selectors, services
from reconciliation.models import DecisionLogEntry, Scenario, ScenarioRun
from sop.choices import Role, Stage
from sop.formatting import format_number
from sop.models import Budget, Cycle
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db

ALL_ROLES = [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE, Role.ADMIN]
EDITORS = [Role.SUPPLY_PLANNER, Role.FINANCE]
NOT_EDITORS = [Role.DEMAND_PLANNER, Role.EXECUTIVE, Role.ADMIN]


@pytest.fixture
def base(reconciling, django_capture_on_commit_callbacks):
    """The cycle's base plan, computed (the Bikes budget is 700 a month: 100 short)."""
    Budget.objects.bulk_create(
        Budget(family="Bikes", month=m, revenue=Decimal("700"), volume=70) for m in MONTHS
    )
    scenario = services.scenario_base(cycle=reconciling)
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=scenario, user=None)
    return scenario


@pytest.fixture
def bikes_up(base, reconciling, finance, django_capture_on_commit_callbacks):
    """A computed what-if: Bikes demand +10 % in every month, more than the line can make."""
    delta = {"kind": "demand", "family": "Bikes", "percent": 10.0}
    delta |= {"start": MONTHS[0].isoformat(), "end": MONTHS[-1].isoformat()}
    scenario = services.scenario_create(
        cycle=reconciling, name="Bikes +10%", user=finance, deltas=[delta]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=scenario, user=finance)
    return scenario


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


def demand_delta(scenario: Scenario, **data) -> dict:
    values = {
        "version": scenario.version,
        "family": "Bikes",
        "product": "",
        "amount": "10",
        "unit": "percent",
        "start": MONTHS[0].isoformat(),
        "end": MONTHS[-1].isoformat(),
        **data,
    }
    return {f"demand-{key}": value for key, value in values.items()}


def section(body: str, start: str, end: str | None = None) -> str:
    tail = body[body.index(start) :]
    return tail[: tail.index(end)] if end else tail


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/reconciliation/", "/reconciliation/compare/"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, base, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_the_review_and_only_editors_get_the_controls(
    client_for, bikes_up, base, role
):
    client = client_for(role)
    body = client.get("/reconciliation/", {"scenario": bikes_up.pk}).content.decode()
    assert "<h1>Reconciliation · S&amp;OP November 2026</h1>" in body
    scenarios = section(body, 'id="scenarios"', 'id="editor"')
    assert "Base plan" in scenarios and "Bikes +10%" in scenarios
    assert "Demand of family Bikes +10 %, Nov 2026 to Jan 2027" in scenarios
    assert 'id="gaps"' in body and 'id="financial"' in body
    editor = role in EDITORS
    assert ('id="create-form"' in body) == editor
    assert ("Re-run</button>" in body) == editor
    assert ('id="delta-demand"' in body) == editor
    assert ('id="submit"' in body) == editor
    assert ('id="decision-form"' in body) == (role != Role.ADMIN)
    run = ScenarioRun.objects.get(scenario=bikes_up, is_published=True)
    drill = client.get(f"/reconciliation/runs/{run.pk}/skus/", {"family": "Lamps"})
    assert drill.status_code == 200 and "LAMP @ DC" in drill.content.decode()
    listed = client.get(f"/reconciliation/cycles/{bikes_up.cycle_id}/scenarios/")
    assert listed.status_code == 200 and "Bikes +10%" in listed.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_the_comparison(client_for, bikes_up, base, role):
    response = client_for(role).get("/reconciliation/compare/", {"s": [base.pk, bikes_up.pk]})
    assert response.status_code == 200
    kpis = section(response.content.decode(), 'id="kpis"', "</table>")
    assert "Base plan" in kpis and "Bikes +10%" in kpis


def test_the_review_shows_the_recommended_scenario_by_default(finance_client, bikes_up, base):
    services.scenario_recommend(scenario=bikes_up, user=None)
    body = finance_client.get("/reconciliation/").content.decode()
    assert "Demand vs supply · Bikes +10%" in body
    assert 'class="badge ok recommended"' in body
    body = finance_client.get("/reconciliation/", {"scenario": base.pk}).content.decode()
    assert "Demand vs supply · Base plan" in body


def test_the_gap_view_puts_the_short_family_first_and_drills_to_its_skus(finance_client, bikes_up):
    body = finance_client.get("/reconciliation/", {"scenario": bikes_up.pk}).content.decode()
    gaps = section(body, 'id="gaps"', 'id="financial"')
    # The line makes 300 h over the horizon; Bikes +10 % and Lamps ask 318: the plan
    # cuts 18 lamps (class C) to make the bikes (class A).
    assert gaps.index('data-family="Lamps"') < gaps.index('data-family="Bikes"')
    assert 'Lost revenue</dt><dd class="error">180 EUR</dd>' in gaps
    assert "<td>LINE</td>" in section(gaps, "Capacity overloads")

    run = ScenarioRun.objects.get(scenario=bikes_up, is_published=True)
    drill = finance_client.get(
        f"/reconciliation/runs/{run.pk}/skus/", {"family": "Lamps"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "LAMP @ DC" in drill and "BIKE" not in drill


def test_the_gap_tiles_show_the_fill_rate_and_overload_load_from_the_selector(
    finance_client, bikes_up
):
    response = finance_client.get("/reconciliation/", {"scenario": bikes_up.pk})
    gap = response.context["gap"]
    gaps = section(response.content.decode(), 'id="gaps"', 'id="financial"')
    assert 0 < gap.totals["fill_rate"] < 1
    assert f"Fill rate</dt><dd>{format_number(gap.totals['fill_rate'], 'fraction')}</dd>" in gaps
    load = format_number(gap.overloads[0]["utilisation"], "fraction")
    assert f'<td class="num">{load}</td>' in section(gaps, "Capacity overloads")


def test_the_financial_plan_shows_the_budget_gap(finance_client, base):
    body = finance_client.get("/reconciliation/").content.decode()
    money = section(body, 'id="financial"', 'id="decisions"')
    bikes = section(money, 'data-family="Bikes"', "</tbody>")
    # 60 bikes a month at 10: 600 revenue, 360 COGS, 240 margin (40 %), budget 700.
    assert '<td class="num">1,800</td>' in bikes  # revenue over the horizon
    assert '<td class="num">720</td>' in bikes  # margin over the horizon
    assert "40.0 %" in bikes
    assert "2,100" in bikes and "-300" in bikes and "-14.3 %" in bikes
    assert 'id="revenue-chart"' in money
    # Only Bikes has a budget: the other families add revenue, but nothing to the gap.
    total = section(money, 'data-family="All families"', "</tr>")
    assert "4,500" in total and "2,100" in total and "-300" in total and "-14.3 %" in total


def test_the_financial_plan_exports_as_csv_and_xlsx(finance_client, base, reconciling):
    params = {"cycle": reconciling.pk, "scenario": base.pk}
    response = finance_client.get("/reconciliation/export.csv", params)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    bikes = [r for r in rows if r["family"] == "Bikes"]
    assert [r["month"] for r in bikes] == [m.isoformat() for m in MONTHS]
    # Money to the cent, its currency in the header.
    assert [r["revenue (EUR)"] for r in bikes] == ["600.00", "600.00", "600.00"]
    assert [r["budget_gap (EUR)"] for r in bikes] == ["-100.00", "-100.00", "-100.00"]
    assert [r["volume (units)"] for r in bikes] == ["60", "60", "60"]
    assert {r["family"] for r in rows} == {"Bikes", "Lamps", "Drinks"}

    response = finance_client.get("/reconciliation/export.xlsx", {**params, "table": "gaps"})
    values = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert values[1] == (
        "family",
        "month",
        "demand (units)",
        "unmet (units)",
        "unmet_revenue (EUR)",
    )
    assert len(values) == 2 + 3 * len(MONTHS)


def test_the_export_needs_a_computed_scenario(finance_client, reconciling):
    response = finance_client.get("/reconciliation/export.csv", {"cycle": reconciling.pk})
    assert response.status_code == 400


# --- scenario editing ---------------------------------------------------------------------


@pytest.mark.parametrize("role", EDITORS)
def test_an_editor_creates_changes_and_runs_a_scenario(
    client_for, base, reconciling, role, django_capture_on_commit_callbacks
):
    client = client_for(role)
    response = client.post(
        f"/reconciliation/cycles/{reconciling.pk}/scenarios/new/",
        {"name": "Bikes +10%", "description": "Spring campaign"},
    )
    assert response.status_code == 302
    scenario = Scenario.objects.get(name="Bikes +10%")
    assert f"scenario={scenario.pk}" in response["Location"]

    response = client.post(
        f"/reconciliation/scenarios/{scenario.pk}/deltas/demand/", demand_delta(scenario)
    )
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.deltas == [
        {
            "kind": "demand",
            "start": MONTHS[0].isoformat(),
            "end": MONTHS[-1].isoformat(),
            "family": "Bikes",
            "percent": 10.0,
        }
    ]
    body = client.get(response["Location"]).content.decode()
    assert "Demand of family Bikes +10 %, Nov 2026 to Jan 2027" in body
    assert "Not computed" in section(body, f'id="scenario-{scenario.pk}"', "</tr>")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reconciliation/scenarios/{scenario.pk}/run/")
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    row = section(body, f'id="scenario-{scenario.pk}"', "</tr>")
    assert "Up to date" in row
    assert ScenarioRun.objects.get(scenario=scenario, is_published=True).kpis["unmet_units"] == (
        pytest.approx(18)
    )


def test_each_kind_of_change_can_be_added(finance_client, bikes_up, company):
    forms = {
        "capacity": {"resource": "LINE", "amount": "20", "unit": "hours"},
        "lead_time": {"supplier": "LEAF", "amount": "15", "unit": "days"},
        "price_cost": {"family": "Lamps", "price_percent": "5", "cost_percent": ""},
        "service_level": {"abc_class": "A", "level": "97.5"},
    }
    months = {"start": MONTHS[1].isoformat(), "end": MONTHS[2].isoformat()}
    for kind, data in forms.items():
        bikes_up.refresh_from_db()
        if kind == "capacity":
            data |= months
        payload = {f"{kind}-{k}": v for k, v in {**data, "version": bikes_up.version}.items()}
        response = finance_client.post(
            f"/reconciliation/scenarios/{bikes_up.pk}/deltas/{kind}/", payload
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    bikes_up.refresh_from_db()
    assert selectors.deltas_describe(bikes_up.deltas)[1:] == [
        "Capacity of LINE +20 hours/month, Dec 2026 to Jan 2027",
        "Lead time from supplier LEAF +15 days",
        "Price +5 %, cost +0 % for family Lamps",
        "Service level target 97.5% for class A",
    ]


def test_a_change_the_engine_refuses_is_shown_with_the_input_kept(finance_client, bikes_up):
    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/deltas/demand/",
        demand_delta(bikes_up, amount="-150"),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "cannot take away more than 100 %" in body
    assert 'value="-150"' in body
    bikes_up.refresh_from_db()
    assert len(bikes_up.deltas) == 1


def test_a_change_on_a_stale_version_is_refused_with_409_and_kept(finance_client, bikes_up):
    seen = bikes_up.version
    services.scenario_rename(
        scenario=bikes_up, name="Bikes +10% (spring)", description="", version=seen, user=None
    )
    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/deltas/demand/",
        demand_delta(bikes_up, version=seen, amount="25"),
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "was changed" in body and "Your change was not saved" in body
    form = section(body, 'id="delta-demand"', "</form>")
    assert 'value="25"' in form
    # The kept input now names the version on the page: sending it again is a choice.
    assert f'name="demand-version" value="{seen + 1}"' in form
    bikes_up.refresh_from_db()
    assert len(bikes_up.deltas) == 1


def test_a_rename_on_a_stale_version_is_refused_with_409(finance_client, bikes_up):
    seen = bikes_up.version
    services.scenario_delta_remove(scenario=bikes_up, index=0, version=seen, user=None)
    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/rename/",
        {"name": "Bikes high", "description": "", "version": seen},
    )
    assert response.status_code == 409
    assert 'value="Bikes high"' in response.content.decode()
    bikes_up.refresh_from_db()
    assert bikes_up.name == "Bikes +10%"


def test_copy_rename_remove_recommend_and_delete(finance_client, bikes_up, base):
    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/copy/", {"name": "Bikes +10% B"}
    )
    assert response.status_code == 302
    copy = Scenario.objects.get(name="Bikes +10% B")
    assert copy.deltas == bikes_up.deltas

    response = finance_client.post(
        f"/reconciliation/scenarios/{copy.pk}/rename/",
        {"name": "Bikes high", "description": "With overtime", "version": copy.version},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert (copy.name, copy.description) == ("Bikes high", "With overtime")

    response = finance_client.post(
        f"/reconciliation/scenarios/{copy.pk}/deltas/0/remove/", {"version": copy.version}
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.deltas == []

    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/recommend/", {"comment": "Campaign on"}
    )
    assert response.status_code == 302
    assert Scenario.objects.get(recommended=True) == bikes_up

    delete = f"/reconciliation/scenarios/{copy.pk}/delete/"
    response = finance_client.post(delete, {"version": copy.version})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    response = finance_client.post(delete, {"version": copy.version, "confirm": "yes"})
    assert response.status_code == 302
    assert not Scenario.objects.filter(pk=copy.pk).exists()


def test_a_duplicate_name_is_refused_with_the_input_kept(finance_client, bikes_up, reconciling):
    response = finance_client.post(
        f"/reconciliation/cycles/{reconciling.pk}/scenarios/new/",
        {"name": "bikes +10%", "description": "Another try"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "already has a scenario named" in body
    assert "Another try" in section(body, 'id="create-form"', "</form>")


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_other_roles_get_403_on_every_scenario_write(client_for, bikes_up, reconciling, role):
    client = client_for(role)
    pk = bikes_up.pk
    writes = [
        (f"/reconciliation/cycles/{reconciling.pk}/scenarios/new/", {"name": "Mine"}),
        (f"/reconciliation/cycles/{reconciling.pk}/base/run/", {}),
        (f"/reconciliation/scenarios/{pk}/run/", {}),
        (f"/reconciliation/scenarios/{pk}/copy/", {"name": "Mine"}),
        (f"/reconciliation/scenarios/{pk}/rename/", {"name": "Mine", "version": 1}),
        (f"/reconciliation/scenarios/{pk}/recommend/", {}),
        (f"/reconciliation/scenarios/{pk}/deltas/demand/", demand_delta(bikes_up)),
        (f"/reconciliation/scenarios/{pk}/deltas/0/remove/", {"version": 1}),
        (f"/reconciliation/scenarios/{pk}/delete/", {"version": 1, "confirm": "yes"}),
    ]
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    bikes_up.refresh_from_db()
    assert (bikes_up.name, len(bikes_up.deltas), bikes_up.recommended) == (
        "Bikes +10%",
        1,
        False,
    )
    assert Scenario.objects.count() == 2
    assert ScenarioRun.objects.count() == 2


def test_writes_refuse_get(finance_client, bikes_up):
    assert finance_client.get(f"/reconciliation/scenarios/{bikes_up.pk}/run/").status_code == 405


def test_outside_the_reconciliation_the_page_is_read_only(finance_client, bikes_up, reconciling):
    Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.EXECUTIVE_REVIEW)
    body = finance_client.get("/reconciliation/").content.decode()
    assert 'id="read-only"' in body
    for control in ('id="create-form"', 'id="delta-demand"', "Re-run</button>", 'id="submit"'):
        assert control not in body
    response = finance_client.post(
        f"/reconciliation/scenarios/{bikes_up.pk}/deltas/demand/", demand_delta(bikes_up)
    )
    assert response.status_code == 400
    assert "scenarios change only during the reconciliation" in response.content.decode()
    bikes_up.refresh_from_db()
    assert len(bikes_up.deltas) == 1


# --- runs ---------------------------------------------------------------------------------


def test_an_edited_scenario_is_marked_out_of_date_with_a_run_button(finance_client, bikes_up):
    services.scenario_delta_add(
        scenario=bikes_up,
        delta={"kind": "lead_time", "supplier": "LEAF", "days": 10},
        version=bikes_up.version,
        user=None,
    )
    body = finance_client.get("/reconciliation/").content.decode()
    row = section(body, f'id="scenario-{bikes_up.pk}"', "</tr>")
    assert "Out of date" in row and "Its changes were edited since the last run." in row
    assert 'class="primary" aria-label="Run Bikes +10%">Re-run' in row


def test_an_active_run_shows_progress_and_is_polled_until_it_ends(
    finance_client, bikes_up, reconciling
):
    run = ScenarioRun.objects.create(
        cycle=reconciling,
        scenario=bikes_up,
        status="running",
        progress=40,
        phase="Recomputing supply and money",
        chunks_total=1,
    )
    body = finance_client.get("/reconciliation/").content.decode()
    url = f"/reconciliation/cycles/{reconciling.pk}/scenarios/"
    assert f'hx-get="{url}?scenario=' in body and "&amp;active=1" in body
    assert 'hx-trigger="every 1s"' in body
    row = section(body, f'id="scenario-{bikes_up.pk}"', "</tr>")
    assert 'aria-valuenow="40"' in row and "Recomputing supply and money" in row

    watching = {"seen": run.pk, "active": "1"}
    polled = finance_client.get(url, watching, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "HX-Refresh" not in polled
    ScenarioRun.objects.filter(pk=run.pk).update(status="failed", error="Worker lost.")
    polled = finance_client.get(url, watching, HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"
    body = finance_client.get("/reconciliation/").content.decode()
    assert "Last run failed: Worker lost." in body
    assert 'hx-trigger="every 10s"' in body


def test_the_idle_poll_shows_a_run_someone_else_started(finance_client, bikes_up, reconciling):
    url = f"/reconciliation/cycles/{reconciling.pk}/scenarios/"
    seen = ScenarioRun.objects.latest("pk").pk
    assert finance_client.get(url, {"seen": seen}, HTTP_HX_REQUEST="true").status_code == 204
    ScenarioRun.objects.create(
        cycle=reconciling, scenario=bikes_up, status="pending", chunks_total=1
    )
    polled = finance_client.get(url, {"seen": seen}, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200
    assert 'data-run-status="pending"' in polled.content.decode()


def test_the_base_plan_can_be_computed_when_missing(
    finance_client, reconciling, django_capture_on_commit_callbacks
):
    body = finance_client.get("/reconciliation/").content.decode()
    assert "Compute the base plan" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(f"/reconciliation/cycles/{reconciling.pk}/base/run/")
    assert response.status_code == 302
    assert ScenarioRun.objects.get(is_published=True).scenario.is_base


# --- decisions and the submit -------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE]
)
def test_planners_finance_and_executives_write_to_the_log(client_for, bikes_up, reconciling, role):
    response = client_for(role).post(
        f"/reconciliation/cycles/{reconciling.pk}/decisions/",
        {"kind": "assumption", "text": "Campaign starts 1 December", "scenario": bikes_up.pk},
    )
    assert response.status_code == 302
    entry = DecisionLogEntry.objects.get()
    assert (entry.kind, entry.scenario, entry.author.username) == (
        "assumption",
        bikes_up,
        role_username(role),
    )
    body = client_for(role).get(response["Location"]).content.decode()
    assert "Campaign starts 1 December" in section(body, 'id="decisions"')


def role_username(role: str) -> str:
    from tests.conftest import ROLE_USERNAMES

    return ROLE_USERNAMES[role]


def test_an_admin_cannot_write_to_the_log(client_for, reconciling):
    response = client_for(Role.ADMIN).post(
        f"/reconciliation/cycles/{reconciling.pk}/decisions/", {"kind": "assumption", "text": "x"}
    )
    assert response.status_code == 403
    assert not DecisionLogEntry.objects.exists()


def test_an_empty_log_entry_is_refused(finance_client, reconciling):
    response = finance_client.post(
        f"/reconciliation/cycles/{reconciling.pk}/decisions/", {"kind": "decision", "text": ""}
    )
    assert response.status_code == 400
    assert "Write the assumption or decision." in response.content.decode()


def test_the_submit_says_what_the_gate_wants_until_a_current_scenario_is_recommended(
    finance_client, bikes_up, reconciling
):
    submit = section(finance_client.get("/reconciliation/").content.decode(), 'id="submit"')
    assert "Mark one scenario as recommended" in submit and "disabled" in submit
    services.scenario_recommend(scenario=bikes_up, user=None)
    submit = section(finance_client.get("/reconciliation/").content.decode(), 'id="submit"')
    assert 'id="gate"' not in submit
    assert f'action="/cycles/{reconciling.pk}/advance/"' in submit
    form = section(submit, "<form", "</form>")
    assert 'name="target" value="executive_review"' in form and "disabled" not in form
    # The form's fields are what the cycle's advance view takes.
    response = finance_client.post(
        f"/cycles/{reconciling.pk}/advance/",
        {"target": "executive_review", "comment": "Campaign plan"},
    )
    assert response.status_code == 302
    reconciling.refresh_from_db()
    assert reconciling.stage == Stage.EXECUTIVE_REVIEW


# --- comparison ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 5])
def test_the_comparison_wants_two_to_four_scenarios(
    finance_client, bikes_up, base, reconciling, count
):
    for k in range(3):
        services.scenario_create(cycle=reconciling, name=f"Extra {k}", user=None)
    ids = list(Scenario.objects.values_list("pk", flat=True))[:count]
    response = finance_client.get("/reconciliation/compare/", {"s": ids or [""]})
    assert response.status_code == 400
    assert "Choose between 2 and 4 scenarios to compare" in response.content.decode()


def test_the_comparison_puts_kpis_side_by_side_with_toned_differences(
    finance_client, bikes_up, base
):
    response = finance_client.get("/reconciliation/compare/", {"s": [bikes_up.pk, base.pk]})
    body = response.content.decode()
    kpis = section(body, 'id="kpis"', "</table>")
    # The base is the reference column even when ticked second.
    assert kpis.index("Base plan") < kpis.index("Bikes +10%")
    unmet = section(kpis, 'data-kpi="unmet_units"', "</tr>")
    assert '<td class="num bad">18 units' in unmet and "+18 units" in unmet
    # Lamps lost, bikes gained at the same price: the revenue does not move.
    revenue = section(kpis, 'data-kpi="revenue"', "</tr>")
    assert revenue.count('<td class="num ">4,500 EUR</td>') == 2
    fill = section(kpis, 'data-kpi="fill_rate"', "</tr>")
    assert '<td class="num bad">' in fill and "pts" in fill
    described = section(body, 'id="described"', "</dl>")
    assert "Demand of family Bikes +10 %, Nov 2026 to Jan 2027" in described
    for chart in ("revenue-chart", "inventory-chart", "capacity-chart"):
        assert f'id="{chart}" data-figure="' in body


def test_the_comparison_warns_about_a_scenario_without_figures(
    finance_client, bikes_up, base, reconciling
):
    fresh = services.scenario_create(cycle=reconciling, name="Fresh", user=None)
    response = finance_client.get(
        "/reconciliation/compare/", {"s": [base.pk, bikes_up.pk, fresh.pk]}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fresh is not computed yet" in body
    assert "Fresh" not in section(body, 'id="kpis"', "</thead>")


def test_a_scenario_name_with_markup_stays_text_in_the_charts(
    finance_client, base, reconciling, django_capture_on_commit_callbacks
):
    name = "</script><script>alert(1)</script>"
    scenario = services.scenario_create(cycle=reconciling, name=name, user=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=scenario, user=None)
    body = finance_client.get(
        "/reconciliation/compare/", {"s": [base.pk, scenario.pk]}
    ).content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in body


def test_the_comparison_exports_its_kpis(finance_client, bikes_up, base, reconciling):
    params = {"cycle": reconciling.pk, "s": [base.pk, bikes_up.pk]}
    response = finance_client.get("/reconciliation/compare/export.csv", params)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "kpi",
        "unit",
        "Base plan value",
        "Base plan diff",
        "Bikes +10% value",
        "Bikes +10% diff",
    ]
    unmet = next(r for r in rows if r[0] == "Unmet demand (units)")
    assert unmet[1:] == ["units", "0", "0", "18", "18"]
    # A share is exported in % with one decimal, its difference in points: 450 / 468.
    fill = next(r for r in rows if r[0] == "Fill rate")
    assert fill[1:] == ["%", "100.0", "0.0", "96.2", "-3.8"]
    response = finance_client.get("/reconciliation/compare/export.csv", {"s": [base.pk]})
    assert response.status_code == 400


def test_the_review_reads_in_queries_that_do_not_grow_with_the_scenarios(
    finance_client, bikes_up, reconciling, django_capture_on_commit_callbacks
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert finance_client.get("/reconciliation/").status_code == 200
        return len(captured)

    before = queries()
    for k in range(3):
        scenario = services.scenario_copy(scenario=bikes_up, name=f"Copy {k}", user=None)
        with django_capture_on_commit_callbacks(execute=True):
            services.scenario_run_start(scenario=scenario, user=None)
    assert queries() == before <= 60


def test_the_comparison_link_picks_the_base_and_the_recommended_scenario(
    finance_client, bikes_up, base, reconciling
):
    services.scenario_create(cycle=reconciling, name="Not run", user=None)
    response = finance_client.get("/reconciliation/compare/", {"cycle": reconciling.pk})
    assert response.status_code == 200
    header = section(response.content.decode(), 'id="kpis"', "</thead>")
    assert "Base plan" in header and "Bikes +10%" in header and "Not run" not in header


def test_a_run_can_be_watched_from_any_page(finance_client, bikes_up, reconciling):
    run = ScenarioRun.objects.create(
        cycle=reconciling, scenario=bikes_up, status="running", progress=70, chunks_total=1
    )
    body = finance_client.get(f"/reconciliation/runs/{run.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in body and 'aria-valuenow="70"' in body
    ScenarioRun.objects.filter(pk=run.pk).update(status="succeeded", progress=100)
    body = finance_client.get(f"/reconciliation/runs/{run.pk}/").content.decode()
    assert "hx-trigger" not in body and "Succeeded" in body
