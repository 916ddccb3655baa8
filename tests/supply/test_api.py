"""The supply plan and its replenishment export over the REST API (numbers: conftest.py)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from openpyxl import load_workbook
from scipy.stats import norm

from sop.choices import Role
from supply import projection
from tests.supply.conftest import TEA_ERROR_STD

pytestmark = pytest.mark.django_db


def plan(client, cycle, query: str = "") -> dict:
    response = client.get(f"/api/v1/supply/cycles/{cycle.pk}/plan{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_plan_reads_the_hand_checked_numbers_by_sku(api_for, published, cycle):
    body = plan(api_for(Role.FINANCE), cycle, "?sku=BIKE")
    assert body["count"] == 3
    rows = body["items"]
    # BIKE would need 30, 60, 60; 10 of months 1 and 2 are pre-built into month 0.
    assert [r["planned_unconstrained"] for r in rows] == [30, 60, 60]
    assert [r["planned"] for r in rows] == [50, 50, 50]
    assert [r["on_hand"] for r in rows] == [20, 10, 0]
    assert [(r["sku"], r["family"], r["location"], r["month"]) for r in rows] == [
        ("BIKE", "Bikes", "DC", "2026-11-01"),
        ("BIKE", "Bikes", "DC", "2026-12-01"),
        ("BIKE", "Bikes", "DC", "2027-01-01"),
    ]


def test_the_plan_reads_by_family_month_and_a_page_at_a_time(api_for, published, cycle):
    client = api_for(Role.EXECUTIVE)
    tea = plan(client, cycle, "?family=Drinks&location=DC&month_from=2026-12")["items"]
    assert [(r["month"], r["planned"], r["on_hand"]) for r in tea] == [
        ("2026-12-01", 10, 30),
        ("2027-01-01", 40, 30),
    ]
    page = plan(client, cycle, "?limit=2&offset=3")
    assert page["count"] == 9  # three SKUs, three months
    assert [(r["sku"], r["month"]) for r in page["items"]] == [
        ("LAMP", "2026-11-01"),
        ("LAMP", "2026-12-01"),
    ]


def test_the_replenishment_export_is_the_targets_table(api_for, published, cycle):
    response = api_for(Role.FINANCE).get(f"/api/v1/supply/cycles/{cycle.pk}/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="supply-2026-11-targets.csv"'
    rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert sorted(rows) == ["BIKE", "LAMP", "TEA"]
    # TEA: SS = z(95%) * sqrt((LT + 1 review month) * 10^2), order up to the demand of the
    # lead time and the review month plus SS (the services test's hand numbers).
    lead = 30 / projection.DAYS_PER_MONTH
    safety = norm.ppf(0.95) * np.sqrt((lead + 1) * TEA_ERROR_STD**2)
    # Quantities are exported as whole units, the unit in the header (the one number rule).
    assert rows["TEA"]["safety_stock (units)"] == str(round(safety))
    assert rows["TEA"]["order_up_to_level (units)"] == str(round(40 * (lead + 1) + safety))
    assert rows["TEA"]["service_level_pct"] == "95.0"


def test_the_export_takes_another_table_format_and_filter(api_for, published, cycle):
    client = api_for(Role.FINANCE)
    response = client.get(
        f"/api/v1/supply/cycles/{cycle.pk}/export?table=plan&format=xlsx&family=Bikes"
    )
    values = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert values[1][:6] == ("sku", "name", "family", "abc", "location", "month")
    assert [(v[0], v[9]) for v in values[2:]] == [("BIKE", 50), ("BIKE", 50), ("BIKE", 50)]
    refused = client.get(f"/api/v1/supply/cycles/{cycle.pk}/export?table=secrets")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "query.table"


def test_a_cycle_without_a_published_plan_says_so(api_for, cycle):
    response = api_for(Role.FINANCE).get(f"/api/v1/supply/cycles/{cycle.pk}/plan")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "S&OP November 2026 has no published supply plan yet: run the supply plan first."
    }
