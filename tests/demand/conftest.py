"""Fixtures of the demand tests: a small company with three years of seasonal sales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from sop import services as sop_services
from sop.choices import Role, Stage
from sop.models import SalesHistory
from tests.factories import LocationFactory, ProductFactory

CYCLE_MONTH = dt.date(2026, 11, 1)
HISTORY_MONTHS = 36


@pytest.fixture
def company(db):
    """Two families of two SKUs each, sold from two warehouses, with seasonal history."""
    rng = np.random.default_rng(7)
    locations = [LocationFactory(code="NORTH"), LocationFactory(code="SOUTH")]
    products = [
        ProductFactory(sku="BIKE-1", family="Bikes", abc_class="A"),
        ProductFactory(sku="BIKE-2", family="Bikes", abc_class="B"),
        ProductFactory(sku="LAMP-1", family="Lamps", abc_class="C"),
        ProductFactory(sku="LAMP-2", family="Lamps", abc_class="C"),
    ]
    rows = []
    for i, product in enumerate(products):
        for j, location in enumerate(locations):
            level = 40 + 25 * i + 10 * j
            for k in range(HISTORY_MONTHS):
                month = sop_services.add_months(CYCLE_MONTH, k - HISTORY_MONTHS)
                season = 1 + 0.3 * np.sin(2 * np.pi * month.month / 12)
                qty = max(0, round(level * season + rng.normal(0, 4)))
                rows.append(
                    SalesHistory(
                        product=product, location=location, month=month, quantity=Decimal(qty)
                    )
                )
    SalesHistory.objects.bulk_create(rows)
    return {"products": products, "locations": locations}


@pytest.fixture
def cycle(company, make_user):
    """The November cycle, in demand review."""
    admin = make_user(Role.ADMIN)
    cycle = sop_services.cycle_open(month=CYCLE_MONTH, user=admin)
    sop_services.cycle_advance(cycle=cycle, target=Stage.DEMAND_REVIEW, user=admin)
    return cycle


@pytest.fixture
def planner(make_user):
    return make_user(Role.DEMAND_PLANNER, first_name="Dana", last_name="Planner")


@pytest.fixture
def published(cycle, planner, django_capture_on_commit_callbacks):
    """The cycle with a first forecast run computed and published."""
    from demand import services

    with django_capture_on_commit_callbacks(execute=True):
        run = services.forecast_run_start(cycle=cycle, user=planner, chunk_series=4)
    run.refresh_from_db()
    return run
