"""Forms of the reconciliation pages: scenarios, their deltas, the decisions log, risks.

A delta form only shapes what the user typed into the dict `reconciliation.scenarios`
stores; the engine's own checks (run by the service) decide whether the delta is valid.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from reconciliation.models import DecisionLogEntry, Risk
from sop.choices import AbcClass
from sop.models import Cycle, Product, Resource, Supplier
from sop.selectors import product_families


class ScenarioForm(forms.Form):
    """A new what-if: a name and what it is about."""

    name = forms.CharField(max_length=120, error_messages={"required": "Give the scenario a name."})
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class RenameForm(ScenarioForm):
    version = forms.IntegerField(min_value=1)


class CopyForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "Name the copy."})


class VersionForm(forms.Form):
    """Delete and delta removal: only the version the user saw."""

    version = forms.IntegerField(min_value=1)


class RecommendForm(forms.Form):
    comment = forms.CharField(required=False, max_length=1000)


class DecisionForm(forms.Form):
    # Risks have their register (RiskForm).
    kind = forms.ChoiceField(
        choices=[c for c in DecisionLogEntry.Kind.choices if c[0] != DecisionLogEntry.Kind.RISK]
    )
    text = forms.CharField(
        max_length=4000,
        widget=forms.Textarea,
        error_messages={"required": "Write the assumption or decision."},
    )
    scenario = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, scenarios=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = [("", "none"), *((s.pk, s.name) for s in scenarios)]


class RiskForm(forms.Form):
    """A risk of the register: new (no version) or changed at the version the user saw."""

    title = forms.CharField(max_length=200, error_messages={"required": "Name the risk."})
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="nobody yet")
    due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    probability = forms.IntegerField(min_value=0, max_value=100, label="Probability (%)")
    impact = forms.DecimalField(min_value=0, max_digits=16, decimal_places=2)
    status = forms.ChoiceField(choices=Risk.Status.choices, initial=Risk.Status.OPEN)
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .order_by("first_name", "last_name", "username")
        )
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username

    @classmethod
    def of(cls, risk: Risk) -> RiskForm:
        """The form filled with a risk as it is, to change it."""
        return cls(
            prefix=f"risk{risk.pk}",
            initial={
                "title": risk.title,
                "owner": risk.owner_id,
                "due": risk.due,
                "probability": risk.probability,
                "impact": risk.impact,
                "status": risk.status,
                "note": risk.note,
                "version": risk.version,
            },
        )


class DeltaForm(forms.Form):
    """One change of a scenario; subclasses say which fields and build the delta dict."""

    kind: str = ""
    label: str = ""
    units: tuple[tuple[str, str], ...] = ()

    version = forms.IntegerField(min_value=1)

    def __init__(self, *args, cycle: Cycle, **kwargs):
        super().__init__(*args, prefix=self.kind, **kwargs)
        self.cycle = cycle
        months = [(m.isoformat(), f"{m:%b %Y}") for m in cycle.horizon]
        for name in ("start", "end"):
            if name in self.fields:
                self.fields[name].choices = months
        if "end" in self.fields and months:
            # The whole horizon by default: the usual what-if is "from now on".
            self.fields["end"].initial = months[-1][0]
        if "unit" in self.fields:
            self.fields["unit"].choices = self.units

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The first month comes after the last one.")
        return data

    def delta(self) -> dict[str, Any]:
        raise NotImplementedError

    def amount_delta(self, *names: str) -> dict[str, Any]:
        """The delta of a form with an amount in a unit: kind, the named fields, unit: amount."""
        data = self.cleaned_data
        return {
            "kind": self.kind,
            **{name: data[name] for name in names},
            data["unit"]: data["amount"],
        }


# Choices read from the master data each time a form is made (Django calls them then).


def _families() -> list[tuple[str, str]]:
    return [("", "all families"), *((f, f) for f in product_families())]


def _resources() -> list[tuple[str, str]]:
    return list(Resource.objects.values_list("code", "code"))


def _suppliers() -> list[tuple[str, str]]:
    return list(Supplier.objects.values_list("code", "code"))


def _sources() -> list[tuple[str, list[tuple[str, str]]]]:
    """Suppliers and resources, grouped, as `kind:code` values."""
    return [
        (
            "Suppliers",
            [
                (f"supplier:{code}", code)
                for code in Supplier.objects.values_list("code", flat=True)
            ],
        ),
        (
            "Resources",
            [
                (f"resource:{code}", code)
                for code in Resource.objects.values_list("code", flat=True)
            ],
        ),
    ]


class DemandDeltaForm(DeltaForm):
    kind = "demand"
    label = "Demand"
    units = (("percent", "%"), ("units", "units/month"))

    family = forms.ChoiceField(required=False, choices=_families)
    product = forms.CharField(
        required=False,
        max_length=100,
        label="SKU",
        widget=forms.TextInput(attrs={"list": "sku-list", "size": 12}),
    )
    amount = forms.FloatField()
    unit = forms.ChoiceField()
    start = forms.ChoiceField()
    end = forms.ChoiceField()

    def clean_product(self) -> str | None:
        sku = self.cleaned_data["product"].strip()
        if sku and not Product.objects.filter(sku=sku).exists():
            raise forms.ValidationError(f"There is no SKU {sku!r}.")
        return sku or None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("family") and data.get("product"):
            raise forms.ValidationError("Change a family or a SKU, not both.")
        return data

    def delta(self) -> dict[str, Any]:
        scope = [name for name in ("family", "product") if self.cleaned_data[name]]
        return self.amount_delta("start", "end", *scope)


class CapacityDeltaForm(DeltaForm):
    kind = "capacity"
    label = "Capacity"
    units = (("percent", "%"), ("hours", "hours/month"))

    resource = forms.ChoiceField(choices=_resources)
    amount = forms.FloatField()
    unit = forms.ChoiceField()
    start = forms.ChoiceField()
    end = forms.ChoiceField()

    def delta(self) -> dict[str, Any]:
        return self.amount_delta("resource", "start", "end")


class LeadTimeDeltaForm(DeltaForm):
    kind = "lead_time"
    label = "Supplier lead time"
    units = (("days", "days"), ("percent", "%"))

    supplier = forms.ChoiceField(choices=_suppliers)
    amount = forms.FloatField()
    unit = forms.ChoiceField()

    def delta(self) -> dict[str, Any]:
        return self.amount_delta("supplier")


class PriceCostDeltaForm(DeltaForm):
    kind = "price_cost"
    label = "Price and cost"

    family = forms.ChoiceField(required=False, choices=_families)
    price_percent = forms.FloatField(required=False)
    cost_percent = forms.FloatField(required=False)

    def delta(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": self.kind,
            "family": data["family"] or None,
            "price_percent": data["price_percent"] or 0.0,
            "cost_percent": data["cost_percent"] or 0.0,
        }


class ServiceLevelDeltaForm(DeltaForm):
    kind = "service_level"
    label = "Service level"

    abc_class = forms.ChoiceField(required=False, choices=[("", "every item"), *AbcClass.choices])
    level = forms.FloatField(help_text="Target cycle service level in %, e.g. 97.5")

    def delta(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": self.kind,
            "abc_class": data["abc_class"] or None,
            "level": data["level"] / 100,
        }


class SourceDeltaForm(DeltaForm):
    kind = "source"
    label = "Source unavailable"

    source = forms.ChoiceField(choices=_sources, help_text="A supplier or a resource")
    start = forms.ChoiceField()
    end = forms.ChoiceField()

    def delta(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind, code = data["source"].split(":", 1)
        return {"kind": self.kind, kind: code, "start": data["start"], "end": data["end"]}


DELTA_FORMS: dict[str, type[DeltaForm]] = {
    form.kind: form
    for form in (
        DemandDeltaForm,
        CapacityDeltaForm,
        LeadTimeDeltaForm,
        PriceCostDeltaForm,
        ServiceLevelDeltaForm,
        SourceDeltaForm,
    )
}


def form_errors(form: forms.Form) -> list[str]:
    """Every error of a bound form as sentences, the field's label first."""
    out = []
    for name, errors in form.errors.items():
        label = "" if name == "__all__" else f"{form.fields[name].label or name.title()}: "
        out.extend(f"{label}{error}" for error in errors)
    return out
