"""Plotly figures of the reconciliation, built from selector output (JSON for data-figure).

The JSON goes into an HTML attribute that Django escapes, so a family or scenario name
holding markup (or `</script>`) stays text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sop import figures

# One colour per scenario column on the comparison page, in order (base first).
PALETTE = ("#1d2733", "#1f6feb", "#1a7f37", "#b35900")
BUDGET = "#8c959f"
CAPACITY = "#c62828"
_MARGIN = {"l": 65}


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def revenue_chart(series: Sequence[tuple[str, pd.DataFrame]], *, title: str) -> str:
    """Revenue by month, one line per scenario, and the budget as a dashed line.

    `series` holds (scenario name, `selectors.monthly_totals`) pairs; the budget is the
    first's (every scenario of a cycle is measured against the same budget).
    """
    fig = figures.chart(title, height=320, margin=_MARGIN, hovermode="x unified")
    for i, (name, frame) in enumerate(series):
        fig.add_scatter(x=list(frame["month"]), y=frame["revenue"].round(0).tolist(), name=name,
                        mode="lines+markers", line={"color": _color(i), "width": 3 if i else 2},
                        hovertemplate="%{y:,.0f}")  # fmt: skip
    if series and series[0][1]["budget"].notna().any():
        frame = series[0][1]
        budget = frame["budget"].astype(float).round(0)
        fig.add_scatter(x=list(frame["month"]), y=[None if pd.isna(v) else v for v in budget],
                        name="Budget", mode="lines", line={"color": BUDGET, "dash": "dash"},
                        hovertemplate="%{y:,.0f}")  # fmt: skip
    fig.update_xaxes(tickformat="%b %y", dtick="M1")
    return fig.to_json()


def inventory_chart(series: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """Projected inventory value at cost by month, one line per scenario."""
    fig = figures.chart(
        "Inventory value by month (at cost)", height=320, margin=_MARGIN, hovermode="x unified"
    )
    for i, (name, frame) in enumerate(series):
        fig.add_scatter(x=list(frame["month"]), y=frame["inventory"].round(0).tolist(), name=name,
                        mode="lines+markers", line={"color": _color(i)},
                        hovertemplate="%{y:,.0f}")  # fmt: skip
    fig.update_xaxes(tickformat="%b %y", dtick="M1")
    return fig.to_json()


def capacity_chart(series: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """Hours each scenario asks of each resource over the horizon, against its capacity.

    Bars are the unconstrained load (what the plan wants, so an overload shows); the
    capacity is a marker per scenario, since a capacity delta changes it.
    """
    fig = figures.chart(
        "Capacity load by resource over the horizon (hours)",
        height=340,
        barmode="group",
        scattermode="group",
        margin=_MARGIN,
        hovermode="closest",
    )
    for i, (name, frame) in enumerate(series):
        fig.add_bar(x=frame["resource"].tolist(), y=frame["wanted"].round(0).tolist(), name=name,
                    marker={"color": _color(i)}, offsetgroup=str(i),
                    hovertemplate="%{x}: %{y:,.0f} h wanted")  # fmt: skip
        fig.add_scatter(x=frame["resource"].tolist(), y=frame["capacity"].round(0).tolist(),
                        name=f"Capacity · {name}", mode="markers", offsetgroup=str(i),
                        marker={"symbol": "line-ew-open", "size": 60,
                                "line": {"width": 4, "color": CAPACITY}},
                        hovertemplate="%{x}: %{y:,.0f} h available",
                        showlegend=i == 0)  # fmt: skip
    return fig.to_json()
