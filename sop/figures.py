"""Plotly figures as plain dicts, for the pages that draw one on every view.

`plotly.graph_objects.Figure` validates every property against plotly's schema as it is
built and serialises its whole default template: 20-40 ms of CPU a chart, a good part of a
review page's time under load. The pages hand plotly.js a JSON spec either way, so the
charts on the hot pages build that spec directly with the same calls (`add_scatter`,
`add_bar`, `update_layout`, ...) and plotly's own JSON encoder (dates, numpy, NaN). Without
the template, plotly.js draws with its defaults; the charts set the colours they rely on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plotly.io.json import to_json_plotly

from sop import formatting
from sop.formatting import DASH, format_number

# The trace types of the plotly.js build the pages load (static/vendor/plotly-cartesian.min.js,
# its cartesian partial bundle): a figure of any other type would draw nothing in the browser.
TRACE_TYPES = frozenset(
    {
        *("bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour"),
        *("image", "pie", "scatter", "scatterternary", "violin"),
    }
)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict):
            # A copy: a chart module's shared layout dict must not take one figure's changes.
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge(target[key], value)
        else:
            target[key] = value


class Figure:
    """The subset of go.Figure the charts use, without validation."""

    def __init__(self, trace: dict[str, Any] | None = None):
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}
        if trace is not None:
            self.add_trace(trace)

    def add_trace(self, trace: dict[str, Any]) -> Figure:
        if trace.get("type") not in TRACE_TYPES:
            raise ValueError(
                f"plotly's cartesian bundle draws no {trace.get('type')!r} trace; "
                "serve a bigger build (static/vendor/README.md) to use one"
            )
        self.data.append(dict(trace))
        return self

    def add_scatter(self, **trace: Any) -> Figure:
        return self.add_trace({"type": "scatter", **trace})

    def add_bar(self, **trace: Any) -> Figure:
        return self.add_trace({"type": "bar", **trace})

    def add_vrect(self, *, x0: Any, x1: Any, **shape: Any) -> Figure:
        """A band across the plot's height from x0 to x1 (go.Figure.add_vrect's shape)."""
        band = {"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1}
        self.layout.setdefault("shapes", []).append({**band, **shape})
        return self

    def update_layout(self, **changes: Any) -> Figure:
        _merge(self.layout, changes)
        return self

    def update_xaxes(self, **changes: Any) -> Figure:
        _merge(self.layout.setdefault("xaxis", {}), changes)
        return self

    def update_yaxes(self, **changes: Any) -> Figure:
        _merge(self.layout.setdefault("yaxis", {}), changes)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "layout": self.layout}

    def to_json(self) -> str:
        return to_json_plotly(self.to_dict())


# The look the review charts share: white plot, light grid, y from zero, legend below.
BASE_LAYOUT: dict[str, Any] = {
    "margin": {"r": 20, "t": 40, "b": 30},
    "legend": {"orientation": "h", "y": -0.15},
    "plot_bgcolor": "#fff",
    "yaxis": {"rangemode": "tozero", "gridcolor": "#e8eef5"},
    "xaxis": {"gridcolor": "#f0f3f6"},
}


def chart(title: str | None = None, **layout: Any) -> Figure:
    """A figure in the shared look, with its title and `layout` on top of it."""
    fig = Figure().update_layout(**BASE_LAYOUT)
    if title is not None:
        fig.update_layout(title={"text": title, "font": {"size": 14}})
    return fig.update_layout(**layout)


# The hover text of a value of each kind: the figure as the pages print it (whole money with
# its currency, whole units, percentages with one decimal).
_HOVER = {"money": ",.0f", "units": ",.0f", "hours": ",.0f", "int": ",.0f", "pct": ",.1f"}
_HOVER |= {"number": ",.1f", "ratio": ",.2f"}
# Month labels a chart shows at most: six "Nov 2026" fit side by side in the narrowest chart
# (half a laptop screen, or the print pack's page width).
MONTH_LABELS = 6


def measure(kind: str, *, label: str = "", axis: str = "y") -> dict[str, Any]:
    """A trace's attributes for values of `kind`: its hover in the one format (with the
    currency, "units", "h" or "%"), and the kind itself (`meta`) for the chart's table."""
    if kind not in _HOVER:
        raise ValueError(f"no chart format for {kind!r}")
    unit = "%" if kind == "pct" else formatting.unit_label(kind)
    value = f"%{{{axis}:{_HOVER[kind]}}}" + (f" {unit}" if unit else "")
    hover = f"{label}: {value}" if label else value
    return {"meta": {"kind": kind}, "hovertemplate": hover}


