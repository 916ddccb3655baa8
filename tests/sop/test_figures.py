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


def test_a_charts_table_has_a_row_per_month_and_a_column_per_line():
    fig = figures.chart("Revenue vs budget")
    fig.add_bar(x=["2026-12-01", "2026-11-01"], y=[1200.0, 1000.0], name="Revenue")
    fig.add_scatter(x=["2026-11-01"], y=[1100.4], name="Budget")

    table = figures.figure_table(fig.to_json())

    assert table.caption == "Revenue vs budget"
    assert table.header == ["Month", "Revenue", "Budget"]
    assert table.rows == [["Nov 2026", "1,000", "1,100.4"], ["Dec 2026", "1,200", "\u2014"]]


def test_a_band_drawn_there_and_back_shows_low_to_high():
    months = ["2026-11-01", "2026-12-01"]
    fig = figures.Figure().add_scatter(
        x=months + months[::-1], y=[130, 150, 90, 70], name="80% interval", fill="toself"
    )
    assert figures.figure_table(fig.to_dict()).rows == [
        ["Nov 2026", "70 \u2013 130"],
        ["Dec 2026", "90 \u2013 150"],
    ]


def test_a_trace_with_text_per_point_shows_its_text_and_a_percent_axis_its_unit():
    fig = figures.chart("Capacity", yaxis={"ticksuffix": "%"})
    fig.add_bar(x=["LINE", "PACK"], y=[104.25, 80.0], name="Planned load")
    fig.add_scatter(x=["PACK"], y=[0], text=["12 lost"], name="Stockout", mode="markers")

    table = figures.figure_table(fig.to_dict(), rows="Resource")

    assert table.header == ["Resource", "Planned load", "Stockout"]
    assert table.rows == [["LINE", "104.2 %", "\u2014"], ["PACK", "80.0 %", "12 lost"]]


def test_a_heatmaps_table_is_its_grid_with_the_cell_texts():
    fig = figures.Figure(
        figures.heatmap(
            z=[[85.0, None], [120.0, 40.0]],
            x=["2026-11-01", "2026-12-01"],
            y=["LINE Assembly", "PACK"],
            text=[["85%", ""], ["120%", "40%"]],
        )
    )

    table = figures.figure_table(fig.to_json(), rows="Resource", caption="Load")

    assert table.caption == "Load"
    assert table.header == ["Resource", "Nov 2026", "Dec 2026"]
    assert table.rows == [["LINE Assembly", "85%", "\u2014"], ["PACK", "120%", "40%"]]


def test_a_month_axis_draws_the_first_and_last_month_whole_and_labels_them_in_full():
    months = [f"2026-{m:02d}-01" for m in (11, 12)] + [f"2027-{m:02d}-01" for m in range(1, 8)]
    axis = figures.month_axis(months)
    # Half a month of room either side of November 2026 .. July 2027.
    assert axis["range"] == ["2026-10-17", "2027-07-16"]
    # Nine months, at most six labels: every second month, from the first.
    assert axis["ticktext"] == ["Nov 2026", "Jan 2027", "Mar 2027", "May 2027", "Jul 2027"]
    assert axis["tickvals"][0] == "2026-11-01"
    assert axis["automargin"] is True and axis["hoverformat"] == "%b %Y"


def test_a_short_horizon_labels_every_month():
    axis = figures.month_axis(["2026-11-01", "2026-12-01", "2027-01-01"])
    assert axis["ticktext"] == ["Nov 2026", "Dec 2026", "Jan 2027"]


def test_a_trace_hovers_and_tabulates_in_the_one_format_with_its_unit(settings):
    settings.SOP_CURRENCY = "USD"
    assert figures.measure("money")["hovertemplate"] == "%{y:,.0f} USD"
    assert figures.measure("pct", label="%{x}")["hovertemplate"] == "%{x}: %{y:,.1f} %"
    assert figures.value_axis("money")["title"] == {"text": "USD"}
    assert figures.value_axis("pct")["ticksuffix"] == " %"
    fig = figures.chart("Revenue").add_scatter(
        x=["2026-11-01"], y=[1_092_722.4], name="Revenue", **figures.measure("money")
    )
    fig.add_bar(x=["2026-11-01"], y=[96.54], name="Fill rate", **figures.measure("pct"))
    table = figures.figure_table(fig.to_json())
    assert table.header == ["Month", "Revenue (USD)", "Fill rate"]
    assert table.rows == [["Nov 2026", "1,092,722", "96.5 %"]]


def test_a_legend_only_trace_has_no_row_in_the_table():
    fig = figures.Figure().add_bar(x=["LINE"], y=[300.0], name="Load", **figures.measure("hours"))
    fig.add_scatter(x=[None], y=[None], name="Capacity (red mark)", mode="markers")
    table = figures.figure_table(fig.to_dict(), rows="Resource")
    assert table.header == ["Resource", "Load (h)"]
    assert table.rows == [["LINE", "300"]]
