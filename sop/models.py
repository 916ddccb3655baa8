"""Core models: master data, ERP facts, the planning cycle, imports and the audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from sop.choices import (
    AbcClass,
    EffectKind,
    EventKind,
    EventScope,
    EventStatus,
    JobStatus,
    LocationKind,
    MakeOrBuy,
    PullOutcome,
    ReceiptKind,
    ResourceKind,
    SourceKind,
    Stage,
    TokenScope,
    XyzClass,
)
from sop.extracts import ENTITIES
from sop.months import add_months

FIRST_DAY_OF_MONTH = "Enter the first day of a month, such as 2026-11-01."
# An API token: "sop_", 12 hex digits of prefix, "_", 43 characters of URL-safe base64.
TOKEN_RE = re.compile(r"sop_([0-9a-f]{12})_[A-Za-z0-9_-]{43}", re.ASCII)


def month_first_day_check(name: str, field: str = "month") -> models.CheckConstraint:
    """A check that a date column holds the first day of a month (every monthly row's)."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__day": 1}), name=name, violation_error_message=FIRST_DAY_OF_MONTH
    )


def first_day_of_month(value) -> None:
    """The field-level twin of `month_first_day_check`, for the forms (the admin)."""
    if value is not None and value.day != 1:
        raise ValidationError(FIRST_DAY_OF_MONTH, code="first_day_of_month")


def at_least(limit: int | str, message: str) -> MinValueValidator:
    """A lower bound said in the user's words; the check constraint behind it stays.

    A form shows it next to the field, and Django then skips the table's check constraint
    on that field instead of reporting "Constraint ... is violated" for the whole row.
    """
    return MinValueValidator(Decimal(limit), message=message)


def result_fk(model: type[models.Model], related_name: str = "+") -> models.ForeignKey:
    """A foreign key of a bulk-written result row: no index and no constraint of its own.

    Result rows (a supply run's projection, a scenario's lines) are written by the hundred
    thousand from ids just read; the run's natural-key index serves every read, and
    Django's collector still cascades deletes.
    """
    return models.ForeignKey(
        model,
        on_delete=models.CASCADE,
        related_name=related_name,
        db_index=False,
        db_constraint=False,
    )


class PlannerEdit(models.Model):
    """A planner's change to a cycle's monthly plan: why, who, and the lock's version.

    `version` implements optimistic locking (`sop.locking`): a save names the version it
    saw and is refused when someone else saved in between.
    """

    comment = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    # Saved after the planner confirmed a value far outside the series' history
    # (`sop.sanity`); the review page lists it as an exception.
    outside_history = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["month", "id"]


