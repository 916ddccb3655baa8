"""Demand planning data: forecast runs and their results, overrides, the consensus plan."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from demand.choices import OverrideKind, OverrideLevel, Pattern, ReasonCode, Uncertainty
from sop.choices import Role
from sop.models import Cycle, Location, PlannerEdit, Product, PublishedRun, month_first_day_check


class ForecastRun(PublishedRun):
    """One statistical forecast of every series of a cycle, computed in chunks by Celery.

    Chunks write into the run's own rows; the run becomes the cycle's forecast only when
    the last chunk has finished and the run is published, so a failed, killed or
    cancelled run leaves the previously published one in place.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="forecast_runs")
    series_count = models.PositiveIntegerField(default=0)
    series_done = models.PositiveIntegerField(default=0)

    class Meta(PublishedRun.Meta):
        permissions = [("run_forecast", "Can run the statistical forecast")]

    def __str__(self) -> str:
        return f"Forecast run {self.pk} of {self.cycle} ({self.status})"


class StatisticalForecast(models.Model):
    """The forecast of one product at one location for one future month, from a run."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="forecasts")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    # Floats: these are model outputs written by the hundred thousand, not booked amounts.
    value = models.FloatField()
    lo80 = models.FloatField()
    hi80 = models.FloatField()
    lo95 = models.FloatField()
    hi95 = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location", "month"], name="statfc_natural_key"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="statfc_value_non_negative"),
            month_first_day_check("statfc_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.value:.1f}"


class SeriesFit(models.Model):
    """The model chosen for one series in a run, with its backtest errors.

    Supply planning reads `error_quantiles` (the stored form is `demand.uncertainty`) for
    safety stock, or `error_std` where there are none.
    """

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="fits")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=60)
    pattern = models.CharField(max_length=12, choices=Pattern.choices)
    flag = models.CharField(max_length=200, blank=True)
    backtest_mase = models.FloatField(null=True, blank=True)
    backtest_smape = models.FloatField(null=True, blank=True)
    error_std = models.FloatField(null=True, blank=True, help_text="One month ahead")
    error_std_by_horizon = models.JSONField(default=list, blank=True)
    uncertainty = models.CharField(
        max_length=12, choices=Uncertainty.choices, default=Uncertainty.BACKTEST
    )
    error_quantiles = models.JSONField(
        default=dict,
        blank=True,
        help_text="Quantiles of the cumulative forecast error by level, months 1..h",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location"], name="seriesfit_natural_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.model} ({self.pattern})"


def leveled_figure_constraints(name: str, *, per: tuple[str, ...] = ()) -> list:
    """The table rules of a planner's figure for a family, a SKU or a SKU at a location in a
    month (an override, a stream entry; `per`: what else tells two apart, e.g. the stream).

    One figure per scope and month (three partial constraints because NULLs never collide
    in a plain unique constraint), a level that matches its scope, a quantity of at least
    0 or a percent of at least -100, and a first-of-month month.
    """
    key = ["cycle", *per]
    return [
        models.UniqueConstraint(
            fields=[*key, "family", "month"],
            condition=Q(level=OverrideLevel.FAMILY),
            name=f"{name}_one_per_family_month",
        ),
        models.UniqueConstraint(
            fields=[*key, "product", "month"],
            condition=Q(level=OverrideLevel.PRODUCT, location__isnull=True),
            name=f"{name}_one_per_sku_month",
        ),
        models.UniqueConstraint(
            fields=[*key, "product", "location", "month"],
            condition=Q(level=OverrideLevel.PRODUCT, location__isnull=False),
            name=f"{name}_one_per_series_month",
        ),
        models.CheckConstraint(
            condition=(
                Q(level=OverrideLevel.FAMILY, product__isnull=True, location__isnull=True)
                | Q(level=OverrideLevel.PRODUCT, product__isnull=False)
            ),
            name=f"{name}_level_matches_scope",
        ),
        models.CheckConstraint(
            condition=Q(kind=OverrideKind.ABSOLUTE, value__gte=0)
            | Q(kind=OverrideKind.PERCENT, value__gte=-100),
            name=f"{name}_value_range",
        ),
        month_first_day_check(f"{name}_month_first_day"),
    ]


class DemandOverride(PlannerEdit):
    """A planner's change to the forecast of a family or SKU (optionally one location)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="demand_overrides")
    level = models.CharField(max_length=8, choices=OverrideLevel.choices)
    family = models.CharField(max_length=100)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField()
    kind = models.CharField(max_length=8, choices=OverrideKind.choices)
    value = models.DecimalField(max_digits=14, decimal_places=3)
    reason = models.CharField(max_length=20, choices=ReasonCode.choices)

    class Meta(PlannerEdit.Meta):
        constraints = leveled_figure_constraints("override")

    def __str__(self) -> str:
        return f"{self.scope_label} {self.month:%Y-%m}: {self.display_value}"

    @property
    def scope_label(self) -> str:
        if self.level == OverrideLevel.FAMILY:
            return self.family
        label = self.product.sku if self.product_id else ""
        return f"{label}@{self.location.code}" if self.location_id else label

    @property
    def display_value(self) -> str:
        return format_override(self.kind, self.value)


def format_override(kind: str | None, value) -> str:
    """How an override reads in the grid and the history: 1200 or +10%."""
    if kind is None or value is None:
        return ""
    number = f"{value:f}".rstrip("0").rstrip(".")
    if kind == OverrideKind.PERCENT:
        return f"{'+' if value >= 0 else ''}{number}%"
    return number


