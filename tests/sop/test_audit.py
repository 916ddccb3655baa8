"""The audit trail: every change to plan data is an event; the page filters and exports it."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from demand import services as demand_services
from reconciliation import services as reconciliation_services
from sop import imports, selectors, services, steps
from sop.choices import Role, Stage
from sop.models import AuditEvent, Cycle
from supply import services as supply_services
from tests.factories import ProductFactory
from tests.supply import conftest as supply_fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_data_checks")]

company = supply_fixtures.company
cycle = supply_fixtures.cycle
published = supply_fixtures.published
supply_planner = supply_fixtures.supply_planner

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture(autouse=True)
def _without_the_reconciliation_gate():
    """The gate is tested with a real plan in tests/reconciliation; here only the trail counts."""
    step = steps.step("reconciliation")
    steps.register_step(dataclasses.replace(step, gate=lambda cycle: None))
    yield
    steps.register_step(step)


def signed_in(user) -> Client:
    """A client signed in as `user`; the sign-in's own audit event is left out, so the
    trail holds only what the test did."""
    client = Client()
    client.force_login(user)
    AuditEvent.objects.filter(object_type="sign_in").delete()
    return client


def test_a_demand_override_is_audited_with_old_and_new_value(make_user):
    admin = make_user(Role.ADMIN)
    planner = make_user(Role.DEMAND_PLANNER)
    ProductFactory(sku="W1", family="Widgets")
    november = services.cycle_open(month=dt.date(2026, 11, 1), user=admin)
    services.cycle_advance(cycle=november, target=Stage.DEMAND_REVIEW, user=admin)
    common = {
        "cycle": november,
        "user": planner,
        "family": "Widgets",
        "month": dt.date(2026, 12, 1),
        "reason": "promotion",
    }
    first = demand_services.override_save(
        value=Decimal("120"), comment="Xmas promo", expected_version=None, **common
    )
    demand_services.override_save(
        value=Decimal("150"), comment="Bigger promo", expected_version=first.version, **common
    )

    events = list(AuditEvent.objects.filter(action="demand.override").order_by("id"))
    assert [(e.object_id, e.old, e.new, e.reason, e.user) for e in events] == [
        (
            "Widgets/2026-12",
            None,
            {"kind": "absolute", "value": "120", "reason": "promotion", "family": "Widgets"},
            "Xmas promo",
            planner,
        ),
        (
            "Widgets/2026-12",
            {"kind": "absolute", "value": "120"},
            {"kind": "absolute", "value": "150", "reason": "promotion", "family": "Widgets"},
            "Bigger promo",
            planner,
        ),
    ]


def test_every_kind_of_plan_change_is_an_audit_event(
    published, company, supply_planner, make_user, settings, tmp_path,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path / "media"
    plan = Cycle.objects.get(pk=published.cycle_id)
    month = supply_fixtures.MONTHS[1]
    supply_services.planned_supply_save(
        cycle=plan, user=supply_planner, product=company["BIKE"], location=company["dc"],
        month=month, quantity=Decimal("80"), reason="campaign", comment="Campaign",
        expected_version=None,
    )  # fmt: skip
    supply_services.capacity_adjustment_save(
        cycle=plan, user=supply_planner, resource=company["line"], month=month,
        delta_hours=Decimal("-20"), reason="lost_shift", comment="Shift cancelled",
        expected_version=None,
    )  # fmt: skip
    services.cycle_advance(cycle=plan, target=Stage.RECONCILIATION, user=supply_planner)
    finance = make_user(Role.FINANCE)
    scenario = reconciliation_services.scenario_create(cycle=plan, name="Late tea", user=finance)
    scenario = reconciliation_services.scenario_delta_add(
        scenario=scenario,
        delta={"kind": "lead_time", "supplier": "LEAF", "days": 5},
        version=scenario.version,
        user=finance,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation_services.scenario_run_start(scenario=scenario, user=finance)
    reconciliation_services.scenario_recommend(scenario=scenario, user=finance, comment="Safer")
    spare = reconciliation_services.scenario_create(cycle=plan, name="Spare", user=finance)
    reconciliation_services.scenario_delete(scenario=spare, version=spare.version, user=finance)
    services.cycle_advance(cycle=plan, target=Stage.EXECUTIVE_REVIEW, user=finance)
    job = imports.import_file(
        entity="suppliers", path=SAMPLES / "suppliers.csv", user=make_user(Role.ADMIN)
    )

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "supply.planned_supply",
        "supply.capacity",
        "scenario.create",
        "scenario.delta_add",
        "scenario.run",
        "scenario.recommend",
        "scenario.delete",
        "cycle.transition",
        "import.load",
    } <= actions
    loaded = AuditEvent.objects.get(action="import.load")
    assert loaded.new["file_name"] == "suppliers.csv"
    assert loaded.new["checksum"] == job.checksum
    assert loaded.new["inserted"] == job.rows_inserted
    planned = AuditEvent.objects.get(action="supply.planned_supply")
    assert planned.new["quantity"] == "80" and planned.reason == "Campaign"
    started = AuditEvent.objects.get(action="scenario.run")
    assert (started.object_type, started.cycle_id) == ("scenario_run", plan.pk)
    assert started.new == {"scenario": "Late tea", "deltas": scenario.deltas}


def test_an_approval_is_audited_as_a_transition_with_its_comment(make_user):
    admin, executive = make_user(Role.ADMIN), make_user(Role.EXECUTIVE)
    plan = services.cycle_open(month=dt.date(2026, 11, 1), user=admin)
    Cycle.objects.filter(pk=plan.pk).update(stage=Stage.EXECUTIVE_REVIEW)
    services.cycle_advance(cycle=plan, target=Stage.APPROVED, user=executive, comment="Go")

    approval = AuditEvent.objects.get(action="cycle.transition", cycle=plan)
    assert (approval.user, approval.old, approval.new, approval.reason) == (
        executive,
        {"stage": Stage.EXECUTIVE_REVIEW},
        {"stage": Stage.APPROVED},
        "Go",
    )


# --- the audit page --------------------------------------------------------------------------


@pytest.fixture
def trail(make_user):
    """Two cycles' worth of events by two people."""
    admin = make_user(Role.ADMIN)
    planner = make_user(Role.DEMAND_PLANNER)
    # November first: a later cycle waits until the newest one has left draft.
    november = services.cycle_open(month=dt.date(2026, 11, 1), user=admin)
    october = services.cycle_open(month=dt.date(2026, 10, 1), user=admin)
    services.cycle_advance(cycle=november, target=Stage.DEMAND_REVIEW, user=admin, comment="Go")
    services.audit_record(
        user=planner,
        action="demand.override",
        object_type="demand_override",
        object_id="Widgets/2026-12",
        cycle=november,
        old={"value": "100"},
        new={"value": '=HYPERLINK("http://x")'},
        reason="@risk promo",
    )
    old = AuditEvent.objects.get(action="cycle.open", cycle=october)
    AuditEvent.objects.filter(pk=old.pk).update(at=dt.datetime(2026, 9, 20, 12, tzinfo=dt.UTC))
    return {"admin": admin, "planner": planner, "october": october, "november": november}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.EXECUTIVE])