class Supplier(models.Model):
    """A vendor of purchased items; its lead time drives safety stock."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    lead_time_days_mean = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=0,
        validators=[at_least(0, "The mean lead time cannot be negative.")],
    )
    lead_time_days_std = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=0,
        validators=[at_least(0, "The lead time's standard deviation cannot be negative.")],
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_time_days_mean__gte=0) & Q(lead_time_days_std__gte=0),
                name="supplier_lead_time_non_negative",
                violation_error_message="Lead times cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Product(models.Model):
    """A stock-keeping unit; family and category group it for planning and budgets."""

    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=100, db_index=True)
    category = models.CharField(max_length=100, blank=True)
    uom = models.CharField("unit of measure", max_length=20, default="EA")
    unit_cost = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=0,
        validators=[at_least(0, "The unit cost cannot be negative.")],
    )
    unit_price = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=0,
        validators=[at_least(0, "The unit price cannot be negative.")],
    )
    lead_time_days = models.PositiveIntegerField(default=0)
    moq = models.DecimalField(
        "minimum order quantity",
        max_digits=14,
        decimal_places=3,
        default=0,
        validators=[at_least(0, "The minimum order quantity cannot be negative.")],
    )
    lot_size = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        validators=[at_least(0, "The lot size cannot be negative.")],
    )
    make_or_buy = models.CharField(max_length=4, choices=MakeOrBuy.choices, default=MakeOrBuy.MAKE)
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT)
    abc_class = models.CharField(max_length=1, choices=AbcClass.choices, blank=True)
    xyz_class = models.CharField(max_length=1, choices=XyzClass.choices, blank=True)
    active = models.BooleanField(default=True)
    # Lifecycle: a product with too little history is forecast from its like product
    # (scaled by the factor, ramped up linearly over the ramp's months from its launch
    # month); from its end-of-life month on it is forecast to zero.
    like_product = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Forecast from this product's forecast until there is enough history",
    )
    like_factor = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[at_least("0.0001", "The like factor must be above 0.")],
        help_text="The like product's forecast times this (0.8: 80%); empty: 1",
    )
    launch_ramp_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Months from launch to full volume, linear (3: 33%, 67%, 100%)",
    )
    launch_month = models.DateField(null=True, blank=True, validators=[first_day_of_month])
    end_of_life_month = models.DateField(
        null=True,
        blank=True,
        validators=[first_day_of_month],
        help_text="Forecast to zero from this month on",
    )

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(like_product__isnull=True) | ~Q(like_product=F("pk")),
                name="product_not_its_own_like",
                violation_error_message="A product cannot be its own like product.",
            ),
            models.CheckConstraint(
                condition=Q(like_factor__isnull=True) | Q(like_factor__gt=0),
                name="product_like_factor_positive",
                violation_error_message="The like factor must be above 0.",
            ),
            models.CheckConstraint(
                condition=Q(launch_month__isnull=True)
                | Q(end_of_life_month__isnull=True)
                | Q(end_of_life_month__gte=F("launch_month")),
                name="product_end_of_life_after_launch",
                violation_error_message="The end-of-life month cannot be before the launch month.",
            ),
            month_first_day_check("product_launch_month_first_day", "launch_month"),
            month_first_day_check("product_end_of_life_month_first_day", "end_of_life_month"),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0)
                & Q(unit_price__gte=0)
                & Q(moq__gte=0)
                & Q(lot_size__gte=0),
                name="product_amounts_non_negative",
                violation_error_message=(
                    "Unit cost, unit price, minimum order quantity and lot size cannot be negative."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Location(models.Model):
    """A plant, warehouse or distribution centre holding stock."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=12, choices=LocationKind.choices, default=LocationKind.WAREHOUSE
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Resource(models.Model):
    """A work centre (or a supplier's line) with capacity in hours per month."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=12, choices=ResourceKind.choices, default=ResourceKind.WORK_CENTRE
    )
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Routing(models.Model):
    """How many hours of a resource one unit of a product takes."""

    # The natural-key index starts with product_id and serves lookups by product.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="routings", db_index=False
    )
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="routings")
    hours_per_unit = models.DecimalField(
        max_digits=10,
        decimal_places=5,
        validators=[at_least("0.00001", "Hours per unit must be more than zero.")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "resource"], name="routing_natural_key"),
            models.CheckConstraint(
                condition=Q(hours_per_unit__gt=0),
                name="routing_hours_positive",
                violation_error_message="Hours per unit must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.resource_id}"


class ProductSource(models.Model):
    """An alternate source of a product at a location: a supplier or a resource.

    One level of sourcing: the primary source is the product's own (its routing, or its
    supplier); these rows are the back-ups the supply plan turns to when the primary is
    short (`supply.sourcing`), in priority order (1 first) or cheapest first. The monthly
    capacity is the source's, in units: rows naming the same supplier or resource share it
    and must give the same figure.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sources")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(
        default=1, help_text="1 is tried first among the product's alternates"
    )
    unit_cost = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        validators=[at_least(0, "The unit cost cannot be negative.")],
    )
    lead_time_days = models.PositiveIntegerField(default=0)
    monthly_capacity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The monthly capacity cannot be negative.")],
        help_text="Units the source can supply per month, shared by the rows naming it",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["product", "location", "priority"]
        constraints = [
            # The natural key is (product, location, supplier, resource) with one of the two
            # NULL; NULLs are distinct in a unique index, so one constraint per kind.
            models.UniqueConstraint(
                fields=["product", "location", "supplier"],
                condition=Q(supplier__isnull=False),
                name="product_source_supplier_key",
            ),
            models.UniqueConstraint(
                fields=["product", "location", "resource"],
                condition=Q(resource__isnull=False),
                name="product_source_resource_key",
            ),
            models.CheckConstraint(
                condition=Q(supplier__isnull=True, resource__isnull=False)
                | Q(supplier__isnull=False, resource__isnull=True),
                name="product_source_supplier_or_resource",
                violation_error_message="A source is a supplier or a resource, one of the two.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0) & Q(monthly_capacity__gte=0),
                name="product_source_amounts_non_negative",
                violation_error_message="Unit cost and monthly capacity cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} from {self.source_code}"

    @property
    def source_code(self) -> str:
        return self.supplier.code if self.supplier_id else self.resource.code


class SalesHistory(models.Model):
    """Shipped quantity of a product from a location in a month."""

    # The natural-key index starts with product_id and serves lookups by product; a second
    # index would only slow down the million-row imports.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, db_index=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    month = models.DateField(validators=[first_day_of_month])
    quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The quantity cannot be negative.")],
    )
    revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name_plural = "sales history"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "month"], name="sales_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0),
                name="sales_quantity_non_negative",
                violation_error_message="The quantity cannot be negative.",
            ),
            month_first_day_check("sales_month_first_day"),
        ]
        indexes = [models.Index(fields=["month"], name="sales_month_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.month:%Y-%m}: {self.quantity}"


class InventorySnapshot(models.Model):
    """On-hand stock of a product at a location on a date."""

    # The natural-key index starts with product_id and serves lookups by product.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, db_index=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    date = models.DateField()
    on_hand = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "Stock on hand cannot be negative.")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "date"], name="inventory_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0),
                name="inventory_on_hand_non_negative",
                violation_error_message="Stock on hand cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.date}: {self.on_hand}"


