"""Approved plans over the REST API: the approval, its checksum, its lines and its ERP file."""

from __future__ import annotations

import hashlib

import pytest

from sop.choices import Role

pytestmark = pytest.mark.django_db


def test_an_approved_plan_says_who_approved_what_and_its_checksum(api_for, approved):
    client = api_for(Role.SUPPLY_PLANNER)
    body = client.get(f"/api/v1/executive/cycles/{approved.pk}/approved-plan").json()
    approval = approved.approval
    assert {k: body[k] for k in ("cycle_id", "month", "approved_by", "comment", "scenario")} == {
        "cycle_id": approved.pk,
        "month": "2026-11-01",
        "approved_by": "Eve Executive",
        "comment": "Go",
        "scenario": "Base plan",
    }
    assert (body["checksum"], body["line_count"]) == (approval.checksum, 9)
    assert body["kpis"]["revenue"] == approval.kpis["revenue"]
    listed = client.get("/api/v1/executive/approved").json()
    assert [(a["cycle_id"], a["checksum"]) for a in listed["items"]] == [
        (approved.pk, approval.checksum)
    ]


def test_the_export_is_the_bytes_the_checksum_was_taken_of(api_for, approved):
    response = api_for(Role.FINANCE).get(
        f"/api/v1/executive/cycles/{approved.pk}/approved-plan/export.csv"
    )
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == approved.approval.checksum
    assert response["X-Checksum-SHA256"] == approved.approval.checksum
    assert response.content.startswith(b"sku,location,month,kind,planned_quantity")


def test_the_lines_read_by_sku_and_month_in_the_files_order(api_for, approved):
    client = api_for(Role.FINANCE)
    url = f"/api/v1/executive/cycles/{approved.pk}/approved-plan/lines"
    bike = client.get(f"{url}?sku=BIKE").json()
    assert bike["count"] == 3
    # The hand-checked plan: BIKE pre-builds 10 of each later month into November.
    assert [(r["month"], r["planned"], r["consensus"]) for r in bike["items"]] == [
        ("2026-11-01", 50, 60),
        ("2026-12-01", 50, 60),
        ("2027-01-01", 50, 60),
    ]
    assert (bike["items"][0]["location"], bike["items"][0]["make_or_buy"]) == ("DC", "make")
    december = client.get(f"{url}?month_from=2026-12&month_to=2026-12&limit=2").json()
    assert december["count"] == 3
    assert [r["sku"] for r in december["items"]] == ["BIKE", "LAMP"]


def test_a_cycle_not_approved_has_no_approved_plan(api_for, in_review):
    response = api_for(Role.EXECUTIVE).get(f"/api/v1/executive/cycles/{in_review.pk}/approved-plan")
    assert response.status_code == 404
    assert response.json() == {"detail": f"No approved plan of cycle {in_review.pk}."}
