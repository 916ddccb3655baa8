"""Forecast runs: a kind of the core's run kernel (`sop.runs`), and the one-SKU re-forecast."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from demand import forecasting, uncertainty
from demand.constants import (
    CANCEL_CHECK_SECONDS,
    CHUNK_SERIES,
    INTERVAL_LEVELS,
    SEASON_LENGTH,
)
from demand.models import ForecastRun, SeriesFit, StatisticalForecast
from demand.services._common import PlanReadOnly, bulk_insert, history_events, history_matrix
from demand.services.consensus import consensus_rebuild
from sop.choices import Stage
from sop.models import Cycle, Product, SalesHistory
from sop.numbers import finite_or_none
from sop.roles import require
from sop.runs import RunKind, run_cancel, run_is_running, run_start
from sop.services import add_months, audit_of, audit_record

# Stages in which the statistical forecast may still change.
FORECASTABLE_STAGES = (Stage.DRAFT, Stage.DEMAND_REVIEW)
KEPT = "The published forecast was kept."


def _forecast_rows(
    *,
    run_id: int,
    keys: list[tuple[int, int]],
    matrix: np.ndarray,
    start: dt.date,
    horizon: int,
    event_mask: np.ndarray | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> tuple[list[tuple], list[tuple]] | None:
    """Forecast each series; rows for StatisticalForecast and SeriesFit, or None if stopped.

    The history is cleansed first (`forecasting.history_marks`): the months of past events
    in `event_mask` (series x months, as `matrix`) and the outliers of the others.
    """
    n = len(keys)
    point = np.zeros((n, horizon))
    bounds = {lv: (np.zeros((n, horizon)), np.zeros((n, horizon))) for lv in INTERVAL_LEVELS}
    fits = []
    last_check = time.monotonic()
    for i, (product, location) in enumerate(keys):
        if time.monotonic() - last_check > CANCEL_CHECK_SECONDS:
            if not keep_going():
                return None
            last_check = time.monotonic()
        events = event_mask[i] if event_mask is not None else np.zeros(matrix.shape[1], bool)
        fc = forecasting.forecast_series(
            matrix[i],
            horizon=horizon,
            season_length=SEASON_LENGTH,
            levels=INTERVAL_LEVELS,
            marked=forecasting.history_marks(matrix[i], events, SEASON_LENGTH),
        )
        point[i] = fc.point
        for lv, (lo, hi) in bounds.items():
            lo[i], hi[i] = fc.lower[lv], fc.upper[lv]
        std = [float(s) for s in np.nan_to_num(fc.error_std)]
        fits.append(
            (
                run_id,
                product,
                location,
                fc.model[:60],
                fc.pattern,
                fc.flag[:200],
                finite_or_none(fc.backtest_mase),
                finite_or_none(fc.backtest_smape),
                std[0] if std else None,
                json.dumps(std),
                fc.uncertainty,
                json.dumps(uncertainty.stored_error_quantiles(fc)),
            )
        )
    months = [add_months(start, h) for h in range(horizon)]
    products = np.repeat([k[0] for k in keys], horizon).tolist()
    locations = np.repeat([k[1] for k in keys], horizon).tolist()
    columns = [point.ravel().tolist()]
    for lo, hi in bounds.values():
        columns += [lo.ravel().tolist(), hi.ravel().tolist()]
    forecasts = list(
        zip([run_id] * len(products), products, locations, months * n, *columns, strict=True)
    )
    return forecasts, fits


_FORECAST_FIELDS = ["run_id", "product_id", "location_id", "month", "value"] + [
    f"{side}{lv}" for lv in INTERVAL_LEVELS for side in ("lo", "hi")
]
_FIT_FIELDS = [
    "run_id",
    "product_id",
    "location_id",
    "model",
    "pattern",
    "flag",
    "backtest_mase",
    "backtest_smape",
    "error_std",
    "error_std_by_horizon",
    "uncertainty",
    "error_quantiles",
]


def _write_run_rows(
    run_id: int, product_ids: Sequence[int], forecasts: list[tuple], fits: list[tuple]
) -> None:
    # Delete first so a chunk or a SKU re-forecast that runs twice leaves one copy.
    StatisticalForecast.objects.filter(run_id=run_id, product_id__in=product_ids).delete()
    SeriesFit.objects.filter(run_id=run_id, product_id__in=product_ids).delete()
    bulk_insert(StatisticalForecast, _FORECAST_FIELDS, forecasts)
    bulk_insert(SeriesFit, _FIT_FIELDS, fits)


def forecast_run_start(
    *, cycle: Cycle, user: AbstractBaseUser | None, chunk_series: int = CHUNK_SERIES
) -> ForecastRun:
    """Create a run row and queue it after commit; the kernel splits it into chunks."""
    require(user, "demand.run_forecast", "run the forecast")
    return run_start(
        FORECAST_RUN.name,
        cycle_id=cycle.pk,
        user=user,
        admit=_forecast_admit,
        audit_action="forecast.start",
        plan_options={"chunk_series": chunk_series},
    )


def _forecast_admit(cycle: Cycle) -> dict:
    if cycle.stage not in FORECASTABLE_STAGES:
        raise PlanReadOnly(
            f"The demand plan of {cycle} is {cycle.get_stage_display().lower()}: "
            "its forecast can no longer change."
        )
    return {"scope": {"cycle": cycle}}


def _forecast_plan(run: ForecastRun, options: dict) -> list[list[int]]:
    """The run's series in chunks of whole products, about `chunk_series` series each."""
    series = (
        SalesHistory.objects.filter(month__lt=run.cycle.month, product__active=True)
        .values_list("product_id", "location_id")
        .distinct()
    )
    products = pd.Series([p for p, _ in series], dtype="int64").value_counts().sort_index()
    offsets = products.cumsum() - products
    chunk_of = (offsets // max(options.get("chunk_series", CHUNK_SERIES), 1)).to_numpy()
    run.series_count = int(products.sum())
    return [products.index[chunk_of == c].tolist() for c in np.unique(chunk_of)]


def _forecast_compute(run: ForecastRun, product_ids: Sequence[int]) -> tuple | None:
    keys, matrix, first = history_matrix(product_ids=product_ids, before=run.cycle.month)
    mask, _, _ = history_events(keys, first, matrix.shape[1], run.cycle.month)
    rows = _forecast_rows(
        run_id=run.pk,
        keys=keys,
        matrix=matrix,
        start=run.cycle.month,
        horizon=run.cycle.horizon_months,
        event_mask=mask,
        keep_going=lambda: run_is_running(ForecastRun, run.pk),
    )
    return None if rows is None else (len(keys), rows)


def _forecast_store(run: ForecastRun, product_ids: Sequence[int], result: tuple) -> None:
    series, rows = result
    _write_run_rows(run.pk, product_ids, *rows)
    run.series_done = min(run.series_done + series, run.series_count)


def _forecast_publish(run: ForecastRun, cycle: Cycle) -> None:
    """Publishing a forecast rebuilds the cycle's consensus, in the same transaction."""
    consensus_rebuild(cycle=cycle)
    audit_of(run, "forecast.publish", user=None, new={"series": run.series_count})


FORECAST_RUN = RunKind(
    name="forecast",
    model="demand.ForecastRun",
    label="forecast run",
    kept=KEPT,
    plan=_forecast_plan,
    compute=_forecast_compute,
    store=_forecast_store,
    publish=_forecast_publish,
    stages=FORECASTABLE_STAGES,
    submitted="The demand plan was submitted during the run.",
)


def forecast_run_cancel(*, run: ForecastRun, user: AbstractBaseUser | None) -> ForecastRun:
    """Stop a pending or running run; its chunks notice within seconds and stop."""
    require(user, "demand.run_forecast", "cancel a forecast run")
    if run_cancel(run):
        audit_of(run, "forecast.cancel", user=user)
    return run


def forecast_sku_refresh(*, cycle: Cycle, product: Product, user: AbstractBaseUser | None) -> int:
    """Re-forecast one SKU in the published run and rebuild its family's consensus.

    Synchronous: one SKU is a few series, about a second. Returns the series count.
    """
    require(user, "demand.run_forecast", "re-forecast a SKU")
    if cycle.stage not in FORECASTABLE_STAGES:
        raise PlanReadOnly(f"The demand plan of {cycle} can no longer change.")
    run = ForecastRun.objects.filter(cycle=cycle, is_published=True).first()
    if run is None:
        raise ValidationError("Run the forecast for the cycle first.")
    keys, matrix, first = history_matrix(product_ids=[product.pk], before=cycle.month)
    mask, _, _ = history_events(keys, first, matrix.shape[1], cycle.month)
    forecasts, fits = _forecast_rows(
        run_id=run.pk,
        keys=keys,
        matrix=matrix,
        start=cycle.month,
        horizon=cycle.horizon_months,
        event_mask=mask,
    )
    with transaction.atomic():
        # The cycle lock orders this after an override save rebuilding the same family.
        Cycle.objects.select_for_update().get(pk=cycle.pk)
        ForecastRun.objects.select_for_update().get(pk=run.pk)
        _write_run_rows(run.pk, [product.pk], forecasts, fits)
        consensus_rebuild(cycle=cycle, family=product.family)
        audit_record(
            user=user,
            action="forecast.sku_refresh",
            object_type="product",
            object_id=product.pk,
            cycle=cycle,
            new={"run": run.pk, "series": len(keys)},
        )
    return len(keys)
