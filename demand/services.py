"""Writes of the demand app: forecast runs, overrides, the consensus plan, frozen plans."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from demand import consensus, forecasting, uncertainty
from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.constants import (
    BULK_BATCH,
    CANCEL_CHECK_SECONDS,
    CHUNK_SERIES,
    INTERVAL_LEVELS,
    OVERRIDE_OBJECT_TYPE,
    PAST_CYCLES,
    SEASON_LENGTH,
    STALE_AFTER,
)
from demand.models import (
    ConsensusDemand,
    DemandOverride,
    DemandPlanSnapshot,
    ForecastRun,
    SeriesFit,
    StatisticalForecast,
)
from sop.choices import Stage
from sop.locking import VersionedRow
from sop.models import AuditEvent, Cycle, Location, Product, SalesHistory
from sop.months import month_index, month_numbers
from sop.numbers import finite_or_none
from sop.roles import require
from sop.runs import (
    RunKind,
    run_begin,
    run_cancel,
    run_chunk,
    run_create,
    run_is_running,
    runs_fail_stale,
)
from sop.services import add_months, audit_record

logger = logging.getLogger(__name__)

# Stages in which the statistical forecast may still change.
FORECASTABLE_STAGES = (Stage.DRAFT, Stage.DEMAND_REVIEW)
KEPT = "The published forecast was kept."
# How COPY spells NULL, so that an empty string stays an empty string.
_NULL = "\\N"


class PlanReadOnly(ValidationError):
    """The cycle's demand plan can no longer change (submitted, or not yet in review)."""


