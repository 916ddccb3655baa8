from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from demand import selectors, services
from demand.choices import ReasonCode
from demand.models import DemandOverride, ForecastRun
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.runs import STALE_AFTER, runs_fail_stale
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


def post_cell(client, cycle, **data):
    data.setdefault("family", "Bikes")
    data.setdefault("month", cycle.month.isoformat())
    data.setdefault("reason", ReasonCode.PROMOTION)
    data.setdefault("comment", "Trade fair")
    data.setdefault("version", "")
    return client.post(f"/demand/cycles/{cycle.pk}/overrides/", data, HTTP_HX_REQUEST="true")


def test_an_anonymous_visitor_is_sent_to_sign_in(client, published):
    response = client.get("/demand/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_review_but_only_planners_get_input_cells(client_for, published, role):
    response = client_for(role).get("/demand/?family=Bikes")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Family Bikes" in page
    assert "Statistical" in page and "Last cycle's plan" in page
    assert ('class="override-input grid-input"' in page) == (role == Role.DEMAND_PLANNER)


def test_a_planner_saves_a_cell_and_gets_the_new_consensus_back(planner_client, published):
    cycle = published.cycle
    response = post_cell(planner_client, cycle, value="1,234")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Saved" in page
    assert 'value="1234"' in page  # the cell shows the saved override
    assert "1,234" in page  # and the consensus row its total
    assert DemandOverride.objects.get().value == Decimal("1234")


def test_a_stale_cell_is_refused_with_409_and_the_typed_value_is_kept(
    planner_client, published, make_user
):
    cycle = published.cycle
    other = make_user(Role.DEMAND_PLANNER, username="sam", first_name="Sam")
    services.override_save(
        cycle=cycle,
        user=other,
        month=cycle.month,
        value=Decimal("700"),
        family="Bikes",
        reason=ReasonCode.NEW_CUSTOMER,
        comment="Big order",
        expected_version=None,
    )
    response = post_cell(planner_client, cycle, value="+15%", version="")
    assert response.status_code == 409
    page = response.content.decode()
    assert "changed by Sam" in page
    assert 'value="+15%"' in page
    assert DemandOverride.objects.get().value == Decimal("700")


def test_a_cell_without_a_reason_is_refused_and_kept(planner_client, published):
    response = post_cell(planner_client, published.cycle, value="500", reason="")
    assert response.status_code == 400
    assert "Choose a reason code" in response.content.decode()
    assert 'value="500"' in response.content.decode()
    assert not DemandOverride.objects.exists()


@pytest.mark.parametrize("role", [Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE, Role.ADMIN])
def test_other_roles_cannot_post_overrides_or_runs(client_for, published, role):
    client = client_for(role)
    assert post_cell(client, published.cycle, value="10").status_code == 403
    assert client.post(f"/demand/cycles/{published.cycle.pk}/forecast/").status_code == 403
    assert not DemandOverride.objects.exists()


def test_the_run_panel_polls_while_a_run_is_active(planner_client, published):
    run = ForecastRun.objects.create(
        cycle=published.cycle, status="running", progress=40, series_count=8, series_done=4
    )
    page = planner_client.get(f"/demand/runs/{run.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert "4 / 8 series" in page
    assert "Cancel run" in page


def test_the_grid_exports_as_csv_and_xlsx(planner_client, published):
    cycle = published.cycle
    post_cell(planner_client, cycle, value="+10%")
    csv_text = planner_client.get(f"/demand/export.csv?cycle={cycle.pk}&family=Bikes")
    lines = csv_text.content.decode().splitlines()
    assert lines[0].startswith("row (units),")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "Actual sales",
        "Statistical forecast",
        "Override",
        "Consensus",
        "Last cycle's plan",
    ]
    assert "+10%" in lines[3]
    # Quantities whole (no 157.62070113442383), the override as typed.
    figures = [c for line in lines[1:] for c in line.split(",")[1:] if c not in ("", "+10%")]
    assert figures and all(c.lstrip("-").isdigit() for c in figures)
    xlsx = planner_client.get(f"/demand/export.xlsx?cycle={cycle.pk}&family=Bikes")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(row=2, column=1).value == "row (units)"
    assert sheet.cell(row=5, column=1).value == "Override"


def test_a_planner_reforecasts_one_sku(planner_client, published, company):
    bike = company["products"][0]
    response = planner_client.post(
        f"/demand/cycles/{published.cycle.pk}/reforecast/{bike.pk}/", follow=True
    )
    assert "BIKE-1 re-forecast (2 locations)" in response.content.decode()


def test_the_review_page_query_count_does_not_grow_with_skus(
    planner_client, published, company, django_assert_max_num_queries
):
    def queries(url: str) -> int:
        # Cold every time: the accuracy figures are cached between views.
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert planner_client.get(url).status_code == 200
        return len(captured)

    bike = company["products"][0]
    family_page = queries("/demand/?family=Bikes")
    sku_page = queries(f"/demand/?sku={bike.pk}")
    # A family of 2 SKUs and one of 200 read the same number of times.
    ProductFactory.create_batch(200, family="Bikes")
    assert queries("/demand/?family=Bikes") == family_page
    assert queries(f"/demand/?sku={bike.pk}") == sku_page
    with django_assert_max_num_queries(40):
        planner_client.get(f"/demand/?sku={bike.pk}")


def test_a_submitted_plan_is_shown_read_only(planner_client, published, planner):
    cycle = published.cycle
    sop_services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=planner)
    page = planner_client.get(f"/demand/?cycle={cycle.pk}&family=Bikes").content.decode()
    assert "Read-only" in page
    assert "override-input" not in page
    assert "Run forecast" not in page
    assert post_cell(planner_client, cycle, value="10").status_code == 400


