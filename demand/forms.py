"""Forms of the demand review page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from demand.choices import OverrideKind, ReasonCode
from sop.forms import PlannerEditForm


class OverrideForm(PlannerEditForm):
    """One grid cell: a quantity (1200) or a percent change (+10%, -5 %); empty clears."""

    month = forms.DateField()
    value = forms.CharField(required=False, max_length=30)
    reason = forms.ChoiceField(
        choices=ReasonCode.choices, error_messages={"required": "Choose a reason code."}
    )

    def clean_value(self) -> tuple[str, Decimal | None]:
        raw = self.cleaned_data["value"].strip().replace(",", "").replace(" ", "")
        if not raw:
            return OverrideKind.ABSOLUTE, None
        kind = OverrideKind.PERCENT if raw.endswith("%") else OverrideKind.ABSOLUTE
        try:
            number = Decimal(raw.rstrip("%"))
        except InvalidOperation:
            raise forms.ValidationError(
                f"{raw!r} is neither a quantity (1200) nor a percentage (+10%)."
            ) from None
        if not number.is_finite() or abs(number) >= Decimal("1e11"):
            raise forms.ValidationError(f"{raw!r} is not a usable number.")
        if kind == OverrideKind.ABSOLUTE and raw.startswith(("+", "-")):
            raise forms.ValidationError(
                "A signed number reads as a change: write it as a percentage (+10%) "
                "or type the new quantity."
            )
        return kind, number.quantize(Decimal("0.001"))
