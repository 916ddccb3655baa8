from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from demand import forecasting, services
from demand.models import ConsensusDemand, ForecastRun, SeriesFit, StatisticalForecast
from sop.choices import JobStatus, Role
from sop.models import SalesHistory
from sop.runs import STALE_AFTER, RunInProgress, run_begin, run_chunk, run_finish, runs_fail_stale

pytestmark = pytest.mark.django_db

SERIES = 8  # 4 SKUs x 2 locations in the company fixture


def consensus_of(cycle) -> dict:
    return {
        (c.product_id, c.location_id, c.month): c.value
        for c in ConsensusDemand.objects.filter(cycle=cycle)
    }


def test_a_run_forecasts_every_series_in_chunks_and_publishes(published, cycle):
    assert published.status == JobStatus.SUCCEEDED
    assert published.is_published
    assert published.chunks_total == 2  # two SKUs (four series) per chunk
    assert published.chunks_done == 2
    assert published.progress == 100
    assert published.series_count == SERIES
    assert StatisticalForecast.objects.filter(run=published).count() == SERIES * 18
    assert SeriesFit.objects.filter(run=published).count() == SERIES
    fit = SeriesFit.objects.filter(run=published).first()
    # Supply planning reads the error std of every month of the horizon.
    assert len(fit.error_std_by_horizon) == 18
    assert fit.error_std == fit.error_std_by_horizon[0] > 0
    # ... and, for safety stock, the cumulative error quantiles from 50 % up, month by month.
    assert fit.uncertainty == "backtest"
    # PostgreSQL's jsonb keeps keys in its own order: the levels, not their order, matter.
    levels = sorted(fit.error_quantiles, key=float)
    assert levels == ["0.5", "0.8", "0.9", "0.95", "0.975", "0.98", "0.99"]
    assert all(len(months) == 18 for months in fit.error_quantiles.values())
    assert 0 < fit.error_quantiles["0.9"][0] < fit.error_quantiles["0.99"][0]
    assert fit.error_quantiles["0.95"][0] < fit.error_quantiles["0.95"][-1]
    assert fit.flag is not None and fit.model
    first = StatisticalForecast.objects.filter(run=published).order_by("month").first()
    assert first.month == cycle.month
    assert first.lo95 <= first.lo80 <= first.value <= first.hi80 <= first.hi95
    # Without overrides the consensus is the statistical forecast.
    rows = ConsensusDemand.objects.filter(cycle=cycle)
    assert rows.count() == SERIES * 18
    assert all(r.value == r.statistical and r.override_delta == 0 for r in rows)


def test_the_forecast_uses_only_history_before_the_cycle(cycle, planner, published):
    # A sale recorded in the cycle's own month must not change the forecast.
    product = StatisticalForecast.objects.filter(run=published).first()
    SalesHistory.objects.create(
        product_id=product.product_id,
        location_id=product.location_id,
        month=cycle.month,
        quantity=Decimal("100000"),
    )
    services.forecast_sku_refresh(cycle=cycle, product=product.product, user=planner)
    again = StatisticalForecast.objects.get(
        run=published, product=product.product, location=product.location, month=product.month
    )
    assert again.value == pytest.approx(product.value)


def test_a_killed_run_leaves_the_previous_published_forecast(
    published, cycle, planner, monkeypatch, django_capture_on_commit_callbacks
):
    before = consensus_of(cycle)
    real = forecasting.forecast_series
    calls = {"n": 0}

    def dies_in_the_second_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        return real(*args, **kwargs)

    monkeypatch.setattr(forecasting, "forecast_series", dies_in_the_second_chunk)
    with (
        pytest.raises(SystemExit),
        django_capture_on_commit_callbacks(execute=True),
    ):
        killed = services.forecast_run_start(cycle=cycle, user=planner, chunk_series=4)
    killed.refresh_from_db()
    assert killed.status == JobStatus.RUNNING
    assert killed.chunks_done == 1
    assert not killed.is_published
    published.refresh_from_db()
    assert published.is_published
    assert consensus_of(cycle) == before

    # Nothing reports any more: the stale check fails it, still keeping the old forecast.
    later = dt.datetime.now(dt.UTC) + STALE_AFTER + dt.timedelta(seconds=1)
    assert runs_fail_stale(now=later) == 1
    killed.refresh_from_db()
    assert killed.status == JobStatus.FAILED
    assert "published forecast was kept" in killed.error
    assert ForecastRun.objects.get(cycle=cycle, is_published=True) == published

    # Re-running is safe: the next run publishes and the consensus is rebuilt from it.
    monkeypatch.setattr(forecasting, "forecast_series", real)
    with django_capture_on_commit_callbacks(execute=True):
        rerun = services.forecast_run_start(cycle=cycle, user=planner, chunk_series=4)
    rerun.refresh_from_db()
    assert rerun.is_published and rerun.status == JobStatus.SUCCEEDED
    published.refresh_from_db()
    assert not published.is_published
    assert consensus_of(cycle) == pytest.approx(before)