def value_axis(kind: str, **axis: Any) -> dict[str, Any]:
    """A value axis of `kind`: its unit in the title (the currency, units, hours) or on the
    ticks (" %"), round ticks (1.5M, 200k), and room for its labels."""
    out: dict[str, Any] = {"automargin": True}
    if kind == "pct":
        out |= {"ticksuffix": " %", "tickformat": ",.0f"}
    else:
        title = "hours" if kind == "hours" else formatting.unit_label(kind)
        out |= {"tickformat": "~s", "title": {"text": title}}
    return out | axis


def month_axis(months: Iterable[dt.date | str], *, labels: int = MONTH_LABELS) -> dict[str, Any]:
    """An x axis of months: each month inside the range (half a month of room either side,
    so the first and last are drawn whole), labelled "Nov 2026" from the first month on,
    every month or every second, third ... so that at most `labels` labels show."""
    days = sorted({m if isinstance(m, dt.date) else dt.date.fromisoformat(m[:10]) for m in months})
    if not days:
        return {"type": "date"}
    ticks = days[:: max(1, math.ceil(len(days) / labels))]
    half = dt.timedelta(days=15)
    return {
        "type": "date",
        "range": [(days[0] - half).isoformat(), (days[-1] + half).isoformat()],
        "tickvals": [d.isoformat() for d in ticks],
        "ticktext": [formatting.format_month(d) for d in ticks],
        "hoverformat": "%b %Y",
        "automargin": True,
    }


def heatmap(**trace: Any) -> dict[str, Any]:
    return {"type": "heatmap", **trace}


@dataclass(frozen=True)
class FigureTable:
    """A figure's data as a table: one row per x value (per y label of a heatmap), one
    column per trace (per x of a heatmap); the text alternative drawn next to a chart."""

    caption: str
    header: list[str]
    rows: list[list[str]]


def figure_table(figure: dict[str, Any] | str, *, rows: str = "", caption: str = "") -> FigureTable:
    """The table of `figure` (its dict, or the JSON a page hands plotly.js).

    Numbers are printed by the one formatter: a trace's kind (`measure`) as that kind, with
    its unit in the column header; else a percentage axis (tick suffix "%") as one, a trace
    of whole numbers as whole numbers, anything else with a decimal. A trace that
    carries a text per point (a heatmap's "85%", an override's value, a stockout's lost
    demand) shows that text, as its hover does. A point drawn twice at one x (a band's
    upper and lower edge) shows both, low to high. `rows` names the first column when the
    axis has no title and does not hold months; `caption` stands in for a missing title.
    """
    fig = json.loads(figure) if isinstance(figure, str) else figure
    layout = fig.get("layout", {})
    caption = _title(layout) or caption
    # A trace without points is a legend entry only (e.g. the capacity marks' key).
    traces = [t for t in fig.get("data", []) if any(x is not None for x in t.get("x", [0]))]
    heatmap = next((t for t in traces if t.get("type") == "heatmap"), None)
    if heatmap is not None:
        return _heatmap_table(heatmap, layout, rows=rows, caption=caption)
    xs = _ordered([x for trace in traces for x in trace.get("x", [])])
    columns = [_trace_cells(trace, layout) for trace in traces]
    label = rows or _title(layout.get("xaxis", {})) or ("Month" if _all_dates(xs) else "")
    return FigureTable(
        caption=caption,
        header=[label, *(_column(trace) for trace in traces)],
        rows=[
            [_label(x, layout.get("xaxis", {})), *(cells.get(_key(x), DASH) for cells in columns)]
            for x in xs
        ],
    )


