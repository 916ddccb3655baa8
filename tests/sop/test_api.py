"""The core's REST API routes: cycles, the master data and facts push, imports, runs, docs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from demand.models import ForecastRun
from sop import import_profiles
from sop.choices import JobStatus, Role, Stage, TokenScope
from sop.extract_reader import ReadOptions
from sop.models import (
    AuditEvent,
    Cycle,
    ImportJob,
    Location,
    Product,
    Routing,
    SalesHistory,
    Supplier,
)
from tests.factories import (
    CycleFactory,
    LocationFactory,
    ProductFactory,
    ResourceFactory,
    SalesHistoryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def push(client: Client, entity: str, rows: list[dict]):
    return client.post(f"/api/v1/data/{entity}", {"rows": rows}, content_type="application/json")


def advance(client: Client, cycle: Cycle, target: str, **more):
    return client.post(
        f"/api/v1/cycles/{cycle.pk}/advance",
        {"target": target, **more},
        content_type="application/json",
    )


# --- cycles --------------------------------------------------------------------------------------


def test_cycles_are_listed_newest_first_a_page_at_a_time(api_for):
    for month in (1, 2, 3):
        CycleFactory(month=dt.date(2026, month, 1))
    client = api_for(Role.DEMAND_PLANNER, scope=TokenScope.READ)
    first = client.get("/api/v1/cycles?limit=2").json()
    assert first["count"] == 3
    assert [c["month"] for c in first["items"]] == ["2026-03-01", "2026-02-01"]
    rest = client.get("/api/v1/cycles?limit=2&offset=2").json()
    assert [c["month"] for c in rest["items"]] == ["2026-01-01"]


def test_a_cycle_says_its_stage_and_each_stages_owners_and_due_date(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.SUPPLY_REVIEW)
    Cycle.objects.filter(pk=cycle.pk).update(supply_review_due=dt.date(2026, 11, 12))
    body = api_for(Role.FINANCE).get(f"/api/v1/cycles/{cycle.pk}").json()
    assert (body["stage"], body["stage_label"]) == ("supply_review", "Supply review")
    supply = next(s for s in body["stages"] if s["stage"] == "supply_review")
    assert supply == {
        "stage": "supply_review",
        "label": "Supply review",
        "owners": ["Supply planner"],
        "due": "2026-11-12",
        "done": False,
        "current": True,
        "late": supply["late"],  # depends on today's date
    }
    assert [s["done"] for s in body["stages"][:2]] == [True, True]


def test_an_unknown_cycle_is_a_404_that_names_it(api_for):
    response = api_for(Role.FINANCE).get("/api/v1/cycles/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No cycle 999."}


def test_the_admin_moves_a_cycle_on_through_the_api_and_the_move_is_audited(api_for):
    SalesHistoryFactory(month=dt.date(2026, 10, 1))
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DRAFT)
    admin = api_for(Role.ADMIN)
    response = advance(admin, cycle, "demand_review")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "demand_review"
    event = AuditEvent.objects.get(action="cycle.transition")
    assert event.user == admin.token.user


def test_a_failing_data_check_refuses_the_move_unless_the_admin_overrides_it_saying_why(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DRAFT)
    admin = api_for(Role.ADMIN)
    response = advance(admin, cycle, "demand_review")
    assert response.status_code == 400
    assert response.json() == {"detail": "Sales history imported: No sales history imported yet."}
    response = advance(admin, cycle, "demand_review", override=True, comment="Sales come Monday")
    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "demand_review"
    event = AuditEvent.objects.get(action="cycle.check_override")
    assert event.old == {"failing": ["Sales history imported: No sales history imported yet."]}


def test_a_move_the_role_may_not_make_is_refused_with_the_pages_words(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DRAFT)
    response = advance(api_for(Role.FINANCE), cycle, "demand_review")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only Admin can start demand review."}
    assert Cycle.objects.get(pk=cycle.pk).stage == Stage.DRAFT


def test_a_move_the_workflow_does_not_allow_is_a_400(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DRAFT)
    response = advance(api_for(Role.ADMIN), cycle, "approved")
    assert response.status_code == 400
    assert response.json() == {"detail": "A cycle in Draft cannot move to Approved."}


# --- the push ------------------------------------------------------------------------------------


def test_pushed_products_load_as_an_import_in_the_history(api_for):
    Supplier.objects.create(code="LEAF", name="Leaf & Co")
    admin = api_for(Role.ADMIN)
    rows = [
        {"sku": "TEA", "name": "Green tea", "family": "Drinks", "unit_price": 4.5,
         "moq": 12, "supplier_code": "LEAF", "make_or_buy": "buy", "active": True},
        {"sku": "MUG", "name": "Mug", "family": "Kitchen", "unit_price": "12.30",
         "supplier_code": None, "active": False},
    ]  # fmt: skip
    response = push(admin, "products", rows)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["rows_read"], body["rows_inserted"], body["rows_updated"]) == (2, 2, 0)
    tea, mug = Product.objects.get(sku="TEA"), Product.objects.get(sku="MUG")
    assert (tea.unit_price, tea.moq, tea.supplier.code, tea.active) == (
        Decimal("4.5"),
        Decimal("12"),
        "LEAF",
        True,
    )
    assert (mug.unit_price, mug.supplier, mug.active, mug.uom) == (
        Decimal("12.3"),
        None,
        False,
        "EA",
    )
    job = ImportJob.objects.get(pk=body["id"])
    assert (job.entity, job.file_name, job.created_by) == (
        "products",
        "products-api.csv",
        admin.token.user,
    )
    assert AuditEvent.objects.filter(action="import.load", object_id=str(job.pk)).exists()
    again = push(admin, "products", rows).json()
    assert (again["rows_inserted"], again["rows_updated"], again["rows_unchanged"]) == (0, 0, 2)


def test_a_json_float_loads_exactly_even_in_exponent_form(api_for):
    ProductFactory(sku="PIN")
    ResourceFactory(code="PRESS")
    rows = [{"sku": "PIN", "resource_code": "PRESS", "hours_per_unit": 0.00001}]
    response = push(api_for(Role.ADMIN), "routings", rows)
    assert response.status_code == 200, response.content
    # Python writes this float 1e-05.
    assert Routing.objects.get().hours_per_unit == Decimal("0.00001")


def test_a_push_with_bad_rows_loads_nothing_and_names_each_row_and_field(api_for):
    LocationFactory(code="DC")
    ProductFactory(sku="BIKE")
    rows = [
        {"sku": "BIKE", "location_code": "DC", "month": "2026-10", "quantity": 12},
        {"sku": "GHOST", "location_code": "DC", "month": "2026-10", "quantity": 5},
        {"sku": "BIKE", "location_code": "DC", "month": "October", "quantity": -3},
    ]
    response = push(api_for(Role.ADMIN), "sales_history", rows)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "3 errors found; nothing was loaded."
    assert body["error_count"] == 3
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [
        (2, "sku", "GHOST"),
        (3, "month", "October"),
        (3, "quantity", "-3"),
    ]
    assert "unknown SKU" in body["errors"][0]["reason"]
    assert not Product.objects.get(sku="BIKE").saleshistory_set.exists()
    job = ImportJob.objects.get(pk=body["import_id"])
    assert job.status == JobStatus.FAILED
    assert job.error_count == 3


def test_a_push_with_a_profile_is_mapped_scaled_and_completed_as_a_file_would_be(api_for):
    LocationFactory(code="DC")
    ProductFactory(sku="BIKE")
    admin = api_for(Role.ADMIN)
    import_profiles.import_profile_create(
        user=None,
        name="Odoo sales",
        entity="sales_history",
        options=ReadOptions(
            decimal_separator=",",
            thousands_separator=".",
            month_format="mm.yyyy",
            columns={"default_code": "sku", "period": "month", "qty_thousands": "quantity"},
            ignored=("x_*",),
            constants={"location_code": "DC"},
            factors={"quantity": "1000"},
        ),
    )
    rows = [{"default_code": "BIKE", "period": "03.2026", "qty_thousands": 1.25, "x_note": "a"}]
    response = admin.post(
        "/api/v1/data/sales_history?profile=Odoo%20sales",
        {"rows": rows},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    sale = SalesHistory.objects.get()
    # The JSON number 1.25 keeps its decimal point although the profile's files use a comma.
    assert (sale.product.sku, sale.location.code, sale.month, sale.quantity) == (
        "BIKE",
        "DC",
        dt.date(2026, 3, 1),
        Decimal("1250"),
    )
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.profile_name == "Odoo sales"


def test_a_push_naming_a_missing_profile_or_one_of_another_entity_loads_nothing(api_for):
    admin = api_for(Role.ADMIN)
    import_profiles.import_profile_create(
        user=None, name="Stock", entity="inventory", options=ReadOptions()
    )
    rows = [{"location_code": "DC", "name": "Main"}]
    for name, reason in [
        ("Nope", "There is no import profile named Nope."),
        ("Stock", "The profile Stock reads inventory, not locations."),
    ]:
        response = admin.post(
            f"/api/v1/data/locations?profile={name}",
            {"rows": rows},
            content_type="application/json",
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"row": 0, "field": "profile", "value": name, "reason": reason}
        ]
    assert not Location.objects.exists()


def test_a_push_naming_an_unknown_field_or_sending_an_object_is_refused_before_an_import(api_for):
    rows = [
        {"location_code": "DC", "name": "Main", "colour": "red"},
        {"location_code": "DC2", "name": {"en": "Second"}},
    ]
    response = push(api_for(Role.ADMIN), "locations", rows)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(1, "colour"), (2, "name")]
    assert errors[0]["reason"].startswith("unknown field; the locations fields are location_code")
    assert not ImportJob.objects.exists()
    assert not Location.objects.exists()


def test_a_missing_required_field_is_said_for_the_push_as_a_whole(api_for):
    response = push(api_for(Role.ADMIN), "locations", [{"location_code": "DC"}])
    assert response.status_code == 422
    assert [(e["row"], e["field"], e["reason"]) for e in response.json()["errors"]] == [
        (0, "name", "missing required column")
    ]


def test_an_empty_push_and_an_unknown_entity_are_refused(api_for):
    admin = api_for(Role.ADMIN)
    empty = push(admin, "locations", [])
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["reason"] == "the push holds no rows"
    unknown = push(admin, "planets", [{"name": "Mars"}])
    assert unknown.status_code == 400
    assert unknown.json()["detail"].startswith("Unknown entity 'planets': one of suppliers,")


def test_only_admins_push_data_as_only_admins_import_files(api_for):
    response = push(
        api_for(Role.SUPPLY_PLANNER), "locations", [{"location_code": "DC", "name": "x"}]
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Only Admin can import extracts."}
    assert not ImportJob.objects.exists()


def test_a_body_over_the_upload_limit_is_refused_with_413(api_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    rows = [{"location_code": f"DC{i}", "name": "A warehouse"} for i in range(100)]
    response = push(api_for(Role.ADMIN), "locations", rows)
    assert response.status_code == 413
    assert not Location.objects.exists()


# --- imports -------------------------------------------------------------------------------------


def test_an_import_reads_back_with_its_errors_in_the_stored_files_rows(api_for):
    admin = api_for(Role.ADMIN)
    failed = push(admin, "locations", [{"location_code": "DC", "name": "x", "kind": "moon"}])
    job_id = failed.json()["import_id"]
    body = admin.get(f"/api/v1/imports/{job_id}").json()
    assert body["status"] == "failed"
    # The stored copy is a CSV whose header is row 1: the pushed row 1 is its row 2.
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [(2, "kind", "moon")]
    listed = admin.get("/api/v1/imports").json()
    assert [j["id"] for j in listed["items"]] == [job_id]


def test_the_import_history_is_the_admins_as_on_the_pages(api_for):
    response = api_for(Role.EXECUTIVE).get("/api/v1/imports")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only Admin can read the import history."}


# --- runs ----------------------------------------------------------------------------------------


def test_a_forecast_run_started_over_the_api_is_the_pages_run(
    api_for, django_capture_on_commit_callbacks
):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DEMAND_REVIEW)
    planner = api_for(Role.DEMAND_PLANNER)
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(f"/api/v1/cycles/{cycle.pk}/runs/forecast")
    assert response.status_code == 202, response.content
    started = response.json()
    assert (started["kind"], started["cycle_id"]) == ("forecast", cycle.pk)
    run = ForecastRun.objects.get(pk=started["id"])
    assert run.created_by == planner.token.user
    assert AuditEvent.objects.filter(action="forecast.start", object_id=str(run.pk)).exists()
    status = planner.get(f"/api/v1/runs/forecast/{run.pk}").json()
    assert (status["status"], status["progress"], status["is_published"]) == (
        "succeeded",
        100,
        True,
    )
    again = planner.post(f"/api/v1/cycles/{cycle.pk}/runs/forecast")
    assert again.status_code == 202  # the first one finished: a new run may start


def test_a_second_run_while_one_is_active_is_a_409(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DEMAND_REVIEW)
    ForecastRun.objects.create(cycle=cycle, status=JobStatus.RUNNING)
    response = api_for(Role.DEMAND_PLANNER).post(f"/api/v1/cycles/{cycle.pk}/runs/forecast")
    assert response.status_code == 409
    assert "is still running" in response.json()["detail"]


def test_only_the_kinds_a_cycle_starts_can_be_started(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1), stage=Stage.DEMAND_REVIEW)
    response = api_for(Role.ADMIN).post(f"/api/v1/cycles/{cycle.pk}/runs/import")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "No kind of run 'import' starts from a cycle: one of forecast, supply."
    )


def test_an_import_runs_status_is_the_admins_as_its_page_is(api_for):
    admin = api_for(Role.ADMIN)
    job_id = push(admin, "locations", [{"location_code": "DC", "name": "Main"}]).json()["id"]
    assert admin.get(f"/api/v1/runs/import/{job_id}").json()["status"] == "succeeded"
    refused = api_for(Role.DEMAND_PLANNER).get(f"/api/v1/runs/import/{job_id}")
    assert refused.status_code == 403


# --- parameters, the schema and the docs ---------------------------------------------------------


def test_a_bad_parameter_is_a_422_naming_it(api_for):
    response = api_for(Role.FINANCE).get("/api/v1/cycles?limit=5000")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The request is not valid: see errors.",
        "errors": [
            {"field": "query.limit", "reason": "Input should be less than or equal to 1000"}
        ],
    }


def test_the_schema_is_served_to_a_token_and_the_docs_to_a_signed_in_browser(api_for, client_for):
    schema = api_for(Role.FINANCE, scope=TokenScope.READ).get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "S&OP API"
    assert "/api/v1/demand/cycles/{cycle_id}/consensus" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client_for(Role.FINANCE).get("/api/v1/docs")
    assert docs.status_code == 200
    # Swagger UI comes from the app's static files, never a CDN.
    assert b"/static/ninja/swagger-ui-bundle.js" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_the_docs_send_a_stranger_to_sign_in_and_refuse_a_bad_token():
    stranger = Client().get("/api/v1/docs")
    assert stranger.status_code == 302
    assert stranger["Location"] == "/login/?next=/api/v1/docs"
    bad = Client(headers={"Authorization": "Bearer sop_nope"}).get("/api/v1/openapi.json")
    assert bad.status_code == 401
    assert bad.json() == {"detail": "This API token is not valid."}
