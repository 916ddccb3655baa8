"""Fixed parameters of the executive review, named so the code says what each number means."""

from __future__ import annotations

from sop.materiality import Materiality

# Past cycles whose frozen demand plans count in the forecast accuracy (as the demand page).
ACCURACY_CYCLES = 12
# Rows in each list of top risks (shortages, excess, overloaded resources).
RISK_ROWS = 8

# The headline figures: (key, label, format, higher is better: True/False, None = neither).
# Twelve: two rows on a laptop, three on paper. The fill rate is in the scenario table.
# Bias is judged by its distance from zero (see selectors._tone).
HEADLINE_KPIS: tuple[tuple[str, str, str, bool | None], ...] = (
    ("forecast_accuracy", "Forecast accuracy (100 - WAPE)", "pct", True),
    ("forecast_bias", "Forecast bias", "pct", None),
    ("service_level", "Projected service level", "fraction", True),
    ("revenue", "Revenue", "money", True),
    ("revenue_vs_budget", "Revenue vs budget", "money", True),
    ("gross_margin", "Gross margin", "money", True),
    ("margin_pct", "Margin %", "pct", True),
    ("inventory_value_avg", "Inventory value (average)", "money", None),
    ("weeks_of_cover", "Weeks of cover (stock / forward demand)", "number", None),
    ("capacity_utilisation", "Capacity utilisation", "fraction", None),
    ("unmet_units", "Unmet demand (units)", "units", False),
    ("unmet_revenue", "Unmet demand (revenue)", "money", False),
)
# The smallest change of the forecast KPIs that the headline colours, in points (the plan's
# KPIs take theirs from reconciliation.selectors.KPI_MATERIALITY). Bias is judged by its
# distance from zero: one point nearer is better.
FORECAST_MATERIALITY: dict[str, Materiality] = {
    "forecast_accuracy": Materiality(amount=1.0),
    "forecast_bias": Materiality(amount=1.0),
}
