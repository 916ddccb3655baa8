"""Plotly figures of the demand review, built from selector output."""

from __future__ import annotations

from demand.selectors import Grid
from sop import figures

_COLORS = {
    "actual": "#1d2733",
    "statistical": "#1f6feb",
    "band": "rgba(31,111,235,0.15)",
    "consensus": "#1a7f37",
    "last": "#8c959f",
    "override": "#b35900",
    "events": "#8250df",
}


def demand_chart(grid: Grid, *, title: str) -> str:
    """History, statistical forecast with its 80 % interval, the events layer (bars), consensus
    and overrides (JSON)."""
    fig = figures.chart(title, height=340, margin={"l": 50}, hovermode="x unified")
    units = figures.measure("units")
    hist = grid.history_months
    horizon = grid.horizon_months
    fig.add_scatter(
        x=hist,
        y=[grid.actuals.get(m, 0.0) for m in hist],
        name="Actual sales",
        mode="lines+markers",
        line={"color": _COLORS["actual"]},
        marker={"size": 4},
        **units,
    )
    if grid.statistical:
        lo = grid.bounds.get("lo80", {})
        hi = grid.bounds.get("hi80", {})
        fig.add_scatter(
            x=horizon + horizon[::-1],
            y=[hi.get(m, 0.0) for m in horizon] + [lo.get(m, 0.0) for m in horizon[::-1]],
            fill="toself",
            fillcolor=_COLORS["band"],
            line={"width": 0},
            name="80 % interval",
            **units,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=horizon,
            y=[grid.statistical.get(m, 0.0) for m in horizon],
            name="Statistical forecast",
            mode="lines",
            line={"color": _COLORS["statistical"]},
            **units,
        )
    if grid.events:
        fig.add_bar(
            x=horizon,
            y=[grid.events.get(m, 0.0) for m in horizon],
            name="Events",
            marker={"color": _COLORS["events"]},
            opacity=0.6,
            **units,
        )
    if grid.consensus:
        fig.add_scatter(
            x=horizon,
            y=[grid.consensus.get(m, 0.0) for m in horizon],
            name="Consensus",
            mode="lines",
            line={"color": _COLORS["consensus"], "width": 3},
            **units,
        )
    if grid.last_plan:
        months = sorted(grid.last_plan)
        fig.add_scatter(
            x=months,
            y=[grid.last_plan[m] for m in months],
            name="Last cycle's plan",
            mode="lines",
            line={"color": _COLORS["last"], "dash": "dot"},
            **units,
        )
    if grid.overrides:
        months = sorted(grid.overrides)
        fig.add_scatter(
            x=months,
            y=[grid.consensus.get(m, 0.0) for m in months],
            name="Override",
            mode="markers",
            marker={"color": _COLORS["override"], "size": 11, "symbol": "diamond"},
            text=[grid.overrides[m].display_value for m in months],
            hovertemplate="Override %{text}<br>consensus %{y:,.0f} units<extra></extra>",
        )
    fig.update_xaxes(**figures.month_axis([*hist, *horizon]))
    fig.update_yaxes(**figures.value_axis("units"))
    return fig.to_json()
