"""Reads of the demand app: the review tree, the grid, history, accuracy, exceptions."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Q, QuerySet, Sum

from demand import accuracy, consensus, streams
from demand import events as event_maths
from demand.choices import ExceptionFilter, GridLayer, GridSort, OverrideLevel, ReasonCode
from demand.constants import (
    FVA_CYCLES,
    FVA_MATERIALITY,
    GRID_PAGE_ROWS,
    HISTORY_MONTHS_SHOWN,
    INTERVAL_LEVELS,
    LARGE_BIAS_PCT,
    LARGE_CHANGE_PCT,
    LIKE_MODEL,
    LOW_ACCURACY_WAPE_PCT,
    OVERRIDE_OBJECT_TYPE,
    SEASON_LENGTH,
)
from demand.forecasting import cleanse, history_marks
from demand.models import (
    ConsensusDemand,
    ConsensusSource,
    DemandOverride,
    DemandPlanSnapshot,
    ForecastRun,
    InputStream,
    SeriesFit,
    StatisticalForecast,
    StreamEntry,
    StreamPlanSnapshot,
    format_override,
)
from demand.services._common import history_events, history_matrix
from sop import materiality
from sop.choices import JobStatus, Stage
from sop.formatting import format_moment
from sop.models import Cycle, Event, ImportJob, Location, Product, SalesHistory
from sop.months import month_index
from sop.numbers import finite_or_none
from sop.selectors import (
    LifecycleBadge,
    PlanFilters,
    change_history,
    cycle_previous,
    product_lifecycle_badges,
    series_rows,
)
from sop.services import add_months
from sop.steps import Check

# An upper bound only: the stamp in the key already changes with the data.
ACCURACY_CACHE_SECONDS = 3600

# Past cycles whose frozen plans count for accuracy.
ACCURACY_CYCLES = 12


def consensus_rows(*, cycle: Cycle, filters: PlanFilters) -> QuerySet:
    """The cycle's consensus demand per SKU, location and month, as plain rows (the API)."""
    rows = filters.apply(ConsensusDemand.objects.filter(cycle=cycle))
    return series_rows(rows, "statistical", "events", "override_delta", consensus=F("value"))


def override_rows(*, cycle: Cycle, filters: PlanFilters) -> QuerySet[DemandOverride]:
    """The cycle's overrides with the version a save must name, family ones first."""
    rows = filters.apply(DemandOverride.objects.filter(cycle=cycle), family="family")
    return rows.select_related("product", "location", "author").order_by(
        "level", "family", "product__sku", "location__code", "month"
    )


def forecast_gate(cycle: Cycle) -> str | None:
    """Gate of the demand review: the cycle's forecast run has succeeded and is published.

    A company without sales history has nothing to forecast, so nothing to wait for.
    """
    if ForecastRun.objects.filter(
        cycle=cycle, is_published=True, status=JobStatus.SUCCEEDED
    ).exists():
        return None
    if not SalesHistory.objects.filter(month__lt=cycle.month, product__active=True).exists():
        return None
    return "The statistical forecast for this cycle has not run successfully yet."


def forecast_run_published(*, cycle: Cycle) -> ForecastRun | None:
    return ForecastRun.objects.filter(cycle=cycle, is_published=True).first()


def forecast_run_latest(*, cycle: Cycle) -> ForecastRun | None:
    return ForecastRun.objects.filter(cycle=cycle).select_related("created_by").first()


def plan_is_editable(*, cycle: Cycle, user) -> bool:
    return cycle.stage == Stage.DEMAND_REVIEW and user.has_perm("demand.change_demandoverride")


# --- selection and filters --------------------------------------------------------------


TOTAL_LABEL = "Company total"


@dataclass(frozen=True)
class Selection:
    """What the review page shows: the company total (no family), a family, a SKU of it,
    or one SKU at one location."""

    family: str
    product: Product | None = None
    location: Location | None = None

    @property
    def is_total(self) -> bool:
        return not self.family and self.product is None

    @property
    def level(self) -> str:
        return OverrideLevel.FAMILY if self.product is None else OverrideLevel.PRODUCT

    @property
    def label(self) -> str:
        if self.is_total:
            return TOTAL_LABEL
        if self.product is None:
            return f"Family {self.family}"
        label = f"{self.product.sku} {self.product.name}"
        return f"{label} @ {self.location.code}" if self.location else label

    def q(self, prefix: str = "") -> Q:
        """Filter on rows keyed by product (and location) for this selection."""
        if self.is_total:
            return Q()
        if self.product is None:
            return Q(**{f"{prefix}product__family": self.family})
        q = Q(**{f"{prefix}product": self.product})
        if self.location is not None:
            q &= Q(**{f"{prefix}location": self.location})
        return q


@dataclass(frozen=True)
class Filters:
    family: str = ""
    abc: str = ""
    pattern: str = ""
    exception: str = ""

    @property
    def active(self) -> bool:
        return bool(self.abc or self.pattern or self.exception)


def review_tree(*, cycle: Cycle, filters: Filters) -> list[dict]:
    """Families with their SKUs that pass the filters (one product query)."""
    products = Product.objects.filter(active=True)
    if filters.family:
        products = products.filter(family=filters.family)
    if filters.abc:
        products = products.filter(abc_class=filters.abc)
    if filters.pattern:
        run = forecast_run_published(cycle=cycle)
        products = products.filter(
            pk__in=SeriesFit.objects.filter(run=run, pattern=filters.pattern).values("product")
        )
    if filters.exception:
        products = products.filter(pk__in=exception_products(cycle=cycle, kind=filters.exception))
    tree: dict[str, list[dict]] = {}
    for pk, sku, name, family in products.order_by("family", "sku").values_list(
        "pk", "sku", "name", "family"
    ):
        tree.setdefault(family, []).append({"pk": pk, "sku": sku, "name": name})
    return [{"family": f, "skus": skus} for f, skus in tree.items()]


