"""Fixtures of the supply tests: a small company whose plan is checked by hand.

One line (100 h a month) makes BIKE (class A) and LAMP (class C) at one hour a unit; TEA
is bought from a supplier with a 30-day lead time, in lots of 10. Three months of horizon:

    BIKE demand 60/month, 30 in stock; LAMP 50/month, none; TEA 40/month, 100 in stock.

Unconstrained, BIKE needs 30, 60, 60 and LAMP 50 a month: the line is loaded 80, 110,
110 h, so the plan pre-builds 10 BIKE of month 1 and 10 of month 2 into month 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from demand.models import ConsensusDemand, ForecastRun, SeriesFit
from sop import services as sop_services
from sop.choices import JobStatus, MakeOrBuy, Role, Stage
from sop.models import Capacity, Cycle, InventorySnapshot, Routing
from tests.factories import LocationFactory, ProductFactory, ResourceFactory, SupplierFactory

CYCLE_MONTH = dt.date(2026, 11, 1)
HORIZON = 3
MONTHS = [sop_services.add_months(CYCLE_MONTH, h) for h in range(HORIZON)]
DEMAND = {"BIKE": 60, "LAMP": 50, "TEA": 40}
STOCK = {"BIKE": 30, "LAMP": 0, "TEA": 100}
TEA_ERROR_STD = 10.0


@pytest.fixture
def company(db):
    dc = LocationFactory(code="DC")
    line = ResourceFactory(code="LINE", name="Assembly line")
    supplier = SupplierFactory(
        code="LEAF", lead_time_days_mean=Decimal("30"), lead_time_days_std=Decimal("0")
    )
    bike = ProductFactory(sku="BIKE", family="Bikes", abc_class="A", lead_time_days=0)
    lamp = ProductFactory(sku="LAMP", family="Lamps", abc_class="C", lead_time_days=0)
    tea = ProductFactory(
        sku="TEA",
        family="Drinks",
        abc_class="B",
        make_or_buy=MakeOrBuy.BUY,
        supplier=supplier,
        lot_size=Decimal("10"),
    )
    for product in (bike, lamp):
        Routing.objects.create(product=product, resource=line, hours_per_unit=Decimal("1"))
    Capacity.objects.bulk_create(Capacity(resource=line, month=m, hours=100) for m in MONTHS)
    products = {"BIKE": bike, "LAMP": lamp, "TEA": tea}
    InventorySnapshot.objects.bulk_create(
        InventorySnapshot(product=p, location=dc, date=CYCLE_MONTH, on_hand=STOCK[sku])
        for sku, p in products.items()
    )
    return {"dc": dc, "line": line, "supplier": supplier, **products}


@pytest.fixture
def cycle(company, make_user):
    """The November cycle in supply review, with a published forecast and its consensus."""
    admin = make_user(Role.ADMIN)
    cycle = sop_services.cycle_open(month=CYCLE_MONTH, user=admin, horizon_months=HORIZON)
    forecast = ForecastRun.objects.create(
        cycle=cycle,
        status=JobStatus.SUCCEEDED,
        is_published=True,
        published_at=timezone.now(),
        progress=100,
    )
    # Only TEA has a forecast error, a normal guess without stored quantiles (its history
    # was too short to backtest); BIKE and LAMP have neither that nor sales history.
    SeriesFit.objects.create(
        run=forecast,
        product=company["TEA"],
        location=company["dc"],
        model="ses",
        pattern="smooth",
        error_std=TEA_ERROR_STD,
        uncertainty="normal",
    )
    ConsensusDemand.objects.bulk_create(
        ConsensusDemand(
            cycle=cycle,
            product=company[sku],
            location=company["dc"],
            month=m,
            statistical=qty,
            value=qty,
        )
        for sku, qty in DEMAND.items()
        for m in MONTHS
    )
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    cycle.refresh_from_db()
    return cycle


@pytest.fixture
def supply_planner(make_user):
    return make_user(Role.SUPPLY_PLANNER, first_name="Sam", last_name="Supply")


@pytest.fixture
def published(cycle, supply_planner, django_capture_on_commit_callbacks):
    """The cycle's first supply run, in one chunk per resource group, published."""
    from supply import services

    with django_capture_on_commit_callbacks(execute=True):
        run = services.supply_run_start(cycle=cycle, user=supply_planner, chunk_rows=1)
    run.refresh_from_db()
    return run


# TEA's cumulative forecast error over months 1..3 at each stored level, as a backtested
# forecast run stores it (`demand.uncertainty`).
TEA_ERROR_QUANTILES = {
    "0.5": [0, 0, 0],
    "0.8": [15, 22, 25],
    "0.9": [22, 33, 38],
    "0.95": [30, 45, 50],
    "0.975": [36, 54, 60],
    "0.98": [38, 57, 63],
    "0.99": [44, 66, 73],
}


@pytest.fixture
def tea_backtested(cycle, company):
    """TEA's forecast was backtested: its fit stores the error quantiles."""
    SeriesFit.objects.filter(product=company["TEA"]).update(
        uncertainty="backtest", error_quantiles=TEA_ERROR_QUANTILES
    )
    return cycle
