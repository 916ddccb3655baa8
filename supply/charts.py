"""Plotly figures of the supply review, built from selector output (JSON for data-figure)."""

from __future__ import annotations

import numpy as np

from sop import figures
from sop.formatting import format_number
from supply.constants import OVERLOAD
from supply.selectors import CustomerService, Heatmap, Pareto, SkuGrid, SupplierPerformance

_COLORS = {
    "on_hand": "#1f6feb",
    "demand": "#1d2733",
    "receipts": "#8c959f",
    "planned": "#1a7f37",
    "safety": "#b35900",
    "order_up_to": "#c69026",
    "unmet": "#c62828",
}


def sku_chart(grid: SkuGrid, *, title: str) -> str:
    """Projected on hand against safety stock and order-up-to level; supply and demand as bars."""
    fig = figures.chart(title, height=340, margin={"l": 55}, barmode="stack", hovermode="x unified")
    months = grid.months
    rows = grid.rows
    units = figures.measure("units")
    fig.add_bar(x=months, y=rows["receipts"], name="Scheduled receipts",
                marker={"color": _COLORS["receipts"]}, **units)  # fmt: skip
    fig.add_bar(x=months, y=rows["planned"], name="Planned supply",
                marker={"color": _COLORS["planned"]}, **units)  # fmt: skip
    fig.add_scatter(x=months, y=rows["demand"], name="Consensus demand", mode="lines+markers",
                    line={"color": _COLORS["demand"], "dash": "dot"},
                    marker={"size": 4}, **units)  # fmt: skip
    fig.add_scatter(x=months, y=rows["on_hand"], name="Projected on hand", mode="lines+markers",
                    line={"color": _COLORS["on_hand"], "width": 3}, **units)  # fmt: skip
    if grid.target is not None:
        for value, name, color, dash in (
            (grid.target.safety_stock, "Safety stock", _COLORS["safety"], "dash"),
            (grid.target.order_up_to, "Order-up-to level", _COLORS["order_up_to"], "dot"),
        ):
            fig.add_scatter(x=months, y=[value] * len(months), name=name, mode="lines",
                            line={"color": color, "dash": dash}, **units)  # fmt: skip
    lost = [m for m, u in zip(months, rows["unmet"], strict=True) if u > 0]
    if lost:
        fig.add_scatter(
            x=lost,
            y=[0] * len(lost),
            text=[format_number(u, "units") for u in rows["unmet"] if u > 0],
            name="Stockout",
            mode="markers",
            marker={"color": _COLORS["unmet"], "size": 12, "symbol": "x"},
            hovertemplate="Lost demand %{text}<extra></extra>",
        )
    fig.update_xaxes(**figures.month_axis(months))
    fig.update_yaxes(**figures.value_axis("units"))
    return fig.to_json()


