"""The approved plan of a cycle: the approval record and the frozen copy of the plan.

Rows are written once, when the executive approves (`executive.services.plan_freeze`), and
never changed: migration 0002 installs database triggers that refuse updates, and deletes
other than of the whole cycle. Codes (SKU, location, resource) are copied as text so the
ERP export, and its checksum, stay the same when master data is renamed later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from reconciliation.models import FamilyMonthFigures, ResourceMonthLoad
from sop.choices import MakeOrBuy
from sop.models import Cycle, Location, Product, Resource


class PlanApproval(models.Model):
    """Who approved which scenario of a cycle, when, why, and the checksum of what."""

    cycle = models.OneToOneField(Cycle, on_delete=models.CASCADE, related_name="approval")
    scenario = models.ForeignKey(
        "reconciliation.Scenario", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    scenario_name = models.CharField(max_length=120, blank=True)
    scenario_is_base = models.BooleanField(default=True)
    scenario_changes = models.JSONField(default=list, help_text="The deltas, as sentences")
    run_id = models.PositiveIntegerField(
        null=True, help_text="The scenario run whose figures were frozen"
    )
    # PROTECT: deleting the approver would have to null this frozen row; deactivate instead.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by_name = models.CharField(max_length=150)
    approved_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the plan's CSV export")
    kpis = models.JSONField(default=dict, help_text="The approved scenario's headline figures")
    base_kpis = models.JSONField(default=dict, help_text="The base plan's, for comparison")
    line_count = models.PositiveIntegerField(default=0)
    family_month_count = models.PositiveIntegerField(default=0)
    resource_month_count = models.PositiveIntegerField(default=0)
    # Which columns the ERP export has: None for plans approved before the lifecycle columns
    # (their export, and so their checksum, stays as it was), EXPORT_WITH_LIFECYCLE after.
    # Nullable, so adding it kept SQLite's freeze triggers (see FrozenPlanLine's money).
    export_version = models.PositiveSmallIntegerField(
        null=True, help_text="Empty: the original export columns; 2: with the lifecycle columns"
    )

    class Meta:
        ordering = ["-cycle__month"]

    def __str__(self) -> str:
        return f"Approval of {self.cycle}"

    def get_absolute_url(self) -> str:
        return reverse("executive:approved_detail", args=[self.pk])


class FrozenPlanLine(models.Model):
    """The approved plan of one SKU at one location in one month: what the ERP receives."""

    approval = models.ForeignKey(PlanApproval, on_delete=models.CASCADE, related_name="lines")
    # PROTECT: a product with an approved plan is kept (deactivate it instead).
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", db_index=False)
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sku = models.CharField(max_length=40)
    location_code = models.CharField(max_length=40)
    family = models.CharField(max_length=100)
    month = models.DateField()
    make_or_buy = models.CharField(max_length=4, choices=MakeOrBuy.choices)
    consensus = models.DecimalField(max_digits=16, decimal_places=3)
    demand = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="The scenario's demand (consensus + deltas)"
    )
    planned = models.DecimalField(max_digits=16, decimal_places=3)
    on_hand = models.DecimalField(max_digits=16, decimal_places=3)
    unmet = models.DecimalField(max_digits=16, decimal_places=3)
    excess_quantity = models.DecimalField(max_digits=16, decimal_places=3)
    # The approved scenario's money, copied from its lines. Null on plans frozen before
    # these were stored; nullable also so that adding them kept SQLite's freeze triggers
    # (a NOT NULL column would have rebuilt the table without them).
    unmet_revenue = models.FloatField(null=True, help_text="Unmet demand at the plan's price")
    excess_value = models.FloatField(null=True, help_text="Excess stock at the plan's cost")
    # The product's lifecycle when the plan was approved. Null on plans frozen before these
    # were stored (and so that adding them kept SQLite's freeze triggers).
    lifecycle = models.CharField(  # noqa: DJ001 (null: not recorded; "": neither)
        max_length=20, null=True, help_text="new, ending, new ending, or empty"
    )
    like_sku = models.CharField(  # noqa: DJ001 (null: not recorded; "": no like product)
        max_length=40, null=True, help_text="The like product forecast in its place"
    )
    end_of_life_month = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "product", "location", "month"], name="frozenline_natural_key"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="frozenline_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.sku}@{self.location_code} {self.month:%Y-%m}: {self.planned}"


class FrozenFamilyMonth(FamilyMonthFigures):
    """The approved plan's money per product family and month, with the budget."""

    approval = models.ForeignKey(PlanApproval, on_delete=models.CASCADE, related_name="families")

    class Meta(FamilyMonthFigures.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "family", "month"], name="frozenfamily_natural_key"
            )
        ]


class FrozenResourceMonth(ResourceMonthLoad):
    """The approved plan's capacity and load per resource and month."""

    approval = models.ForeignKey(PlanApproval, on_delete=models.CASCADE, related_name="resources")
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    resource_code = models.CharField(max_length=40)

    class Meta:
        ordering = ["resource_code", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "resource", "month"], name="frozenresource_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource_code} {self.month:%Y-%m}: {self.load:.0f}/{self.capacity:.0f} h"
