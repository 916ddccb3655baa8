from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from demand import accuracy, demo, forecasting, selectors
from demand.choices import ExceptionFilter
from demand.models import DemandPlanSnapshot, ForecastRun
from sop.choices import Stage
from sop.formatting import format_number
from sop.models import Cycle, SalesHistory
from tests.factories import CycleFactory, LocationFactory, ProductFactory


def test_group_metrics_match_the_engines_definitions():
    rng = np.random.default_rng(3)
    actual = rng.integers(0, 50, 12).astype(float)
    actual[3] = 0  # MAPE skips zero actuals, WAPE and bias do not
    plans = {m: actual + rng.normal(0, 8, 12) for m in accuracy.METHODS}
    frame = pd.DataFrame(
        {"sku": "A", "plan": np.repeat([1, 2, 3], 4), "month": np.arange(12), "actual": actual}
        | plans
    )
    scale = pd.Series({"A": 4.0})
    row = accuracy.accuracy_by(frame, ["sku"], scale).loc["A"]
    for m, f in plans.items():
        assert row[f"{m}_mape"] == pytest.approx(forecasting.mape(actual, f))
        assert row[f"{m}_wape"] == pytest.approx(forecasting.wape(actual, f))
        assert row[f"{m}_bias"] == pytest.approx(forecasting.bias(actual, f))
        assert row[f"{m}_mase"] == pytest.approx(np.mean(np.abs(actual - f)) / 4.0)
    assert row["months"] == 12


def test_a_family_is_judged_on_its_total_not_on_its_skus():
    # Two SKUs err in opposite directions: each is 50% off, the family is exact.
    frame = pd.DataFrame(
        {
            "family": ["F", "F"],
            "sku": ["A", "B"],
            "plan": [1, 1],
            "month": [1, 1],
            "actual": [10.0, 10.0],
            "naive": [15.0, 5.0],
            "statistical": [15.0, 5.0],
            "consensus": [15.0, 5.0],
        }
    )
    assert accuracy.accuracy_by(frame, ["family"]).loc["F", "consensus_wape"] == 0
    assert accuracy.accuracy_by(frame, ["sku"])["consensus_wape"].tolist() == [50, 50]


def test_the_mase_scale_is_the_in_sample_seasonal_naive_error():
    y = np.array([0, 0, *np.arange(1, 27)], float)  # starts selling in the third month
    wide = pd.DataFrame([y], index=["A"])
    assert accuracy.seasonal_naive_scale(wide)["A"] == pytest.approx(
        forecasting.mase_scale(y[2:], 12)
    )


@pytest.mark.django_db
def test_past_cycles_are_built_frozen_without_look_ahead(company, cycle, past_cycles_build):
    built = past_cycles_build(before=cycle.month, cycles=2)
    assert [c.month for c in built] == [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]
    assert all(
        c.stage == Stage.APPROVED for c in Cycle.objects.filter(pk__in=[c.pk for c in built])
    )
    september = built[0]
    snap = DemandPlanSnapshot.objects.filter(cycle=september)
    assert snap.count() == 8 * september.horizon_months
    # The seasonal naive of September 2026 is September 2025's sale.
    row = snap.get(
        product=company["products"][0], location=company["locations"][0], month=dt.date(2026, 9, 1)
    )
    assert row.naive == float(
        SalesHistory.objects.get(
            product=company["products"][0],
            location=company["locations"][0],
            month=dt.date(2025, 9, 1),
        ).quantity
    )
    # Its forecast is the engine's on the history up to August 2026 only.
    run = ForecastRun.objects.get(cycle=september, is_published=True)
    assert run.series_count == 8
    history = SalesHistory.objects.filter(
        product=company["products"][0],
        location=company["locations"][0],
        month__lt=dt.date(2026, 9, 1),
    ).order_by("month")
    expected = forecasting.forecast_series(
        np.array([float(h.quantity) for h in history]), horizon=september.horizon_months
    )
    assert row.statistical == pytest.approx(expected.point[0])
    # Building again keeps what exists.
    assert past_cycles_build(before=cycle.month, cycles=2) == []


@pytest.mark.django_db
def test_the_accuracy_panel_has_numbers_for_sku_family_and_total(
    company, cycle, published, past_cycles_build
):
    past_cycles_build(before=cycle.month, cycles=3)
    bike = company["products"][0]
    rows = selectors.accuracy_summary(
        cycle=cycle, selection=selectors.Selection(family="Bikes", product=bike)
    )
    assert [r["label"] for r in rows] == ["BIKE-1", "Bikes (family)", "Total"]
    # 3 plans: Aug covers Aug-Oct, Sep covers Sep-Oct, Oct covers Oct = 6 plan-months.
    assert [r["months"] for r in rows] == [6, 6, 6]
    for r in rows:
        for metrics in r["methods"].values():
            assert metrics["wape"] is not None and metrics["wape"] >= 0
            assert metrics["mase"] is not None and metrics["mase"] > 0
        assert r["fva_statistical"] == pytest.approx(
            r["methods"]["naive"]["wape"] - r["methods"]["statistical"]["wape"]
        )


