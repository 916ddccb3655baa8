"""New and ending products: the like product's forecast x factor x ramp, zero after the end
of life; the engine's function by hand, then through a forecast run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from demand import services
from demand.constants import LIKE_MODEL
from demand.lifecycle import (
    MIN_HISTORY_MONTHS,
    Lifecycle,
    history_months,
    lifecycle_apply,
    ramp_shares,
)
from demand.models import ConsensusDemand, SeriesFit, StatisticalForecast
from sop import services as sop_services
from sop.models import SalesHistory
from sop.months import month_index
from tests.demand.conftest import CYCLE_MONTH
from tests.factories import ProductFactory

M0 = month_index(dt.date(2026, 11, 1))
MONTHS = M0 + np.arange(6)


def test_the_engine_minimum_is_the_short_history_threshold():
    # forecasting._MIN_POINTS: below it the engine can only give a flat mean.
    assert MIN_HISTORY_MONTHS == 4


def test_a_three_month_ramp_climbs_by_thirds_from_the_launch_month():
    shares = ramp_shares(MONTHS, launch=M0 + 1, ramp_months=3)
    assert shares == pytest.approx([0, 1 / 3, 2 / 3, 1, 1, 1])
    assert ramp_shares(MONTHS, launch=M0 + 2, ramp_months=0) == pytest.approx([0, 0, 1, 1, 1, 1])
    assert ramp_shares(MONTHS, launch=None, ramp_months=3) == pytest.approx([1] * 6)


def test_history_counts_months_from_the_first_sale():
    matrix = np.array([[0, 0, 0, 5, 0, 7], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=float)
    assert history_months(matrix).tolist() == [3, 0, 6]


def _apply(lifecycles, history):
    # Like product 1 sells 100 a month at location 10 and 50 at location 11.
    keys = [(1, 10), (1, 11), (2, 10), (3, 20), (4, 10)]
    point = np.array([[100.0] * 6, [50.0] * 6, [7.0] * 6, [9.0] * 6, [30.0] * 6])
    lo, hi = point * 0.5, point * 1.5
    return lifecycle_apply(
        keys=keys,
        point=point,
        bounds=[lo, hi],
        months=MONTHS,
        history=np.asarray(history),
        lifecycles=lifecycles,
    )


def test_a_new_product_takes_its_like_at_the_same_location_times_factor_and_ramp():
    lifecycles = {2: Lifecycle(like=1, factor=0.8, ramp_months=3, launch=M0)}
    point, (lo, hi), reasons, _ = _apply(lifecycles, [60, 60, 0, 60, 60])
    # 100 x 0.8 x (1/3, 2/3, 1, 1, 1, 1)
    assert point[2] == pytest.approx([80 / 3, 160 / 3, 80, 80, 80, 80])
    assert lo[2] == pytest.approx([40 / 3, 80 / 3, 40, 40, 40, 40])
    assert hi[2] == pytest.approx([40, 80, 120, 120, 120, 120])
    assert reasons == ["", "", "like", "", ""]
    # The others are the engine's.
    assert point[0] == pytest.approx([100] * 6) and point[3] == pytest.approx([9] * 6)


def test_where_the_like_does_not_sell_its_total_stands_in():
    lifecycles = {3: Lifecycle(like=1, factor=0.5)}
    point, _, reasons, sources = _apply(lifecycles, [60, 60, 60, 0, 60])
    assert point[3] == pytest.approx([75] * 6)  # (100 + 50) x 0.5
    assert reasons[3] == "like total"
    assert sources[3] == 0  # the like's first series lends its pattern and error


def test_enough_history_keeps_the_engine_forecast():
    lifecycles = {2: Lifecycle(like=1, factor=0.8)}
    point, _, reasons, sources = _apply(lifecycles, [60, 60, MIN_HISTORY_MONTHS, 60, 60])
    assert point[2] == pytest.approx([7] * 6)
    assert (reasons[2], sources[2]) == ("", None)
    point, _, _, _ = _apply(lifecycles, [60, 60, MIN_HISTORY_MONTHS - 1, 60, 60])
    assert point[2] == pytest.approx([80] * 6)


def test_the_forecast_and_its_bounds_are_zero_from_the_end_of_life_month():
    lifecycles = {4: Lifecycle(end_of_life=M0 + 4), 2: Lifecycle(like=1, end_of_life=M0 + 2)}
    point, (lo, hi), reasons, _ = _apply(lifecycles, [60, 60, 0, 60, 60])
    assert point[4] == pytest.approx([30, 30, 30, 30, 0, 0])
    assert lo[4] == pytest.approx([15, 15, 15, 15, 0, 0])
    assert hi[4] == pytest.approx([45, 45, 45, 45, 0, 0])
    assert point[2] == pytest.approx([100, 100, 0, 0, 0, 0])
    assert reasons[4] == "end of life" and reasons[2] == "like, end of life"


# --- through a forecast run --------------------------------------------------------------


@pytest.fixture
def lifecycle_company(company):
    """BIKE-3, not sold yet, like BIKE-1 at 80% over a 3-month ramp from the cycle's
    month; LAMP-2 ends four months into the horizon."""
    bike1 = company["products"][0]
    new = ProductFactory(
        sku="BIKE-3",
        family="Bikes",
        like_product=bike1,
        like_factor=Decimal("0.8"),
        launch_ramp_months=3,
        launch_month=CYCLE_MONTH,
    )
    ending = company["products"][3]
    ending.end_of_life_month = sop_services.add_months(CYCLE_MONTH, 4)
    ending.save()
    return {**company, "new": new, "ending": ending}


def _forecast(run, product) -> dict:
    return {
        (f.location_id, f.month): f
        for f in StatisticalForecast.objects.filter(run=run, product=product)
    }


@pytest.fixture
def lifecycle_published(lifecycle_company, cycle, planner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.forecast_run_start(cycle=cycle, user=planner, chunk_series=2)
    run.refresh_from_db()
    return run


def test_a_run_forecasts_a_product_without_sales_from_its_like(
    lifecycle_company, lifecycle_published
):
    run = lifecycle_published
    like = _forecast(run, lifecycle_company["products"][0])
    new = _forecast(run, lifecycle_company["new"])
    assert set(new) == set(like)  # both warehouses, every month
    ramp = [1 / 3, 2 / 3, 1]
    for (location, month), row in new.items():
        h = month_index(month) - month_index(CYCLE_MONTH)
        share = 0.8 * (ramp[h] if h < 3 else 1)
        source = like[(location, month)]
        assert row.value == pytest.approx(source.value * share)
        assert row.hi95 == pytest.approx(source.hi95 * share)
        assert row.lo80 == pytest.approx(source.lo80 * share)
    fits = SeriesFit.objects.filter(run=run, product=lifecycle_company["new"])
    assert {f.model for f in fits} == {LIKE_MODEL}
    assert {f.flag for f in fits} == {"like"}
    # Its forecast error, for safety stock, is its like's times the factor.
    for fit in fits:
        source = SeriesFit.objects.get(
            run=run, product=lifecycle_company["products"][0], location=fit.location
        )
        assert fit.pattern == source.pattern
        assert fit.error_std == pytest.approx(source.error_std * 0.8)
        assert fit.error_quantiles["0.95"] == pytest.approx(
            [v * 0.8 for v in source.error_quantiles["0.95"]]
        )
    # The consensus starts from it.
    consensus = ConsensusDemand.objects.filter(product=lifecycle_company["new"]).count()
    assert consensus == len(new)


def test_a_run_forecasts_zero_from_the_end_of_life_month(lifecycle_company, lifecycle_published):
    rows = _forecast(lifecycle_published, lifecycle_company["ending"])
    end = lifecycle_company["ending"].end_of_life_month
    before = [r for (_, m), r in rows.items() if m < end]
    after = [r for (_, m), r in rows.items() if m >= end]
    assert len(after) == 2 * (18 - 4) and len(before) == 2 * 4
    assert all(r.value == r.lo95 == r.hi95 == 0 for r in after)
    assert all(r.value > 0 and r.hi95 > 0 for r in before)


def test_a_sku_refresh_keeps_the_like_forecast(
    lifecycle_company, lifecycle_published, cycle, planner
):
    new = lifecycle_company["new"]
    before = {k: r.value for k, r in _forecast(lifecycle_published, new).items()}
    services.forecast_sku_refresh(cycle=cycle, product=new, user=planner)
    after = {k: r.value for k, r in _forecast(lifecycle_published, new).items()}
    assert after == pytest.approx(before)
    # Only the new product's rows were rewritten: its like keeps one row per month.
    like = lifecycle_company["products"][0]
    assert StatisticalForecast.objects.filter(run=lifecycle_published, product=like).count() == 36


def test_once_it_has_enough_history_the_product_has_its_own_forecast(
    lifecycle_company, cycle, planner, django_capture_on_commit_callbacks
):
    new, north = lifecycle_company["new"], lifecycle_company["locations"][0]
    SalesHistory.objects.bulk_create(
        SalesHistory(
            product=new,
            location=north,
            month=sop_services.add_months(CYCLE_MONTH, -k),
            quantity=Decimal(12),
        )
        for k in range(1, MIN_HISTORY_MONTHS + 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.forecast_run_start(cycle=cycle, user=planner)
    run.refresh_from_db()
    rows = _forecast(run, new)
    # North has four months of 12: the engine's own level, in full from the launch month.
    north_rows = [r.value for (loc, _), r in rows.items() if loc == north.pk]
    assert north_rows == pytest.approx([12] * 18, abs=0.5)
    fit = SeriesFit.objects.get(run=run, product=new, location=north)
    assert fit.model != LIKE_MODEL
    # South has no sales yet: still its like's.
    south = SeriesFit.objects.get(run=run, product=new, location=lifecycle_company["locations"][1])
    assert south.model == LIKE_MODEL


def test_the_grid_and_the_review_say_why_a_product_is_new_or_ending(
    lifecycle_company, lifecycle_published, cycle, planner, client
):
    client.force_login(planner)
    bikes = client.get(f"/demand/grid/?cycle={cycle.pk}&family=Bikes").content.decode()
    # One badge on each warehouse's row.
    assert bikes.count(">New: like BIKE-1 at 80.0 %, ramp 3 months</span>") == 2
    lamps = client.get(f"/demand/grid/?cycle={cycle.pk}&family=Lamps").content.decode()
    assert lamps.count(">Ends Mar 2027</span>") == 2
    new = lifecycle_company["new"]
    review = client.get(f"/demand/?cycle={cycle.pk}&sku={new.pk}").content.decode()
    assert "New: like BIKE-1 at 80.0 %, ramp 3 months" in review


def test_a_new_product_with_enough_history_loses_its_new_badge(
    lifecycle_company, lifecycle_published, cycle, planner, client
):
    SeriesFit.objects.filter(product=lifecycle_company["new"]).update(model="ses")
    client.force_login(planner)
    bikes = client.get(f"/demand/grid/?cycle={cycle.pk}&family=Bikes").content.decode()
    assert "New: like" not in bikes
