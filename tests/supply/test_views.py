from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from demand.models import ConsensusDemand
from sop.choices import Role, Stage
from sop.formatting import format_number
from sop.models import Capacity, Cycle, Routing, SalesHistory
from sop.services import add_months
from supply import services
from supply.models import CapacityAdjustment, InventoryProjection, PlannedSupplyEdit, SupplyRun
from tests.factories import ProductFactory
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db

ALL_ROLES = [Role.DEMAND_PLANNER, Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE, Role.ADMIN]


@pytest.fixture
def planner_client(client, supply_planner):
    client.force_login(supply_planner)
    return client


def post_capacity(client, cycle, company, **data):
    data.setdefault("resource", company["line"].pk)
    data.setdefault("month", MONTHS[2].isoformat())
    data.setdefault("delta_hours", "-30")
    data.setdefault("reason", "lost_shift")
    data.setdefault("comment", "Night shift cancelled")
    data.setdefault("version", "")
    return client.post(f"/supply/cycles/{cycle.pk}/capacity/", data, HTTP_HX_REQUEST="true")


def post_planned(client, cycle, company, **data):
    data.setdefault("sku", company["BIKE"].pk)
    data.setdefault("product", company["BIKE"].pk)
    data.setdefault("location", company["dc"].pk)
    data.setdefault("month", MONTHS[1].isoformat())
    data.setdefault("quantity", "80")
    data.setdefault("reason", "campaign")
    data.setdefault("comment", "December campaign")
    data.setdefault("version", "")
    return client.post(f"/supply/cycles/{cycle.pk}/planned/", data, HTTP_HX_REQUEST="true")


