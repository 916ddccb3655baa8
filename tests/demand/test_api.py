"""The demand review over the REST API: the consensus read, and overrides with their lock.

The statistical forecast is set by hand (November; December is twice it):

    BIKE-1  NORTH 40  SOUTH 60      LAMP-1  NORTH 5  SOUTH 15
    BIKE-2  NORTH 30  SOUTH 70      LAMP-2  NORTH 8  SOUTH 12

so Bikes make 200 in November, and a Bikes override of 300 spreads as 60, 90, 45, 105.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from demand import services
from demand.models import DemandOverride, ForecastRun, StatisticalForecast
from sop.choices import JobStatus, Role, Stage, TokenScope
from sop.models import AuditEvent, Cycle
from tests.demand.conftest import CYCLE_MONTH

pytestmark = pytest.mark.django_db

NOV, DEC = CYCLE_MONTH, dt.date(2026, 12, 1)
STATISTICAL = {
    ("BIKE-1", "NORTH"): 40,
    ("BIKE-1", "SOUTH"): 60,
    ("BIKE-2", "NORTH"): 30,
    ("BIKE-2", "SOUTH"): 70,
    ("LAMP-1", "NORTH"): 5,
    ("LAMP-1", "SOUTH"): 15,
    ("LAMP-2", "NORTH"): 8,
    ("LAMP-2", "SOUTH"): 12,
}


@pytest.fixture
def forecast(cycle, company):
    """A published forecast of the values above, and the consensus built from it."""
    run = ForecastRun.objects.create(
        cycle=cycle, status=JobStatus.SUCCEEDED, is_published=True, published_at=timezone.now()
    )
    products = {p.sku: p for p in company["products"]}
    locations = {loc.code: loc for loc in company["locations"]}
    StatisticalForecast.objects.bulk_create(
        StatisticalForecast(
            run=run,
            product=products[sku],
            location=locations[code],
            month=month,
            value=value * factor,
            lo80=0,
            hi80=0,
            lo95=0,
            hi95=0,
        )
        for (sku, code), value in STATISTICAL.items()
        for month, factor in ((NOV, 1), (DEC, 2))
    )
    services.consensus_rebuild(cycle=cycle)
    return run


def consensus(client, cycle, query: str = "") -> dict:
    response = client.get(f"/api/v1/demand/cycles/{cycle.pk}/consensus{query}")
    assert response.status_code == 200, response.content
    return response.json()


def put(client, cycle, **change):
    body = {"month": "2026-11", "kind": "absolute", "reason": "promotion", "comment": "Fair"}
    return client.put(
        f"/api/v1/demand/cycles/{cycle.pk}/overrides",
        {**body, **change},
        content_type="application/json",
    )


def test_the_consensus_reads_by_family_and_month_range(api_for, cycle, forecast):
    body = consensus(api_for(Role.FINANCE), cycle, "?family=Bikes&month_from=2026-12")
    assert body["count"] == 4
    assert [(r["sku"], r["location"], r["month"], r["consensus"]) for r in body["items"]] == [
        ("BIKE-1", "NORTH", "2026-12-01", 80),
        ("BIKE-1", "SOUTH", "2026-12-01", 120),
        ("BIKE-2", "NORTH", "2026-12-01", 60),
        ("BIKE-2", "SOUTH", "2026-12-01", 140),
    ]
    assert body["items"][0] == {
        "sku": "BIKE-1",
        "family": "Bikes",
        "location": "NORTH",
        "month": "2026-12-01",
        "statistical": 80.0,
        "events": 0.0,
        "override_delta": 0.0,
        "consensus": 80.0,
    }


def test_the_consensus_reads_by_sku_and_location(api_for, cycle, forecast):
    body = consensus(api_for(Role.FINANCE), cycle, "?sku=LAMP-1&location=SOUTH&month_to=2026-11")
    assert [(r["month"], r["consensus"]) for r in body["items"]] == [("2026-11-01", 15)]


def test_the_consensus_comes_a_page_at_a_time_in_sku_location_month_order(api_for, cycle, forecast):
    body = consensus(api_for(Role.FINANCE), cycle, "?limit=3&offset=3")
    assert body["count"] == 16
    assert [(r["sku"], r["location"], r["month"], r["consensus"]) for r in body["items"]] == [
        ("BIKE-1", "SOUTH", "2026-12-01", 120),
        ("BIKE-2", "NORTH", "2026-11-01", 30),
        ("BIKE-2", "NORTH", "2026-12-01", 60),
    ]


def test_a_bad_month_filter_is_a_422_naming_it(api_for, cycle, forecast):
    response = api_for(Role.FINANCE).get(
        f"/api/v1/demand/cycles/{cycle.pk}/consensus?month_from=Nov"
    )
    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert problem["field"] == "query.month_from"
    assert problem["reason"].endswith("a month is written YYYY-MM (or YYYY-MM-DD)")


def test_a_family_override_spreads_over_the_consensus_and_is_audited(api_for, cycle, forecast):
    planner = api_for(Role.DEMAND_PLANNER)
    response = put(planner, cycle, family="Bikes", value=300, version=None)
    assert response.status_code == 200, response.content
    saved = response.json()
    fields = ("level", "family", "sku", "month", "kind", "value", "version")
    assert [saved[k] for k in fields] == ["family", "Bikes", None, "2026-11-01", "absolute", 300, 1]
    assert saved["author"] == "demand"
    rows = consensus(planner, cycle, "?family=Bikes&month_to=2026-11")["items"]
    assert [(r["consensus"], r["override_delta"]) for r in rows] == [
        (60, 20),
        (90, 30),
        (45, 15),
        (105, 35),
    ]
    event = AuditEvent.objects.get(action="demand.override")
    assert (event.user, event.reason) == (planner.token.user, "Fair")


def test_a_save_from_an_old_version_is_a_409_with_the_override_as_it_is_now(
    api_for, cycle, forecast
):
    planner = api_for(Role.DEMAND_PLANNER)
    assert put(planner, cycle, family="Bikes", value=300, version=None).status_code == 200
    late = put(planner, cycle, family="Bikes", value=250, version=None)
    assert late.status_code == 409
    body = late.json()
    assert body["detail"].startswith("The override of Bikes in Nov 2026 was changed by demand")
    assert (body["current"]["value"], body["current"]["version"]) == (300.0, 1)
    assert DemandOverride.objects.get().value == 300
    named = put(planner, cycle, family="Bikes", value=250, version=1)
    assert named.status_code == 200
    assert (named.json()["value"], named.json()["version"]) == (250.0, 2)


def test_a_null_value_clears_the_override_and_the_consensus_returns_to_the_forecast(
    api_for, cycle, forecast
):
    planner = api_for(Role.DEMAND_PLANNER)
    put(planner, cycle, family="Bikes", value=300, version=None)
    cleared = put(planner, cycle, family="Bikes", value=None, version=1)
    assert cleared.status_code == 204
    assert not DemandOverride.objects.exists()
    rows = consensus(planner, cycle, "?family=Bikes&month_to=2026-11")["items"]
    assert [r["consensus"] for r in rows] == [40, 60, 30, 70]


def test_a_series_override_in_percent_and_the_list_with_versions(api_for, cycle, forecast):
    planner = api_for(Role.DEMAND_PLANNER)
    response = put(
        planner, cycle, sku="BIKE-1", location="NORTH", kind="percent", value=10, version=None
    )
    assert response.status_code == 200, response.content
    put(planner, cycle, family="Lamps", value=50, version=None, month="2026-12")
    rows = consensus(planner, cycle, "?sku=BIKE-1&location=NORTH&month_to=2026-11")["items"]
    assert rows[0]["consensus"] == 44  # 40 + 10 %
    listed = planner.get(f"/api/v1/demand/cycles/{cycle.pk}/overrides").json()
    keys = ("level", "family", "sku", "location", "version")
    assert [tuple(o[k] for k in keys) for o in listed["items"]] == [
        ("family", "Lamps", None, None, 1),
        ("product", "Bikes", "BIKE-1", "NORTH", 1),
    ]
    only_bike = planner.get(f"/api/v1/demand/cycles/{cycle.pk}/overrides?sku=BIKE-1").json()
    assert only_bike["count"] == 1


def test_overrides_are_the_demand_planners_and_a_read_token_writes_nothing(
    api_for, cycle, forecast
):
    refused = put(api_for(Role.SUPPLY_PLANNER), cycle, family="Bikes", value=300, version=None)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only Demand planner can change the demand plan."}
    read_only = api_for(Role.DEMAND_PLANNER, scope=TokenScope.READ)
    assert put(read_only, cycle, family="Bikes", value=300, version=None).status_code == 403
    assert not DemandOverride.objects.exists()


def test_a_plan_out_of_its_review_is_read_only(api_for, cycle, forecast):
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    response = put(api_for(Role.DEMAND_PLANNER), cycle, family="Bikes", value=300, version=None)
    assert response.status_code == 400
    assert response.json()["detail"].endswith("its demand plan is read-only.")


def test_an_override_of_an_unknown_sku_or_without_a_reason_is_refused(api_for, cycle, forecast):
    planner = api_for(Role.DEMAND_PLANNER)
    unknown = put(planner, cycle, sku="NOPE", value=5, version=None)
    assert (unknown.status_code, unknown.json()) == (400, {"detail": "No SKU 'NOPE'."})
    no_reason = put(planner, cycle, family="Bikes", value=5, version=None, reason="")
    assert no_reason.json() == {"detail": "Choose a reason code for the change."}
    too_fine = put(planner, cycle, family="Bikes", value=5.0001, version=None)
    assert too_fine.status_code == 422
    assert too_fine.json()["errors"][0]["field"] == "body.change.value"