def product_locations(*, product: Product, cycle: Cycle) -> QuerySet[Location]:
    return Location.objects.filter(
        pk__in=SalesHistory.objects.filter(product=product, month__lt=cycle.month).values(
            "location"
        )
    )


# --- the grid ---------------------------------------------------------------------------


@dataclass
class Grid:
    """Monthly rows of the selection: history months, then the cycle's horizon."""

    history_months: list[dt.date]
    horizon_months: list[dt.date]
    actuals: dict[dt.date, float]
    statistical: dict[dt.date, float]
    bounds: dict[str, dict[dt.date, float]]
    consensus: dict[dt.date, float]
    last_plan: dict[dt.date, float]
    overrides: dict[dt.date, DemandOverride]
    override_effect: dict[dt.date, float] = field(default_factory=dict)
    # What confirmed events add to the statistical forecast; empty when none does.
    events: dict[dt.date, float] = field(default_factory=dict)

    @property
    def months(self) -> list[dt.date]:
        return self.history_months + self.horizon_months

    def rows(self) -> list[tuple[str, dict[dt.date, float]]]:
        return [
            ("Actual sales", self.actuals),
            ("Statistical forecast", self.statistical),
            *([("Events", self.events)] if self.events else []),
            ("Consensus", self.consensus),
            ("Last cycle's plan", self.last_plan),
        ]


def _by_month(qs: QuerySet, **sums: str | ExpressionWrapper) -> dict[str, dict[dt.date, float]]:
    rows = qs.values("month").annotate(**{k: Sum(v) for k, v in sums.items()})
    out: dict[str, dict[dt.date, float]] = {k: {} for k in sums}
    for row in rows:
        for k in sums:
            out[k][row["month"]] = float(row[k] or 0)
    return out


def _interval_spread(qs: QuerySet) -> dict[str, dict[dt.date, float]]:
    """Half-widths of the selection's interval per month, from its series' intervals.

    Summing the series' bounds would assume they all miss in the same direction at once;
    adding the squared half-widths treats their errors as independent, the usual choice.
    """
    squares = {}
    for lv in INTERVAL_LEVELS:
        lo = F("value") - F(f"lo{lv}")
        hi = F(f"hi{lv}") - F("value")
        squares[f"lo{lv}"] = ExpressionWrapper(lo * lo, output_field=FloatField())
        squares[f"hi{lv}"] = ExpressionWrapper(hi * hi, output_field=FloatField())
    sums = _by_month(qs, **squares)
    return {k: {m: math.sqrt(v) for m, v in by.items()} for k, by in sums.items()}


def review_grid(*, cycle: Cycle, selection: Selection) -> Grid:
    """The grid of one selection: one aggregate query per row kind."""
    first_history = add_months(cycle.month, -HISTORY_MONTHS_SHOWN)
    history_months = [add_months(first_history, i) for i in range(HISTORY_MONTHS_SHOWN)]
    horizon = cycle.horizon
    actuals = _by_month(
        SalesHistory.objects.filter(selection.q(), month__gte=first_history, month__lt=cycle.month),
        qty="quantity",
    )["qty"]
    run = forecast_run_published(cycle=cycle)
    stat = _by_month(StatisticalForecast.objects.filter(selection.q(), run=run), value="value")
    spread = _interval_spread(StatisticalForecast.objects.filter(selection.q(), run=run))
    bounds = {
        f"{side}{lv}": {
            m: max(v + sign * spread[f"{side}{lv}"].get(m, 0.0), 0.0)
            for m, v in stat["value"].items()
        }
        for lv in INTERVAL_LEVELS
        for side, sign in (("lo", -1), ("hi", 1))
    }
    cons = _by_month(
        ConsensusDemand.objects.filter(selection.q(), cycle=cycle), value="value", events="events"
    )
    previous = cycle_previous(cycle=cycle)
    last_plan: dict[dt.date, float] = {}
    if previous is not None:
        snapshot = DemandPlanSnapshot.objects.filter(selection.q(), cycle=previous)
        if snapshot.exists():
            last_plan = _by_month(snapshot, value="consensus")["value"]
        else:
            last_plan = _by_month(
                ConsensusDemand.objects.filter(selection.q(), cycle=previous), value="value"
            )["value"]
    overrides: dict[dt.date, DemandOverride] = {}
    # The total is the sum of the families: it has no override of its own.
    if not selection.is_total:
        scope = Q(cycle=cycle, level=selection.level)
        if selection.product is None:
            scope &= Q(family=selection.family)
        else:
            scope &= Q(product=selection.product, location=selection.location)
        overrides = {
            o.month: o for o in DemandOverride.objects.filter(scope).select_related("author")
        }
    grid = Grid(
        history_months=history_months,
        horizon_months=horizon,
        actuals=actuals,
        statistical=stat["value"],
        bounds=bounds,
        consensus=cons["value"],
        last_plan=last_plan,
        overrides=overrides,
    )
    if any(cons["events"].values()):
        grid.events = cons["events"]
    grid.override_effect = {
        m: grid.consensus.get(m, 0.0) - grid.statistical.get(m, 0.0) - grid.events.get(m, 0.0)
        for m in horizon
    }
    return grid


