"""Forms of the supply review page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from sop.forms import PlannerEditForm
from supply.choices import CapacityReason, SupplyReason


def _number(raw: str, *, signed: bool) -> Decimal | None:
    """A typed quantity ("1,200", "-80"); empty means none. Raises ValidationError."""
    raw = raw.strip().replace(",", "").replace(" ", "")
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise forms.ValidationError(f"{raw!r} is not a number.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e10"):
        raise forms.ValidationError(f"{raw!r} is not a usable number.")
    if not signed and number < 0:
        raise forms.ValidationError("Planned supply cannot be negative.")
    return number.quantize(Decimal("0.001"))


class PlannedSupplyForm(PlannerEditForm):
    """One planned-supply cell of a SKU-location: a quantity; empty releases it to the engine."""

    product = forms.IntegerField()
    location = forms.IntegerField()
    month = forms.DateField()
    quantity = forms.CharField(required=False, max_length=30)
    reason = forms.ChoiceField(
        choices=SupplyReason.choices, error_messages={"required": "Choose a reason."}
    )

    def clean_quantity(self) -> Decimal | None:
        return _number(self.cleaned_data["quantity"], signed=False)


class CapacityForm(PlannerEditForm):
    """A change of a resource's hours in a month: +80 overtime, -160 a lost shift."""

    resource = forms.IntegerField()
    month = forms.DateField()
    delta_hours = forms.CharField(required=False, max_length=30)
    reason = forms.ChoiceField(
        choices=CapacityReason.choices, error_messages={"required": "Choose a reason."}
    )

    def clean_delta_hours(self) -> Decimal | None:
        value = _number(self.cleaned_data["delta_hours"], signed=True)
        return None if value is None else value.quantize(Decimal("0.01"))
