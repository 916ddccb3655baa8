"""The one sanity rule of a value a planner types into a plan grid.

Demand overrides and planned supply both go through `sanity_check`:
- an impossible value (not a number, negative, beyond what the database column holds) is
  refused with a ValidationError;
- a value far outside the series' history (more than SOP_SANITY_FACTOR times the highest
  month of its last HISTORY_MONTHS months of sales, or above SOP_SANITY_HARD_CAP) raises
  NeedsConfirmation unless the planner confirmed it; a confirmed one is saved and flagged
  (`outside_history` on the edit) so the review page lists it as an exception.

A series with no sales in those months (a launch) has no history to compare with: only the
hard cap applies to it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Q, Sum

from sop.models import SalesHistory
from sop.months import add_months

HISTORY_MONTHS = 24


class NeedsConfirmation(ValidationError):
    """The value is far outside the series' history: save it only once the planner confirms."""


def history_peak(*, scope: Q, before: dt.date) -> Decimal | None:
    """The highest monthly sales of the series in `scope` over the HISTORY_MONTHS before.

    `scope` filters SalesHistory (a SKU-location, a SKU's locations, a family); the months
    are summed over the rows of the scope. None: no sales in those months.
    """
    months = (
        SalesHistory.objects.filter(scope, month__gte=add_months(before, -HISTORY_MONTHS))
        .filter(month__lt=before)
        .values("month")
        .annotate(total=Sum("quantity"))
        .order_by("-total")
        .values_list("total", flat=True)[:1]
    )
    peak = next(iter(months), None)
    return peak if peak else None


def column_limit(field: DecimalField) -> Decimal:
    """The first value the column cannot hold: 10 ** (max_digits - decimal_places)."""
    return Decimal(10) ** (field.max_digits - field.decimal_places)


def sanity_limit(peak: Decimal | None) -> Decimal:
    """The highest value saved without a confirmation, for a series whose peak month is `peak`."""
    cap = Decimal(settings.SOP_SANITY_HARD_CAP)
    if peak is None:
        return cap
    return min(cap, Decimal(settings.SOP_SANITY_FACTOR) * peak)


def sanity_check(
    *,
    value: Decimal,
    field: DecimalField,
    peak: Decimal | None,
    what: str,
    confirmed: bool,
) -> bool:
    """Refuse an impossible `value`; ask to confirm one far outside history (see module).

    `what` names the cell in the messages ("Override of SKU-1 in Mar 2027"). Returns whether
    the value is outside history (then confirmed): the edit keeps that flag.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = Decimal(str(value))  # a caller's plain number (an API, a script)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(f"{what}: {value!r} is not a number.")
    if value < 0:
        raise ValidationError(f"{what} cannot be negative.")
    if value >= column_limit(field):
        raise ValidationError(
            f"{what}: {value:,.0f} is beyond what the plan can hold "
            f"(below {column_limit(field):,.0f})."
        )
    limit = sanity_limit(peak)
    if value <= limit:
        return False
    if not confirmed:
        if peak is not None and limit < Decimal(settings.SOP_SANITY_HARD_CAP):
            basis = (
                f"{settings.SOP_SANITY_FACTOR}x the highest month of the last "
                f"{HISTORY_MONTHS} months of sales ({peak:,.0f})"
            )
        else:
            basis = f"the limit of {limit:,.0f} a month"
        raise NeedsConfirmation(
            f"{what}: {value:,.0f} is more than {basis}. Confirm to save it anyway.",
            code="needs_confirmation",
        )
    return True
