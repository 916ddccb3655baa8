"""Supply planning data: supply runs and their results, planned supply and capacity edits."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from sop.models import (
    Cycle,
    Location,
    PlannerEdit,
    Product,
    ProductSource,
    PublishedRun,
    Resource,
    month_first_day_check,
    result_fk,
)
from supply.choices import CapacityReason, SafetyStockMethod, SupplyReason


class SupplyRun(PublishedRun):
    """One supply plan of a cycle: safety stock, constrained plan, projection, capacity load.

    Chunks (groups of SKUs that share no resource with other chunks) write into the run's
    own rows; the run becomes the cycle's supply plan only when every chunk has finished
    and it is published, so a failed run leaves the previously published one in place.
    `demand_fingerprint` identifies the consensus demand the run read, so the page and the
    stage gate can tell when the demand changed since.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="supply_runs")
    sku_location_count = models.PositiveIntegerField(default=0)
    demand_fingerprint = models.CharField(max_length=100, blank=True)

    class Meta(PublishedRun.Meta):
        permissions = [("run_supply", "Can run the supply plan")]

    def __str__(self) -> str:
        return f"Supply run {self.pk} of {self.cycle} ({self.status})"


class InventoryProjection(models.Model):
    """A run's plan for one SKU at one location in one month, and the stock it leads to."""

    # The natural-key index (run, product, location, month) serves every read and the
    # per-chunk deletes; more indexes would only slow down the 180,000-row writes. No
    # database FK constraints either: Django's are deferred, and checking 3 x 180,000 rows
    # at COMMIT took seconds. The ids come from rows the run has just read and Django's
    # collector still cascades deletes.
    run = result_fk(SupplyRun, related_name="projections")
    product = result_fk(Product)
    location = result_fk(Location)
    month = models.DateField()
    # Floats: engine outputs written by the hundred thousand, not booked amounts.
    demand = models.FloatField()
    receipts = models.FloatField()
    planned_unconstrained = models.FloatField()
    planned = models.FloatField()
    firm = models.BooleanField(default=False, help_text="Planned supply fixed by a planner")
    shortage = models.FloatField(help_text="Planned production cut for lack of capacity")
    on_hand = models.FloatField(help_text="Projected closing stock")
    unmet = models.FloatField(help_text="Demand lost to a stockout")
    weeks_of_cover = models.FloatField()
    excess_quantity = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location", "month"], name="invproj_natural_key"
            ),
            month_first_day_check("invproj_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.on_hand:.0f}"


class StockTarget(models.Model):
    """A run's safety stock and order-up-to level of one SKU-location, with their inputs."""

    # Indexes and constraints: see InventoryProjection.
    run = result_fk(SupplyRun, related_name="targets")
    product = result_fk(Product)
    location = result_fk(Location)
    service_level = models.FloatField()
    safety_stock = models.FloatField()
    safety_stock_method = models.CharField(
        max_length=10, choices=SafetyStockMethod.choices, default=SafetyStockMethod.NORMAL
    )
    order_up_to = models.FloatField(
        help_text="Demand over lead time plus review period, plus safety stock"
    )
    demand_error_std = models.FloatField(help_text="Monthly demand forecast error std")
    error_from_forecast = models.BooleanField(
        default=True, help_text="False: the std of recent sales stood in for the forecast error"
    )
    lead_time_months = models.FloatField()
    lead_time_std_months = models.FloatField()
    first_month = models.DateField(help_text="First month planned supply can arrive")
    # An edit recomputes a whole resource group but rewrites only the SKU-locations whose
    # rows changed; comparing hashes spares reading the group's rows back.
    plan_hash = models.BigIntegerField(default=0, help_text="Hash of the monthly plan rows")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location"], name="stocktarget_natural_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: SS {self.safety_stock:.0f}"


class SourceSplit(models.Model):
    """A run's supply of one SKU-location and month from one of its alternate sources.

    Only alternates that supply something have rows; the primary's part is the planned
    supply less these (`supply.sourcing`). `extra_cost` is the quantity times the source's
    unit cost less the product's: what buying elsewhere adds (negative when cheaper).
    """

    # Indexes and constraints: see InventoryProjection.
    run = result_fk(SupplyRun, related_name="source_splits")
    product = result_fk(Product)
    location = result_fk(Location)
    month = models.DateField()
    source = result_fk(ProductSource)
    quantity = models.FloatField()
    extra_cost = models.FloatField(help_text="Quantity x (source unit cost - product unit cost)")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location", "month", "source"],
                name="sourcesplit_natural_key",
            ),
            month_first_day_check("sourcesplit_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m} from {self.source_id}"


class CapacityLoad(models.Model):
    """A run's hours available and loaded on one resource in one month."""

    # The natural-key index starts with run_id and serves lookups by run.
    run = models.ForeignKey(
        SupplyRun, on_delete=models.CASCADE, related_name="loads", db_index=False
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    available_hours = models.FloatField(help_text="Imported capacity plus the planners' changes")
    load_unconstrained = models.FloatField()
    load = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "resource", "month"], name="capload_natural_key"
            ),
            month_first_day_check("capload_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.month:%Y-%m}: {self.load:.0f}/{self.available_hours:.0f}"

    @property
    def utilisation(self) -> float | None:
        """Load over available hours; None when there are no hours at all."""
        return self.load / self.available_hours if self.available_hours > 0 else None


class PlannedSupplyEdit(PlannerEdit):
    """A supply planner's fixed planned supply of a SKU at a location in a month.

    The engine treats the quantity as firm: it counts in netting, loads capacity and is
    never moved or cut (see `supply.projection`).
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="supply_edits")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    reason = models.CharField(max_length=20, choices=SupplyReason.choices)

    class Meta(PlannerEdit.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "product", "location", "month"], name="supplyedit_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="supplyedit_quantity_non_negative"
            ),
            month_first_day_check("supplyedit_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.quantity}"


class CapacityAdjustment(PlannerEdit):
    """A change of a resource's available hours in a month for this cycle's plan.

    `delta_hours` is added to the imported capacity (overtime +, a lost shift -); the
    result never goes below zero.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="capacity_adjustments")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    delta_hours = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=20, choices=CapacityReason.choices)

    class Meta(PlannerEdit.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "resource", "month"], name="capadjust_natural_key"
            ),
            month_first_day_check("capadjust_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.month:%Y-%m}: {self.delta_hours:+} h"


class PlanRecompute(models.Model):
    """A SKU whose rows of the published plan wait for the recompute an edit sent to the
    background (`supply.services.edits`); the grid marks its cells pending meanwhile.

    `requested_at` moves with each edit: a recompute that started before it leaves the row.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cycle", "product"], name="plan_recompute_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} in {self.cycle_id} since {self.requested_at:%H:%M:%S}"