class ConsensusDemand(models.Model):
    """The cycle's demand plan for a series and month: statistical forecast + events +
    overrides (`events` is what confirmed planned events add, `demand.events`)."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="consensus")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    statistical = models.FloatField()
    events = models.FloatField(default=0)
    override_delta = models.FloatField(default=0)
    value = models.FloatField()

    class Meta:
        verbose_name_plural = "consensus demand"
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product", "location", "month"], name="consensus_natural_key"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="consensus_non_negative"),
            month_first_day_check("consensus_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.value:.1f}"


class DemandPlanSnapshot(models.Model):
    """The frozen demand plan of a submitted cycle, kept to measure accuracy later.

    `naive` is the seasonal naive forecast made at the same time, the baseline of the
    forecast value added.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="plan_snapshot")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    naive = models.FloatField()
    statistical = models.FloatField()
    events = models.FloatField(default=0)
    consensus = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product", "location", "month"], name="snapshot_natural_key"
            ),
            month_first_day_check("snapshot_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.product_id}@{self.location_id} {self.month:%Y-%m}"


class InputStream(models.Model):
    """A named forecast besides the statistical one (sales, marketing ...), kept by one role."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    role = models.CharField(
        max_length=40, choices=Role.choices, help_text="The role whose users enter this stream"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class StreamEntryQuerySet(models.QuerySet):
    def frames(self) -> dict:
        """The entries as one frame per stream code, with the columns of
        `demand.consensus.OVERRIDE_COLUMNS` (they split down as overrides do)."""
        import pandas as pd

        from demand.consensus import OVERRIDE_COLUMNS

        rows = pd.DataFrame(
            list(self.values_list("stream__code", *_FIGURE_FIELDS)),
            columns=["stream", *OVERRIDE_COLUMNS],
        )
        return {
            code: group.drop(columns="stream").reset_index(drop=True)
            for code, group in rows.groupby("stream")
        }


# A figure's fields in the order of `demand.consensus.OVERRIDE_COLUMNS`.
_FIGURE_FIELDS = ("level", "family", "product_id", "location_id", "month", "kind", "value")


class StreamEntry(PlannerEdit):
    """A stream's figure for a family or SKU (optionally one location) in a month.

    Kept like an override (quantity or percent of the statistical forecast, the most
    specific scope wins, split down the series by the statistical forecast), but it is the
    stream's own forecast, not a change of the plan: the consensus takes it only where the
    demand planner chose the stream (`ConsensusSource`).
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="stream_entries")
    stream = models.ForeignKey(InputStream, on_delete=models.PROTECT, related_name="entries")
    objects = StreamEntryQuerySet.as_manager()
    level = models.CharField(max_length=8, choices=OverrideLevel.choices)
    family = models.CharField(max_length=100)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField()
    kind = models.CharField(max_length=8, choices=OverrideKind.choices)
    value = models.DecimalField(max_digits=14, decimal_places=3)

    class Meta(PlannerEdit.Meta):
        verbose_name_plural = "stream entries"
        constraints = leveled_figure_constraints("stream_entry", per=("stream",))

    def __str__(self) -> str:
        return f"{self.stream_id} {self.family} {self.month:%Y-%m}: {self.display_value}"

    @property
    def display_value(self) -> str:
        return format_override(self.kind, self.value)


class ConsensusSource(PlannerEdit):
    """Which forecast the consensus of a family or SKU starts from, chosen by the planner.

    `weights` maps "statistical" or a stream's code to a whole percent, summing to 100:
    {"sales": 100} takes the sales stream, {"statistical": 50, "sales": 50} a mix. A SKU's
    choice wins over its family's; without one the consensus starts from the statistical
    forecast. Overrides still apply on top.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="consensus_sources")
    level = models.CharField(max_length=8, choices=OverrideLevel.choices)
    family = models.CharField(max_length=100)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    weights = models.JSONField()
    reason = models.CharField(max_length=20, choices=ReasonCode.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "family"],
                condition=Q(level=OverrideLevel.FAMILY),
                name="consensus_source_one_per_family",
            ),
            models.UniqueConstraint(
                fields=["cycle", "product"],
                condition=Q(level=OverrideLevel.PRODUCT),
                name="consensus_source_one_per_sku",
            ),
            models.CheckConstraint(
                condition=Q(level=OverrideLevel.FAMILY, product__isnull=True)
                | Q(level=OverrideLevel.PRODUCT, product__isnull=False),
                name="consensus_source_level_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope_label}: {self.weights_label}"

    @property
    def scope_label(self) -> str:
        return self.family if self.level == OverrideLevel.FAMILY else self.product.sku

    @property
    def weights_label(self) -> str:
        return " + ".join(f"{code} {share}%" for code, share in self.weights.items())


class StreamPlanSnapshot(models.Model):
    """A stream's forecast per series and month in a frozen plan, where the stream had one.

    Beside `DemandPlanSnapshot`, so accuracy and forecast value added are measured per
    stream; a series and month the stream did not cover is judged as the statistical one.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="stream_snapshot")
    stream = models.ForeignKey(InputStream, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "stream", "product", "location", "month"],
                name="stream_snapshot_natural_key",
            ),
            month_first_day_check("stream_snapshot_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.stream_id} {self.product_id}@{self.location_id}"
