"""The cycle home: stage, due dates and owners, checklist, what waits on me, history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from demand.models import ConsensusDemand, ForecastRun
from reconciliation import services as reconciliation_services
from reconciliation.models import DecisionLogEntry
from sop import selectors, services, steps, views
from sop.choices import JobStatus, Role, Stage
from sop.models import AuditEvent, Cycle
from tests.factories import LocationFactory, ProductFactory, SalesHistoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_data_checks")]

NOV = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _without_the_reconciliation_gate():
    """An empty cycle cannot have a recommended scenario; see tests/sop/test_workflow.py."""
    step = steps.step("reconciliation")
    steps.register_step(dataclasses.replace(step, gate=lambda cycle: None))
    yield
    steps.register_step(step)


@pytest.fixture
def team(make_user):
    return {role: make_user(role) for role in Role}


@pytest.fixture
def cycle(team):
    return services.cycle_open(month=NOV, user=team[Role.ADMIN])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def advance(cycle, team, *moves):
    for role, target, *comment in moves:
        services.cycle_advance(
            cycle=cycle, target=target, user=team[role], comment=comment[0] if comment else ""
        )


def checks_of(cycle) -> dict[str, dict[str, str]]:
    return {
        group["stage"]: {c.label: c.state for c in group["checks"]}
        for group in selectors.cycle_checklist(cycle=cycle)
    }


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    for url in ("/", "/audit/", "/cycles/open/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_stage_owners_and_due_dates(cycle, team, role):
    page = signed_in(team[role]).get("/").content.decode()
    assert "S&amp;OP November 2026" in page
    assert "Demand planner" in page and "Finance / Supply planner" in page
    assert "due 7 Nov" in page  # demand review due six days into the month
    assert "Checklist" in page


def test_what_waits_on_a_demand_planner_is_the_submit_with_its_blocker(cycle, team):
    ProductFactory(sku="A1")
    SalesHistoryFactory(month=dt.date(2026, 10, 1))  # so there is something to forecast
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))

    page = signed_in(team[Role.DEMAND_PLANNER]).get("/").content.decode()

    assert "Waiting on you" in page
    assert "Submit demand plan" in page
    assert "has not run successfully yet" in page
    assert (
        '<button type="submit" class="primary" disabled aria-describedby="why-supply_review">'
        "Submit demand plan" in page
    )


def test_other_roles_see_who_the_stage_waits_on(cycle, team):
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    page = signed_in(team[Role.FINANCE]).get("/").content.decode()
    assert "Nothing right now" in page
    assert "Submit demand plan is up to Demand planner" in page
    assert 'name="target"' not in page


def test_an_older_cycle_still_waiting_on_me_is_pointed_out(cycle, team):
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    december = services.cycle_open(month=dt.date(2026, 12, 1), user=team[Role.ADMIN])
    advance(december, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    Cycle.objects.filter(pk=december.pk).update(stage=Stage.SUPPLY_REVIEW)

    page = signed_in(team[Role.DEMAND_PLANNER]).get("/").content.decode()

    assert "S&amp;OP December 2026" in page  # the newest open cycle is shown
    assert f'<a href="/?cycle={cycle.pk}">S&amp;OP November 2026</a> is in demand review' in page


def test_the_history_shows_who_moved_the_cycle_and_why(cycle, team):
    advance(
        cycle,
        team,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW, "Promo plan agreed"),
    )
    page = signed_in(team[Role.EXECUTIVE]).get("/").content.decode()
    history = page.split("<h2>History</h2>")[1]
    assert "Demand review → Supply review" in history
    assert "Promo plan agreed" in history
    assert "demand" in history


def test_an_overdue_stage_is_marked(team, make_user):
    past = services.cycle_open(month=dt.date(2025, 1, 1), user=team[Role.ADMIN])
    advance(past, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    page = signed_in(team[Role.DEMAND_PLANNER]).get(f"/?cycle={past.pk}").content.decode()
    assert "overdue" in page


def test_the_checklist_follows_the_cycle_through_its_stages(cycle, team):
    assert checks_of(cycle)[Stage.DEMAND_REVIEW] == {
        "Statistical forecast published": "later",
        "Overrides reviewed": "later",
        "Consensus demand built": "later",
    }
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    demand = checks_of(cycle)[Stage.DEMAND_REVIEW]
    assert demand["Consensus demand built"] == "todo"
    assert demand["Overrides reviewed"] == "info"

    ForecastRun.objects.create(
        cycle=cycle, status=JobStatus.SUCCEEDED, is_published=True, progress=100
    )
    ConsensusDemand.objects.create(
        cycle=cycle,
        product=ProductFactory(),
        location=LocationFactory(),
        month=NOV,
        statistical=10,
        value=10,
    )
    demand = checks_of(cycle)[Stage.DEMAND_REVIEW]
    assert demand["Statistical forecast published"] == "done"
    assert demand["Consensus demand built"] == "done"
    # The supply run is checked once the supply review is reached.
    assert checks_of(cycle)[Stage.SUPPLY_REVIEW]["Supply plan run on the current consensus"] == (
        "later"
    )
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    cycle.refresh_from_db()
    assert checks_of(cycle)[Stage.SUPPLY_REVIEW]["Supply plan run on the current consensus"] == (
        "todo"
    )


def test_an_approved_cycle_checks_off_the_approval_with_who(cycle, team):
    advance(
        cycle,
        team,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
        (Role.FINANCE, Stage.EXECUTIVE_REVIEW),
        (Role.EXECUTIVE, Stage.APPROVED),
    )
    group = selectors.cycle_checklist(cycle=cycle)[-1]
    assert [(c.label, c.state) for c in group["checks"]] == [("Plan approved", "done")]
    assert "By exec" in group["checks"][0].detail
    page = signed_in(team[Role.DEMAND_PLANNER]).get("/").content.decode()
    assert "the plan is frozen" in page


def test_the_picker_lists_past_approved_cycles_and_opens_them(cycle, team):
    old = services.cycle_open(month=dt.date(2026, 10, 1), user=team[Role.ADMIN])
    Cycle.objects.filter(pk=old.pk).update(stage=Stage.APPROVED)
    client = signed_in(team[Role.FINANCE])

    page = client.get("/").content.decode()
    assert "S&amp;OP November 2026" in page  # the open cycle is the default
    assert f'<option value="{old.pk}">October 2026 · Approved</option>' in page

    past = client.get(f"/?cycle={old.pk}").content.decode()
    assert "S&amp;OP October 2026" in past
    approved_plan = views._reverse_or_none("executive:approved_detail", old.pk)
    if approved_plan is not None:  # the executive app's page, linked once it exists
        assert f'href="{approved_plan}"' in past
    assert client.get("/?cycle=999999").status_code == 404


def test_an_admin_opens_next_months_cycle_with_the_assumptions_and_risks(cycle, team):
    reconciliation_services.decision_add(
        cycle=cycle, text="Steel price +5%", kind=DecisionLogEntry.Kind.ASSUMPTION, user=None
    )
    reconciliation_services.risk_save(
        cycle=cycle, title="Port strike", probability=20, impact=Decimal("50000"), user=None
    )
    reconciliation_services.decision_add(cycle=cycle, text="Go with base plan", user=None)
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))  # a later cycle waits for that
    client = signed_in(team[Role.ADMIN])
    assert "Open the December 2026 cycle" in client.get("/").content.decode()

    response = client.post("/cycles/open/")

    december = Cycle.objects.get(month=dt.date(2026, 12, 1))
    assert response.status_code == 302
    assert response["Location"] == f"/?cycle={december.pk}"
    assert december.stage == Stage.DRAFT
    assert set(december.decisions.values_list("text", flat=True)) == {"Steel price +5%"}
    assert list(december.risks.values_list("title", flat=True)) == ["Port strike"]
    event = AuditEvent.objects.get(action="cycle.open", cycle=december)
    assert (event.new["carried_decisions"], event.new["carried_risks"]) == (1, 1)
    page = client.get(response["Location"]).content.decode()
    assert "overrides are copied when the demand review starts" in page
    assert "2 carried from the previous cycle" in page


def test_opening_the_next_cycle_twice_waits_for_the_first_to_leave_draft(cycle, team):
    advance(cycle, team, (Role.ADMIN, Stage.DEMAND_REVIEW))
    client = signed_in(team[Role.ADMIN])
    client.post("/cycles/open/")
    page = client.post("/cycles/open/", follow=True).content.decode()
    assert (
        "Start the demand review of S&amp;OP December 2026 before opening the January 2027" in page
    )
    assert list(Cycle.objects.order_by("month").values_list("month", flat=True)) == [
        NOV,
        dt.date(2026, 12, 1),
    ]


@pytest.mark.parametrize(
    "role", [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE]
)
def test_only_an_admin_may_open_a_cycle(cycle, team, role):
    client = signed_in(team[role])
    assert "Open the December 2026 cycle" not in client.get("/").content.decode()
    assert client.post("/cycles/open/").status_code == 403
    assert Cycle.objects.count() == 1


def test_opening_a_cycle_needs_a_post(cycle, team):
    assert signed_in(team[Role.ADMIN]).get("/cycles/open/").status_code == 405


def test_the_cycle_home_runs_a_bounded_number_of_queries(
    cycle, team, django_assert_max_num_queries
):
    advance(
        cycle,
        team,
        (Role.ADMIN, Stage.DEMAND_REVIEW),
        (Role.DEMAND_PLANNER, Stage.SUPPLY_REVIEW),
        (Role.SUPPLY_PLANNER, Stage.RECONCILIATION),
    )
    for month in (dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
        services.cycle_open(month=month, user=team[Role.ADMIN])
    client = signed_in(team[Role.FINANCE])
    client.get("/")  # the session and permission caches warm up
    with django_assert_max_num_queries(30):
        response = client.get("/")
    assert response.status_code == 200
