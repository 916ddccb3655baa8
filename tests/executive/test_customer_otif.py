"""The pack's customer OTIF: what customers got in the last three months, or why not yet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from sop.choices import Role
from sop.models import CustomerOrderLine
from supply.selectors import CUSTOMER_OTIF_NOT_YET

pytestmark = pytest.mark.django_db
SIGNOFF = reverse("executive:signoff")
LABEL = "Customer OTIF (last 3 months)"


def headline_of(response) -> dict[str, dict]:
    return {k["key"]: k for k in response.context["pack"].headline}


def order_line(company, n: int, requested: dt.date, shipped: dt.date | None, qty: int) -> None:
    CustomerOrderLine.objects.create(
        order_ref=f"SO-{n}",
        line=10,
        customer="C1",
        product=company["BIKE"],
        location=company["dc"],
        requested_date=requested,
        requested_quantity=Decimal(10),
        shipped_date=shipped,
        shipped_quantity=Decimal(qty),
    )


def test_without_order_lines_the_kpi_is_not_yet_and_says_why(in_review, client_for):
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": in_review.pk})
    figure = headline_of(response)["customer_otif"]
    assert figure["label"] == LABEL
    assert figure["value"] is None
    assert figure["not_yet"] == CUSTOMER_OTIF_NOT_YET["no_lines"]
    assert "no customer order lines imported" in response.content.decode()


def test_the_kpi_counts_the_lines_of_the_three_months_before_the_cycle(
    in_review, company, client_for
):
    month = in_review.month
    before = [month.replace(month=month.month - k) for k in (3, 2, 1)]
    order_line(company, 1, before[0].replace(day=10), before[0].replace(day=10), 10)  # OTIF
    order_line(company, 2, before[1].replace(day=10), before[1].replace(day=12), 10)  # late
    order_line(company, 3, before[2].replace(day=10), before[2].replace(day=10), 9)  # short
    order_line(company, 4, before[2].replace(day=20), None, 0)  # open, overdue
    # Four months back: outside the window.
    order_line(company, 5, month.replace(month=month.month - 4, day=3), None, 0)
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": in_review.pk})
    figure = headline_of(response)["customer_otif"]
    assert figure["value"] == 25.0  # 1 of 4
    assert figure["not_yet"] == ""
    assert "25.0 %" in response.content.decode()