def family_series(
    *, cycle: Cycle, family: str
) -> tuple[
    list[Product],
    dict[int | None, dict[dt.date, Decimal]],
    dict[tuple[int | None, dt.date], DemandOverride],
]:
    """A family's active SKUs, the statistical forecast and the overrides of each (key
    None: the family itself), for the round-trip workbook. SKU-location overrides are not
    in it: the workbook edits the family and its SKUs over all their locations."""
    products = list(
        Product.objects.filter(family=family, active=True).order_by("sku").only("sku", "name")
    )
    stat: dict[int | None, dict[dt.date, Decimal]] = {None: {}}
    for product_id, month, value in (
        StatisticalForecast.objects.filter(run=forecast_run_published(cycle=cycle))
        .filter(product__family=family)
        .values("product_id", "month")
        .annotate(total=Sum("value"))
        .values_list("product_id", "month", "total")
    ):
        stat.setdefault(product_id, {})[month] = value
        stat[None][month] = stat[None].get(month, 0) + value
    overrides = {
        (o.product_id if o.level == OverrideLevel.PRODUCT else None, o.month): o
        for o in DemandOverride.objects.filter(cycle=cycle, family=family, location=None)
    }
    return products, stat, overrides


@dataclass(frozen=True)
class OverrideChange:
    """One change of an override as the history panel shows it."""

    at: dt.datetime
    user: AbstractBaseUser | None
    scope: str  # "Bikes", "B-100 @ DC1"
    month: dt.date
    old: str  # "1200", "+10%"; "" when there was none
    new: str  # "" when cleared
    reason: str  # the reason code's label
    comment: str


def override_history(
    *, cycle: Cycle, selection: Selection, limit: int = 50
) -> list[OverrideChange]:
    """Changes of overrides in the selection, newest first; a SKU also shows its family's.

    Read from the audit trail: an override event's id is "<scope>/<YYYY-MM>", its `new`
    names the family, the kind, the value and the reason code.
    """
    family = selection.family
    scope = Q() if selection.is_total else Q(new__family=family)
    if selection.product is not None:
        sku = selection.product.sku
        scope &= (
            Q(object_id__startswith=f"{sku}/")
            | Q(object_id__startswith=f"{sku}@")
            | Q(object_id__startswith=f"{family}/")
        )
    events = change_history(
        cycle=cycle, object_types=[OVERRIDE_OBJECT_TYPE], scope=scope, limit=limit
    )
    labels = dict(ReasonCode.choices)
    changes = []
    for event in events:
        where, _, month = event.object_id.rpartition("/")
        old, new = event.old or {}, event.new or {}
        changes.append(
            OverrideChange(
                at=event.at,
                user=event.user,
                scope=where.replace("@", " @ "),
                month=dt.date.fromisoformat(f"{month}-01"),
                old=_override_text(old),
                new=_override_text(new),
                reason=labels.get(new.get("reason", ""), ""),
                comment=event.reason,
            )
        )
    return changes


def _override_text(change: dict) -> str:
    value = change.get("value")
    # At the model's precision, as format_override expects it: "800.000", not "800".
    value = None if value is None else Decimal(value).quantize(Decimal("0.001"))
    return format_override(change.get("kind"), value)


# --- accuracy ---------------------------------------------------------------------------