class ScheduledReceipt(models.Model):
    """An open purchase or production order line due in a month."""

    order_ref = models.CharField(max_length=60)
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    due_month = models.DateField(validators=[first_day_of_month])
    quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The quantity cannot be negative.")],
    )
    kind = models.CharField(
        max_length=12, choices=ReceiptKind.choices, default=ReceiptKind.PURCHASE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref", "product", "location"], name="receipt_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0),
                name="receipt_quantity_non_negative",
                violation_error_message="The quantity cannot be negative.",
            ),
            month_first_day_check("receipt_month_first_day", "due_month"),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.product_id} {self.quantity}"


class PurchaseReceipt(models.Model):
    """A goods receipt against a purchase-order line, or an open line not received yet.

    A line (order_ref, product, location) may be received in several deliveries, one row
    each; an open line has no receipt date. Supplier performance (supply.performance)
    compares each line's receipts with its promised date and quantity.
    """

    order_ref = models.CharField(max_length=60)
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="receipts")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    order_date = models.DateField()
    promised_date = models.DateField()
    promised_quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The promised quantity cannot be negative.")],
    )
    receipt_date = models.DateField(null=True, blank=True)
    received_quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        validators=[at_least(0, "The received quantity cannot be negative.")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref", "product", "location", "receipt_date"],
                name="purchase_receipt_natural_key",
            ),
            # NULLs are distinct in a unique index: one open row per line needs its own.
            models.UniqueConstraint(
                fields=["order_ref", "product", "location"],
                condition=Q(receipt_date__isnull=True),
                name="purchase_receipt_one_open_row",
            ),
            models.CheckConstraint(
                condition=Q(promised_quantity__gte=0) & Q(received_quantity__gte=0),
                name="purchase_receipt_quantities_non_negative",
                violation_error_message="Quantities cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(receipt_date__isnull=True) | Q(receipt_date__gte=F("order_date")),
                name="purchase_receipt_not_before_order",
                violation_error_message="A receipt cannot come before its order.",
            ),
        ]
        indexes = [models.Index(fields=["supplier", "promised_date"])]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.product_id} {self.receipt_date or 'open'}"


