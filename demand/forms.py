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


class StreamEntryForm(OverrideForm):
    """One cell of an input stream: a quantity (1200) or a change of the statistical (+10%).

    A stream is its role's own forecast, so it carries a comment but no reason code.
    """

    reason = forms.CharField(required=False)

    def stream_fields(self) -> dict:
        data = self.cleaned_data
        kind, value = data["value"]
        return {
            "month": data["month"],
            "kind": kind,
            "value": value,
            "comment": data["comment"],
            "expected_version": data["version"],
        }


class ConsensusSourceForm(forms.Form):
    """The planner's choice of the consensus source of a family or SKU.

    `source` is "statistical", a stream's code, or "mix" with a whole percent per source
    (`weight_<code>`), the weights summing to 100.
    """

    source = forms.CharField()
    reason = forms.ChoiceField(
        choices=ReasonCode.choices, error_messages={"required": "Choose a reason code."}
    )
    comment = forms.CharField(
        max_length=1000, error_messages={"required": "Write a comment saying why."}
    )
    version = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, codes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = codes
        for code in codes:
            self.fields[f"weight_{code}"] = forms.IntegerField(
                required=False, min_value=0, max_value=100
            )

    def weights(self) -> dict[str, int] | None:
        """The weights to save; None returns the scope to the statistical forecast."""
        source = self.cleaned_data["source"]
        if source == "statistical":
            return None
        if source != "mix":
            return {source: 100}
        return {code: self.cleaned_data.get(f"weight_{code}") or 0 for code in self.codes}
