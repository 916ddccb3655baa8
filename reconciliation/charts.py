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
# The plot width of the capacity chart in the print pack (190 mm less the margins), the
# narrowest it is drawn: its capacity marks are sized to fit a bar there.
_NARROWEST_PLOT_PX = 560


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _months(series: Sequence[tuple[str, pd.DataFrame]]) -> list:
    return [m for _, frame in series for m in frame["month"]]


def revenue_chart(series: Sequence[tuple[str, pd.DataFrame]], *, title: str) -> str:
    """Revenue by month, one line per scenario, and the budget as a dashed line.

    `series` holds (scenario name, `selectors.monthly_totals`) pairs; the budget is the
    first's (every scenario of a cycle is measured against the same budget).
    """
    fig = figures.chart(title, height=320, margin=_MARGIN, hovermode="x unified")
    for i, (name, frame) in enumerate(series):
        fig.add_scatter(x=list(frame["month"]), y=frame["revenue"].round(0).tolist(), name=name,
                        mode="lines+markers", line={"color": _color(i), "width": 3 if i else 2},
                        **figures.measure("money"))  # fmt: skip
    if series and series[0][1]["budget"].notna().any():
        frame = series[0][1]
        budget = frame["budget"].astype(float).round(0)
        fig.add_scatter(x=list(frame["month"]), y=[None if pd.isna(v) else v for v in budget],
                        name="Budget", mode="lines", line={"color": BUDGET, "dash": "dash"},
                        **figures.measure("money"))  # fmt: skip
    fig.update_xaxes(**figures.month_axis(_months(series)))
    fig.update_yaxes(**figures.value_axis("money"))
    return fig.to_json()


def inventory_chart(series: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """Projected inventory value at cost by month, one line per scenario."""
    fig = figures.chart(
        "Inventory value by month (at cost)", height=320, margin=_MARGIN, hovermode="x unified"
    )
    for i, (name, frame) in enumerate(series):
        fig.add_scatter(x=list(frame["month"]), y=frame["inventory"].round(0).tolist(), name=name,
                        mode="lines+markers", line={"color": _color(i)},
                        **figures.measure("money"))  # fmt: skip
    fig.update_xaxes(**figures.month_axis(_months(series)))
    fig.update_yaxes(**figures.value_axis("money"))
    return fig.to_json()


def capacity_chart(series: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """Hours each scenario asks of each resource over the horizon, against its capacity.

    Bars are the unconstrained load (what the plan wants, so an overload shows); the
    capacity is a red mark on each bar, since a capacity delta changes it per scenario. The
    mark is as wide as a bar is at the narrowest the chart is drawn (the print pack), so it
    never reaches into the next resource; one legend entry says what the marks are.
    """
    fig = figures.chart(
        "Capacity load by resource over the horizon (hours)",
        height=340,
        barmode="group",
        scattermode="group",
        margin=_MARGIN,
        hovermode="closest",
    )
    bars = max(1, sum(len(frame) for _, frame in series))
    mark = int(max(6, min(40, _NARROWEST_PLOT_PX * 0.8 / bars)))
    for i, (name, frame) in enumerate(series):
        fig.add_bar(x=frame["resource"].tolist(), y=frame["wanted"].round(0).tolist(), name=name,
                    marker={"color": _color(i)}, offsetgroup=str(i),
                    **figures.measure("hours", label="%{x} wanted"))  # fmt: skip
        fig.add_scatter(x=frame["resource"].tolist(), y=frame["capacity"].round(0).tolist(),
                        name=f"Capacity · {name}", mode="markers", offsetgroup=str(i),
                        marker={"symbol": "line-ew", "size": mark, "color": CAPACITY,
                                "line": {"width": 4, "color": CAPACITY}},
                        legendgroup="capacity", showlegend=False,
                        **figures.measure("hours", label="%{x} available"))  # fmt: skip
    if series:
        # The legend's one entry for every scenario's marks (each mark's hover names its
        # scenario): a trace without points, drawn in the marks' style.
        fig.add_scatter(x=[None], y=[None], name="Capacity available (red mark on each bar)",
                        mode="markers", legendgroup="capacity", hoverinfo="skip",
                        marker={"symbol": "line-ew", "size": 16, "color": CAPACITY,
                                "line": {"width": 4, "color": CAPACITY}})  # fmt: skip
    fig.update_yaxes(**figures.value_axis("hours"))
    fig.update_xaxes(automargin=True)
    return fig.to_json()