def test_a_run_whose_worker_died_shows_as_failed_once_the_sweep_ran(planner_client, published):
    stale = ForecastRun.objects.create(
        cycle=published.cycle,
        status="running",
        heartbeat_at=timezone.now() - STALE_AFTER - dt.timedelta(minutes=1),
    )
    page = planner_client.get(f"/demand/runs/{stale.pk}/").content.decode()
    assert 'data-run-status="running"' in page  # a GET never writes
    assert runs_fail_stale() == 1  # what Celery beat runs every five minutes
    page = planner_client.get(f"/demand/runs/{stale.pk}/").content.decode()
    assert 'data-run-status="failed"' in page
    assert "worker was lost" in page
    assert "every 1s" not in page


def test_the_family_filter_keeps_to_one_family_while_navigating(planner_client, published, company):
    page = planner_client.get("/demand/?only_family=Lamps").content.decode()
    assert "LAMP-1" in page and "BIKE-1" not in page
    assert "Family Lamps" in page  # the first family left is selected
    lamp = company["products"][2]
    assert f"sku={lamp.pk}&amp;only_family=Lamps" in page


def test_the_page_reloads_when_the_polled_run_has_published(planner_client, published):
    response = planner_client.get(f"/demand/runs/{published.pk}/", HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"


def test_the_cycle_home_says_the_forecast_must_succeed_before_submitting(
    client_for, cycle, planner, django_capture_on_commit_callbacks
):
    client = client_for(Role.DEMAND_PLANNER)
    blocker = "The statistical forecast for this cycle has not run successfully yet."
    assert blocker in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.forecast_run_start(cycle=cycle, user=planner)
    assert blocker not in client.get("/").content.decode()


def test_a_planner_cancels_a_running_run_and_keeps_the_published_one(planner_client, published):
    run = ForecastRun.objects.create(cycle=published.cycle, status="running")
    response = planner_client.post(f"/demand/runs/{run.pk}/cancel/", follow=True)
    assert f"Forecast run {run.pk} cancelled" in response.content.decode()
    run.refresh_from_db()
    published.refresh_from_db()
    assert run.status == "cancelled" and published.is_published
    again = planner_client.post(f"/demand/runs/{published.pk}/cancel/", follow=True)
    assert "had already succeeded" in again.content.decode()


def test_the_override_history_of_a_sku_shows_its_own_and_its_familys_changes(
    planner_client, published, planner, company
):
    cycle = published.cycle
    bike, other_bike, lamp = company["products"][0], company["products"][1], company["products"][2]
    north = company["locations"][0]

    def save(value, version=None, **scope):
        return services.override_save(
            cycle=cycle,
            user=planner,
            month=cycle.month,
            value=value,
            reason=ReasonCode.NEW_CUSTOMER,
            comment="Fleet deal",
            expected_version=version,
            **scope,
        )

    saved = save(Decimal("40"), product=bike, location=north)
    save(None, saved.version, product=bike, location=north)
    save(Decimal("900"), family="Bikes")
    save(Decimal("30"), product=other_bike)
    save(Decimal("20"), product=lamp)

    page = planner_client.get(f"/demand/?cycle={cycle.pk}&sku={bike.pk}").content.decode()
    history = page[page.index('id="override-history"') :]
    assert "BIKE-1 @ NORTH" in history and "40 → cleared" in history
    assert "\u2013 → 900" in history and "New customer" in history and "Fleet deal" in history
    assert "BIKE-2" not in history and "LAMP-1" not in history
    family_page = planner_client.get(f"/demand/?cycle={cycle.pk}&family=Bikes").content.decode()
    assert "BIKE-2" in family_page[family_page.index('id="override-history"') :]


def test_an_override_far_outside_history_asks_then_saves_flagged(
    planner_client, published, company, settings
):
    settings.SOP_SANITY_FACTOR = 10
    settings.SOP_SANITY_HARD_CAP = 10_000_000
    cycle = published.cycle
    bike = company["products"][0]
    fields = {"sku": bike.pk, "value": "99999999999"}
    response = post_cell(planner_client, cycle, **fields)
    assert response.status_code == 400
    body = response.content.decode()
    assert "is more than 10x the highest month of the last 24 months of sales" in body
    assert "data-grid-confirm" in body
    assert 'value="99999999999"' in body  # kept in the cell
    assert not DemandOverride.objects.exists()

    response = post_cell(planner_client, cycle, confirmed="1", **fields)
    assert response.status_code == 200
    override = DemandOverride.objects.get()
    assert (override.value, override.outside_history) == (99999999999, True)
    assert "outside-history" in response.content.decode()
    assert selectors.exception_products(cycle=cycle, kind="outside_history") == [bike.pk]


def test_an_impossible_override_is_refused_and_kept_in_the_cell(planner_client, published, company):
    cycle = published.cycle
    bike = company["products"][0]
    for typed, message in (
        ("-5", "A signed number reads as a change"),
        ("abc", "is neither a quantity"),
    ):
        response = post_cell(planner_client, cycle, sku=bike.pk, value=typed, confirmed="1")
        assert response.status_code == 400
        body = response.content.decode()
        assert message in body and f'value="{typed}"' in body
    assert not DemandOverride.objects.exists()