def _bulk_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert many rows of plain values (JSON as text): COPY on PostgreSQL, else executemany.

    Both skip building a model instance per row, which costs more than the insert itself
    at a hundred thousand rows.
    """
    meta = model._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    if connection.vendor == "postgresql":
        # One CSV text block: the csv module in C is several times faster than row by row.
        buffer = io.StringIO()
        csv.writer(buffer).writerows(tuple(_NULL if v is None else v for v in row) for row in rows)
        sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())
        return
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    # SQLite stores dates as ISO text, which is what Django reads back.
    values = [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row) for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(values), BULK_BATCH):
            cursor.executemany(sql, values[start : start + BULK_BATCH])


# --- history ----------------------------------------------------------------------------


def _history_matrix(
    *, product_ids: Sequence[int] | None, before: dt.date
) -> tuple[list[tuple[int, int]], np.ndarray, int]:
    """Monthly sales of each (product, location) before `before`, one row per series.

    Returns the series keys, a (series x months) matrix with zeros for months without a
    sale, and the month index of the first column. One query.
    """
    qs = SalesHistory.objects.filter(month__lt=before, product__active=True)
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    rows = list(qs.values_list("product_id", "location_id", "month", "quantity"))
    if not rows:
        return [], np.zeros((0, 0)), 0
    df = pd.DataFrame(rows, columns=["product", "location", "month", "qty"])
    df["m"] = month_numbers(df["month"])
    first = int(df["m"].min())
    last = month_index(before) - 1
    keys = df[["product", "location"]].drop_duplicates().sort_values(["product", "location"])
    key_list = list(keys.itertuples(index=False, name=None))
    code = pd.MultiIndex.from_frame(keys).get_indexer(
        pd.MultiIndex.from_frame(df[["product", "location"]])
    )
    matrix = np.zeros((len(key_list), last - first + 1))
    np.add.at(matrix, (code, df["m"].to_numpy() - first), df["qty"].astype(float).to_numpy())
    return key_list, matrix, first


def _forecast_rows(
    *,
    run_id: int,
    keys: list[tuple[int, int]],
    matrix: np.ndarray,
    start: dt.date,
    horizon: int,
    keep_going: Callable[[], bool] = lambda: True,
) -> tuple[list[tuple], list[tuple]] | None:
    """Forecast each series; rows for StatisticalForecast and SeriesFit, or None if stopped."""
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
        fc = forecasting.forecast_series(
            matrix[i], horizon=horizon, season_length=SEASON_LENGTH, levels=INTERVAL_LEVELS
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
    _bulk_insert(StatisticalForecast, _FORECAST_FIELDS, forecasts)
    _bulk_insert(SeriesFit, _FIT_FIELDS, fits)


# --- forecast runs: a kind of the core's run kernel (sop.runs) ------------------------------


def forecast_run_start(
    *, cycle: Cycle, user: AbstractBaseUser | None, chunk_series: int = CHUNK_SERIES
) -> ForecastRun:
    """Create a run row and queue it after commit; the kernel splits it into chunks.

    If the task queue is unreachable, the run comes back failed with a message saying so.
    """
    require(user, "demand.run_forecast", "run the forecast")
    # A run whose worker died must not block a new one until the next sweep.
    runs_fail_stale(kind_names=[FORECAST_RUN.name])
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if locked.stage not in FORECASTABLE_STAGES:
            raise PlanReadOnly(
                f"The demand plan of {locked} is {locked.get_stage_display().lower()}: "
                "its forecast can no longer change."
            )
        run = run_create(
            FORECAST_RUN.name,
            scope={"cycle": locked},
            user=user,
            plan_options={"chunk_series": chunk_series},
        )
        audit_record(
            user=user,
            action="forecast.start",
            object_type="forecast_run",
            object_id=run.pk,
            cycle=locked,
        )
    return run


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
    keys, matrix, _ = _history_matrix(product_ids=product_ids, before=run.cycle.month)
    rows = _forecast_rows(
        run_id=run.pk,
        keys=keys,
        matrix=matrix,
        start=run.cycle.month,
        horizon=run.cycle.horizon_months,
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
    audit_record(
        user=None,
        action="forecast.publish",
        object_type="forecast_run",
        object_id=run.pk,
        cycle=cycle,
        new={"series": run.series_count},
    )


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
    stale_after=STALE_AFTER,
)


def forecast_run_cancel(*, run: ForecastRun, user: AbstractBaseUser | None) -> ForecastRun:
    """Stop a pending or running run; its chunks notice within seconds and stop."""
    require(user, "demand.run_forecast", "cancel a forecast run")
    if run_cancel(run):
        audit_record(
            user=user,
            action="forecast.cancel",
            object_type="forecast_run",
            object_id=run.pk,
            cycle=run.cycle,
        )
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
    keys, matrix, _ = _history_matrix(product_ids=[product.pk], before=cycle.month)
    forecasts, fits = _forecast_rows(
        run_id=run.pk, keys=keys, matrix=matrix, start=cycle.month, horizon=cycle.horizon_months
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


# --- consensus --------------------------------------------------------------------------


def consensus_rebuild(*, cycle: Cycle, family: str | None = None) -> int:
    """Recompute the consensus of the cycle (or one family) from forecast and overrides."""
    if Cycle.objects.filter(pk=cycle.pk, stage=Stage.APPROVED).exists():
        raise PlanReadOnly(f"{cycle} is approved: its consensus demand is frozen.")
    run = ForecastRun.objects.filter(cycle=cycle, is_published=True).first()
    stat_qs = StatisticalForecast.objects.filter(run=run)
    ov_qs = DemandOverride.objects.filter(cycle=cycle)
    old_qs = ConsensusDemand.objects.filter(cycle=cycle)
    if family is not None:
        stat_qs = stat_qs.filter(product__family=family)
        ov_qs = ov_qs.filter(family=family)
        old_qs = old_qs.filter(product__family=family)
    stat = pd.DataFrame(
        list(stat_qs.values_list("product_id", "location_id", "product__family", "month", "value")),
        columns=consensus.STAT_COLUMNS,
    )
    overrides = pd.DataFrame(
        list(
            ov_qs.values_list(
                "level", "family", "product_id", "location_id", "month", "kind", "value"
            )
        ),
        columns=consensus.OVERRIDE_COLUMNS,
    )
    value = consensus.consensus_values(stat, overrides)
    base = stat["statistical"].to_numpy(float)
    with transaction.atomic():
        if family is None:
            old_qs.delete()
        else:
            # A join in a DELETE is not portable; select the ids first.
            ConsensusDemand.objects.filter(
                pk__in=list(old_qs.values_list("pk", flat=True))
            ).delete()
        _bulk_insert(
            ConsensusDemand,
            [
                "cycle_id",
                "product_id",
                "location_id",
                "month",
                "statistical",
                "override_delta",
                "value",
            ],
            zip(
                [cycle.pk] * len(stat),
                stat["product"].tolist(),
                stat["location"].tolist(),
                stat["month"].tolist(),
                base.tolist(),
                (value - base).tolist(),
                value.tolist(),
                strict=True,
            ),
        )
    return len(stat)


# --- overrides --------------------------------------------------------------------------


def override_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser,
    month: dt.date,
    value: Decimal | None,
    kind: str = OverrideKind.ABSOLUTE,
    reason: str,
    comment: str,
    family: str = "",
    product: Product | None = None,
    location: Location | None = None,
    expected_version: int | None,
) -> DemandOverride | None:
    """Set (or with value=None clear) the override of a family, SKU or SKU x location.

    `expected_version` is the version the planner saw (None: no override yet). If the
    override changed since, EditConflict is raised and nothing is written.
    """
    require(user, "demand.change_demandoverride", "change the demand plan")
    level = OverrideLevel.PRODUCT if product is not None else OverrideLevel.FAMILY
    if product is not None:
        family = product.family
    if not family:
        raise ValidationError("Choose a family or a SKU to override.")
    if location is not None and product is None:
        raise ValidationError("A location override needs a SKU.")
    if reason not in ReasonCode.values:
        raise ValidationError("Choose a reason code for the change.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    if kind not in OverrideKind.values:
        raise ValidationError("Unknown override kind.")
    if value is not None and kind == OverrideKind.ABSOLUTE and value < 0:
        raise ValidationError("Demand cannot be negative.")
    if value is not None and kind == OverrideKind.PERCENT and value < -100:
        raise ValidationError("A decrease cannot exceed 100%.")
    with transaction.atomic():
        locked_cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if locked_cycle.stage != Stage.DEMAND_REVIEW:
            raise PlanReadOnly(
                f"{locked_cycle} is in {locked_cycle.get_stage_display().lower()}: "
                "its demand plan is read-only."
            )
        last_month = add_months(cycle.month, cycle.horizon_months - 1)
        if not cycle.month <= month <= last_month:
            raise ValidationError(f"{month:%b %Y} is outside the cycle's horizon.")
        scope = {"cycle": locked_cycle, "level": level, "month": month}
        if level == OverrideLevel.FAMILY:
            scope["family"] = family
        else:
            scope.update(product=product, location=location)
        where = family if product is None else product.sku
        if location is not None:
            where += f"@{location.code}"
        row = VersionedRow(
            rows=DemandOverride.objects.filter(**scope),
            what=f"The override of {where} in {month:%b %Y}",
            show=lambda o: o.display_value if o is not None else "no override",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=f"{where}/{month:%Y-%m}",
        )
        current = row.lock(seen=expected_version)
        if value is None and current is None:
            return None
        old_kind, old_value = (current.kind, current.value) if current else ("", None)
        saved = row.save(
            current,
            None
            if value is None
            else {
                "kind": kind,
                "value": value,
                "reason": reason,
                "comment": comment,
                "author": user,
            },
            create={"family": family, **scope},
        )
        audit_record(
            user=user,
            action="demand.override",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=row.object_id,
            cycle=locked_cycle,
            old={"kind": old_kind, "value": _audit_number(old_value)} if current else None,
            # Always a dict, a clearing too: the history panel reads family and reason here.
            new={
                "kind": kind if value is not None else None,
                "value": _audit_number(value),
                "reason": reason,
                "family": family,
            },
            reason=comment,
        )
        consensus_rebuild(cycle=locked_cycle, family=family)
    return saved


def _audit_number(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


def overrides_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's overrides that lie in this cycle's horizon.

    Planners then start the review from last month's judgement instead of from zero; each
    copy keeps its reason and author and says where it came from. Returns how many.
    """
    previous = Cycle.objects.filter(month__lt=cycle.month).order_by("-month").first()
    if previous is None:
        return 0
    last_month = add_months(cycle.month, cycle.horizon_months - 1)
    taken = DemandOverride.objects.filter(cycle=cycle)
    keys = set(taken.values_list("level", "family", "product_id", "location_id", "month"))
    copies = [
        DemandOverride(
            cycle=cycle,
            level=o.level,
            family=o.family,
            product=o.product,
            location=o.location,
            month=o.month,
            kind=o.kind,
            value=o.value,
            reason=o.reason,
            comment=f"From {previous.month:%b %Y}: {o.comment}",
            author_id=o.author_id,
        )
        for o in DemandOverride.objects.filter(
            cycle=previous, month__gte=cycle.month, month__lte=last_month
        ).select_related("product", "location")
        if (o.level, o.family, o.product_id, o.location_id, o.month) not in keys
    ]
    created = DemandOverride.objects.bulk_create(copies)
    # Each copy is a change of the new cycle's plan, in its author's name as before.
    AuditEvent.objects.bulk_create(
        AuditEvent(
            user_id=o.author_id,
            action="demand.override_carry_over",
            object_type=OVERRIDE_OBJECT_TYPE,
            object_id=f"{o.scope_label}/{o.month:%Y-%m}",
            cycle=cycle,
            new={
                "kind": o.kind,
                "value": _audit_number(o.value),
                "reason": o.reason,
                "family": o.family,
            },
            reason=o.comment,
        )
        for o in created
    )
    if created and ForecastRun.objects.filter(cycle=cycle, is_published=True).exists():
        consensus_rebuild(cycle=cycle)
    return len(created)


