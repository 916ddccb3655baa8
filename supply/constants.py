"""Fixed parameters of supply planning, named so the code says what each number means."""

from __future__ import annotations

# SKU-locations per Celery chunk. Chunks hold whole resource-connected groups (capacity
# couples the SKUs that share a resource), filled up to about this many rows; on one group
# bigger than this the chunk is that group.
CHUNK_SKU_LOCATIONS = 2000
# Months of sales history whose standard deviation stands in for the forecast error when
# the published forecast run has none for a series.
ERROR_STD_FALLBACK_MONTHS = 12
# Rows shown in the SKU list of the page; the shortage and excess lists and the overload
# badges show fewer (the downloads have them all).
LIST_ROWS = 50
SHORT_LIST_ROWS = 20
OVERLOAD_BADGES = 12
# Utilisation above which a resource-month counts as overloaded (1.0 = 100%).
OVERLOAD = 1.0
# AuditEvent object types of the supply plan's edits, shown as the page's history.
EDIT_OBJECT_TYPES = ("planned_supply", "capacity_adjustment")
# Months of sales whose revenue ranks the SKUs in the ABC/XYZ view.
PARETO_MONTHS = 12
# The computed columns of a projection row (InventoryProjection), in the order the plan
# hash of a SKU-location covers them; the API reads the same columns.
PROJECTION_FIELDS = (
    "demand",
    "receipts",
    "planned_unconstrained",
    "planned",
    "firm",
    "shortage",
    "on_hand",
    "unmet",
    "weeks_of_cover",
    "excess_quantity",
)
# Rows per page of the supply grid (SKU-locations as rows, months as columns).
GRID_PAGE_ROWS = 50
# Complete months before the cycle month whose customer OTIF the supply review shows.
CUSTOMER_OTIF_MONTHS = 6
# Supplier performance: the trend covers this many complete months before the current one;
# the table of worst suppliers can look back over each of these windows (months).
PERFORMANCE_TREND_MONTHS = 12
PERFORMANCE_WINDOWS = (3, 6, 12)
# Order lines that missed, listed on the supplier page (the latest promises first).
MISSED_LINES_ROWS = 100
# A supplier whose OTIF is below this (%) is shown in red on the supplier page.
OTIF_WARNING_PCT = 90
