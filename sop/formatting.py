"""How every page, the print pack and the exports write a number or a date: one rule.

- Money is whole on pages and in print (1,092,722 EUR); a KPI tile may ask for the compact
  form, two decimals of thousands, millions or billions (1.09 M EUR). Exports write money
  with two decimals (1092722.35). The currency is the company's (`settings.SOP_CURRENCY`,
  ISO 4217) and always follows the figure, or the header of a column that is all money
  ("Revenue (EUR)"), as in the exports.
- Quantities are whole numbers (products carry no decimals of their own), labelled units
  ("149,078 units", or "(units)" in the header); hours likewise ("588 h").
- Percentages carry one decimal and a space (96.5 %); differences of percentages are points
  (+1.7 pts). Other measures: one decimal (weeks of cover 6.4), two for an error ratio (MASE).
- A difference carries the sign of the figure as printed: one that prints as zero is
  "±0" (never "-0.0 pts" in red). A value that is missing, NaN or infinite is one em dash.
- Dates: a month is "Nov 2026", a day "3 Nov 2026", a moment "3 Nov 2026, 14:05" (local
  time). Exports hold ISO 8601 dates, which spreadsheets read as dates. A cycle keeps its
  name with the month in full ("S&OP November 2026").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format

from sop.numbers import finite_or_none

DASH = "\N{EM DASH}"
# kind -> what the number is: money, units and hours are whole and labelled, int a count,
# pct a percentage (12.5 means 12.5 %), fraction a share (0.125 means 12.5 %), number a
# plain measure with a decimal, ratio a scale-free error ratio (MASE) with two.
KINDS = ("money", "units", "hours", "int", "pct", "fraction", "number", "ratio")
_DECIMALS = {"money": 0, "units": 0, "hours": 0, "int": 0, "pct": 1, "fraction": 1}
_DECIMALS |= {"number": 1, "ratio": 2}
# The decimals a figure of each kind keeps in an export (a fraction is exported in %).
_EXPORT_DECIMALS = {**_DECIMALS, "money": 2}
_COMPACT = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))
MONTH_FORMAT, DAY_FORMAT, MOMENT_FORMAT = "M Y", "j M Y", "j M Y, H:i"


def currency() -> str:
    """The company's currency, ISO 4217 (read when asked: tests and deployments change it)."""
    return settings.SOP_CURRENCY


def unit_label(kind: str) -> str:
    """What a figure of `kind` is counted in, for a header: EUR, units, h; "" for the rest."""
    _check(kind)
    return {"money": currency(), "units": "units", "hours": "h"}.get(kind, "")


def with_unit(label: str, kind: str) -> str:
    """A header for a column of `kind`: "revenue (EUR)", "demand (units)", "margin %"."""
    unit = unit_label(kind) or ("%" if kind in ("pct", "fraction") else "")
    if not unit or label.endswith((f"({unit})", "%", "pct")):
        return label
    return f"{label} {unit}" if unit == "%" else f"{label} ({unit})"


def format_number(
    value: object,
    kind: str = "number",
    *,
    signed: bool = False,
    compact: bool = False,
    labelled: bool = True,
) -> str:
    """`value` as the pages print a figure of `kind`; `signed` for a difference.

    `compact` prints money in thousands, millions or billions (a KPI tile); `labelled=False`
    leaves out the currency or "units" for a cell whose column header says it.
    """
    number = _figure(value, kind)
    if number is None:
        return DASH
    magnitude, suffix = abs(number), ""
    if kind == "money" and compact:
        magnitude, suffix = _compact(magnitude)
        digits = f"{magnitude:,.2f}" if suffix else f"{magnitude:,.0f}"
    else:
        digits = f"{magnitude:,.{_DECIMALS[kind]}f}"
    zero = not any(c in "123456789" for c in digits)
    if signed:
        sign = "\N{PLUS-MINUS SIGN}" if zero else "+" if number > 0 else "-"
    else:
        sign = "-" if number < 0 and not zero else ""
    text = sign + digits + (f" {suffix}" if suffix else "")
    if kind in ("pct", "fraction"):
        return f"{text} {'pts' if signed else '%'}"
    unit = unit_label(kind) if labelled else ""
    return f"{text} {unit}" if unit else text


def export_number(value: object, kind: str) -> Decimal | int | None:
    """`value` as an export writes a figure of `kind`: rounded by the rule, a number a
    spreadsheet can sum (money to the cent, quantities whole, a fraction in % to one
    decimal); None for a missing value (an empty cell)."""
    number = _figure(value, kind)
    if number is None:
        return None
    decimals = _EXPORT_DECIMALS[kind]
    if decimals == 0:
        return round(number)
    # A Decimal keeps its trailing zeros: a CSV cell says 600.00, not 600.0. + 0.0 turns
    # the -0.0 a small negative rounds to into 0.0.
    return Decimal(repr(round(number, decimals) + 0.0)).quantize(Decimal(1).scaleb(-decimals))


def format_month(day: dt.date | None) -> str:
    return date_format(day, MONTH_FORMAT) if day else ""


def format_day(day: dt.date | dt.datetime | None) -> str:
    if isinstance(day, dt.datetime) and timezone.is_aware(day):
        day = timezone.localtime(day)
    return date_format(day, DAY_FORMAT) if day else ""


def format_moment(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return date_format(moment, MOMENT_FORMAT)


def format_exact(value: Decimal) -> str:
    """A stored value in full, as the import preview shows what a row will hold: every
    digit the database keeps, thousands separated, no trailing zeros (3,900 and 3.9)."""
    if not value.is_finite():
        return DASH
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _figure(value: object, kind: str) -> float | None:
    """The number a figure of `kind` shows: a share in percent; None when missing."""
    _check(kind)
    number = finite_or_none(value)
    if number is not None and kind == "fraction":
        number *= 100
    return number


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown number kind {kind!r}")


def _compact(magnitude: float) -> tuple[float, str]:
    for limit, suffix in _COMPACT:
        # 999,999 prints as 1.00 M, not 1,000.00 k.
        if round(magnitude / limit, 2) >= 1:
            return magnitude / limit, suffix
    return magnitude, ""