# --- frozen plans and past cycles -------------------------------------------------------


def demand_plan_freeze(*, cycle: Cycle) -> int:
    """Snapshot the cycle's consensus with its statistical and seasonal naive forecasts.

    Called when the demand plan is submitted; accuracy is later measured on these rows.
    """
    rows = list(
        ConsensusDemand.objects.filter(cycle=cycle).values_list(
            "product_id", "location_id", "month", "statistical", "value"
        )
    )
    plan = pd.DataFrame(rows, columns=["product", "location", "month", "statistical", "consensus"])
    origin = month_index(cycle.month)
    if not plan.empty:
        keys, matrix, first = _history_matrix(
            product_ids=plan["product"].unique().tolist(), before=cycle.month
        )
        last_season = _last_season(matrix, first, origin)
        lookup = pd.DataFrame(
            last_season, index=pd.MultiIndex.from_tuples(keys, names=["product", "location"])
        )
        position = (month_numbers(plan["month"]) - origin) % SEASON_LENGTH
        row = lookup.index.get_indexer(pd.MultiIndex.from_frame(plan[["product", "location"]]))
        values = lookup.to_numpy()
        plan["naive"] = np.where(row >= 0, values[np.maximum(row, 0), position], 0.0)
    with transaction.atomic():
        DemandPlanSnapshot.objects.filter(cycle=cycle).delete()
        _bulk_insert(
            DemandPlanSnapshot,
            ["cycle_id", "product_id", "location_id", "month", "naive", "statistical", "consensus"],
            (
                (cycle.pk, r.product, r.location, r.month, r.naive, r.statistical, r.consensus)
                for r in plan.itertuples()
            ),
        )
    return len(plan)


