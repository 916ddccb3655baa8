"""Number formats of the executive pack: one filter for every KPI format of the selectors."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def kpi(value: float | None, fmt: str) -> str:
    """A KPI as people read it: 1.2 M, 96.5 %, 3.4 weeks; a dash when unknown."""
    if value is None:
        return "—"
    if fmt == "money":
        return _money(value)
    if fmt == "fraction":
        return f"{100 * value:.1f} %"
    if fmt == "pct":
        return f"{value:.1f} %"
    if fmt in ("units", "int"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


@register.filter
def kpi_change(value: float | None, fmt: str) -> str:
    """A difference with its sign; fractions and percentages change in points."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "\N{MINUS SIGN}" if value < 0 else "±"
    size = abs(value)
    if fmt == "fraction":
        return f"{sign}{100 * size:.1f} pts"
    if fmt == "pct":
        return f"{sign}{size:.1f} pts"
    if fmt == "money":
        return sign + _money(size)
    if fmt in ("units", "int"):
        return f"{sign}{size:,.0f}"
    return f"{sign}{size:,.1f}"


def _money(value: float) -> str:
    size = abs(value)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if size >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"
