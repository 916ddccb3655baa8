"""The sign-off page: readable by every role, decided by executives, bounded in queries."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from demand.models import ConsensusDemand
from executive.models import PlanApproval
from reconciliation import services as recon_services
from reconciliation.models import Scenario
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.formatting import format_number
from sop.models import Capacity, Cycle, CycleTransition, InventorySnapshot, Routing
from tests.factories import ProductFactory
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db
SIGNOFF = reverse("executive:signoff")


def decide(client, cycle, decision, comment=""):
    url = reverse("executive:decide", args=[cycle.pk])
    return client.post(url, {"decision": decision, "comment": comment})


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_the_pack(in_review, client_for, role):
    response = client_for(role).get(SIGNOFF, {"cycle": in_review.pk})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Headline figures" in body
    assert "Base plan" in body
    assert 'id="revenue-chart"' in body and 'id="capacity-chart"' in body
    # Only executives get the decision forms.
    assert ("Approve and freeze the plan" in body) == (role == Role.EXECUTIVE)


def test_tiles_print_money_compactly_and_the_scenario_table_in_full(in_review, client_for):
    response = client_for(Role.FINANCE).get(SIGNOFF, {"cycle": in_review.pk})
    body = response.content.decode()
    pack = response.context["pack"]
    for k in pack.headline:
        if k["not_yet"]:  # no basis: no number, the reason instead
            reason = escape(k["not_yet"])
            assert f'<dd class="not-yet">Not yet <span class="change">{reason}' in body
            continue
        tile = format_number(k["value"], k["format"], compact=True)
        assert f"<dt>{k['label']}</dt>\n      <dd>{tile}\n" in body
    for row in pack.versus_base:
        assert f'<td class="num">{format_number(row["value"], row["format"])}</td>' in body


def test_anonymous_visitors_are_sent_to_sign_in(in_review, client):
    response = client.get(SIGNOFF)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_defaults_to_the_cycle_in_executive_review(in_review, client_for):
    Cycle.objects.create(month=in_review.month.replace(year=2027), stage=Stage.DRAFT)
    response = client_for(Role.FINANCE).get(SIGNOFF)
    assert response.context["cycle"] == in_review


def test_the_print_view_has_a_print_button_and_the_pack(in_review, client_for):
    response = client_for(Role.DEMAND_PLANNER).get(
        reverse("executive:print"), {"cycle": in_review.pk}
    )
    body = response.content.decode()
    assert "data-print" in body  # static/sop/page.js opens the print dialog
    assert "Headline figures" in body and "Top risks" in body
    assert "css/print.css" in body


@pytest.mark.parametrize("role", [r for r in Role if r != Role.EXECUTIVE])
def test_only_executives_approve(in_review, client_for, role):
    response = decide(client_for(role), in_review, "approve")
    assert response.status_code == 403
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW
    assert not PlanApproval.objects.exists()


def test_an_executive_approves_and_the_page_shows_the_frozen_plan(in_review, executive, client):
    client.force_login(executive)
    response = decide(client, in_review, "approve", "Agreed")
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED
    page = client.get(response["Location"]).content.decode()
    assert "is approved: its plan is frozen" in page
    assert "Approved plan" in page and "Agreed" in page
    assert PlanApproval.objects.get().checksum in page


def test_approval_refuses_before_the_earlier_stages_are_submitted(
    recommended, reconciling, executive, client
):
    client.force_login(executive)
    decide(client, reconciling, "approve")
    reconciling.refresh_from_db()
    assert reconciling.stage == Stage.RECONCILIATION
    assert not PlanApproval.objects.exists()
    with pytest.raises(sop_services.TransitionRefused):
        sop_services.cycle_advance(cycle=reconciling, target=Stage.APPROVED, user=executive)


def test_approval_refuses_when_the_recommended_figures_are_out_of_date(
    in_review, executive, client
):
    ConsensusDemand.objects.filter(cycle=in_review).update(value=70)
    client.force_login(executive)
    page = client.get(decide(client, in_review, "approve")["Location"]).content.decode()
    assert "Re-run the recommended scenario" in page
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW
    assert not PlanApproval.objects.exists()


def test_send_back_needs_a_comment(in_review, executive, client):
    client.force_login(executive)
    page = client.get(decide(client, in_review, "send_back", "  ")["Location"]).content.decode()
    assert "needs a comment" in page
    in_review.refresh_from_db()
    assert in_review.stage == Stage.EXECUTIVE_REVIEW


def test_send_back_reopens_the_reconciliation_keeps_history_and_a_later_approval_works(
    in_review, executive, finance, client, django_capture_on_commit_callbacks
):
    client.force_login(executive)
    with django_capture_on_commit_callbacks(execute=True):
        decide(client, in_review, "send_back", "Margin too thin")
    in_review.refresh_from_db()
    assert in_review.stage == Stage.RECONCILIATION
    # The reconciliation can work again: a what-if is accepted.
    recon_services.scenario_create(cycle=in_review, name="Price up", user=finance)
    sop_services.cycle_advance(cycle=in_review, target=Stage.EXECUTIVE_REVIEW, user=finance)
    decide(client, in_review, "approve", "Now yes")
    in_review.refresh_from_db()
    assert in_review.stage == Stage.APPROVED
    moves = list(CycleTransition.objects.filter(cycle=in_review).values_list("to_stage", "comment"))
    assert moves[-3:] == [
        (Stage.RECONCILIATION, "Margin too thin"),
        (Stage.EXECUTIVE_REVIEW, ""),
        (Stage.APPROVED, "Now yes"),
    ]
    page = client.get(SIGNOFF, {"cycle": in_review.pk}).content.decode()
    assert "Margin too thin" in page and "Now yes" in page


# --- approved plans and the ERP export ---------------------------------------------------


def test_the_csv_export_hashes_to_the_approval_checksum(approved, client_for):
    approval = approved.approval
    response = client_for(Role.SUPPLY_PLANNER).get(
        reverse("executive:approved_export", args=[approval.pk, "csv"])
    )
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == approval.checksum
    lines = response.content.decode().splitlines()
    assert lines[0] == (
        "sku,location,month,kind,planned_quantity,consensus_demand,projected_on_hand,unmet_demand,"
        "lifecycle,like_sku,end_of_life_month"
    )
    assert len(lines) == 1 + 9
    assert lines[1].startswith("BIKE,DC,2026-11-01,production,")
    assert any(line.startswith("TEA,DC,") and ",purchase," in line for line in lines)


def test_the_xlsx_export_has_the_same_rows(approved, client_for):
    from openpyxl import load_workbook

    approval = approved.approval
    response = client_for(Role.FINANCE).get(
        reverse("executive:approved_export", args=[approval.pk, "xlsx"])
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert approval.checksum in " ".join(str(c) for c in rows[0])
    assert rows[1][0] == "sku"
    assert len(rows) == 2 + 9
    assert rows[2][:4] == ("BIKE", "DC", "2026-11-01", "production")


def test_past_approved_plans_stay_browsable(approved, client_for):
    client = client_for(Role.DEMAND_PLANNER)
    listing = client.get(reverse("executive:approved")).content.decode()
    approval = approved.approval
    assert reverse("executive:approved_detail", args=[approval.pk]) in listing
    detail = client.get(reverse("executive:approved_detail", args=[approval.pk]))
    assert detail.status_code == 200
    assert approval.checksum in detail.content.decode()


def test_a_later_cycle_compares_its_figures_with_the_last_approved_plan(approved, client_for):
    later = Cycle.objects.create(month=MONTHS[1].replace(year=2027), stage=Stage.DRAFT)
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": later.pk})
    assert response.context["pack"].previous == approved.approval


# --- query count ----------------------------------------------------------------------


def add_products(company, cycle, n: int, start: int) -> None:
    """n more made products on the line, with demand, stock and consensus in the cycle."""
    for i in range(start, start + n):
        product = ProductFactory(sku=f"EXTRA{i:04d}", family=f"Family {i % 3}")
        Routing.objects.create(product=product, resource=company["line"], hours_per_unit=1)
        InventorySnapshot.objects.create(
            product=product, location=company["dc"], date=cycle.month, on_hand=5
        )
        ConsensusDemand.objects.bulk_create(
            ConsensusDemand(cycle=cycle, product=product, location=company["dc"], month=m,
                            statistical=10 + i, value=10 + i)
            for m in MONTHS
        )  # fmt: skip


def replan(cycle, supply_planner, finance, capture) -> None:
    """Run supply and the base scenario again and put the cycle back in executive review."""
    from supply import services as supply_services

    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    with capture(execute=True):
        supply_services.supply_run_start(cycle=cycle, user=supply_planner)
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.RECONCILIATION)
    base = Scenario.objects.get(cycle=cycle, is_base=True)
    with capture(execute=True):
        recon_services.scenario_run_start(scenario=base, user=finance)
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.EXECUTIVE_REVIEW)


def page_queries(client, cycle) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SIGNOFF, {"cycle": cycle.pk})
    assert response.status_code == 200
    return len(queries)


def test_the_page_takes_as_many_queries_for_3n_skus_as_for_n(
    in_review, company, supply_planner, finance, executive, client,
    django_capture_on_commit_callbacks, django_assert_max_num_queries,
):  # fmt: skip
    Capacity.objects.filter(resource=company["line"]).update(hours=Decimal("400"))
    client.force_login(executive)
    add_products(company, in_review, 5, 0)
    replan(in_review, supply_planner, finance, django_capture_on_commit_callbacks)
    few = page_queries(client, in_review)
    add_products(company, in_review, 10, 5)
    replan(in_review, supply_planner, finance, django_capture_on_commit_callbacks)
    many = page_queries(client, in_review)
    assert many == few
    with django_assert_max_num_queries(40):
        client.get(SIGNOFF, {"cycle": in_review.pk})


def test_the_approved_plans_list_every_approved_cycle(approved, client_for):
    # An earlier cycle approved before plans were frozen here has no frozen copy, but it
    # is on the list all the same, below the newer one.
    older = Cycle.objects.create(month=MONTHS[0].replace(year=2025), stage=Stage.APPROVED)
    response = client_for(Role.DEMAND_PLANNER).get(reverse("executive:approved"))
    assert [c.pk for c in response.context["cycles"]] == [approved.pk, older.pk]
    body = response.content.decode()
    newer_name, older_name = escape(str(approved)), escape(str(older))
    assert newer_name in body and older_name in body
    assert body.index(newer_name) < body.index(older_name)
    assert "no frozen copy to export" in body