class Capacity(models.Model):
    """Available hours of a resource in a month."""

    # The natural-key index starts with resource_id and serves lookups by resource.
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="capacities", db_index=False
    )
    month = models.DateField(validators=[first_day_of_month])
    hours = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[at_least(0, "Available hours cannot be negative.")],
    )

    class Meta:
        verbose_name_plural = "capacities"
        constraints = [
            models.UniqueConstraint(fields=["resource", "month"], name="capacity_natural_key"),
            models.CheckConstraint(
                condition=Q(hours__gte=0),
                name="capacity_hours_non_negative",
                violation_error_message="Available hours cannot be negative.",
            ),
            month_first_day_check("capacity_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.month:%Y-%m}: {self.hours} h"


class Budget(models.Model):
    """The financial budget of a product family for a month."""

    family = models.CharField(max_length=100)
    month = models.DateField(validators=[first_day_of_month])
    revenue = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        validators=[at_least(0, "The budget revenue cannot be negative.")],
    )
    volume = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The budget volume cannot be negative.")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["family", "month"], name="budget_natural_key"),
            models.CheckConstraint(
                condition=Q(revenue__gte=0) & Q(volume__gte=0),
                name="budget_non_negative",
                violation_error_message="Budget revenue and volume cannot be negative.",
            ),
            month_first_day_check("budget_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.month:%Y-%m}"


class CustomerOrderLine(models.Model):
    """A customer's sales order line: what was asked for, by when, and what was shipped.

    Open while `shipped_date` is empty. A line shipped in several deliveries carries the
    date of the last one and the total shipped (the ERP's delivery-completed view).
    """

    order_ref = models.CharField(max_length=60)
    line = models.PositiveIntegerField()
    customer = models.CharField(max_length=100)
    product = models.ForeignKey(Product, on_delete=models.CASCADE)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)
    # The natural-key index starts with order_ref; OTIF reads a window of requested dates.
    requested_date = models.DateField(db_index=True)
    requested_quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        validators=[at_least(0, "The requested quantity cannot be negative.")],
    )
    shipped_date = models.DateField(null=True, blank=True)
    shipped_quantity = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal(0),
        validators=[at_least(0, "The shipped quantity cannot be negative.")],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref", "line"], name="customer_order_line_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(requested_quantity__gte=0) & Q(shipped_quantity__gte=0),
                name="customer_order_line_quantities_non_negative",
                violation_error_message="Quantities cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(shipped_date__isnull=False) | Q(shipped_quantity=0),
                name="customer_order_line_shipped_has_date",
                violation_error_message="A shipped quantity needs a shipped date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref}/{self.line} {self.product_id} {self.requested_quantity}"


class Cycle(models.Model):
    """One monthly S&OP cycle moving through the stages of the process."""

    month = models.DateField(unique=True, validators=[first_day_of_month])
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.DRAFT)
    demand_review_due = models.DateField(null=True, blank=True)
    supply_review_due = models.DateField(null=True, blank=True)
    reconciliation_due = models.DateField(null=True, blank=True)
    executive_review_due = models.DateField(null=True, blank=True)
    horizon_months = models.PositiveSmallIntegerField(default=18)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month"]
        constraints = [
            month_first_day_check("cycle_month_first_day"),
            models.CheckConstraint(
                condition=Q(horizon_months__gte=1) & Q(horizon_months__lte=60),
                name="cycle_horizon_range",
            ),
        ]
        permissions = [
            ("open_cycle", "Can open a new planning cycle"),
            ("start_cycle", "Can start the demand review of a draft cycle"),
            ("submit_demand_review", "Can submit the demand review"),
            ("submit_supply_review", "Can submit the supply review"),
            ("submit_reconciliation", "Can submit the reconciliation"),
            ("approve_plan", "Can approve or send back the plan"),
            ("override_data_check", "Can make a stage move whose data checks fail, saying why"),
        ]

    def __str__(self) -> str:
        return f"S&OP {self.month:%B %Y}"

    def due_date(self, stage: str):
        return getattr(self, f"{stage}_due", None)

    @property
    def horizon(self) -> list[dt.date]:
        """The months the cycle plans, first to last."""
        return [add_months(self.month, h) for h in range(self.horizon_months)]

    def check_in_horizon(self, month: dt.date) -> None:
        """Refuse a month the cycle does not plan (ValidationError)."""
        if not self.month <= month <= add_months(self.month, self.horizon_months - 1):
            raise ValidationError(f"{month:%b %Y} is outside the cycle's horizon.")

    @property
    def is_frozen(self) -> bool:
        return self.stage == Stage.APPROVED


