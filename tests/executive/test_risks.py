"""The pack's top risks are valued at the plan's prices and costs, not today's."""

from __future__ import annotations

import pytest

from executive import selectors
from executive import services as executive_services
from reconciliation import services as recon_services
from reconciliation.models import ScenarioLine
from sop import services as sop_services
from sop.choices import Stage
from sop.models import Product
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db
PRICE, COST = 10.0, 6.0
ALL_MONTHS = {"start": MONTHS[0].isoformat(), "end": MONTHS[-1].isoformat()}


@pytest.fixture
def repriced(reconciling, finance, django_capture_on_commit_callbacks):
    """A recommended scenario, in executive review, that sells lamps 20% dearer.

    Half the line's hours cut LAMP (the lowest priority) into stockouts; TEA's demand
    falls 90% and its cost rises 50%, so its stock turns into excess.
    """
    scenario = recon_services.scenario_create(
        cycle=reconciling,
        name="Dearer lamps",
        user=finance,
        deltas=[
            {"kind": "capacity", "resource": "LINE", "percent": -50, **ALL_MONTHS},
            {"kind": "price_cost", "family": "Lamps", "price_percent": 20},
            {"kind": "demand", "family": "Drinks", "percent": -90, **ALL_MONTHS},
            {"kind": "price_cost", "family": "Drinks", "cost_percent": 50},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = recon_services.scenario_run_start(scenario=scenario, user=finance)
    recon_services.scenario_recommend(scenario=scenario, user=finance)
    sop_services.cycle_advance(cycle=reconciling, target=Stage.EXECUTIVE_REVIEW, user=finance)
    reconciling.refresh_from_db()
    return reconciling, run


def risks(cycle, sku: str, which: str) -> dict:
    pack = selectors.signoff(cycle=cycle)
    return next(row for row in getattr(pack, which) if row["sku"] == sku)


def test_the_risks_are_valued_at_the_recommended_scenarios_prices(repriced, company):
    cycle, run = repriced
    lost = sum(
        ScenarioLine.objects.filter(run=run, product=company["LAMP"]).values_list(
            "unmet", flat=True
        )
    )
    peak = max(
        ScenarioLine.objects.filter(run=run, product=company["TEA"]).values_list(
            "excess_quantity", flat=True
        )
    )
    assert lost > 0 and peak > 0
    # Today's price list changes after the scenario ran: the pack still shows the plan's.
    Product.objects.update(unit_price=99, unit_cost=1)
    assert risks(cycle, "LAMP", "shortages")["unmet_revenue"] == pytest.approx(lost * PRICE * 1.2)
    assert risks(cycle, "TEA", "excess")["excess_value"] == pytest.approx(peak * COST * 1.5)


def test_an_approved_plans_risks_keep_the_frozen_prices(
    repriced, company, executive, django_capture_on_commit_callbacks
):
    cycle, run = repriced
    lost = sum(
        ScenarioLine.objects.filter(run=run, product=company["LAMP"]).values_list(
            "unmet", flat=True
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        executive_services.plan_decide(cycle=cycle, user=executive, approve=True, comment="Go")
    cycle.refresh_from_db()
    Product.objects.update(unit_price=99, unit_cost=1)
    assert risks(cycle, "LAMP", "shortages")["unmet_revenue"] == pytest.approx(lost * PRICE * 1.2)
