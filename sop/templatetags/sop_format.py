"""Template filters of the one number format (`sop.formatting`).

`num` for tables, `num_change` for a difference; `kpi` and `kpi_change` for KPI tiles,
which print money compactly (1.2 M).
"""

from __future__ import annotations

from django import template

from sop.formatting import format_number

register = template.Library()


@register.filter
def num(value: object, kind: str = "number") -> str:
    return format_number(value, kind)


@register.filter
def num_change(value: object, kind: str = "number") -> str:
    return format_number(value, kind, signed=True)


@register.filter
def kpi(value: object, kind: str) -> str:
    return format_number(value, kind, compact=True)


@register.filter
def kpi_change(value: object, kind: str) -> str:
    return format_number(value, kind, signed=True, compact=True)
