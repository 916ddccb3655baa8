"""Fixed parameters of the reconciliation, named so the code says what each number means."""

from __future__ import annotations

# Scenarios side by side on the comparison page (the base counts as one).
COMPARE_MIN = 2
COMPARE_MAX = 4
# SKU-locations listed when a family's gap is drilled into.
DRILL_ROWS = 50
# Utilisation above which a resource-month counts as overloaded (1.0 = 100 %).
OVERLOAD = 1.0
