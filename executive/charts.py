"""Plotly figures of the executive pack, built from selector output (JSON for data-figure).

Figures are written as plotly's JSON schema directly rather than through
`plotly.graph_objects`: its validation costs some 50 ms a figure, a third of the page's
500 ms budget for three small charts, and the browser's plotly.js validates them anyway.
"""

from __future__ import annotations

import json

import pandas as pd

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.2},
    "plot_bgcolor": "#fff",
    "yaxis": {"rangemode": "tozero", "gridcolor": "#e8eef5"},
    "xaxis": {"gridcolor": "#f0f3f6"},
    "height": 300,
}


def _figure(data: list[dict], title: str, **layout) -> str:
    full = {**_LAYOUT, "title": {"text": title, "font": {"size": 14}}, **layout}
    return json.dumps({"data": data, "layout": full}, allow_nan=False)


def _values(series: pd.Series, decimals: int = 0) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v), decimals) for v in series]


def revenue_chart(monthly: pd.DataFrame) -> str:
    """Revenue against budget by month, with the gross margin."""
    months = [m.isoformat() for m in monthly["month"]]
    data = [
        {"type": "bar", "x": months, "y": _values(monthly["revenue"]), "name": "Revenue",
         "marker": {"color": "#1f6feb"}},
        {"type": "bar", "x": months, "y": _values(monthly["margin"]), "name": "Gross margin",
         "marker": {"color": "#1a7f37"}},
    ]  # fmt: skip
    if monthly["budget"].notna().any():
        data.append(
            {"type": "scatter", "x": months, "y": _values(monthly["budget"]),
             "name": "Budget revenue", "mode": "lines+markers",
             "line": {"color": "#1d2733", "dash": "dash"}}
        )  # fmt: skip
    return _figure(data, "Revenue vs budget", xaxis={**_LAYOUT["xaxis"], "tickformat": "%b %y"})


def inventory_chart(monthly: pd.DataFrame) -> str:
    """Projected inventory value by month, with the revenue of demand that goes unmet."""
    months = [m.isoformat() for m in monthly["month"]]
    data = [
        {"type": "scatter", "x": months, "y": _values(monthly["inventory"]),
         "name": "Inventory value", "mode": "lines+markers", "fill": "tozeroy",
         "line": {"color": "#b35900"}},
        {"type": "bar", "x": months, "y": _values(monthly["unmet_revenue"]),
         "name": "Unmet demand (revenue)", "marker": {"color": "#c62828"}},
    ]  # fmt: skip
    return _figure(
        data, "Inventory value and lost sales", xaxis={**_LAYOUT["xaxis"], "tickformat": "%b %y"}
    )


def capacity_chart(resources: pd.DataFrame) -> str:
    """Load over the horizon in % of capacity per resource: planned and wanted."""
    capacity = resources["capacity"].where(resources["capacity"] > 0)
    names = [str(r) for r in resources["resource"]]
    data = [
        {"type": "bar", "x": names, "y": _values(100 * resources["load"] / capacity, 1),
         "name": "Planned load", "marker": {"color": "#1f6feb"}},
        {"type": "bar", "x": names, "y": _values(100 * resources["wanted"] / capacity, 1),
         "name": "Load wanted by demand", "marker": {"color": "#c69026"}},
    ]  # fmt: skip
    full_capacity = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100, "y1": 100,
                     "line": {"color": "#c62828", "dash": "dot"}}  # fmt: skip
    return _figure(
        data,
        "Capacity utilisation over the horizon",
        barmode="group",
        shapes=[full_capacity],
        yaxis={**_LAYOUT["yaxis"], "ticksuffix": "%"},
    )
