"""Plotly figures of the executive pack, built from selector output (JSON for data-figure)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.2},
    "plot_bgcolor": "#fff",
    "yaxis": {"rangemode": "tozero", "gridcolor": "#e8eef5"},
    "xaxis": {"gridcolor": "#f0f3f6"},
    "height": 300,
}


def revenue_chart(monthly: pd.DataFrame) -> str:
    """Revenue against budget by month, with the gross margin."""
    months = [m.isoformat() for m in monthly["month"]]
    fig = go.Figure()
    fig.add_bar(x=months, y=monthly["revenue"].round(0).tolist(), name="Revenue",
                marker={"color": "#1f6feb"})  # fmt: skip
    fig.add_bar(x=months, y=monthly["margin"].round(0).tolist(), name="Gross margin",
                marker={"color": "#1a7f37"})  # fmt: skip
    if monthly["budget"].notna().any():
        fig.add_scatter(x=months, y=monthly["budget"].round(0).tolist(), name="Budget revenue",
                        mode="lines+markers",
                        line={"color": "#1d2733", "dash": "dash"})  # fmt: skip
    fig.update_layout(title={"text": "Revenue vs budget", "font": {"size": 14}}, **_LAYOUT)
    fig.update_xaxes(tickformat="%b %y")
    return fig.to_json()


def inventory_chart(monthly: pd.DataFrame) -> str:
    """Projected inventory value by month, with the revenue of demand that goes unmet."""
    months = [m.isoformat() for m in monthly["month"]]
    fig = go.Figure()
    fig.add_scatter(x=months, y=monthly["inventory"].round(0).tolist(), name="Inventory value",
                    mode="lines+markers", fill="tozeroy",
                    line={"color": "#b35900"})  # fmt: skip
    fig.add_bar(x=months, y=monthly["unmet_revenue"].round(0).tolist(),
                name="Unmet demand (revenue)", marker={"color": "#c62828"})  # fmt: skip
    fig.update_layout(title={"text": "Inventory value and lost sales", "font": {"size": 14}},
                      **_LAYOUT)  # fmt: skip
    fig.update_xaxes(tickformat="%b %y")
    return fig.to_json()


def capacity_chart(resources: pd.DataFrame) -> str:
    """Load over the horizon in % of capacity per resource: planned and wanted."""
    capacity = resources["capacity"].where(resources["capacity"] > 0)
    fig = go.Figure()
    fig.add_bar(x=resources["resource"].tolist(),
                y=(100 * resources["load"] / capacity).round(1).tolist(),
                name="Planned load", marker={"color": "#1f6feb"})  # fmt: skip
    fig.add_bar(x=resources["resource"].tolist(),
                y=(100 * resources["wanted"] / capacity).round(1).tolist(),
                name="Load wanted by demand", marker={"color": "#c69026"})  # fmt: skip
    fig.add_hline(y=100, line={"color": "#c62828", "dash": "dot"})
    layout = {**_LAYOUT, "yaxis": {**_LAYOUT["yaxis"], "ticksuffix": "%"}}
    fig.update_layout(title={"text": "Capacity utilisation over the horizon",
                             "font": {"size": 14}}, barmode="group", **layout)  # fmt: skip
    return fig.to_json()