def _last_season(matrix: np.ndarray, first: int, origin: int) -> np.ndarray:
    """The last SEASON_LENGTH months before `origin` of each series (zeros before history)."""
    out = np.zeros((len(matrix), SEASON_LENGTH))
    start = origin - SEASON_LENGTH - first
    take = matrix[:, max(start, 0) :]
    out[:, SEASON_LENGTH - take.shape[1] :] = take
    return out


# The demo builds past cycles in-process only up to this many series (the default demo
# has about 600; each past cycle costs one engine pass over all of them).
DEMO_HISTORY_MAX_SERIES = 2000
# Demo overrides of past cycles: up to this many percent, on their first months.
_DEMO_OVERRIDE_PCT = 15
_DEMO_OVERRIDE_MONTHS = 3


def demand_history_build(
    *,
    before: dt.date,
    cycles: int = PAST_CYCLES,
    overrides_per_cycle: int = 2,
    seed: int = 0,
) -> list[Cycle]:
    """Create the approved cycles of the months before `before`, with frozen plans.

    Each past cycle is forecast by the real engine from history cut at its own month (no
    look-ahead), gets a few family overrides like a planner's, and is frozen, so accuracy
    and forecast value added have numbers from the first start. Existing cycles are kept.
    """
    rng = np.random.default_rng(seed)
    families = sorted(set(Product.objects.filter(active=True).values_list("family", flat=True)))
    built = []
    for k in range(cycles, 0, -1):
        month = add_months(before.replace(day=1), -k)
        if Cycle.objects.filter(month=month).exists():
            continue
        with transaction.atomic():  # a past cycle exists whole or not at all
            cycle = Cycle.objects.create(month=month, stage=Stage.DEMAND_REVIEW)
            picked = (
                rng.choice(families, size=min(overrides_per_cycle, len(families)), replace=False)
                if families
                else []
            )
            # A planner's typical adjustment: a few percent on the next months.
            DemandOverride.objects.bulk_create(
                DemandOverride(
                    cycle=cycle,
                    level=OverrideLevel.FAMILY,
                    family=family,
                    month=add_months(month, h),
                    kind=OverrideKind.PERCENT,
                    value=Decimal(int(change)),
                    reason=ReasonCode.MARKET_INTELLIGENCE,
                    comment="Demo: planner's view",
                )
                for family, change in zip(
                    picked,
                    rng.integers(-_DEMO_OVERRIDE_PCT, _DEMO_OVERRIDE_PCT + 1, len(picked)),
                    strict=True,
                )
                for h in range(_DEMO_OVERRIDE_MONTHS)
            )
            run = ForecastRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
            # In this process: the last chunk publishes, which builds the consensus with
            # the overrides.
            for i, product_ids in enumerate(run_begin(FORECAST_RUN.name, run.pk)):
                run_chunk(FORECAST_RUN.name, run.pk, i, product_ids)
            demand_plan_freeze(cycle=cycle)
            Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.APPROVED)
        built.append(cycle)
    return built


def demand_demo_build(*, cycle: Cycle, user: AbstractBaseUser | None = None) -> ForecastRun:
    """Post-seed step of the demo: past cycles with frozen plans, then the first run.

    The run is started as the system (the demo admin is not a planner); without Redis it
    completes before this returns, with Redis the workers pick it up. Seeding again keeps
    the cycles and runs that exist. Past cycles are forecast in this process, so a company
    far larger than the default demo (a benchmark's) gets none rather than a long wait.
    """
    series = (
        SalesHistory.objects.filter(month__lt=cycle.month, product__active=True)
        .values("product", "location")
        .distinct()
        .count()
    )
    if series <= DEMO_HISTORY_MAX_SERIES:
        demand_history_build(before=cycle.month)
    else:
        logger.info(
            "Demo: %s series is more than %s; no past cycles built",
            series,
            DEMO_HISTORY_MAX_SERIES,
        )
    existing = ForecastRun.objects.filter(cycle=cycle).first()
    return existing or forecast_run_start(cycle=cycle, user=None)
