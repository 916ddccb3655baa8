"""History cleansing, the events layer and the measured lift: hand-computed figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from demand import services
from demand.choices import OverrideKind, ReasonCode
from demand.events import (
    EVENT_COLUMNS,
    events_layer,
    history_event_mask,
    lift_error,
    measured_lift,
)
from demand.forecasting import cleanse, forecast_series, history_marks
from demand.models import (
    ConsensusDemand,
    DemandPlanSnapshot,
    ForecastRun,
    StatisticalForecast,
)
from demand.selectors import event_lifts
from sop.choices import EffectKind, EventScope, EventStatus, JobStatus, Role
from sop.models import Event, SalesHistory
from tests.demand.conftest import CYCLE_MONTH

NOV, DEC = CYCLE_MONTH, dt.date(2026, 12, 1)


def event(**fields) -> dict:
    row = {
        "event": 1,
        "scope": EventScope.PRODUCT,
        "family": "",
        "product": 1,
        "locations": (),
        "start": 100,
        "end": 100,
        "effect_kind": EffectKind.PERCENT,
        "effect_value": 0.0,
        "dip_months": 0,
        "dip_percent": 0.0,
    }
    return row | fields


def events(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EVENT_COLUMNS)


# --- cleansing ---------------------------------------------------------------------------


def test_a_marked_spike_is_replaced_by_the_level_around_it():
    y = np.full(30, 10.0)
    y[12] = 30
    marked = np.arange(30) == 12
    cleansed = cleanse(y, marked)
    assert cleansed[12] == 10
    assert (np.delete(cleansed, 12) == 10).all()
    # The input is left as it was.
    assert y[12] == 30


def test_the_forecast_is_fitted_on_the_cleansed_history():
    y = np.full(30, 10.0)
    y[[12, 24]] = 40
    marked = np.isin(np.arange(30), [12, 24])
    assert forecast_series(y, horizon=3, marked=marked).point == pytest.approx([10, 10, 10])
    # Without the marks the spikes pull the forecast up.
    assert forecast_series(y, horizon=3).point.mean() > 10


def test_months_before_the_first_sale_are_not_cleansed():
    y = np.r_[np.zeros(5), np.full(20, 8.0)]
    marked = np.zeros(25, bool)
    marked[[2, 10]] = True
    cleansed = cleanse(np.where(np.arange(25) == 10, 30.0, y), marked)
    assert cleansed[2] == 0
    assert cleansed[10] == 8


def test_an_unrecorded_outlier_is_marked_and_a_recorded_event_is_kept_marked():
    y = np.tile([9.0, 11.0], 15)
    y[20] = 200
    nothing = np.zeros(30, bool)
    assert np.flatnonzero(history_marks(y, nothing)).tolist() == [20]
    recorded = np.arange(30) == 5
    assert np.flatnonzero(history_marks(y, recorded)).tolist() == [5, 20]


def test_past_events_mark_their_effect_and_dip_months_on_their_series():
    keys = [(1, 10), (1, 20), (2, 10)]
    families = np.array(["A", "A", "B"])
    mask = history_event_mask(
        keys,
        families,
        98,
        6,
        events(
            event(start=100, end=100, dip_months=2),
            event(event=2, scope=EventScope.FAMILY, family="B", product=None, start=98, end=98),
            event(event=3, product=1, locations=(20,), start=103, end=103),
        ),
    )
    assert mask.astype(int).tolist() == [
        [0, 0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1, 1],
        [1, 0, 0, 0, 0, 0],
    ]


# --- the events layer --------------------------------------------------------------------


def stat_frame() -> pd.DataFrame:
    """Two SKUs of family F at location 1: SKU 1 sells 60 a month, SKU 2 40."""
    return pd.DataFrame(
        [(p, 1, "F", m, v) for p, v in ((1, 60.0), (2, 40.0)) for m in (100, 101, 102)],
        columns=["product", "location", "family", "month", "statistical"],
    )


def test_a_percent_event_adds_its_share_and_the_dip_takes_from_the_next_month():
    layer = events_layer(
        stat_frame(),
        events(event(effect_value=50.0, dip_months=1, dip_percent=-20.0)),
    )
    # SKU 1: +50% of 60 in month 100, -20% of 60 in month 101; SKU 2 untouched.
    assert layer.tolist() == [30, -12, 0, 0, 0, 0]


def test_a_unit_event_is_split_over_its_scope_in_whole_units_that_sum_exactly():
    layer = events_layer(
        stat_frame(),
        events(
            event(
                scope=EventScope.FAMILY,
                family="F",
                product=None,
                start=102,
                end=102,
                effect_kind=EffectKind.UNITS,
                effect_value=7.0,
            )
        ),
    )
    # 7 units at 60:40 are 4.2 and 2.8: floors 4 and 2, the last unit to the larger
    # remainder (SKU 2).
    assert layer.tolist() == [0, 0, 4, 0, 0, 3]


def test_overlapping_events_add_up_and_never_take_a_row_below_zero():
    layer = events_layer(
        stat_frame(),
        events(
            event(scope=EventScope.ALL, product=None, start=102, end=102, effect_value=10.0),
            event(
                event=2,
                product=2,
                start=102,
                end=102,
                effect_kind=EffectKind.UNITS,
                effect_value=-200.0,
            ),
            event(event=3, product=1, locations=(2,), start=102, end=102, effect_value=90.0),
        ),
    )
    # SKU 1: +10% of 60; the event at location 2 misses it. SKU 2: +4 - 200, stopped at -40.
    assert layer.tolist() == [0, 0, 6, 0, 0, -40]


# --- measured lift -----------------------------------------------------------------------


def test_the_measured_lift_is_the_actual_against_the_cleansed_baseline():
    keys = [(1, 1), (1, 2)]
    actual = np.array([[10.0, 10, 25, 10], [20, 20, 30, 20]])
    baseline = np.array([[10.0, 10, 10, 10], [20, 20, 20, 20]])
    lifts = measured_lift(
        keys,
        np.array(["F", "F"]),
        98,
        actual,
        baseline,
        events(event(start=100, end=100, effect_value=100.0)),
    )
    row = lifts.iloc[0]
    # Baseline 10 + 20, actual 25 + 30: 25 units, 83.3%; planned 100% of 30 = 30 units.
    assert (row.baseline, row.actual, row.lift_units) == (30, 55, 25)
    assert row.lift_pct == pytest.approx(100 * 25 / 30)
    assert (row.planned_units, row.planned_pct) == (30, 100)
    assert lift_error(lifts) == pytest.approx(100 - 100 * 25 / 30)


# --- the consensus: statistical + events + overrides -------------------------------------


@pytest.fixture
def bikes_forecast(cycle, company):
    """A published forecast: BIKE-1 100 / 60 (NORTH / SOUTH) in November, twice in December."""
    run = ForecastRun.objects.create(
        cycle=cycle, status=JobStatus.SUCCEEDED, is_published=True, published_at=timezone.now()
    )
    bike1, bike2 = company["products"][:2]
    north, south = company["locations"]
    StatisticalForecast.objects.bulk_create(
        StatisticalForecast(
            run=run,
            product=product,
            location=location,
            month=month,
            value=value * factor,
            lo80=0,
            hi80=0,
            lo95=0,
            hi95=0,
        )
        for product, location, value in (
            (bike1, north, 100),
            (bike1, south, 60),
            (bike2, north, 40),
        )
        for month, factor in ((NOV, 1), (DEC, 2))
    )
    return run


def make_event(code: str, **fields) -> Event:
    defaults = {
        "name": code,
        "kind": "promotion",
        "scope": EventScope.PRODUCT,
        "start_month": NOV,
        "end_month": NOV,
        "effect_kind": EffectKind.PERCENT,
        "status": EventStatus.CONFIRMED,
    }
    return Event.objects.create(code=code, **(defaults | fields))


def test_consensus_is_statistical_plus_confirmed_events_plus_overrides(
    bikes_forecast, cycle, company, planner, client
):
    bike1, bike2 = company["products"][:2]
    make_event(
        "PROMO",
        product=bike1,
        effect_value=Decimal("50"),
        dip_months=1,
        dip_percent=Decimal("-20"),
    )
    make_event("MAYBE", product=bike2, effect_value=Decimal("100"), status=EventStatus.PROPOSED)
    services.consensus_rebuild(cycle=cycle)
    rows = {
        (r.product.sku, r.location.code, r.month): (r.statistical, r.events, r.value)
        for r in ConsensusDemand.objects.filter(cycle=cycle).select_related("product", "location")
    }
    assert rows[("BIKE-1", "NORTH", NOV)] == (100, 50, 150)
    assert rows[("BIKE-1", "SOUTH", NOV)] == (60, 30, 90)
    assert rows[("BIKE-1", "NORTH", DEC)] == (200, -40, 160)
    # A proposed event is not in the plan.
    assert rows[("BIKE-2", "NORTH", NOV)] == (40, 0, 40)

    # A +10% override on the family is 10% over the statistical forecast with its events.
    services.override_save(
        cycle=cycle,
        user=planner,
        family="Bikes",
        month=NOV,
        kind=OverrideKind.PERCENT,
        value=Decimal("10"),
        reason=ReasonCode.PROMOTION,
        comment="Shelf space",
        expected_version=None,
    )
    nov = ConsensusDemand.objects.filter(cycle=cycle, month=NOV)
    assert sum(r.value for r in nov) == round((150 + 90 + 40) * 1.1)
    bike1_north = nov.get(product=bike1, location__code="NORTH")
    assert bike1_north.events == 50
    assert bike1_north.value == bike1_north.statistical + 50 + bike1_north.override_delta

    # The frozen plan keeps the layer; the review shows it as a row and as chart bars.
    services.demand_plan_freeze(cycle=cycle)
    frozen = DemandPlanSnapshot.objects.get(
        cycle=cycle, product=bike1, location__code="SOUTH", month=NOV
    )
    assert (frozen.statistical, frozen.events) == (60, 30)
    client.force_login(planner)
    page = client.get(f"/demand/?cycle={cycle.pk}&sku={bike1.pk}").content.decode()
    assert '<tr class="event-effect-row">' in page
    assert '"name":"Eventeffect"' in page.replace(" ", "").replace("&quot;", '"')


def test_an_event_confirmed_on_the_calendar_moves_the_plan_under_review_at_once(
    bikes_forecast, cycle, company, make_user, django_capture_on_commit_callbacks
):
    from sop import events as calendar

    bike1 = company["products"][0]
    services.consensus_rebuild(cycle=cycle)
    marketing = make_user(Role.MARKETING)
    with django_capture_on_commit_callbacks(execute=True):
        promo = calendar.event_create(
            user=marketing, code="PROMO", name="Spring", kind="promotion",
            scope=EventScope.PRODUCT, product=bike1, start_month=NOV, end_month=NOV,
            effect_kind=EffectKind.PERCENT, effect_value=Decimal("50"),
            status=EventStatus.CONFIRMED,
        )  # fmt: skip
    nov = ConsensusDemand.objects.filter(cycle=cycle, month=NOV, product=bike1)
    assert sorted(nov.values_list("statistical", "events", "value")) == [
        (60, 30, 90),
        (100, 50, 150),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        calendar.event_cancel(event=promo, version=promo.version, user=marketing)
    assert sorted(nov.values_list("events", "value")) == [(0, 60), (0, 100)]


def test_the_event_lift_page_lists_planned_beside_measured_lift(cycle, company, client, planner):
    bike1 = company["products"][0]
    month = dt.date(2026, 5, 1)
    history = SalesHistory.objects.filter(product=bike1, month=month)
    before = {h.location_id: float(h.quantity) for h in history}
    history.update(quantity=Decimal(1000))
    make_event(
        "MAY",
        product=bike1,
        start_month=month,
        end_month=month,
        effect_value=Decimal("100"),
    )
    rows, error = event_lifts(before=cycle.month)
    (row,) = rows
    assert row.actual == 2000
    # The baseline is near what the SKU sold that month before the spike (noise 4 a month).
    assert row.baseline == pytest.approx(sum(before.values()), rel=0.15)
    assert row.lift_pct == pytest.approx(100 * (2000 - row.baseline) / row.baseline)
    assert error == pytest.approx(abs(row.lift_pct - 100))
    client.force_login(planner)
    page = client.get(f"/demand/event-lift/?cycle={cycle.pk}")
    assert page.status_code == 200
    assert b"MAY" in page.content
