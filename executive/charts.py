"""Plotly figures of the executive pack, built from selector output (JSON for data-figure)."""

from __future__ import annotations

import pandas as pd

from sop import figures

# Three charts side by side on a laptop: four month labels fit one chart's width unturned.
_MONTH_LABELS = 4


def _figure(title: str) -> figures.Figure:
    return figures.chart(title, height=300, margin={"l": 60, "b": 40}, legend={"y": -0.2})


def _values(series: pd.Series, decimals: int = 0) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v), decimals) for v in series]


def revenue_chart(monthly: pd.DataFrame) -> str:
    """Revenue against budget by month, with the gross margin."""
    months = [m.isoformat() for m in monthly["month"]]
    fig = _figure("Revenue vs budget")
    fig.add_bar(x=months, y=_values(monthly["revenue"]), name="Revenue",
                marker={"color": "#1f6feb"}, **figures.measure("money"))  # fmt: skip
    fig.add_bar(x=months, y=_values(monthly["margin"]), name="Gross margin",
                marker={"color": "#1a7f37"}, **figures.measure("money"))  # fmt: skip
    if monthly["budget"].notna().any():
        fig.add_scatter(x=months, y=_values(monthly["budget"]), name="Budget revenue",
                        mode="lines+markers", line={"color": "#1d2733", "dash": "dash"},
                        **figures.measure("money"))  # fmt: skip
    fig.update_xaxes(**figures.month_axis(months, labels=_MONTH_LABELS))
    fig.update_yaxes(**figures.value_axis("money"))
    return fig.to_json()


def inventory_chart(monthly: pd.DataFrame) -> str:
    """Projected inventory value by month, with the revenue of demand that goes unmet."""
    months = [m.isoformat() for m in monthly["month"]]
    fig = _figure("Inventory value and lost sales")
    fig.add_scatter(x=months, y=_values(monthly["inventory"]), name="Inventory value",
                    mode="lines+markers", fill="tozeroy", line={"color": "#b35900"},
                    **figures.measure("money"))  # fmt: skip
    fig.add_bar(x=months, y=_values(monthly["unmet_revenue"]), name="Unmet demand (revenue)",
                marker={"color": "#c62828"}, **figures.measure("money"))  # fmt: skip
    fig.update_xaxes(**figures.month_axis(months, labels=_MONTH_LABELS))
    fig.update_yaxes(**figures.value_axis("money"))
    return fig.to_json()


def capacity_chart(resources: pd.DataFrame) -> str:
    """Load over the horizon in % of capacity per resource: planned and wanted."""
    capacity = resources["capacity"].where(resources["capacity"] > 0)
    names = [str(r) for r in resources["resource"]]
    fig = _figure("Capacity utilisation over the horizon")
    fig.add_bar(x=names, y=_values(100 * resources["load"] / capacity, 1), name="Planned load",
                marker={"color": "#1f6feb"}, **figures.measure("pct", label="%{x}"))  # fmt: skip
    fig.add_bar(x=names, y=_values(100 * resources["wanted"] / capacity, 1),
                name="Load wanted by demand", marker={"color": "#c69026"},
                **figures.measure("pct", label="%{x}"))  # fmt: skip
    full_capacity = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100, "y1": 100,
                     "line": {"color": "#c62828", "dash": "dot"}, "showlegend": True,
                     "name": "Capacity (100 %)"}  # fmt: skip
    fig.update_layout(barmode="group", shapes=[full_capacity])
    fig.update_yaxes(**figures.value_axis("pct"))
    fig.update_xaxes(automargin=True)
    return fig.to_json()
