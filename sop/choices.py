"""Enumerations shared across the apps."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    """The Django groups; each is created by a migration with its permissions."""

    DEMAND_PLANNER = "Demand planner"
    SUPPLY_PLANNER = "Supply planner"
    FINANCE = "Finance"
    EXECUTIVE = "Executive"
    ADMIN = "Admin"
    SALES = "Sales"
    MARKETING = "Marketing"


class Stage(models.TextChoices):
    DRAFT = "draft", "Draft"
    DEMAND_REVIEW = "demand_review", "Demand review"
    SUPPLY_REVIEW = "supply_review", "Supply review"
    RECONCILIATION = "reconciliation", "Reconciliation"
    EXECUTIVE_REVIEW = "executive_review", "Executive review"
    APPROVED = "approved", "Approved"


class MakeOrBuy(models.TextChoices):
    MAKE = "make", "Make"
    BUY = "buy", "Buy"


class LocationKind(models.TextChoices):
    PLANT = "plant", "Plant"
    WAREHOUSE = "warehouse", "Warehouse"
    DC = "dc", "Distribution centre"


class ResourceKind(models.TextChoices):
    WORK_CENTRE = "work_centre", "Work centre"
    SUPPLIER = "supplier", "Supplier"


class ReceiptKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase order"
    PRODUCTION = "production", "Production order"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class AbcClass(models.TextChoices):
    A = "A"
    B = "B"
    C = "C"


class XyzClass(models.TextChoices):
    X = "X"
    Y = "Y"
    Z = "Z"


class TokenScope(models.TextChoices):
    """What an API token may do: read only, or read and write (as its user's roles allow)."""

    READ = "read", "Read"
    READ_WRITE = "read_write", "Read and write"


class SourceKind(models.TextChoices):
    FOLDER = "folder", "A folder on the server"
    SQL = "sql", "An SQL query on a database"


class PullOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Loaded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Already imported"


class EventKind(models.TextChoices):
    """What moves demand in an event's months (the demand review's events calendar)."""

    PROMOTION = "promotion", "Promotion"
    PRICE_CHANGE = "price_change", "Price change"
    LAUNCH = "launch", "Launch"
    LISTING = "listing", "Listing"
    DELISTING = "delisting", "Delisting"
    EXTERNAL = "external", "External event"


class EventScope(models.TextChoices):
    ALL = "all", "All products"
    FAMILY = "family", "A product family"
    PRODUCT = "product", "One product"


class EffectKind(models.TextChoices):
    PERCENT = "percent", "% of the baseline"
    UNITS = "units", "Units per month"


class EventStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