@pytest.mark.django_db
def test_the_cached_accuracy_is_recomputed_after_an_import(
    company, cycle, published, past_cycles_build
):
    from django.utils import timezone

    from sop.choices import JobStatus
    from sop.models import ImportJob

    past_cycles_build(before=cycle.month, cycles=3)
    selection = selectors.Selection(family="Bikes", product=company["products"][0])
    before = selectors.accuracy_summary(cycle=cycle, selection=selection)
    # Sales of a past month revised (as an import would), but no import recorded yet:
    # the cached figures stand.
    SalesHistory.objects.filter(product__family="Bikes").update(quantity=0)
    assert selectors.accuracy_summary(cycle=cycle, selection=selection) == before
    ImportJob.objects.create(
        entity="sales_history",
        file_name="revised.csv",
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )
    after = selectors.accuracy_summary(cycle=cycle, selection=selection)
    assert after[0]["methods"]["consensus"]["wape"] != before[0]["methods"]["consensus"]["wape"]


@pytest.mark.django_db
def test_bias_and_accuracy_exceptions_flag_the_sku_whose_plans_missed(
    company, cycle, published, past_cycles_build
):
    past_cycles_build(before=cycle.month, cycles=2)
    lamp = company["products"][3]
    # LAMP-2's past plans said three times what it sold; every other plan was right (the
    # demo's past plans follow a biased sales input for one family).
    for snap in DemandPlanSnapshot.objects.filter(month__lt=cycle.month):
        actual = SalesHistory.objects.filter(
            product=snap.product, location=snap.location, month=snap.month
        ).get()
        snap.consensus = (3 if snap.product == lamp else 1) * float(actual.quantity)
        snap.save()
    for kind in (ExceptionFilter.LARGE_BIAS, ExceptionFilter.LOW_ACCURACY):
        assert selectors.exception_products(cycle=cycle, kind=kind) == [lamp.pk]


@pytest.mark.django_db
def test_the_demo_step_starts_the_first_run_once(
    company, cycle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = demo.demand_demo_build(cycle=cycle)
    run.refresh_from_db()
    assert run.is_published
    # Seeding again changes nothing.
    assert demo.demand_demo_build(cycle=cycle) == run


@pytest.mark.django_db
def test_a_company_too_big_for_in_process_past_cycles_gets_none(
    company, cycle, past_cycles_build, monkeypatch
):
    from sop import demo_cycles

    monkeypatch.setattr(demo_cycles, "DEMO_HISTORY_MAX_SERIES", 7)  # the company has 8
    assert past_cycles_build(before=cycle.month, cycles=2) == []
    assert not Cycle.objects.filter(stage=Stage.APPROVED).exists()


@pytest.mark.django_db
def test_the_mase_counts_months_without_a_sale_as_zero_on_the_calendar():
    # 15 months of history, Jul 2025 - Sep 2026, with sales only in four of them:
    # Jul 10, Sep 6, Jul 10, Sep 4. On the calendar (zeros between) the seasonal naive
    # misses |10-10| + |0-0| + |4-6| = 2 over 3 months: a scale of 0.67. Lagging by
    # column position instead would difference 10, 6, 10, 4 as if consecutive: 4.67.
    product = ProductFactory(sku="GAPPY", family="Gaps")
    location = LocationFactory(code="DC")
    sales = {(2025, 7): 10, (2025, 9): 6, (2026, 7): 10, (2026, 9): 4, (2026, 10): 5}
    SalesHistory.objects.bulk_create(
        SalesHistory(product=product, location=location, month=dt.date(y, m, 1), quantity=q)
        for (y, m), q in sales.items()
    )
    plan = CycleFactory(month=dt.date(2026, 10, 1))
    DemandPlanSnapshot.objects.create(
        cycle=plan,
        product=product,
        location=location,
        month=dt.date(2026, 10, 1),
        naive=7,
        statistical=5,
        consensus=5,
    )
    cycle = CycleFactory(month=dt.date(2026, 11, 1))
    rows = selectors.accuracy_summary(
        cycle=cycle, selection=selectors.Selection(family="Gaps", product=product)
    )
    # The naive plan missed October by 2: 2 / (2/3) = 3 scaled errors.
    assert rows[0]["label"] == "GAPPY"
    assert rows[0]["methods"]["naive"]["mase"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("fva", "tone", "text"),
    [
        (-0.04, "", "\N{PLUS-MINUS SIGN}0.0 pts"),  # was "-0.0" in red
        (0.04, "", "\N{PLUS-MINUS SIGN}0.0 pts"),
        (-0.9, "", "-0.9 pts"),
        (-1.2, "bad", "-1.2 pts"),
        (2.5, "good", "+2.5 pts"),
        (None, "", "\N{EM DASH}"),
    ],
)
def test_forecast_value_added_is_coloured_only_from_one_point(fva, tone, text):
    assert selectors.fva_tone(fva) == tone
    assert format_number(fva, "pct", signed=True) == text
    assert selectors.FVA_LEGEND == (
        "Green: better for the business, red: worse, by at least 1.0 pts for forecast value "
        "added. No colour: a smaller difference."
    )