def test_a_failing_chunk_fails_the_run_with_its_error(
    published, cycle, planner, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise ValueError("bad history")

    monkeypatch.setattr(forecasting, "forecast_series", broken)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.forecast_run_start(cycle=cycle, user=planner, chunk_series=4)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "bad history" in run.error
    assert not run.is_published
    published.refresh_from_db()
    assert published.is_published


def test_a_cancelled_run_stops_and_is_never_published(published, cycle, planner):
    run = ForecastRun.objects.create(cycle=cycle)
    chunks = run_begin("forecast", run.pk, {"chunk_series": 4})
    assert run_chunk("forecast", run.pk, 0, chunks[0])
    services.forecast_run_cancel(run=run, user=planner)
    assert not run_chunk("forecast", run.pk, 1, chunks[1])
    run_finish("forecast", run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert not run.is_published
    assert ForecastRun.objects.get(cycle=cycle, is_published=True) == published


def test_a_redelivered_chunk_is_counted_and_stored_once(cycle):
    run = ForecastRun.objects.create(cycle=cycle)
    chunks = run_begin("forecast", run.pk, {"chunk_series": 4})
    for _ in range(2):
        run_chunk("forecast", run.pk, 0, chunks[0])
    # A chunk that died after writing but before being marked done runs from scratch.
    ForecastRun.objects.filter(pk=run.pk).update(chunks_finished=[], chunks_done=0)
    run_chunk("forecast", run.pk, 0, chunks[0])
    run.refresh_from_db()
    assert run.chunks_done == 1
    assert StatisticalForecast.objects.filter(run=run).count() == 4 * 18
    run_finish("forecast", run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "Only 1 of 2 chunks finished" in run.error


def test_a_second_run_cannot_start_while_one_is_active(cycle, planner):
    ForecastRun.objects.create(cycle=cycle, status=JobStatus.RUNNING)
    with pytest.raises(RunInProgress):
        services.forecast_run_start(cycle=cycle, user=planner)


def test_only_a_demand_planner_runs_the_forecast(cycle, make_user):
    for role in (Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE):
        with pytest.raises(PermissionDenied):
            services.forecast_run_start(cycle=cycle, user=make_user(role))
    assert not ForecastRun.objects.exists()


def test_a_sku_reforecast_replaces_only_that_sku(published, cycle, planner, company):
    bike, other = company["products"][0], company["products"][2]
    before_other = list(
        StatisticalForecast.objects.filter(run=published, product=other).values_list(
            "value", flat=True
        )
    )
    SalesHistory.objects.filter(product=bike, month=dt.date(2026, 10, 1)).update(
        quantity=Decimal("5000")
    )
    old_total = sum(
        StatisticalForecast.objects.filter(run=published, product=bike).values_list(
            "value", flat=True
        )
    )
    assert services.forecast_sku_refresh(cycle=cycle, product=bike, user=planner) == 2
    rows = StatisticalForecast.objects.filter(run=published, product=bike)
    assert rows.count() == 2 * 18
    assert sum(r.value for r in rows) > old_total
    assert (
        list(
            StatisticalForecast.objects.filter(run=published, product=other).values_list(
                "value", flat=True
            )
        )
        == before_other
    )
    consensus = sum(
        ConsensusDemand.objects.filter(cycle=cycle, product=bike).values_list("value", flat=True)
    )
    assert consensus == pytest.approx(sum(r.value for r in rows))


@pytest.mark.django_db(transaction=True)
def test_the_forecast_command_runs_and_waits(cycle):
    # Transactional: the run is enqueued on commit, which a test transaction never does.
    out = io.StringIO()
    call_command("forecast", "--cycle", "2026-11", "--wait", "60", stdout=out)
    assert "succeeded: 8 series" in out.getvalue()
    assert ForecastRun.objects.get(cycle=cycle).is_published
