"""The pack's figures have a basis: a KPI without one says "not yet" and why."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from django.urls import reverse

from demand.models import DemandPlanSnapshot
from executive import selectors
from executive.constants import NOT_YET, NOT_YET_KPI, OWN_KPIS, PLAN_KPIS
from sop.choices import Role, Stage
from sop.models import Cycle, SalesHistory

pytestmark = pytest.mark.django_db
SIGNOFF = reverse("executive:signoff")


def headline_of(response) -> dict[str, dict]:
    return {k["key"]: k for k in response.context["pack"].headline}


def test_without_an_earlier_frozen_plan_accuracy_and_bias_are_not_yet(in_review, client_for):
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": in_review.pk})
    figures = headline_of(response)
    for key in ("forecast_accuracy", "forecast_bias"):
        assert figures[key]["value"] is None
        assert figures[key]["not_yet"] == NOT_YET["no_frozen_plan"]
    body = response.content.decode()
    assert "Not yet" in body and NOT_YET["no_frozen_plan"].replace("'", "&#x27;") in body


def _september_plan(company) -> Cycle:
    """September's frozen demand plan: 100 BIKE in September and 100 in October."""
    september = Cycle.objects.create(month=dt.date(2026, 9, 1), stage=Stage.APPROVED)
    DemandPlanSnapshot.objects.bulk_create(
        DemandPlanSnapshot(
            cycle=september,
            product=company["BIKE"],
            location=company["dc"],
            month=month,
            naive=0,
            statistical=100,
            consensus=100,
        )
        for month in (dt.date(2026, 9, 1), dt.date(2026, 10, 1))
    )
    return september


def _sold(company, month: dt.date, quantity: int) -> None:
    SalesHistory.objects.create(
        product=company["BIKE"], location=company["dc"], month=month, quantity=Decimal(quantity)
    )


def test_before_any_sale_of_the_planned_months_accuracy_is_not_yet(company, in_review):
    _september_plan(company)
    _sold(company, dt.date(2026, 8, 1), 70)  # before the plan: nothing to measure it on
    figures = selectors.forecast_accuracy(cycle=in_review)
    assert figures["forecast_accuracy"] is None and figures["forecast_bias"] is None
    assert figures["forecast_basis"] == NOT_YET["no_sales"]


def test_a_month_not_imported_yet_does_not_count_as_no_demand(company, in_review):
    # Plans: 100 in Sep, 100 in Oct; sales imported up to September only (80).
    # Measured on September alone: WAPE |100 - 80| / 80 = 25 %, accuracy 75 %, bias +25 %.
    # Counting October as 0 sold would say WAPE (20 + 100) / 80 = 150 %: accuracy -50 %.
    _september_plan(company)
    _sold(company, dt.date(2026, 9, 1), 80)
    figures = selectors.forecast_accuracy(cycle=in_review)
    assert figures["forecast_accuracy"] == pytest.approx(75.0)
    assert figures["forecast_bias"] == pytest.approx(25.0)
    assert figures["forecast_months"] == 1
    assert figures["forecast_basis"] == ""
    # October's sales arrive (120): (20 + 20) / 200 = 20 % WAPE, bias (200 - 200) / 200 = 0.
    _sold(company, dt.date(2026, 10, 1), 120)
    figures = selectors.forecast_accuracy(cycle=in_review)
    assert figures["forecast_accuracy"] == pytest.approx(80.0)
    assert figures["forecast_bias"] == pytest.approx(0.0)


def test_before_the_reconciliation_recommends_a_plan_its_figures_are_not_yet(cycle, client_for):
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.DEMAND_REVIEW)
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": cycle.pk})
    figures = headline_of(response)
    plan_keys = [OWN_KPIS[2][0], *PLAN_KPIS]  # the service level is the plan's too
    for key in plan_keys:
        assert figures[key]["value"] is None, key
        assert figures[key]["not_yet"] == NOT_YET["no_plan"], key
        assert figures[key]["tone"] == ""
    body = response.content.decode()
    assert body.count("Not yet") == len(figures)


@pytest.mark.parametrize("key", list(NOT_YET_KPI))
def test_a_plan_kpi_without_its_basis_says_what_it_lacks(key):
    kpis = {k: 1.0 for k in PLAN_KPIS} | {"service_level": 0.9, key: math.nan}
    kpis |= {"forecast_accuracy": 80.0, "forecast_bias": 2.0, "customer_otif": 95.0}
    figures = {k["key"]: k for k in selectors.headline(kpis, dict(kpis), planned=True)}
    assert figures[key]["value"] is None
    assert figures[key]["not_yet"] == NOT_YET_KPI[key]
    assert figures[key]["change"] is None and figures[key]["tone"] == ""
    others = [k for k in figures.values() if k["key"] != key]
    assert all(k["not_yet"] == "" and k["change"] == 0 for k in others)


def test_a_plan_without_a_budget_says_so_on_the_page(in_review, client_for):
    response = client_for(Role.EXECUTIVE).get(SIGNOFF, {"cycle": in_review.pk})
    figures = headline_of(response)
    assert figures["revenue"]["value"] is not None and figures["revenue"]["not_yet"] == ""
    assert figures["revenue_vs_budget"]["not_yet"] == NOT_YET_KPI["revenue_vs_budget"]
    assert NOT_YET_KPI["revenue_vs_budget"] in response.content.decode()
