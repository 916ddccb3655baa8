"""Plotly figures of the demand review, built from selector output."""

from __future__ import annotations

import datetime as dt

from demand.selectors import Grid, StreamFva
from sop import figures
from sop.months import add_months

_COLORS = {
    "actual": "#1d2733",
    "statistical": "#1f6feb",
    "band": "rgba(31,111,235,0.15)",
    "consensus": "#1a7f37",
    "last": "#8c959f",
    "override": "#b35900",
    "event": "rgba(130,80,223,0.14)",
    "dip": "rgba(130,80,223,0.06)",
    "event_marker": "#8250df",
    "events": "#8250df",
    "better": "#1a7f37",
    "worse": "#cf222e",
}


def demand_chart(grid: Grid, *, title: str, events: dict | None = None) -> str:
    """History, statistical forecast with its 80 % interval, the confirmed events' effect
    (bars), consensus and overrides (JSON); `events`: the events calendar's marks by month,
    shaded with a hover marker each."""
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
            name="Event effect",
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
    if events:
        _event_marks(fig, grid, events)
    fig.update_xaxes(**figures.month_axis([*hist, *horizon]))
    fig.update_yaxes(**figures.value_axis("units"))
    return fig.to_json()


def _event_marks(fig, grid: Grid, events: dict) -> None:
    """A shaded band on each month an event touches (lighter for a dip) and a marker on the
    line there whose hover names the events and their effect."""
    months = sorted(events)
    for month in months:
        dip = all(mark.dip for mark in events[month])
        fig.add_vrect(
            x0=_halfway(add_months(month, -1)).isoformat(),
            x1=_halfway(month).isoformat(),
            fillcolor=_COLORS["dip" if dip else "event"],
            line={"width": 0},
            layer="below",
        )
    fig.add_scatter(
        x=months,
        y=[
            grid.actuals.get(m, grid.consensus.get(m, grid.statistical.get(m, 0.0))) for m in months
        ],
        name="Events",
        mode="markers",
        marker={"color": _COLORS["event_marker"], "size": 12, "symbol": "star"},
        text=["<br>".join(mark.tooltip for mark in events[m]) for m in months],
        hovertemplate="%{text}<extra></extra>",
    )


def _halfway(month: dt.date) -> dt.date:
    """The day halfway from `month` to the next: where a month's band meets the next one's."""
    return month + dt.timedelta(days=(add_months(month, 1) - month).days // 2)


def fva_waterfall(fva: StreamFva) -> str:
    """WAPE of naive, statistical, each stream and consensus as a waterfall (JSON).

    The naive bar stands on zero; every other bar floats from the WAPE of the step it is
    compared with (statistical from naive, streams and consensus from statistical) to its
    own, green where it lowered the error and red where it raised it.
    """
    fig = figures.chart(
        f"Forecast value added, last {fva.cycles} approved cycles (WAPE %)",
        height=300,
        showlegend=False,
    )
    by_code = {s.code: s for s in fva.steps}
    shown = [s for s in fva.steps if s.wape is not None]
    bases, heights, colors, texts = [], [], [], []
    for step in shown:
        start = 0.0 if step.fva is None else by_code[step.against].wape
        bases.append(start)
        heights.append(step.wape - start)
        colors.append(
            _COLORS["last"]
            if step.fva is None
            else _COLORS["better"]
            if step.fva >= 0
            else _COLORS["worse"]
        )
        gain = "" if step.fva is None else f" ({step.fva:+.1f} pts vs {step.compared_with})"
        texts.append(f"{step.wape:.1f}%{gain}")
    fig.add_bar(
        x=[s.label for s in shown],
        y=heights,
        base=bases,
        marker={"color": colors},
        text=texts,
        textposition="outside",
        hovertemplate="%{x}: %{text}<extra></extra>",
    )
    fig.update_yaxes(**figures.value_axis("pct"))
    return fig.to_json()