class CycleTransition(models.Model):
    """A recorded move of a cycle from one stage to another."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.cycle} {self.from_stage} -> {self.to_stage}"


class Run(models.Model):
    """A row of background work, one lifecycle for every kind (`sop.runs`): the UI reads it.

    pending -> running -> succeeded / failed / cancelled. The work is split into chunks
    (an import is one); each chunk reports into the row and the last one to finish
    completes it. Workers refresh `heartbeat_at`, so a run whose worker died can be told
    apart from a slow one by the stale sweep.
    """

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.PENDING)
    phase = models.CharField(max_length=60, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Indexes of the finished chunks: a chunk redelivered after a lost worker counts once.
    chunks_finished = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="%(class)s_progress"),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")),
                name="%(class)s_chunks_done_le_total",
            ),
        ]

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def published_run_constraints(scope: str) -> list[models.BaseConstraint]:
    """A published run's constraints: one published run per `scope` (its foreign key), only
    a succeeded run is published, and every run's own (`Run.Meta`)."""
    return [
        models.UniqueConstraint(
            fields=[scope],
            condition=Q(is_published=True),
            name=f"%(class)s_one_published_per_{scope}",
        ),
        models.CheckConstraint(
            condition=Q(is_published=False) | Q(status=JobStatus.SUCCEEDED),
            name="%(class)s_published_succeeded",
        ),
        *Run.Meta.constraints,
    ]


class PublishedRun(Run):
    """A run whose result becomes the one published result of its scope when it succeeds.

    Chunks write into the run's own rows; publishing is one transaction, so a failed,
    killed or cancelled run leaves the previously published one in place. The scope is the
    cycle unless a model names another foreign key in `publish_scope` (and its constraints,
    `published_run_constraints`).
    """

    publish_scope = "cycle"

    is_published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta(Run.Meta):
        abstract = True
        constraints = published_run_constraints("cycle")


class EditedRow(models.Model):
    """A row users edit on a page: who made it and last changed it, when, and the `version`
    its optimistic lock compares (`sop.locking.VersionedRow`)."""

    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ImportProfile(EditedRow):
    """How to read one source's extracts of one entity, saved by an admin.

    `options` are `sop.extract_reader.ReadOptions` as JSON (the services check them on
    every save): encoding, separator, number and date formats, header row, column mapping,
    constants, unit factors. An upload names the profile, or a file whose name fits
    `file_name_pattern` (a glob, case ignored) is read with it.
    """

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(
        max_length=100, blank=True, help_text="The system the files come from: SAP ECC, Odoo 17"
    )
    entity = models.CharField(max_length=30)
    file_name_pattern = models.CharField(
        max_length=200, blank=True, help_text="A glob: VBRK_*.csv, stock-??.xlsx"
    )
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["entity", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(entity__in=list(ENTITIES)), name="importprofile_entity_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StoredExtract(models.Model):
    """An uploaded extract as stored under MEDIA_ROOT, and how it is to be read."""

    entity = models.CharField(max_length=30)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(
        max_length=500, help_text="Stored copy of the upload under MEDIA_ROOT"
    )
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes")
    size_bytes = models.PositiveBigIntegerField(default=0)
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="How to read the file (extract_reader.ReadOptions): number format, sheet, "
        "encoding",
    )
    profile = models.ForeignKey(
        ImportProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The profile as it was named when the file came: it may be renamed or deleted since;
    # `options` keep what it stated then.
    profile_name = models.CharField(max_length=100, blank=True)
    matched_pattern = models.CharField(
        max_length=200, blank=True, help_text="The file-name pattern that chose the profile"
    )

    class Meta:
        abstract = True


class ImportJob(StoredExtract, Run):
    """One upload of an ERP extract, from validation to load; the UI reads this row.

    A run of one chunk (the file: it loads all or nothing); `message` is what the page
    says about the outcome, `error` the technical detail of a failure.
    """

    rows_read = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first errors, for the page")
    errors_csv = models.TextField(blank=True, help_text="Every error, for the download")
    error_groups = models.JSONField(
        default=list,
        blank=True,
        help_text="The errors by problem (sop.import_problems): count and first rows of each",
    )
    warnings = models.JSONField(
        default=list, blank=True, help_text="Doubts that did not stop the load, for the page"
    )
    message = models.TextField(blank=True)

    class Meta(Run.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="import_progress_range"),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")),
                name="importjob_chunks_done_le_total",
            ),
        ]
        permissions = [("run_import", "Can import ERP extracts")]

    def __str__(self) -> str:
        return f"{self.entity} import {self.file_name} ({self.status})"


