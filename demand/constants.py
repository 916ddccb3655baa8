"""Fixed parameters of demand planning, named so the code says what each number means."""

from __future__ import annotations

from sop.materiality import Materiality

# Monthly data with a yearly season.
SEASON_LENGTH = 12
# Prediction interval levels stored with every forecast (lo80/hi80, lo95/hi95).
INTERVAL_LEVELS = (80, 95)
# Series per Celery chunk: small enough that progress moves and two workers share the
# work evenly, big enough that the per-task overhead (a history query, one COPY) is noise.
CHUNK_SERIES = 100
# How often a chunk looks at its run row for a cancel (and reports it is alive).
CANCEL_CHECK_SECONDS = 2.0
# Rows per INSERT where COPY is not available (SQLite).
BULK_BATCH = 5000
# Months of sales history shown in the review grid.
HISTORY_MONTHS_SHOWN = 24
# Exception filters: a SKU is flagged above these thresholds.
LARGE_BIAS_PCT = 20.0
LARGE_CHANGE_PCT = 20.0
LOW_ACCURACY_WAPE_PCT = 50.0
# AuditEvent object type of the overrides' changes, shown as the override history.
OVERRIDE_OBJECT_TYPE = "demand_override"
# The smallest forecast value added (WAPE points) the accuracy table colours: green when a
# step lowered the error by this much, red when it raised it by as much.
FVA_MATERIALITY = Materiality(amount=1.0)
# Rows per page of the family grid (its series as rows): a page renders in well under
# half a second on the demo's largest family; more rows page.
GRID_PAGE_ROWS = 50
# Past approved cycles whose frozen plans measure each input stream's value added.
FVA_CYCLES = 6

# The model a series' fit names when its like product's forecast stands in for its own
# (a new product with less history than the engine needs: demand.lifecycle).
LIKE_MODEL = "like product"