def test_admins_and_executives_read_the_audit_trail(trail, make_user, role):
    page = signed_in(make_user(role)).get("/audit/").content.decode()
    assert "cycle.transition" in page
    assert "stage: draft → demand_review" in page
    assert "Widgets/2026-12" in page
    assert 'href="/audit/"' in page  # the nav shows the page to them


@pytest.mark.parametrize("role", [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE])
def test_planners_and_finance_may_not_read_the_audit_trail(trail, make_user, role):
    client = signed_in(make_user(role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_the_audit_page_filters_by_cycle_user_action_date_and_text(trail, make_user):
    client = signed_in(make_user(Role.EXECUTIVE))

    def shown(**params) -> set[str]:
        page = client.get("/audit/", params)
        return {row["event"].action for row in page.context["rows"]}

    november, october = trail["november"], trail["october"]
    assert shown(cycle=november.pk) == {"cycle.open", "cycle.transition", "demand.override"}
    assert shown(cycle=october.pk) == {"cycle.open"}
    assert shown(user=trail["planner"].pk) == {"demand.override"}
    assert shown(action="cycle.") == {"cycle.open", "cycle.transition"}
    assert shown(object_type="demand_override") == {"demand.override"}
    assert shown(q="risk") == {"demand.override"}
    assert shown(q="widgets/") == {"demand.override"}
    assert len(client.get("/audit/", {"date_to": "2026-09-30"}).context["rows"]) == 1
    assert len(client.get("/audit/", {"date_from": "2026-10-01"}).context["rows"]) == 3
    # Nonsense in the query string is ignored rather than an error page.
    assert client.get("/audit/", {"cycle": "x", "date_from": "soon"}).status_code == 200


def test_the_audit_page_is_paginated_newest_first(trail, make_user):
    for i in range(60):
        services.audit_record(user=None, action="test.bulk", object_type="t", object_id=i)
    client = signed_in(make_user(Role.ADMIN))
    first = client.get("/audit/").context["rows"]
    assert len(first) == 50
    assert first[0]["event"].object_id == "59"
    second = client.get("/audit/", {"page": 2}).context["rows"]
    assert len(second) == 14


def test_the_csv_export_holds_the_filtered_events_with_formulas_neutralised(trail, make_user):
    response = signed_in(make_user(Role.ADMIN)).get(
        "/audit/export.csv", {"cycle": trail["november"].pk}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == selectors_header()
    assert {r[2] for r in rows[1:]} == {"cycle.open", "cycle.transition", "demand.override"}
    override = next(r for r in rows[1:] if r[2] == "demand.override")
    assert override[1] == trail["planner"].username
    assert override[5] == "2026-11"
    assert override[8] == "'@risk promo"  # a spreadsheet would run it as a formula
    assert override[7].startswith('{"value"')


def selectors_header() -> list[str]:
    from sop.views import AUDIT_CSV_HEADER

    return AUDIT_CSV_HEADER


def test_changes_are_shown_compactly():
    assert selectors.audit_changes({"stage": "draft"}, {"stage": "demand_review"}) == [
        "stage: draft → demand_review"
    ]
    assert selectors.audit_changes(None, {"name": "Late tea", "deltas": []}) == [
        "name: Late tea",
        "deltas: []",
    ]
    assert selectors.audit_changes({"quantity": "80", "reason": "x"}, {"quantity": None}) == [
        "quantity: 80 → —",
        "reason: x → removed",
    ]
    assert selectors.audit_changes(None, None) == []
    assert selectors.audit_changes("a" * 100, "b")[0].endswith("… → b")


def test_the_audit_page_runs_a_bounded_number_of_queries(
    trail, make_user, django_assert_max_num_queries
):
    for i in range(60):
        services.audit_record(
            user=trail["planner"], action="test.bulk", object_type="t", object_id=i,
            cycle=trail["november"],
        )  # fmt: skip
    client = signed_in(make_user(Role.EXECUTIVE))
    client.get("/audit/")  # the session and permission caches warm up
    with django_assert_max_num_queries(12):
        response = client.get("/audit/")
    assert len(response.context["rows"]) == 50
