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
    assert figure["layout"]["xaxis"]["ticktext"] == ["Nov 2026", "Dec 2026"]
    assert figure["layout"]["yaxis"]["title"] == {"text": "EUR"}
    assert figure["data"][0]["hovertemplate"] == "%{y:,.0f} EUR"
    # Built as plain dicts (sop.figures), not validated go.Figure objects with a template.
    assert "template" not in figure["layout"]


LOADS = pd.DataFrame(
    {
        "resource": ["LINE", "OVEN"],
        "capacity": [300.0, 120.0],
        "load": [300.0, 100.0],
        "wanted": [318.0, 100.0],
    }
)


def test_capacity_marks_fit_their_bar_and_have_one_legend_entry():
    figure = json.loads(charts.capacity_chart([("Base", LOADS), ("What-if", LOADS)]))
    marks = [t for t in figure["data"] if t["type"] == "scatter" and t["x"] != [None]]
    assert [t["name"] for t in marks] == ["Capacity · Base", "Capacity · What-if"]
    assert not any(t["showlegend"] for t in marks)
    (key,) = [t for t in figure["data"] if t["x"] == [None]]
    assert key["name"] == "Capacity available (red mark on each bar)"
    assert {t["legendgroup"] for t in [*marks, key]} == {"capacity"}
    # Four bars at the print pack's 560 px: 560 * 0.8 / 4 = 112 px, capped at 40.
    assert marks[0]["marker"]["size"] == 40
    assert figure["layout"]["yaxis"]["title"] == {"text": "hours"}
    assert marks[0]["hovertemplate"] == "%{x} available: %{y:,.0f} h"


def test_capacity_marks_narrow_with_the_number_of_bars():
    loads = pd.DataFrame(
        {
            "resource": [f"R{i:02d}" for i in range(12)],
            "capacity": [100.0] * 12,
            "load": [90.0] * 12,
            "wanted": [95.0] * 12,
        }
    )
    figure = json.loads(charts.capacity_chart([(name, loads) for name in "ABC"]))
    # 36 bars: 560 * 0.8 / 36 = 12.4 px, so a mark is 12 px wide and stays on its bar.
    assert {t["marker"]["size"] for t in figure["data"] if t.get("legendgroup") == "capacity"} == {
        12,
        16,
    }