def _title(part: dict[str, Any]) -> str:
    title = part.get("title")
    return (title.get("text", "") if isinstance(title, dict) else title) or ""


def _key(x: Any) -> str:
    return json.dumps(x)


def _ordered(xs: list[Any]) -> list[Any]:
    """The distinct x values: months and numbers in order, categories as first drawn."""
    distinct = list({_key(x): x for x in xs}.values())
    if _all_dates(distinct):
        return sorted(distinct)
    if all(isinstance(x, int | float) for x in distinct):
        return sorted(distinct)
    return distinct


def _all_dates(xs: list[Any]) -> bool:
    return bool(xs) and all(isinstance(x, str) and _DATE.match(x) for x in xs)


def _label(x: Any, axis: dict[str, Any]) -> str:
    if isinstance(x, str) and _DATE.match(x):
        return formatting.format_month(dt.date.fromisoformat(x[:10]))
    if isinstance(x, int | float):
        pct = str(axis.get("ticksuffix", "")).strip() == "%"
        return format_number(x, "pct" if pct else "number")
    return str(x)


def _kind(values: list[Any], axis: dict[str, Any], trace: dict[str, Any]) -> str:
    if kind := _meta_kind(trace):
        return kind
    if str(axis.get("ticksuffix", "")).strip() == "%":
        return "pct"
    numbers = [v for v in values if isinstance(v, int | float)]
    return "int" if all(float(v).is_integer() for v in numbers) else "number"


def _meta_kind(trace: dict[str, Any]) -> str | None:
    meta = trace.get("meta")
    return meta.get("kind") if isinstance(meta, dict) else None


def _trace_cells(trace: dict[str, Any], layout: dict[str, Any]) -> dict[str, str]:
    """x -> the cell of one trace."""
    axis = layout.get("yaxis" + trace.get("yaxis", "y")[1:], {})
    ys = trace.get("y", [])
    texts = trace.get("text") if isinstance(trace.get("text"), list) else None
    kind = _kind(ys, axis, trace)
    points: dict[str, list[Any]] = {}
    for i, x in enumerate(trace.get("x", [])):
        points.setdefault(_key(x), []).append(
            texts[i] if texts else (ys[i] if i < len(ys) else None)
        )
    if texts:
        return {x: ", ".join(str(v) for v in values) for x, values in points.items()}
    return {
        x: " \N{EN DASH} ".join(
            format_number(v, kind, labelled=False) for v in sorted(values, key=_numeric)
        )
        for x, values in points.items()
    }


def _column(trace: dict[str, Any]) -> str:
    """A trace's column header: its name, with its unit when its kind has one (the cells
    then show the bare figure, as the page's tables do)."""
    name, kind = trace.get("name", ""), _meta_kind(trace)
    return formatting.with_unit(name, kind) if kind and formatting.unit_label(kind) else name


def _numeric(value: Any) -> float:
    return value if isinstance(value, int | float) else float("-inf")


def _heatmap_table(
    trace: dict[str, Any], layout: dict[str, Any], *, rows: str, caption: str
) -> FigureTable:
    xs, ys, z = trace.get("x", []), trace.get("y", []), trace.get("z", [])
    texts = trace.get("text") if isinstance(trace.get("text"), list) else None
    suffix = str(trace.get("colorbar", {}).get("ticksuffix", "")).strip()
    kind = _meta_kind(trace) or ("pct" if suffix == "%" else "number")
    return FigureTable(
        caption=caption,
        header=[rows or _title(layout.get("yaxis", {})), *(_label(x, {}) for x in xs)],
        rows=[
            [
                str(y),
                *(
                    (texts[i][j] or DASH) if texts else format_number(z[i][j], kind)
                    for j in range(len(xs))
                ),
            ]
            for i, y in enumerate(ys)
        ],
    )
