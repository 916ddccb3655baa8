"""Reconciliation data: scenarios (deltas on the base plan), their runs and results, the log.

A scenario is never a copy of the plan: it holds the deltas (`reconciliation.scenarios`)
as JSON, and a run recomputes its figures from the cycle's current inputs. Each scenario
has at most one published run, so a failed rerun leaves the last good figures on the page.
The base scenario of a cycle holds no deltas: it is the published supply plan in money.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from sop.models import (
    Cycle,
    EditedRow,
    Location,
    Product,
    PublishedRun,
    Resource,
    published_run_constraints,
    result_fk,
)


class Scenario(EditedRow):
    """The base plan of a cycle, or a what-if: the base plus a list of deltas."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_base = models.BooleanField(default=False)
    deltas = models.JSONField(default=list, blank=True)
    recommended = models.BooleanField(default=False)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-is_base", "created_at", "id"]
        permissions = [("recommend_scenario", "Can mark a scenario as recommended")]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "name"], name="scenario_unique_name"),
            models.UniqueConstraint(
                fields=["cycle"], condition=Q(is_base=True), name="scenario_one_base_per_cycle"
            ),
            models.UniqueConstraint(
                fields=["cycle"],
                condition=Q(recommended=True),
                name="scenario_one_recommended_per_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.cycle})"


class ScenarioRun(PublishedRun):
    """One computation of a scenario: engine inputs + deltas -> plan, money and KPIs.

    `basis` fingerprints what the run read (consensus demand, the published supply plan
    and its edits, the budget), and `deltas` what it applied, so the page can tell when a
    result no longer matches the scenario or the cycle.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="scenario_runs")
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="runs")
    basis = models.CharField(max_length=200, blank=True)
    deltas = models.JSONField(default=list, blank=True)
    scenario_version = models.PositiveIntegerField(default=0)
    kpis = models.JSONField(default=dict, blank=True)
    sources = models.JSONField(
        default=list, blank=True, help_text="Units and extra cost per source, the primary first"
    )
    sku_location_count = models.PositiveIntegerField(default=0)

    publish_scope = "scenario"

    class Meta(PublishedRun.Meta):
        ordering = ["-created_at", "-id"]
        # A published run per scenario (not per cycle, as for forecast and supply runs).
        constraints = published_run_constraints("scenario")

    def __str__(self) -> str:
        return f"Scenario run {self.pk} of {self.scenario_id} ({self.status})"


class ScenarioLine(models.Model):
    """A run's plan for one SKU at one location in one month (what the ERP export reads)."""

    run = result_fk(ScenarioRun, related_name="lines")
    product = result_fk(Product)
    location = result_fk(Location)
    month = models.DateField()
    demand = models.FloatField()
    planned = models.FloatField(help_text="Constrained planned supply (production or purchase)")
    shortage = models.FloatField()
    on_hand = models.FloatField()
    unmet = models.FloatField()
    excess_quantity = models.FloatField()
    # At the scenario's prices and costs (a price delta changes them, the product's do
    # not); null on rows written before these were stored.
    unmet_revenue = models.FloatField(null=True, help_text="Unmet demand at the unit price")
    excess_value = models.FloatField(null=True, help_text="Excess stock at the unit cost")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location", "month"], name="scenarioline_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.planned:.0f}"


class FamilyMonthFigures(models.Model):
    """The money and gap figures of a plan per product family and month.

    A scenario run computes them (`ScenarioFamilyMonth`); an approval freezes a copy
    (`executive.FrozenFamilyMonth`).
    """

    family = models.CharField(max_length=100)
    month = models.DateField()
    demand = models.FloatField()
    volume = models.FloatField()
    unmet_units = models.FloatField()
    unmet_revenue = models.FloatField()
    revenue = models.FloatField()
    cogs = models.FloatField()
    gross_margin = models.FloatField()
    inventory_value = models.FloatField()
    excess_value = models.FloatField()
    budget_revenue = models.FloatField(null=True)

    class Meta:
        abstract = True
        ordering = ["family", "month"]

    def __str__(self) -> str:
        return f"{self.family} {self.month:%Y-%m}: {self.revenue:.0f}"


# The figures' columns in declaration order, for copying and bulk-writing them.
FAMILY_MONTH_COLUMNS = [field.name for field in FamilyMonthFigures._meta.fields]


class ResourceMonthLoad(models.Model):
    """A plan's capacity and load per resource and month (computed, or frozen)."""

    month = models.DateField()
    capacity = models.FloatField()
    load = models.FloatField()
    load_unconstrained = models.FloatField()

    class Meta:
        abstract = True


class ScenarioFamilyMonth(FamilyMonthFigures):
    """A run's money and gap figures per product family and month."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="families")
    volume = models.FloatField(help_text="Demand fulfilled")

    class Meta(FamilyMonthFigures.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["run", "family", "month"], name="scenariofamily_natural_key"
            )
        ]


class ScenarioResourceMonth(ResourceMonthLoad):
    """A run's capacity and constrained load per resource and month."""

    run = models.ForeignKey(ScenarioRun, on_delete=models.CASCADE, related_name="resources")
    resource = result_fk(Resource)

    class Meta:
        ordering = ["resource", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "resource", "month"], name="scenarioresource_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.month:%Y-%m}: {self.load:.0f}/{self.capacity:.0f} h"


class DecisionLogEntry(models.Model):
    """An assumption or decision of the cycle, carried to the executive review."""

    class Kind(models.TextChoices):
        ASSUMPTION = "assumption", "Assumption"
        DECISION = "decision", "Decision"
        RISK = "risk", "Risk"

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DECISION)
    text = models.TextField()
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    # The scenario's name when written: the entry still reads right after a delete.
    scenario_name = models.CharField(max_length=120, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class Risk(EditedRow):
    """A risk of the cycle's plan: who owns it, by when, how likely and how costly.

    Exposure is probability x impact (`reconciliation.selectors.risks` computes it in the
    query); impact is money in the company currency (`settings.SOP_CURRENCY`). Risks not
    closed are carried into the next cycle when it opens.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATING = "mitigating", "Mitigating"
        CLOSED = "closed", "Closed"

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due = models.DateField(null=True, blank=True)
    probability = models.PositiveSmallIntegerField(default=0)  # percent
    impact = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["cycle", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__lte=100),
                name="risk_probability_percent",
                violation_error_message="The probability is a percentage, 0 to 100.",
            ),
            models.CheckConstraint(
                condition=Q(impact__gte=0),
                name="risk_impact_non_negative",
                violation_error_message="The impact is an amount of money, not below zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"
