"""Stock left at end of life: the projected on hand in the end-of-life month, at unit cost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from scipy.stats import norm

from demand.models import ConsensusDemand
from sop.models import InventorySnapshot
from supply import selectors
from tests.factories import ProductFactory
from tests.supply.conftest import CYCLE_MONTH, MONTHS, TEA_ERROR_STD

pytestmark = pytest.mark.django_db


@pytest.fixture
def ending(cycle, company):
    """OLD (cost 6) ends in December with 100 in stock and 30 to sell in November; GONE
    (cost 2.50) ended in August and still holds 12."""
    old = ProductFactory(
        sku="OLD", family="Bikes", unit_cost=Decimal("6"), end_of_life_month=MONTHS[1]
    )
    gone = ProductFactory(
        sku="GONE",
        family="Lamps",
        unit_cost=Decimal("2.50"),
        end_of_life_month=dt.date(2026, 8, 1),
    )
    InventorySnapshot.objects.bulk_create(
        [
            InventorySnapshot(product=old, location=company["dc"], date=CYCLE_MONTH, on_hand=100),
            InventorySnapshot(product=gone, location=company["dc"], date=CYCLE_MONTH, on_hand=12),
        ]
    )
    # The forecast is zero from the end of life on (demand.lifecycle): one month of demand.
    ConsensusDemand.objects.create(
        cycle=cycle, product=old, location=company["dc"], month=MONTHS[0], statistical=30, value=30
    )
    return {"OLD": old, "GONE": gone}


def test_stock_left_at_end_of_life_is_valued_at_cost_with_a_total(ending, published):
    left = selectors.end_of_life_stock(run=published)
    rows = [(r["sku"], r["location_code"], r["month"], r["on_hand"], r["value"]) for r in left.rows]
    assert rows == [
        # 100 - 30 sold in November, nothing sold in December: 70 x 6.00
        ("OLD", "DC", MONTHS[1], pytest.approx(70), pytest.approx(420)),
        # Already past its end: what the cycle starts with, 12 x 2.50
        ("GONE", "DC", CYCLE_MONTH, pytest.approx(12), pytest.approx(30)),
    ]
    assert left.total_value == pytest.approx(450)
    assert left.total_quantity == pytest.approx(82)


def test_products_without_an_end_of_life_are_not_listed(published):
    assert selectors.end_of_life_stock(run=published).rows == []


def test_the_review_and_the_grid_show_the_stock_left(ending, published, client, supply_planner):
    client.force_login(supply_planner)
    page = client.get(f"/supply/?cycle={published.cycle_id}").content.decode()
    assert "Stock left at end of life" in page
    assert "Ends Dec 2026" in page and "Ends Aug 2026" in page
    assert "450" in page.split('id="end-of-life"')[1].split("</section>")[0]
    grid = client.get(f"/supply/grid/?cycle={published.cycle_id}&family=Bikes").content.decode()
    assert "70 units left at end of life (420 EUR)" in grid


def test_a_run_phases_out_a_sku_before_its_end_of_life(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    """TEA (bought, lead time 30 days, 100 in stock, 40 a month) ends in January: the
    forecast is zero there, and the plan runs its stock down instead of topping it up."""
    from supply import projection, services
    from supply.models import InventoryProjection, StockTarget

    tea = company["TEA"]
    tea.end_of_life_month = MONTHS[2]
    tea.save()
    ConsensusDemand.objects.filter(product=tea, month=MONTHS[2]).update(statistical=0, value=0)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.supply_run_start(cycle=cycle, user=supply_planner)
    run.refresh_from_db()
    rows = InventoryProjection.objects.filter(run=run, product=tea).order_by("month")
    # Month 0 is inside the lead time: 100 - 40 = 60. December is the last month sold, its
    # target 0: 60 covers its 40 and nothing is ordered (the policy's 23.18 would have
    # ordered a lot of 10 and left 30). January is past the end: nothing planned.
    assert [r.planned for r in rows] == [0, 0, 0]
    assert [r.on_hand for r in rows] == [60, 20, 20]
    # Stock left = on hand + receipts - demand to the end = 100 - 80.
    left = selectors.end_of_life_stock(run=run)
    assert [(r["sku"], r["on_hand"]) for r in left.rows] == [("TEA", pytest.approx(20))]
    # The targets keep what the plan holds now: SS x (1 month still sold) / (LT + 1).
    lead = 30 / projection.DAYS_PER_MONTH
    policy_ss = norm.ppf(0.95) * np.sqrt((lead + 1) * TEA_ERROR_STD**2)
    target = StockTarget.objects.get(run=run, product=tea)
    assert target.safety_stock == pytest.approx(policy_ss / (lead + 1))
    assert target.order_up_to == pytest.approx(40 * (lead + 1) + policy_ss / (lead + 1))


def test_a_sku_in_its_run_down_is_below_safety_stock_only_against_each_months_target(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    """TEA ends in February, just past the 3-month horizon, and sells 40 a month to the end.
    With E = LT + 1 = 1.99 months its targets are SS (23.18), SS / 1.99 (11.67) and 0 for
    Nov, Dec and Jan; the plan closes at 60, 20 and 0. Against the full 23.18 it would be
    flagged below safety stock; against each month's target it is not, until a month
    drops under its own target."""
    from supply import services
    from supply.choices import ExceptionFilter
    from supply.models import InventoryProjection

    tea = company["TEA"]
    tea.end_of_life_month = dt.date(2027, 2, 1)
    tea.save()

    def run_and_flag():
        with django_capture_on_commit_callbacks(execute=True):
            run = services.supply_run_start(cycle=cycle, user=supply_planner)
        run.refresh_from_db()
        rows = selectors.sku_list(run=run, filters=selectors.Filters(), limit=None)
        flags = {r["sku"]: r["below_ss"] for r in rows}
        below = selectors.sku_list(
            run=run, filters=selectors.Filters(exception=ExceptionFilter.BELOW_SAFETY), limit=None
        )
        return run, flags, {r["sku"] for r in below}

    run, flags, below = run_and_flag()
    stock = InventoryProjection.objects.filter(run=run, product=tea).order_by("month")
    assert [r.on_hand for r in stock] == [60, 20, 0]
    assert not flags["TEA"]
    assert "TEA" not in below
    # Opening at 60, November (inside the lead time) closes at 20 < 23.18: flagged.
    InventorySnapshot.objects.filter(product=tea).update(on_hand=60)
    run, flags, below = run_and_flag()
    stock = InventoryProjection.objects.filter(run=run, product=tea).order_by("month")
    assert [r.on_hand for r in stock] == [20, 20, 0]
    assert flags["TEA"]
    assert "TEA" in below