def _evaluation_frame(*, cycle: Cycle, scope: Q, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """Frozen plans of past cycles next to the actuals of their months, summed per key."""
    plans = (
        DemandPlanSnapshot.objects.filter(
            scope,
            cycle__month__lt=cycle.month,
            cycle__month__gte=add_months(cycle.month, -ACCURACY_CYCLES),
            month__lt=cycle.month,
        )
        .values(*keys, "cycle__month", "month")
        .annotate(naive=Sum("naive"), statistical=Sum("statistical"), consensus=Sum("consensus"))
    )
    frame = pd.DataFrame(list(plans))
    if frame.empty:
        return frame
    frame = frame.rename(columns={"cycle__month": "plan"})
    actuals = pd.DataFrame(
        list(
            SalesHistory.objects.filter(
                scope, month__gte=frame["month"].min(), month__lt=cycle.month
            )
            .values(*keys, "month")
            .annotate(actual=Sum("quantity"))
        ),
        columns=[*keys, "month", "actual"],
    )
    frame = frame.merge(actuals, on=[*keys, "month"], how="left")
    # A month without a recorded sale had zero demand.
    frame["actual"] = frame["actual"].astype(float).fillna(0.0)
    return frame


def _mase_scale(*, scope: Q, before: dt.date, keys: tuple[str, ...] = ()) -> pd.Series:
    """Seasonal naive in-sample MAE per key, from history before the first evaluated plan.

    On the full monthly calendar up to that plan, a month without a sale counting as zero
    (as the engine's series): lag 12 must mean the same month a year earlier, not twelve
    columns back over the months that happen to have sales.
    """
    rows = pd.DataFrame(
        list(
            SalesHistory.objects.filter(scope, month__lt=before)
            .values(*keys, "month")
            .annotate(qty=Sum("quantity"))
        ),
        columns=[*keys, "month", "qty"],
    )
    if rows.empty:
        return pd.Series(dtype=float)
    if not keys:
        rows["_all"] = "all"
    wide = rows.pivot_table(
        index=list(keys) or "_all", columns="month", values="qty", aggfunc="sum"
    ).astype(float)
    calendar = pd.date_range(min(wide.columns), before, freq="MS", inclusive="left").date
    return accuracy.seasonal_naive_scale(wide.reindex(columns=calendar, fill_value=0.0))


def _accuracy_stamp() -> str:
    """Changes whenever what the accuracy reads can have changed.

    Past plans are frozen snapshots, added (never edited) when a cycle leaves demand review;
    sales history changes only through an import. Two indexed aggregates, instead of the
    few hundred milliseconds the figures themselves take on every page view.
    """
    snapshots = DemandPlanSnapshot.objects.aggregate(last=Max("id"), n=Count("id"))
    imported = ImportJob.objects.aggregate(last=Max("finished_at"))["last"]
    return f"{snapshots['last']}:{snapshots['n']}:{imported.timestamp() if imported else 0}"


def accuracy_summary(*, cycle: Cycle, selection: Selection) -> list[dict]:
    """Accuracy of past plans for the selection, its family and the total, with FVA.

    Cached per process (Django's cache) until a plan is frozen or data is imported.
    """
    key = "demand:accuracy:{}:{}:{}:{}:{}".format(
        cycle.pk,
        selection.family,
        getattr(selection.product, "pk", None),
        getattr(selection.location, "pk", None),
        _accuracy_stamp(),
    )
    key = "demand:accuracy:" + hashlib.sha1(key.encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        cached = _accuracy_summary(cycle=cycle, selection=selection)
        cache.set(key, cached, ACCURACY_CACHE_SECONDS)
    return cached


def _accuracy_summary(*, cycle: Cycle, selection: Selection) -> list[dict]:
    levels = [("Total", Q())]
    if not selection.is_total:
        levels.insert(0, (f"{selection.family} (family)", Q(product__family=selection.family)))
    if selection.product is not None:
        label = selection.product.sku
        if selection.location is not None:
            label = f"{label} @ {selection.location.code}"
        levels.insert(0, (label, selection.q()))
    out = []
    for label, scope in levels:
        frame = _evaluation_frame(cycle=cycle, scope=scope)
        if frame.empty:
            continue
        frame["_all"] = "all"
        scale = _mase_scale(scope=scope, before=frame["plan"].min())
        table = accuracy.accuracy_by(frame, ["_all"], scale)
        row = table.iloc[0]
        methods = {
            m: {metric: finite_or_none(row[f"{m}_{metric}"]) for metric in accuracy.METRICS}
            for m in accuracy.METHODS
        }
        fva_statistical = _diff(methods["naive"]["wape"], methods["statistical"]["wape"])
        fva_consensus = _diff(methods["statistical"]["wape"], methods["consensus"]["wape"])
        out.append(
            {
                "label": label,
                "months": int(row["months"]),
                "methods": methods,
                "fva_statistical": fva_statistical,
                "fva_statistical_tone": fva_tone(fva_statistical),
                "fva_consensus": fva_consensus,
                "fva_consensus_tone": fva_tone(fva_consensus),
            }
        )
    return out


FVA_LEGEND = materiality.legend(
    [("fva", "Forecast value added", "pct", True)], {"fva": FVA_MATERIALITY}
)


# --- input streams --------------------------------------------------------------------------


@dataclass
class StreamRow:
    """An input stream's figures for the selection: horizon month -> units, where it has any."""

    stream: InputStream
    values: dict[dt.date, float]


def selection_streams(*, cycle: Cycle, selection: Selection) -> list[StreamRow]:
    """Each active stream's figures for the selection, split down as the consensus does.

    Two queries: the selection's family plan (its statistical column splits a family
    figure) and the family's entries.
    """
    active = list(InputStream.objects.filter(active=True))
    family_q = Q(product__family=selection.family) if not selection.is_total else Q()
    stat = pd.DataFrame(
        list(
            ConsensusDemand.objects.filter(family_q, cycle=cycle).values_list(
                "product_id", "location_id", "product__family", "month", "statistical"
            )
        ),
        columns=consensus.STAT_COLUMNS,
    )
    entries_qs = StreamEntry.objects.filter(cycle=cycle, stream__in=active)
    if not selection.is_total:
        entries_qs = entries_qs.filter(family=selection.family)
    frames = entries_qs.frames()
    keep = np.ones(len(stat), bool)
    if selection.product is not None:
        keep &= stat["product"].to_numpy() == selection.product.pk
    if selection.location is not None:
        keep &= stat["location"].to_numpy() == selection.location.pk
    rows = []
    for stream in active:
        mine = frames.get(stream.code, pd.DataFrame(columns=consensus.OVERRIDE_COLUMNS))
        values, covered = streams.stream_series(stat, mine)
        shown = covered & keep
        by_month = pd.Series(values[shown]).groupby(stat["month"].to_numpy()[shown]).sum()
        rows.append(StreamRow(stream=stream, values={m: float(v) for m, v in by_month.items()}))
    return rows


def _stream_figures(
    *, cycle: Cycle, family: str, stream: InputStream
) -> dict[tuple[int, int], dict[dt.date, float]]:
    """`stream`'s figure per SKU-location and month of the family, where it has one, split
    down as the consensus splits it (over the whole family's statistical forecast)."""
    entries = StreamEntry.objects.filter(cycle=cycle, stream=stream, family=family).frames()
    entries = entries.get(stream.code, pd.DataFrame())
    if entries.empty:
        return {}
    stat = pd.DataFrame(
        list(
            ConsensusDemand.objects.filter(cycle=cycle, product__family=family).values_list(
                "product_id", "location_id", "product__family", "month", "statistical"
            )
        ),
        columns=consensus.STAT_COLUMNS,
    )
    values, covered = streams.stream_series(stat, entries)
    out: dict[tuple[int, int], dict[dt.date, float]] = {}
    for p, loc, month, value in zip(
        stat["product"][covered], stat["location"][covered], stat["month"][covered],
        values[covered], strict=True,
    ):  # fmt: skip
        out.setdefault((p, loc), {})[month] = float(value)
    return out


def consensus_source(*, cycle: Cycle, selection: Selection) -> ConsensusSource | None:
    """The planner's source choice that applies to the selection: the SKU's, else the family's."""
    if selection.is_total:
        return None
    sources = ConsensusSource.objects.filter(cycle=cycle).select_related("author", "product")
    if selection.product is not None:
        own = sources.filter(product=selection.product).first()
        if own is not None:
            return own
    return sources.filter(level=OverrideLevel.FAMILY, family=selection.family).first()


@dataclass
class FvaStep:
    """One bar of the forecast value added waterfall: a forecast and its WAPE."""

    code: str
    label: str
    wape: float | None
    fva: float | None  # WAPE points gained over the step it is compared with
    against: str  # that step's code
    compared_with: str  # and its label


@dataclass
class StreamFva:
    """Naive -> statistical -> each stream -> consensus over the last approved cycles."""

    cycles: int
    months: int
    steps: list[FvaStep]

    @property
    def streams(self) -> list[FvaStep]:
        return [s for s in self.steps if s.code not in ("naive", "statistical", "consensus")]


def stream_fva(*, cycle: Cycle, scope: Q | None = None) -> StreamFva:
    """Accuracy and forecast value added of each input stream over past approved cycles.

    The frozen plans of the last FVA_CYCLES approved cycles before `cycle`, on the months
    with sales before it, judged per series and month (`accuracy.wape_by_method`). A stream
    is judged where it had a figure and as the statistical forecast elsewhere, so its value
    added is what its figures changed. The naive and statistical steps compare with the step
    before; each stream and the consensus with the statistical forecast.
    """
    scope = scope if scope is not None else Q()
    cycle_months = list(
        Cycle.objects.filter(stage=Stage.APPROVED, month__lt=cycle.month)
        .order_by("-month")
        .values_list("month", flat=True)[:FVA_CYCLES]
    )
    keys = ["cycle", "product", "location", "month"]
    plans = pd.DataFrame(
        list(
            DemandPlanSnapshot.objects.filter(
                scope, cycle__month__in=cycle_months, month__lt=cycle.month
            ).values_list(*keys, "naive", "statistical", "consensus")
        ),
        columns=[*keys, "naive", "statistical", "consensus"],
    )
    active = list(InputStream.objects.filter(active=True).values_list("code", "name"))
    if plans.empty:
        return StreamFva(cycles=0, months=0, steps=[])
    figures = pd.DataFrame(
        list(
            StreamPlanSnapshot.objects.filter(
                scope, cycle__month__in=cycle_months, month__lt=cycle.month, stream__active=True
            ).values_list(*keys, "stream__code", "value")
        ),
        columns=[*keys, "stream", "value"],
    )
    wide = figures.pivot_table(index=keys, columns="stream", values="value", aggfunc="sum")
    plans = plans.merge(wide, left_on=keys, right_index=True, how="left")
    for code, _ in active:
        if code not in plans:
            plans[code] = np.nan
        plans[code] = plans[code].astype(float).fillna(plans["statistical"])
    actuals = pd.DataFrame(
        list(
            SalesHistory.objects.filter(
                scope, month__gte=plans["month"].min(), month__lt=cycle.month
            )
            .values("product", "location", "month")
            .annotate(actual=Sum("quantity"))
            .values_list("product", "location", "month", "actual")
        ),
        columns=["product", "location", "month", "actual"],
    )
    plans = plans.merge(actuals, on=["product", "location", "month"], how="left")
    # A month without a recorded sale had zero demand.
    plans["actual"] = plans["actual"].astype(float).fillna(0.0)
    labels = [("naive", "Naive"), ("statistical", "Statistical"), *active]
    labels.append(("consensus", "Consensus"))
    wape = accuracy.wape_by_method(plans, [code for code, _ in labels])
    steps = []
    for i, (code, label) in enumerate(labels):
        against = "naive" if code in ("naive", "statistical") else "statistical"
        steps.append(
            FvaStep(
                code=code,
                label=label,
                wape=wape[code],
                fva=None if i == 0 else _diff(wape[against], wape[code]),
                against=against,
                compared_with=dict(labels)[against],
            )
        )
    return StreamFva(
        cycles=int(plans["cycle"].nunique()),
        months=int(plans[["cycle", "month"]].drop_duplicates().shape[0]),
        steps=steps,
    )


def stream_fva_sentences(fva: StreamFva) -> list[str]:
    """One line per stream for the executive pack: points gained or lost over statistical."""
    out = []
    for step in fva.streams:
        if step.fva is None:
            continue
        verb = "improved" if step.fva >= 0 else "worsened"
        out.append(
            f"{step.label} input {verb} accuracy by {abs(step.fva):.1f} points over the "
            f"last {fva.cycles} cycle{'s' if fva.cycles != 1 else ''} "
            "(WAPE against the statistical forecast)."
        )
    return out


def fva_tone(fva: float | None) -> str:
    """'good'/'bad' for a forecast value added of at least FVA_MATERIALITY, else ''."""
    return materiality.tone(fva, higher=True, materiality=FVA_MATERIALITY, reference={})


def _diff(before: float | None, after: float | None) -> float | None:
    """Forecast value added in WAPE points: positive when the later step lowered the error."""
    return None if before is None or after is None else before - after


def exception_products(*, cycle: Cycle, kind: str) -> list[int]:
    """SKUs flagged by an exception filter of the review page."""
    if kind == ExceptionFilter.OUTSIDE_HISTORY:
        # A family's override flags every SKU of the family: the planner finds it from any.
        flagged = DemandOverride.objects.filter(cycle=cycle, outside_history=True)
        families = flagged.filter(level=OverrideLevel.FAMILY).values("family")
        products = Product.objects.filter(
            Q(pk__in=flagged.filter(product__isnull=False).values("product"))
            | Q(family__in=families)
        )
        return sorted(products.values_list("pk", flat=True))
    if kind == ExceptionFilter.LARGE_CHANGE:
        previous = cycle_previous(cycle=cycle)
        if previous is None:
            return []
        source = (
            DemandPlanSnapshot.objects.filter(cycle=previous, month__gte=cycle.month)
            .values("product")
            .annotate(before=Sum("consensus"))
        )
        if not source:
            source = (
                ConsensusDemand.objects.filter(cycle=previous, month__gte=cycle.month)
                .values("product")
                .annotate(before=Sum("value"))
            )
        before = pd.DataFrame(list(source), columns=["product", "before"])
        # Compare on the months both plans cover.
        last_previous = add_months(previous.month, previous.horizon_months - 1)
        now = pd.DataFrame(
            list(
                ConsensusDemand.objects.filter(cycle=cycle, month__lte=last_previous)
                .values("product")
                .annotate(now=Sum("value"))
            ),
            columns=["product", "now"],
        )
        both = now.merge(before, on="product")
        change = (
            100 * (both["now"] - both["before"]).abs() / both["before"].where(both["before"] > 0)
        )
        return both.loc[change > LARGE_CHANGE_PCT, "product"].astype(int).tolist()
    frame = _evaluation_frame(cycle=cycle, scope=Q(), keys=("product",))
    if frame.empty:
        return []
    table = accuracy.accuracy_by(frame, ["product"])
    if kind == ExceptionFilter.LARGE_BIAS:
        flagged = table["consensus_bias"].abs() > LARGE_BIAS_PCT
    elif kind == ExceptionFilter.LOW_ACCURACY:
        flagged = table["consensus_wape"] > LOW_ACCURACY_WAPE_PCT
    else:
        return []
    return table.index[flagged.fillna(False).to_numpy()].astype(int).tolist()


# --- the family grid: its series as rows ----------------------------------------------


@dataclass
class SeriesRow:
    """One SKU-location of the family grid: the layer's months and what it is sorted by."""

    product_id: int
    location_id: int
    sku: str
    name: str
    location: str
    abc: str
    pattern: str
    values: list[float | None]  # per horizon month: the layer's (consensus for overrides)
    overrides: dict[dt.date, DemandOverride | StreamEntry]
    volume: float  # horizon total of `values`
    badges: list[LifecycleBadge]  # new (while its like product stands in), ending
    error: float | None  # WAPE (%) of the series' frozen consensus plans vs its sales
    change: float | None  # % change of the consensus vs last cycle's plan, common months

    @property
    def key(self) -> str:
        return f"{self.product_id}-{self.location_id}"


@dataclass
class SeriesGrid:
    """A page of a family's series as rows, the cycle's horizon months as columns."""

    family: str
    layer: str
    sort: str
    months: list[dt.date]
    rows: list[SeriesRow]
    count: int  # series passing the filters, over all pages
    page: int
    pages: int


def series_errors(*, cycle: Cycle, family: str) -> dict[tuple[int, int], float]:
    """Consensus WAPE (%) of past frozen plans per series of the family.

    Cached like `accuracy_summary` (until a plan is frozen or data is imported): it is
    most of the family grid's time otherwise.
    """
    key = f"demand:series-errors:{cycle.pk}:{family}:{_accuracy_stamp()}"
    key = "demand:series-errors:" + hashlib.sha1(key.encode()).hexdigest()
    errors = cache.get(key)
    if errors is None:
        frame = _evaluation_frame(
            cycle=cycle, scope=Q(product__family=family), keys=("product", "location")
        )
        errors = {}
        if not frame.empty:
            wape = accuracy.accuracy_by(frame, ["product", "location"])["consensus_wape"]
            errors = {(int(p), int(loc)): float(v) for (p, loc), v in wape.items()}
        cache.set(key, errors, ACCURACY_CACHE_SECONDS)
    return errors


def _series_in(frame: pd.DataFrame, series: set[tuple[int, int]]) -> np.ndarray:
    """Mask of `frame`'s rows whose (product, location) is in `series`."""
    pairs = zip(frame["product"], frame["location"], strict=True)
    return np.fromiter((pair in series for pair in pairs), dtype=bool, count=len(frame))


def _last_plan_by_series(*, cycle: Cycle, scope: Q) -> pd.DataFrame:
    """Last cycle's plan per series and month: its frozen snapshot, else its consensus."""
    columns = ["product", "location", "month", "before"]
    previous = cycle_previous(cycle=cycle)
    if previous is None:
        return pd.DataFrame(columns=columns)
    snapshot = DemandPlanSnapshot.objects.filter(scope, cycle=previous, month__gte=cycle.month)
    rows = snapshot.values_list("product", "location", "month", "consensus")
    if not snapshot.exists():
        rows = ConsensusDemand.objects.filter(
            scope, cycle=previous, month__gte=cycle.month
        ).values_list("product", "location", "month", "value")
    return pd.DataFrame(list(rows), columns=columns)


def series_grid(
    *,
    cycle: Cycle,
    family: str,
    layer: str = GridLayer.CONSENSUS,
    sort: str = GridSort.VOLUME,
    filters: Filters = Filters(),
    page: int = 1,
    series: tuple[int, int] | None = None,
    stream: InputStream | None = None,
) -> SeriesGrid:
    """The family's SKU-locations as rows of one layer, filtered, sorted and paged.

    Filters as the review tree: ABC class and exception per SKU, pattern per series (the
    published run's). Sorts put the largest first: volume, error, and change by its size
    (a fall counts as much as a rise); a series without a figure goes last. `series`
    (product, location) reads that one row only, as a saved cell answers. The stream layer
    shows `stream`'s figures where it has any (split down from the SKU or family, as the
    consensus splits them; two queries more) and the statistical forecast elsewhere, with
    its SKU-location entries as the cells' inputs. Eight queries whatever the family's size.
    """
    months = cycle.horizon
    scope = Q(product__family=family)
    if series is not None:
        scope &= Q(product_id=series[0], location_id=series[1])
    if filters.abc:
        scope &= Q(product__abc_class=filters.abc)
    if filters.exception:
        scope &= Q(product__in=exception_products(cycle=cycle, kind=filters.exception))
    plan = pd.DataFrame(
        list(
            ConsensusDemand.objects.filter(scope, cycle=cycle).values_list(
                "product", "location", "month", "statistical", "value"
            )
        ),
        columns=["product", "location", "month", "statistical", "consensus"],
    )
    run = forecast_run_published(cycle=cycle)
    patterns, like_series = {}, set()
    for p, loc, pattern, model in SeriesFit.objects.filter(scope, run=run).values_list(
        "product", "location", "pattern", "model"
    ):
        patterns[(p, loc)] = pattern
        if model == LIKE_MODEL:
            like_series.add((p, loc))
    if filters.pattern:
        keep = {key for key, pattern in patterns.items() if pattern == filters.pattern}
        plan = plan[_series_in(plan, keep)]
    by_statistical = (GridLayer.STATISTICAL, GridLayer.STREAM)
    shown = GridLayer.STATISTICAL if layer in by_statistical else GridLayer.CONSENSUS
    keys = ["product", "location"]
    summary = plan.groupby(keys)[[shown]].sum().rename(columns={shown: "volume"})

    errors = series_errors(cycle=cycle, family=family)
    summary["error"] = [errors.get(key, math.nan) for key in summary.index]
    before = _last_plan_by_series(cycle=cycle, scope=scope)
    both = plan.merge(before, on=[*keys, "month"])
    totals = both.groupby(keys)[["consensus", "before"]].sum()
    change = (
        100
        * (totals["consensus"] - totals["before"])
        / totals["before"].where(totals["before"] > 0)
    )
    summary = summary.join(change.rename("change").astype(float))

    labels = {
        pk: (sku, name, abc)
        for pk, sku, name, abc in Product.objects.filter(
            pk__in=summary.index.get_level_values(0).unique().tolist()
        ).values_list("pk", "sku", "name", "abc_class")
    }
    codes = dict(Location.objects.values_list("pk", "code"))
    summary["sku"] = [labels[p][0] for p, _ in summary.index]
    summary["code"] = [codes[loc] for _, loc in summary.index]
    by = {GridSort.ERROR: "error", GridSort.CHANGE: "change"}.get(sort, "volume")
    summary["_order"] = summary[by].abs() if by == "change" else summary[by]
    summary = summary.sort_values(
        ["_order", "sku", "code"], ascending=[False, True, True], na_position="last"
    )

    count = len(summary)
    pages = max(1, math.ceil(count / GRID_PAGE_ROWS))
    page = min(max(page, 1), pages)
    summary = summary.iloc[(page - 1) * GRID_PAGE_ROWS : page * GRID_PAGE_ROWS]
    chosen = set(summary.index)
    values = {
        key: dict(zip(group["month"], group[shown], strict=True))
        for key, group in plan[_series_in(plan, chosen)].groupby(keys)
    }
    if layer == GridLayer.STREAM and stream is not None:
        # Where the stream has a figure (entered here, or for the SKU or family and split
        # down), the row shows it; elsewhere the statistical forecast it reads as.
        for key, month_values in _stream_figures(cycle=cycle, family=family, stream=stream).items():
            if key in values:
                values[key].update(month_values)
    overrides: dict[tuple[int, int], dict[dt.date, DemandOverride | StreamEntry]] = {}
    edits = {GridLayer.OVERRIDE: DemandOverride.objects.all()}
    if stream is not None:
        edits[GridLayer.STREAM] = StreamEntry.objects.filter(stream=stream)
    if layer in edits and chosen:
        for o in (
            edits[layer]
            .filter(
                cycle=cycle,
                level=OverrideLevel.PRODUCT,
                product__in={p for p, _ in chosen},
                location__isnull=False,
            )
            .select_related("author")
        ):
            overrides.setdefault((o.product_id, o.location_id), {})[o.month] = o
    badges = product_lifecycle_badges(product_ids=[p for p, _ in chosen])
    rows = [
        SeriesRow(
            product_id=int(p),
            location_id=int(loc),
            sku=labels[p][0],
            name=labels[p][1],
            location=codes[loc],
            abc=labels[p][2],
            pattern=patterns.get((p, loc), ""),
            values=[values.get((p, loc), {}).get(m) for m in months],
            overrides=overrides.get((p, loc), {}),
            volume=float(r.volume),
            badges=_series_badges(badges.get(p, []), like=(p, loc) in like_series),
            error=finite_or_none(r.error),
            change=finite_or_none(r.change),
        )
        for (p, loc), r in summary.iterrows()
    ]
    return SeriesGrid(
        family=family,
        layer=layer,
        sort=by,
        months=months,
        rows=rows,
        count=count,
        page=page,
        pages=pages,
    )


def selection_badges(*, cycle: Cycle, selection: Selection) -> list[LifecycleBadge]:
    """The lifecycle badges of the SKU shown on the review page (none for a family)."""
    if selection.product is None:
        return []
    badges = product_lifecycle_badges(product_ids=[selection.product.pk])
    fits = SeriesFit.objects.filter(
        selection.q(), run=forecast_run_published(cycle=cycle), model=LIKE_MODEL
    )
    return _series_badges(badges.get(selection.product.pk, []), like=fits.exists())


def _series_badges(badges: list[LifecycleBadge], *, like: bool) -> list[LifecycleBadge]:
    """A series is new while its like product's forecast stands in for its own."""
    return [b for b in badges if b.kind != "new" or like]


# --- the cycle home's checklist --------------------------------------------------------------


def demand_checklist(cycle: Cycle) -> list[Check]:
    """The demand review's lines of the cycle home checklist."""
    run = (
        ForecastRun.objects.filter(cycle=cycle, is_published=True)
        .only("pk", "published_at")
        .first()
    )
    if run is not None:
        forecast = Check(
            "Statistical forecast published",
            "done",
            f"Run {run.pk}"
            + (f", {format_moment(run.published_at)}." if run.published_at else "."),
        )
    elif (gate := forecast_gate(cycle)) is None:
        forecast = Check("Statistical forecast published", "done", "No sales history to forecast.")
    else:
        forecast = Check("Statistical forecast published", "todo", gate)
    overrides = DemandOverride.objects.filter(cycle=cycle).aggregate(
        n=Count("id"),
        families=Count("family", distinct=True),
        authors=Count("author", distinct=True),
        last=Max("updated_at"),
    )
    # Every override carries a reason code and a comment (the service refuses one without).
    if overrides["n"]:
        detail = (
            f"{overrides['n']} overrides on {overrides['families']} families by "
            f"{overrides['authors']} planners, each with a reason and comment."
        )
    else:
        detail = "No overrides entered: the consensus is the statistical forecast."
    detail += (
        " The previous cycle's overrides still in the horizon were copied when the demand "
        "review started."
    )
    if overrides["last"]:
        detail += f" Last change {format_moment(overrides['last'])}."
    consensus = ConsensusDemand.objects.filter(cycle=cycle).exists()
    return [
        forecast,
        Check("Overrides reviewed", "info", detail),
        Check(
            "Consensus demand built",
            "done" if consensus else "todo",
            "" if consensus else "Built when the forecast is published.",
        ),
    ]


@dataclass(frozen=True)
class EventLift:
    """A past event's planned lift beside the lift measured against the cleansed baseline."""

    event: Event
    baseline: float
    actual: float
    lift_units: float
    lift_pct: float | None
    planned_units: float
    planned_pct: float | None

    @property
    def error_points(self) -> float | None:
        """Measured minus planned lift, in percentage points (positive: under-planned)."""
        if self.lift_pct is None or self.planned_pct is None:
            return None
        return self.lift_pct - self.planned_pct


def event_lifts(*, before: dt.date) -> tuple[list[EventLift], float | None]:
    """Every non-cancelled event that ended before `before`, with its measured lift, and the
    mean absolute error of the planned lifts in points (None without a measured event).

    The baseline is the history cleansed as the forecast run cleanses it
    (`demand.forecasting.history_marks` then `cleanse`) on the history before `before`.
    """
    keys, matrix, first = history_matrix(product_ids=None, before=before)
    mask, events, families = history_events(keys, first, matrix.shape[1], before)
    past = events[events["end"] < month_index(before)].reset_index(drop=True)
    if past.empty or not keys:
        return [], None
    touched = mask.any(axis=1)
    baseline = matrix.copy()
    for i in np.flatnonzero(touched):
        marks = history_marks(matrix[i], mask[i], SEASON_LENGTH)
        baseline[i] = cleanse(matrix[i], marks, SEASON_LENGTH)
    lifts = event_maths.measured_lift(keys, families, first, matrix, baseline, past)
    by_pk = Event.objects.select_related("product").in_bulk(past["event"].tolist())
    rows = [
        EventLift(
            event=by_pk[r.event],
            baseline=r.baseline,
            actual=r.actual,
            lift_units=r.lift_units,
            lift_pct=finite_or_none(r.lift_pct),
            planned_units=r.planned_units,
            planned_pct=finite_or_none(r.planned_pct),
        )
        for r in lifts.itertuples()
    ]
    rows.sort(key=lambda r: (r.event.start_month, r.event.code), reverse=True)
    error = event_maths.lift_error(lifts)
    return rows, finite_or_none(error)
