"""`{% chart_table figure %}`: the table alternative drawn next to a chart (WCAG 1.1.1).

It reads the same JSON the page hands plotly.js (`sop.figures.figure_table`), so the
table cannot disagree with the chart.
"""

from __future__ import annotations

from typing import Any

from django import template

from sop.figures import figure_table

register = template.Library()


@register.inclusion_tag("sop/partials/chart_table.html")
def chart_table(figure: dict[str, Any] | str | None, rows: str = "", caption: str = "") -> dict:
    if not figure:
        return {"table": None}
    return {"table": figure_table(figure, rows=rows, caption=caption)}