class ImportUpload(StoredExtract):
    """An uploaded extract waiting for the admin to confirm it after the preview.

    Nothing of it is loaded: confirming queues an ImportJob of the same stored file (and
    sets `job`); cancelling deletes the row and the file. Uploads left unconfirmed are
    deleted with their files after a day, when the next one is made.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.OneToOneField(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.entity} upload {self.file_name}"


class ImportSource(models.Model):
    """Where an ERP's extracts are pulled from on a schedule, and how they are read.

    A folder source imports each file matching `file_glob` that the ERP drops into
    `folder`; an SQL source runs `query` read-only on the database whose connection URL is
    in the environment variable `url_env` (the URL, with its password, is never stored nor
    shown). Each pull is an ordinary ImportJob read with `profile` (`sop.import_sources`).
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=SourceKind.choices)
    entity = models.CharField(max_length=30)
    profile = models.ForeignKey(
        ImportProfile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sources",
        help_text="How its files or rows are read; none: the documented format",
    )
    folder = models.CharField(max_length=500, blank=True, help_text="An absolute path")
    file_glob = models.CharField(max_length=200, blank=True, default="*.csv")
    url_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="The environment variable that holds the database's connection URL",
    )
    query = models.TextField(blank=True)
    interval_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    enabled = models.BooleanField(default=True)
    rerun_forecast = models.BooleanField(
        default=False,
        help_text="After a pull that changes sales history, re-run the current cycle's forecast",
    )
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    # Set while a pull runs, so that "pull now" and the schedule never pull the same file twice.
    pulling_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(entity__in=list(ENTITIES)), name="importsource_entity_known"
            ),
            models.CheckConstraint(
                condition=(Q(kind=SourceKind.FOLDER) & ~Q(folder="") & ~Q(file_glob=""))
                | (Q(kind=SourceKind.SQL) & ~Q(url_env="") & ~Q(query="")),
                name="importsource_kind_complete",
            ),
            models.CheckConstraint(
                condition=Q(interval_minutes__gte=1), name="importsource_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems: dict[str, str] = {}
        if self.kind == SourceKind.FOLDER:
            if not self.folder.startswith("/"):
                problems["folder"] = "Give the folder's absolute path, e.g. /srv/erp/outbox."
            if not self.file_glob or "/" in self.file_glob:
                problems["file_glob"] = "A file-name pattern in the folder itself: *.csv, VBRK_*."
        elif self.kind == SourceKind.SQL:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.url_env):
                problems["url_env"] = "Name an environment variable: ERP_DATABASE_URL."
            if not self.query.strip():
                problems["query"] = "Write the SELECT that gives the rows."
        if self.rerun_forecast and self.entity != "sales_history":
            problems["rerun_forecast"] = "Only a pull of sales history re-runs the forecast."
        if self.profile_id and self.profile.entity != self.entity:
            problems["profile"] = f"The profile {self.profile} reads {self.profile.entity}."
        if problems:
            raise ValidationError(problems)


class ImportPull(models.Model):
    """One file or one query result a source's pull took: its import, or why it had none."""

    source = models.ForeignKey(ImportSource, on_delete=models.CASCADE, related_name="pulls")
    job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="pulls"
    )
    outcome = models.CharField(max_length=10, choices=PullOutcome.choices)
    file_name = models.CharField(max_length=255, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of a folder's file")
    message = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["source", "checksum"], name="importpull_checksum_idx")]

    def __str__(self) -> str:
        return f"{self.source} pull {self.file_name} ({self.outcome})"


