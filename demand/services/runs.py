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
    LIKE_MODEL,
    SEASON_LENGTH,
)
from demand.lifecycle import Lifecycle, lifecycle_apply
from demand.lifecycle import history_months as lifecycle_history
from demand.models import ForecastRun, SeriesFit, StatisticalForecast
from demand.services._common import PlanReadOnly, bulk_insert, history_events
from demand.services.consensus import consensus_rebuild
from demand.services.lifecycle import lifecycle_products_without_history, lifecycle_series
from sop.choices import Stage
from sop.models import Cycle, Product, SalesHistory
from sop.months import month_index
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
    lifecycles: dict[int, Lifecycle] | None = None,
    written: set[int] | None = None,
) -> tuple[list[tuple], list[tuple]] | None:
    """Forecast each series; rows for StatisticalForecast and SeriesFit, or None if stopped.

    The history is cleansed first (`forecasting.history_marks`): the months of past events
    in `event_mask` (series x months, as `matrix`) and the outliers of the others.
    `lifecycles`: new products take their like product's forecast, ending ones go to zero
    (`demand.lifecycle`); `written`: the products whose rows are kept (None: all).
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
    sides = [side for lo_hi in bounds.values() for side in lo_hi]
    if lifecycles:
        point, sides, reasons, sources = lifecycle_apply(
            keys=keys,
            point=point,
            bounds=sides,
            months=month_index(start) + np.arange(horizon),
            history=lifecycle_history(matrix),
            lifecycles=lifecycles,
        )
        fits = [
            _lifecycle_fit(
                fit,
                reason,
                like=None if source is None else fits[source],
                factor=lifecycles[fit[1]].factor if source is not None else 1.0,
            )
            for fit, reason, source in zip(fits, reasons, sources, strict=True)
        ]
    kept = np.array([written is None or k[0] in written for k in keys], dtype=bool)
    keys = [k for k, keep in zip(keys, kept, strict=True) if keep]
    fits = [f for f, keep in zip(fits, kept, strict=True) if keep]
    point, sides = point[kept], [side[kept] for side in sides]
    products = np.repeat([k[0] for k in keys], horizon).tolist()
    locations = np.repeat([k[1] for k in keys], horizon).tolist()
    columns = [point.ravel().tolist()] + [side.ravel().tolist() for side in sides]
    forecasts = list(
        zip(
            [run_id] * len(products), products, locations, months * len(keys), *columns, strict=True
        )
    )
    return forecasts, fits


def _lifecycle_fit(fit: tuple, reason: str, *, like: tuple | None, factor: float) -> tuple:
    """A series' fit row saying where its forecast came from. Where the like product's
    forecast stands in, so do its pattern and its forecast error times the factor (what
    safety stock reads); it has no backtest of its own."""
    if not reason:
        return fit
    if like is None:
        flag = ", ".join(filter(None, [fit[5], reason]))[:200]
        return (*fit[:5], flag, *fit[6:])
    std = None if like[8] is None else like[8] * factor
    by_horizon = [s * factor for s in json.loads(like[9])]
    quantiles = {q: [v * factor for v in vs] for q, vs in json.loads(like[11]).items()}
    return (
        *fit[:3],
        LIKE_MODEL,
        like[4],
        reason,
        None,
        None,
        std,
        json.dumps(by_horizon),
        like[10],
        json.dumps(quantiles),
    )


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
    products = pd.Series([p for p, _ in series], dtype="int64").value_counts()
    # New products without a sale yet are forecast from their like product: one series
    # each as far as the chunking goes.
    new = lifecycle_products_without_history(excluded=products.index.tolist())
    products = pd.concat([products, pd.Series(1, index=new, dtype="int64")]).sort_index()
    offsets = products.cumsum() - products
    chunk_of = (offsets // max(options.get("chunk_series", CHUNK_SERIES), 1)).to_numpy()
    run.series_count = int(products.sum())
    return [products.index[chunk_of == c].tolist() for c in np.unique(chunk_of)]


def _event_mask(series, before: dt.date) -> np.ndarray:
    """The past events' months on the chunk's series (`history_events`); the matrix's last
    column is the month before `before`."""
    first = month_index(before) - series.matrix.shape[1]
    mask, _, _ = history_events(series.keys, first, series.matrix.shape[1], before)
    return mask


def _forecast_compute(run: ForecastRun, product_ids: Sequence[int]) -> tuple | None:
    series = lifecycle_series(product_ids=product_ids, before=run.cycle.month)
    mask = _event_mask(series, run.cycle.month)
    rows = _forecast_rows(
        run_id=run.pk,
        keys=series.keys,
        matrix=series.matrix,
        start=run.cycle.month,
        horizon=run.cycle.horizon_months,
        event_mask=mask,
        keep_going=lambda: run_is_running(ForecastRun, run.pk),
        lifecycles=series.lifecycles,
        written=series.written,
    )
    return None if rows is None else (len(rows[1]), rows)


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
    series = lifecycle_series(product_ids=[product.pk], before=cycle.month)
    forecasts, fits = _forecast_rows(
        run_id=run.pk,
        keys=series.keys,
        matrix=series.matrix,
        start=cycle.month,
        horizon=cycle.horizon_months,
        event_mask=_event_mask(series, cycle.month),
        lifecycles=series.lifecycles,
        written=series.written,
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
            new={"run": run.pk, "series": len(fits)},
        )
    return len(fits)
