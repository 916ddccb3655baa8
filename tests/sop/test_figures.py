"""The plain-dict figure builder every chart uses (no database)."""

from __future__ import annotations

import json

from sop import figures

SHARED = {"xaxis": {"gridcolor": "#f0f3f6"}}


def test_one_figures_axis_changes_do_not_leak_into_the_next_figure():
    first = figures.Figure().update_layout(**SHARED)
    first.update_xaxes(tickvals=[1, 2])
    second = figures.Figure().update_layout(**SHARED)
    assert SHARED == {"xaxis": {"gridcolor": "#f0f3f6"}}
    assert second.layout["xaxis"] == {"gridcolor": "#f0f3f6"}
    assert first.layout["xaxis"] == {"gridcolor": "#f0f3f6", "tickvals": [1, 2]}


def test_the_json_is_what_plotly_js_reads_with_nan_as_null():
    fig = figures.Figure().add_bar(x=["a"], y=[float("nan")], name="A")
    assert json.loads(fig.to_json()) == {
        "data": [{"type": "bar", "x": ["a"], "y": [None], "name": "A"}],
        "layout": {},
    }


def test_charts_share_one_look_and_take_their_own_layout_on_top():
    fig = figures.chart("Revenue", height=300, legend={"y": -0.2}, margin={"l": 60})
    assert fig.layout["title"] == {"text": "Revenue", "font": {"size": 14}}
    assert fig.layout["legend"] == {"orientation": "h", "y": -0.2}
    assert fig.layout["margin"] == {"l": 60, "r": 20, "t": 40, "b": 30}
    assert fig.layout["yaxis"] == {"rangemode": "tozero", "gridcolor": "#e8eef5"}
    assert figures.BASE_LAYOUT["legend"] == {"orientation": "h", "y": -0.15}
