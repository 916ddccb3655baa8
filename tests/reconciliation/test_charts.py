"""The reconciliation's charts (no database)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from reconciliation import charts

MONTHLY = pd.DataFrame(
    {
        "month": [dt.date(2026, 11, 1), dt.date(2026, 12, 1)],
        "revenue": [1000.4, 2000.6],
        "budget": [900.0, None],
        "margin": [100.0, 200.0],
        "inventory": [5.0, 6.0],
        "unmet_revenue": [0.0, 10.0],
    }
)


def test_the_revenue_chart_draws_a_line_per_scenario_and_the_dashed_budget():
    figure = json.loads(
        charts.revenue_chart([("Base", MONTHLY), ("What-if", MONTHLY)], title="Revenue")
    )
    names = [(t["name"], t["line"]["color"]) for t in figure["data"]]
    assert names == [("Base", "#1d2733"), ("What-if", "#1f6feb"), ("Budget", charts.BUDGET)]
    budget = figure["data"][-1]
    assert budget["line"]["dash"] == "dash" and budget["y"] == [900.0, None]
    assert figure["data"][0]["x"] == ["2026-11-01", "2026-12-01"]
    assert figure["layout"]["xaxis"]["tickformat"] == "%b %y"
    # Built as plain dicts (sop.figures), not validated go.Figure objects with a template.
    assert "template" not in figure["layout"]