def heatmap_chart(heatmap: Heatmap) -> str:
    """Load in % of available hours per resource x month; red above 100%.

    customdata carries the resource id and month so a click can open the drill-down.
    """
    pct = np.where(np.isinf(heatmap.utilisation), np.nan, heatmap.utilisation * 100)
    labels = [r.code if r.name == r.code else f"{r.code} {r.name}" for r in heatmap.resources]
    months = [m.isoformat() for m in heatmap.months]
    custom = [
        [
            [
                r.pk,
                months[c],
                round(float(heatmap.load_unconstrained[i, c])),
                round(float(heatmap.available[i, c])),
            ]
            for c in range(len(months))
        ]
        for i, r in enumerate(heatmap.resources)
    ]
    # Green to amber up to 100%, red beyond: the colour scale spans 0-150%.
    top = 150.0
    edge = OVERLOAD * 100 / top
    fig = figures.Figure(
        figures.heatmap(
            z=np.round(pct, 1).tolist(),
            x=months,
            y=labels,
            zmin=0,
            zmax=top,
            customdata=custom,
            colorscale=[
                [0.0, "#e6f4ea"],
                [edge * 0.7, "#b7dfc0"],
                [edge * 0.999, "#ffd88a"],
                [edge, "#f28b82"],
                [1.0, "#b71c1c"],
            ],
            colorbar={"title": {"text": "% load"}, "ticksuffix": " %"},
            text=[[("" if np.isnan(v) else format_number(v, "pct")) for v in row] for row in pct],
            texttemplate="%{text}",
            hovertemplate=(
                "%{y}<br>%{x|%b %Y}: %{z:.1f} %<br>needs %{customdata[2]:,} h of "
                "%{customdata[3]:,} h<extra>click for the SKUs</extra>"
            ),
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        height=120 + 36 * len(labels),
        margin={"l": 160, "r": 20, "t": 20, "b": 40},
        xaxis=figures.month_axis(months, labels=9),
        yaxis={"autorange": "reversed"},
        plot_bgcolor="#fff",
    )
    return fig.to_json()


def pareto_chart(pareto: Pareto) -> str:
    """Cumulative share of revenue against the share of SKUs, coloured by ABC class."""
    fig = figures.Figure()
    x = (pareto.sku_share * 100).round(2).tolist()
    fig.add_scatter(
        x=[0, *x],
        y=[0, *(pareto.revenue_share * 100).round(2).tolist()],
        mode="lines",
        name="Cumulative revenue",
        line={"color": "#1f6feb", "width": 3},
        hovertemplate="%{x:.1f} % of SKUs bring %{y:.1f} % of revenue<extra></extra>",
    )
    colors = {"A": "#1a7f37", "B": "#c69026", "C": "#8c959f", "": "#d0d7de"}
    abc = np.array(pareto.abc, dtype=object)
    for cls, color in colors.items():
        mask = abc == cls
        if not mask.any():
            continue
        fig.add_bar(
            x=np.array(x)[mask].tolist(),
            y=(pareto.revenue[mask] / max(pareto.revenue.sum(), 1e-9) * 100).round(3).tolist(),
            name=f"Class {cls}" if cls else "Unclassified",
            marker={"color": color},
            yaxis="y2",
            text=np.array(pareto.skus, dtype=object)[mask].tolist(),
            hovertemplate="%{text}: %{y:.1f} % of revenue<extra></extra>",
        )
    fig.update_layout(
        height=360,
        xaxis={"title": {"text": "% of SKUs (by revenue, highest first)"}, "ticksuffix": " %"},
        yaxis={"title": {"text": "cumulative % of revenue"}, "range": [0, 101], "ticksuffix": " %"},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": "% each"}},
        bargap=0,
        margin={"l": 60, "r": 60, "t": 20, "b": 50},
        legend={"orientation": "h", "y": -0.25},
        plot_bgcolor="#fff",
    )
    return fig.to_json()


_LOCATION_COLORS = ("#1f6feb", "#1a7f37", "#c69026", "#8250df", "#b35900", "#0a7ea4")


def customer_otif_chart(service: CustomerService) -> str:
    """Customer OTIF % by month: a line per location and a bold one for the company."""
    fig = figures.chart(height=300)
    frame = service.by_location
    locations = sorted(loc for loc in set(frame["location"]) if loc)
    for i, location in enumerate([*locations, ""]):
        rows = frame[frame["location"] == location].sort_values("month")
        line = (
            {"color": _LOCATION_COLORS[i % len(_LOCATION_COLORS)], "width": 2}
            if location
            else {"color": "#1d2733", "width": 4}
        )
        fig.add_scatter(
            x=[m.isoformat() for m in rows["month"]],
            y=rows["otif_pct"].round(1).tolist(),
            name=location or "All locations",
            mode="lines+markers",
            line=line,
            **figures.measure("pct", label=location or "All locations"),
        )
    fig.update_layout(
        xaxis=figures.month_axis(service.months),
        yaxis=figures.value_axis("pct", range=[0, 101], title={"text": "OTIF"}),
    )
    return fig.to_json()


def otif_trend_chart(performance: SupplierPerformance) -> str:
    """OTIF % per supplier and month: one line per supplier, a gap where nothing was due."""
    fig = figures.chart("OTIF by supplier and month", height=340, margin={"l": 55},
                        hovermode="x unified")  # fmt: skip
    months = [m.isoformat() for m in performance.months]
    for code, values in sorted(performance.trend.items()):
        label = f"{code} {performance.names[code]}" if performance.names.get(code) else code
        fig.add_scatter(x=months, y=values, name=label, mode="lines+markers",
                        **figures.measure("pct", label=code))  # fmt: skip
    fig.update_xaxes(**figures.month_axis(months))
    fig.update_yaxes(**figures.value_axis("pct", range=[0, 105]))
    return fig.to_json()
