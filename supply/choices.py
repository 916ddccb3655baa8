"""Enumerations of the supply app."""

from __future__ import annotations

from django.db import models


class SupplyReason(models.TextChoices):
    """Why a supply planner fixed a SKU's planned supply."""

    CAPACITY = "capacity", "Capacity constraint"
    CAMPAIGN = "campaign", "Production campaign"
    SUPPLIER = "supplier", "Supplier allocation"
    STOCK_BUILD = "stock_build", "Stock build"
    PHASE_OUT = "phase_out", "Phase out"
    ROUNDING = "rounding", "Lot rounding"
    OTHER = "other", "Other"


class CapacityReason(models.TextChoices):
    """Why the available hours of a resource differ from the imported capacity."""

    OVERTIME = "overtime", "Overtime"
    EXTRA_SHIFT = "extra_shift", "Extra shift"
    LOST_SHIFT = "lost_shift", "Lost shift"
    MAINTENANCE = "maintenance", "Maintenance"
    BREAKDOWN = "breakdown", "Breakdown"
    HOLIDAY = "holiday", "Holiday"
    OTHER = "other", "Other"


class ExceptionFilter(models.TextChoices):
    """Exception filters of the supply review's SKU list."""

    STOCKOUT = "stockout", "Stockout (lost demand)"
    SHORTAGE = "shortage", "Shortage (cut for capacity)"
    BELOW_SAFETY = "below_ss", "Below safety stock"
    EXCESS = "excess", "Excess stock"
    OUTSIDE_HISTORY = "outside_history", "Planned far outside sales history (confirmed)"


class SafetyStockMethod(models.TextChoices):
    """Where a SKU-location's safety stock came from (see `supply.projection`)."""

    QUANTILES = "quantiles", "from forecast quantiles"
    NORMAL = "normal", "normal formula: history too short"
    SALES = "sales", "normal formula: no forecast, std of recent sales"


class GridLayer(models.TextChoices):
    """What the cells of the supply grid (SKU-locations as rows) show."""

    DEMAND = "demand", "Consensus demand"
    PLANNED = "planned", "Planned supply"
    ON_HAND = "on_hand", "Projected on hand"


class GridSort(models.TextChoices):
    """Orders of the supply grid's rows, the largest first."""

    RISK = "risk", "Revenue at risk (as the SKU list)"
    VOLUME = "volume", "Volume (horizon demand)"
    SHORTAGE = "shortage", "Shortage (lost + cut for capacity)"
