"""Plotly figures as plain dicts, for the pages that draw one on every view.

`plotly.graph_objects.Figure` validates every property against plotly's schema as it is
built and serialises its whole default template: 20-40 ms of CPU a chart, a good part of a
review page's time under load. The pages hand plotly.js a JSON spec either way, so the
charts on the hot pages build that spec directly with the same calls (`add_scatter`,
`add_bar`, `update_layout`, ...) and plotly's own JSON encoder (dates, numpy, NaN). Without
the template, plotly.js draws with its defaults; the charts set the colours they rely on.
"""

from __future__ import annotations

from typing import Any

from plotly.io.json import to_json_plotly

# The trace types of the plotly.js build the pages load (static/vendor/plotly-cartesian.min.js,
# its cartesian partial bundle): a figure of any other type would draw nothing in the browser.
TRACE_TYPES = frozenset(
    {
        *("bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour"),
        *("image", "pie", "scatter", "scatterternary", "violin"),
    }
)


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


def heatmap(**trace: Any) -> dict[str, Any]:
    return {"type": "heatmap", **trace}