class AuditEvent(models.Model):
    """Who changed what, when, from what to what, and why."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=100, blank=True)
    # The (cycle, object_type, at) index starts with cycle_id and serves lookups by cycle.
    cycle = models.ForeignKey(
        Cycle, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # The history panels: one cycle's changes of some object types, newest first.
            models.Index(fields=["cycle", "object_type", "-at"], name="audit_cycle_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"


class ApiToken(models.Model):
    """A user's key to the REST API (`sop.api_auth`); only a hash of the secret is kept.

    The token reads `sop_<prefix>_<secret>`: the prefix finds the row and is shown on the
    pages to tell tokens apart, the SHA-256 of the whole token is compared. A plain hash is
    enough where a password needs a slow one: the secret is 256 random bits, not a word a
    person chose, so there is nothing to guess from a leaked hash.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the ERP")
    scope = models.CharField(max_length=12, choices=TokenScope.choices)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole token")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_apitoken", "Can create and revoke any user's API tokens")]

    def __str__(self) -> str:
        return f"{self.name} (sop_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def digest(raw: str) -> str:
        """What is stored of a token: the SHA-256 of its whole text."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def prefix_of(raw: str) -> str:
        """The prefix of a token's text, or "" when the text is not shaped like a token."""
        match = TOKEN_RE.fullmatch(raw)
        return match[1] if match else ""

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE


class Notification(models.Model):
    """A message for one user inside the app, e.g. that a cycle's stage now waits on them."""

    # The (recipient, read_at) index starts with recipient_id and serves lookups by user.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sop_notifications",
        db_index=False,
    )
    cycle = models.ForeignKey(
        Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"to {self.recipient_id}: {self.message[:60]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Event(EditedRow):
    """Something that moves demand in known months: a promotion, a price change, a launch.

    Events are master data like products: one calendar, read by every cycle whose horizon
    or history its months touch. A past event marks history the statistical forecast is
    fitted without (and whose real lift is measured); a planned one is a layer added on the
    statistical baseline. `effect_value` is a percent of the baseline (-100 and up) or units
    per month; `dip_months` months after the event lose `dip_percent` (a negative percent)
    as buyers who stocked up stay away. No `locations` means every location.
    """

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    scope = models.CharField(max_length=10, choices=EventScope.choices)
    family = models.CharField(max_length=100, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE)
    locations = models.ManyToManyField(Location, blank=True, related_name="events")
    start_month = models.DateField(validators=[first_day_of_month])
    end_month = models.DateField(validators=[first_day_of_month])
    effect_kind = models.CharField(
        max_length=10, choices=EffectKind.choices, default=EffectKind.PERCENT
    )
    effect_value = models.DecimalField(max_digits=14, decimal_places=3)
    dip_months = models.PositiveSmallIntegerField(default=0)
    dip_percent = models.DecimalField(
        max_digits=7,
        decimal_places=3,
        default=0,
        validators=[at_least(-100, "A dip cannot take away more than 100% of the baseline.")],
    )
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.PROPOSED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    # When and how much: the fields that make an event's effect on demand (demand.events).
    EFFECT_FIELDS = (
        "start_month",
        "end_month",
        "effect_kind",
        "effect_value",
        "dip_months",
        "dip_percent",
    )

    class Meta:
        ordering = ["start_month", "code"]
        constraints = [
            month_first_day_check("event_start_month_first_day", "start_month"),
            month_first_day_check("event_end_month_first_day", "end_month"),
            models.CheckConstraint(
                condition=Q(end_month__gte=models.F("start_month")),
                name="event_months_ordered",
                violation_error_message="An event cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope=EventScope.ALL, family="", product__isnull=True)
                    | (Q(scope=EventScope.FAMILY, product__isnull=True) & ~Q(family=""))
                    | Q(scope=EventScope.PRODUCT, family="", product__isnull=False)
                ),
                name="event_scope_target",
                violation_error_message=(
                    "A family event names a family, a product event a product, "
                    "and an event for all products names neither."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(effect_kind=EffectKind.PERCENT) | Q(effect_value__gte=-100),
                name="event_percent_effect_at_least_minus_100",
                violation_error_message="An effect cannot take away more than 100% of demand.",
            ),
            models.CheckConstraint(
                condition=Q(dip_percent__gte=-100) & Q(dip_percent__lte=0),
                name="event_dip_percent_range",
                violation_error_message="A dip is a percent between -100 and 0.",
            ),
        ]
        indexes = [models.Index(fields=["start_month", "end_month"], name="event_months_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def months(self) -> list[dt.date]:
        """The months the effect applies, first to last (the dip months not included)."""
        out, month = [], self.start_month
        while month <= self.end_month:
            out.append(month)
            month = add_months(month, 1)
        return out
