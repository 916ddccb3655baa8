"""Template filters of the one number and date format (`sop.formatting`).

`num` for a figure, `num_change` for a difference; `kpi` and `kpi_change` for KPI tiles,
which print money compactly (1.09 M EUR). A figure carries its unit (EUR, units, h); `cell`
and `cell_change` leave it out for a column whose header says it (`unit`: "EUR").
`as_month`, `as_day` and `as_moment` write dates: Nov 2026, 3 Nov 2026, 3 Nov 2026, 14:05.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from sop import formatting
from sop.formatting import format_number

register = template.Library()


@register.filter
def num(value: object, kind: str = "number") -> str:
    return format_number(value, kind)


@register.filter
def num_change(value: object, kind: str = "number") -> str:
    return format_number(value, kind, signed=True)


@register.filter
def cell(value: object, kind: str = "number") -> str:
    return format_number(value, kind, labelled=False)


@register.filter
def cell_change(value: object, kind: str = "number") -> str:
    return format_number(value, kind, signed=True, labelled=False)


@register.filter
def kpi(value: object, kind: str) -> str:
    return format_number(value, kind, compact=True)


@register.filter
def kpi_change(value: object, kind: str) -> str:
    return format_number(value, kind, signed=True, compact=True)


@register.filter
def unit(kind: str) -> str:
    return formatting.unit_label(kind)


@register.filter
def as_month(value) -> str:
    return formatting.format_month(value)


@register.filter
def as_day(value) -> str:
    return formatting.format_day(value)


@register.filter
def as_moment(value) -> str:
    return formatting.format_moment(value)


@register.simple_tag
def now_moment() -> str:
    return formatting.format_moment(timezone.now())


@register.filter
def as_duration(value) -> str:
    """A timedelta in words: "30 minutes", "1 hour", "2 hours 15 minutes"."""
    if value is None:
        return ""
    minutes = max(round(value.total_seconds() / 60), 0)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
