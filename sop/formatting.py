"""How every page writes a number: one style for money, units, ratios and missing values.

Tables and comparisons print money and units in full with thousands separators
(1,234,568), as the exports and a finance user's spreadsheet have them; a KPI tile may ask
for the compact form (1.2 M) with `compact=True`, which changes money only. Percentages
carry one decimal and a space (96.5 %), differences of percentages are points
(+1.7 pts). A value that is missing, NaN or infinite prints as one em dash.

The exports write the raw numbers, not this text: a spreadsheet formats them itself.
"""

from __future__ import annotations

from decimal import Decimal

from sop.numbers import finite_or_none

DASH = "\N{EM DASH}"
# kind -> what the number is: money and units are whole, pct is a percentage (12.5 means
# 12.5 %), fraction a share (0.125 means 12.5 %), number a plain quantity with a decimal,
# ratio a scale-free error ratio (MASE) with two.
KINDS = ("money", "units", "int", "pct", "fraction", "number", "ratio")
_COMPACT = ((1e9, " bn"), (1e6, " M"), (1e3, " k"))


def format_number(
    value: object, kind: str = "number", *, signed: bool = False, compact: bool = False
) -> str:
    """`value` as the pages print a figure of `kind`; `signed` for a difference."""
    number = finite_or_none(value)
    if number is None:
        return DASH
    if kind not in KINDS:
        raise ValueError(f"unknown number kind {kind!r}")
    sign = ""
    if signed:
        sign = "+" if number > 0 else "-" if number < 0 else "\N{PLUS-MINUS SIGN}"
        number = abs(number)
    if kind in ("pct", "fraction"):
        percent = 100 * number if kind == "fraction" else number
        return f"{sign}{percent:,.1f} {'pts' if signed else '%'}"
    if kind == "money" and compact:
        text = _compact(number)
    elif kind == "number":
        text = f"{number:,.1f}"
    elif kind == "ratio":
        text = f"{number:,.2f}"
    else:
        text = f"{number:,.0f}"
    return sign + text


def _compact(value: float) -> str:
    for limit, suffix in _COMPACT:
        if abs(value) >= limit:
            return f"{value / limit:,.1f}{suffix}"
    return f"{value:,.0f}"


def format_exact(value: Decimal) -> str:
    """A stored value in full, as the import preview shows what a row will hold: every
    digit the database keeps, thousands separated, no trailing zeros (3,900 and 3.9)."""
    if not value.is_finite():
        return DASH
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
