"""Fixed parameters of the executive review, named so the code says what each number means."""

from __future__ import annotations

from sop.materiality import Materiality

# Past cycles whose frozen demand plans count in the forecast accuracy (as the demand page).
ACCURACY_CYCLES = 12
# Rows in each list of top risks (shortages, excess, overloaded resources).
RISK_ROWS = 8
# Risks of the register the pack lists, highest exposure first (closed ones left out).
REGISTER_ROWS = 5

# Complete months before the cycle month whose customer OTIF the headline shows.
CUSTOMER_OTIF_KPI_MONTHS = 3

# The headline figures. Thirteen: two rows on a laptop, three on paper. The fill rate is in
# the scenario table. First the forecast's and the service level as the sign-off names it:
# (key, label, format, higher is better: True/False, None = neither). Bias is judged by its
# distance from zero (see selectors._tone).
OWN_KPIS: tuple[tuple[str, str, str, bool | None], ...] = (
    ("forecast_accuracy", "Forecast accuracy (100 - WAPE)", "pct", True),
    ("forecast_bias", "Forecast bias", "pct", None),
    ("service_level", "Projected service level", "fraction", True),
    # What customers got, next to what the plan promises (supply.service).
    ("customer_otif", f"Customer OTIF (last {CUSTOMER_OTIF_KPI_MONTHS} months)", "pct", True),
)
# Then the plan's, labelled as the scenario table labels them (reconciliation's KPI_ROWS).
PLAN_KPIS = (
    "revenue",
    "revenue_vs_budget",
    "gross_margin",
    "margin_pct",
    "inventory_value_avg",
    "weeks_of_cover",
    "capacity_utilisation",
    "unmet_units",
    "unmet_revenue",
)
# The smallest change of the forecast KPIs that the headline colours, in points (the plan's
# KPIs take theirs from reconciliation.selectors.KPI_MATERIALITY). Bias is judged by its
# distance from zero: one point nearer is better.
FORECAST_MATERIALITY: dict[str, Materiality] = {
    "forecast_accuracy": Materiality(amount=1.0),
    "forecast_bias": Materiality(amount=1.0),
}
# The same for customer OTIF, in points.
CUSTOMER_OTIF_MATERIALITY = Materiality(amount=1.0)

# Why a headline figure has no value yet ("not yet" on the pack, never a number).
NOT_YET: dict[str, str] = {
    "no_frozen_plan": "no earlier cycle's demand plan has been frozen to measure",
    "no_sales": "no sales recorded yet for the months the earlier plans covered",
    "no_demand": "no demand in the months measured",
    "no_plan": "no plan computed yet: it comes with the reconciliation's recommended scenario",
    "no_figure": "the plan has no figure for it",
}
# What a computed plan lacks when one of its KPIs has no value.
NOT_YET_KPI: dict[str, str] = {
    "service_level": "no demand in the horizon",
    "weeks_of_cover": "no demand in the horizon",
    "margin_pct": "no revenue in the plan",
    "revenue_vs_budget": "no budget for the horizon",
    "capacity_utilisation": "no capacity entered for the horizon",
}

# The ERP export's version with the product lifecycle columns (PlanApproval.export_version).
EXPORT_WITH_LIFECYCLE = 2