def test_an_anonymous_visitor_is_sent_to_sign_in(client, published):
    assert client.get("/supply/").status_code == 302


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_can_read_the_supply_review(client_for, published, role):
    response = client_for(role).get("/supply/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Supply review" in body
    assert "BIKE @ DC" in body
    assert 'id="capacity-heatmap"' in body
    # Only a supply planner gets the controls.
    assert ("Recalculate" in body) == (role == Role.SUPPLY_PLANNER)
    assert ('class="override-input planned-input grid-input"' in body) == (
        role == Role.SUPPLY_PLANNER
    )


def test_the_summary_tiles_print_the_selector_figures_through_the_one_formatter(
    planner_client, published
):
    response = planner_client.get("/supply/")
    summary = response.context["summary"]
    body = response.content.decode()
    assert f"Fill rate</dt><dd>{format_number(summary['fill_rate'], 'fraction')}</dd>" in body
    stock = format_number(summary["stock_value"], "money", compact=True)
    assert f"</dt><dd>{stock}</dd>" in body
    # End of November: BIKE 30 + 50 made - 60 sold = 20, LAMP 0, TEA 100 - 40 = 60; 80 units
    # at 6 EUR. Money says its currency, quantities say units, the month its year.
    assert "Stock value, Nov 2026</dt><dd>480 EUR</dd>" in body
    assert "Lost demand</dt><dd>0 units</dd>" in body


def test_the_page_reads_the_plan_in_queries_that_do_not_grow_with_the_skus(
    planner_client, published, cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert planner_client.get("/supply/").status_code == 200
        return len(captured)

    before = queries()
    for k in range(5):
        product = ProductFactory(sku=f"EXTRA-{k}", family="Lamps", lead_time_days=0)
        Routing.objects.create(product=product, resource=company["line"], hours_per_unit=1)
        ConsensusDemand.objects.bulk_create(
            ConsensusDemand(
                cycle=cycle,
                product=product,
                location=company["dc"],
                month=m,
                statistical=5,
                value=5,
            )
            for m in MONTHS
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.supply_run_start(cycle=cycle, user=supply_planner)
    # 32: the capacity-gap warning reads the routed resources and the entered months; 34:
    # whether the SKU waits for a background recompute, and the pending marks in the SKU
    # list's cache key; 35: the stock left at end of life; 36: the customer order lines;
    # 38: the alternate sources (odd ones warned about, the SKU card's split by source).
    assert queries() == before <= 38


def test_a_demand_planner_gets_403_on_supply_writes(client_for, published, cycle, company):
    client = client_for(Role.DEMAND_PLANNER)
    assert post_capacity(client, cycle, company).status_code == 403
    assert post_planned(client, cycle, company).status_code == 403
    assert client.post(f"/supply/cycles/{cycle.pk}/run/").status_code == 403
    assert SupplyRun.objects.count() == 1
    assert not CapacityAdjustment.objects.exists()
    assert not PlannedSupplyEdit.objects.exists()


def test_lowering_capacity_returns_the_plan_with_the_shortage(
    planner_client, published, cycle, company
):
    response = post_capacity(planner_client, cycle, company)
    assert response.status_code == 200
    body = response.content.decode()
    assert "LINE Jan 2027 changed by -30 h" in body
    shortages = body[body.index('id="shortages"') : body.index('id="excess"')]
    assert "LAMP @ DC" in shortages and "300" in shortages
    assert "Night shift cancelled" in body  # the history
    assert CapacityAdjustment.objects.get().delta_hours == -30


def test_a_stale_capacity_edit_is_refused_with_409(planner_client, published, cycle, company):
    post_capacity(planner_client, cycle, company)
    response = post_capacity(planner_client, cycle, company, delta_hours="-60")
    assert response.status_code == 409
    assert "was changed" in response.content.decode()
    assert CapacityAdjustment.objects.get().delta_hours == -30


def test_a_planned_supply_edit_is_shown_as_firm_and_pending_until_recomputed(
    planner_client, published, cycle, company, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as recompute:
        response = post_planned(planner_client, cycle, company)
    assert response.status_code == 200
    body = response.content.decode()
    # The SKU card alone comes back, before the recompute: the cell firm, the grid pending.
    assert body.startswith('<section class="card" id="sku-card">')
    assert "BIKE @ DC Dec 2026 fixed" in body
    assert 'class="num firm pending"' in body
    assert 'id="recompute-pending"' in body
    row = InventoryProjection.objects.get(run=published, product=company["BIKE"], month=MONTHS[1])
    assert (row.planned, row.firm) == (50, False)
    card_url = (
        f"/supply/cycles/{cycle.pk}/sku/?sku={company['BIKE'].pk}&location={company['dc'].pk}"
    )
    polled = planner_client.get(card_url, HTTP_HX_REQUEST="true")
    assert 'id="recompute-pending"' in polled.content.decode()

    for callback in recompute:
        callback()
    row = InventoryProjection.objects.get(run=published, product=company["BIKE"], month=MONTHS[1])
    assert (row.planned, row.firm) == (80, True)
    # Done: the poll brings the whole plan back, its lists and figures recomputed.
    done = planner_client.get(card_url, HTTP_HX_REQUEST="true")
    assert done["HX-Retarget"] == "#plan"
    assert 'id="recompute-pending"' not in done.content.decode()
    assert 'id="shortages"' in done.content.decode()


def test_a_bad_quantity_is_refused_and_kept_in_the_cell(planner_client, published, cycle, company):
    response = post_planned(planner_client, cycle, company, quantity="lots")
    assert response.status_code == 400
    body = response.content.decode()
    assert "is not a number" in body
    assert 'value="lots"' in body
    assert not PlannedSupplyEdit.objects.exists()


def test_the_drill_lists_the_skus_loading_a_resource(planner_client, published, company):
    response = planner_client.get(
        f"/supply/runs/{published.pk}/drill/",
        {"resource": company["line"].pk, "month": MONTHS[1].isoformat()},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "BIKE @ DC" in body and "LAMP @ DC" in body and "TEA" not in body
    assert "the plan asks <strong>110 h</strong>" in body


def test_the_run_panel_reloads_the_page_when_the_run_succeeds(planner_client, published):
    response = planner_client.get(f"/supply/runs/{published.pk}/", HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"


def test_the_plan_exports_as_csv_and_xlsx(planner_client, published, cycle):
    response = planner_client.get("/supply/export.csv", {"cycle": cycle.pk, "table": "plan"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["sku", "name", "family", "abc", "location", "month"]
    assert len(rows) == 1 + 3 * len(MONTHS)
    bike = [r for r in rows[1:] if r[0] == "BIKE"]
    assert rows[0][9] == "planned (units)"
    assert [r[9] for r in bike] == ["50", "50", "50"]  # whole units

    response = planner_client.get("/supply/export.xlsx", {"cycle": cycle.pk, "table": "capacity"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[1][:3] == ("resource", "name", "month")
    assert values[1][6:] == ("planned_load (h)", "load_pct")
    assert [v[6] for v in values[2:]] == [100, 100, 100]  # planned hours


def test_the_sku_card_shows_the_order_up_to_level_and_how_safety_stock_was_set(
    tea_backtested, planner_client, supply_planner, company, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.supply_run_start(cycle=tea_backtested, user=supply_planner)
    tea, dc = company["TEA"], company["dc"]
    body = planner_client.get(
        "/supply/", {"cycle": tea_backtested.pk, "sku": tea.pk, "location": dc.pk}
    ).content.decode()
    # SS 44.784 and S = 40 * 1.98563 + 44.784 = 124.21 (see the services test).
    assert "Safety stock <strong>45 units</strong>" in body
    assert "(from forecast quantiles)" in body
    assert "order-up-to level <strong>124 units</strong>" in body

    lamp = company["LAMP"]
    body = planner_client.get(
        "/supply/", {"cycle": tea_backtested.pk, "sku": lamp.pk, "location": dc.pk}
    ).content.decode()
    assert "(normal formula: no forecast, std of recent sales)" in body


def test_the_targets_export_lists_safety_stock_method_and_order_up_to_level(
    tea_backtested, planner_client, supply_planner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.supply_run_start(cycle=tea_backtested, user=supply_planner)
    response = planner_client.get(
        "/supply/export.csv", {"cycle": tea_backtested.pk, "table": "targets"}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    tea = next(r for r in rows if r["sku"] == "TEA")
    assert tea["service_level_pct"] == "95.0"
    assert tea["safety_stock_method"] == "from forecast quantiles"
    # Quantities whole: S = 124.21 is exported as 124, in units.
    assert tea["order_up_to_level (units)"] == "124"
    assert tea["safety_stock (units)"] == "45"
    response = planner_client.get(
        "/supply/export.xlsx", {"cycle": tea_backtested.pk, "table": "targets"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert "order_up_to_level (units)" in list(sheet.values)[1]


def test_the_classification_page_shows_the_pareto_once_there_are_sales(
    client_for, published, cycle, company
):
    client = client_for(Role.FINANCE)
    body = client.get("/supply/classification/").content.decode()
    assert "No sales in the last 12 months" in body and 'id="pareto-chart"' not in body
    SalesHistory.objects.create(
        product=company["BIKE"],
        location=company["dc"],
        month=add_months(cycle.month, -1),
        quantity=10,
        revenue=100,
    )
    body = client.get("/supply/classification/").content.decode()
    assert 'id="pareto-chart"' in body
    assert "The top 20 % of SKUs (1 of 3) bring <strong>100.0 %</strong>" in body


def test_the_page_asks_for_a_recalculation_when_demand_changed(planner_client, published, cycle):
    assert 'id="demand-changed"' not in planner_client.get("/supply/").content.decode()
    row = ConsensusDemand.objects.filter(cycle=cycle).first()
    row.delete()
    row.pk, row.value = None, row.value + 5
    row.save()
    body = planner_client.get("/supply/").content.decode()
    assert "The consensus demand changed since this plan was computed" in body


def test_filters_narrow_the_sku_list(planner_client, published, cycle, company):
    def listed(**params) -> str:
        body = planner_client.get("/supply/", params).content.decode()
        return body[body.index('aria-label="SKU-locations"') : body.index('id="sku-card"')]

    assert "BIKE @ DC" in listed() and "LAMP @ DC" in listed()
    lamps = listed(family="Lamps")
    assert "LAMP @ DC" in lamps and "BIKE @ DC" not in lamps
    assert "family=Lamps" in lamps  # the links keep the filter
    assert "No SKU-location matches" in listed(exception="shortage")
    post_capacity(planner_client, cycle, company)
    short = listed(exception="shortage")
    assert "LAMP @ DC" in short and "BIKE @ DC" not in short and "TEA @ DC" not in short


def test_the_page_warns_of_resource_months_without_capacity(planner_client, published, company):
    Capacity.objects.filter(resource=company["line"], month=MONTHS[2]).delete()
    body = planner_client.get("/supply/").content.decode()
    assert "No capacity entered for LINE in Jan 2027" in body
    assert "planned unconstrained there" in body


def test_a_quantity_above_the_cap_is_saved_only_once_confirmed_and_listed_as_exception(
    planner_client, published, cycle, company, settings
):
    # BIKE @ DC has no sales history: only the hard cap applies, here 1,000 a month.
    settings.SOP_SANITY_HARD_CAP = 1000
    response = post_planned(planner_client, cycle, company, quantity="1500")
    assert response.status_code == 400
    body = response.content.decode()
    assert "1,500 is more than the limit of 1,000 a month. Confirm to save it anyway." in body
    assert "data-grid-confirm" in body
    assert 'value="1500"' in body  # the typed value stays in the cell
    assert not PlannedSupplyEdit.objects.exists()

    response = post_planned(planner_client, cycle, company, quantity="1500", confirmed="1")
    assert response.status_code == 200
    edit = PlannedSupplyEdit.objects.get()
    assert (edit.quantity, edit.outside_history) == (1500, True)
    assert "outside-history" in response.content.decode()
    listed = planner_client.get(f"/supply/?cycle={cycle.pk}&exception=outside_history")
    skus = listed.content.decode().split('aria-label="SKU-locations"')[1].split("</section>")[0]
    assert "BIKE @ DC" in skus and "LAMP @ DC" not in skus


def test_a_negative_or_oversized_quantity_is_refused_even_when_confirmed(
    planner_client, published, cycle, company
):
    for typed, message in (("-5", "cannot be negative"), ("1e12", "not a usable number")):
        response = post_planned(planner_client, cycle, company, quantity=typed, confirmed="1")
        assert response.status_code == 400
        body = response.content.decode()
        assert message in body and f'value="{typed}"' in body
        assert "data-grid-confirm" not in body
    assert not PlannedSupplyEdit.objects.exists()


def test_a_planned_supply_edit_of_a_submitted_plan_says_it_is_read_only(
    planner_client, published, cycle, company
):
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.RECONCILIATION)
    response = post_planned(planner_client, cycle, company)
    assert response.status_code == 400
    assert "its supply plan is read-only" in response.content.decode()
    assert not PlannedSupplyEdit.objects.exists()
