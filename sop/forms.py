"""Forms of the core pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from sop.choices import EffectKind, EventKind, EventScope, EventStatus, TokenScope
from sop.events import EVENT_FIELDS
from sop.extract_reader import (
    DATE_FORMATS,
    ENCODINGS,
    MONTH_FORMATS,
    NUMBER_FORMATS,
    SEPARATORS,
    ReadOptions,
    column_key,
    size_label,
)
from sop.extract_reader.options import MAX_HEADER_ROW
from sop.extracts import ENTITIES
from sop.models import Event, ImportProfile, ImportSource, Location, Product

ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")


class PlannerEditForm(forms.Form):
    """What every planner edit carries besides its value: the version it saw, and why.

    A subclass adds the edited cell's fields, its `month`, and a `reason` with its app's
    codes. The version, reason and comment stay last: the pages report errors in field order.
    """

    version = forms.IntegerField(required=False, min_value=1)
    # Set by the page's "Save anyway" after a value far outside history (`sop.sanity`).
    confirmed = forms.BooleanField(required=False)
    comment = forms.CharField(
        max_length=1000, error_messages={"required": "Write a comment saying why."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("version", "reason", "comment"):
            self.fields[name] = self.fields.pop(name)

    def edit_fields(self) -> dict[str, Any]:
        """The cell's month and the why, named as every planner-edit service takes them."""
        data = self.cleaned_data
        return {
            "month": data["month"],
            "reason": data["reason"],
            "comment": data["comment"],
            "expected_version": data["version"],
        }

    def confirmation(self) -> dict[str, bool]:
        """The sanity confirmation, for the services that take one (`sop.sanity`)."""
        return {"confirmed": self.cleaned_data["confirmed"]}

    def error_text(self) -> str:
        """Every error of the bound form in one line, in field order, for the cell's message."""
        return " ".join(e for errors in self.errors.values() for e in errors)


ENTITY_CHOICES = [(name, name.replace("_", " ").capitalize()) for name in ENTITIES]
PROFILE_MATCH = ""
PROFILE_NONE = "none"


def _number_formats(empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(name, name) for name in NUMBER_FORMATS]


class ImportUploadForm(forms.Form):
    """An extract to preview: what it holds, and how to read it (a profile, or by hand)."""

    entity = forms.ChoiceField(label="What the file holds", choices=ENTITY_CHOICES)
    file = forms.FileField(label="ERP extract (CSV or XLSX)")
    profile = forms.ChoiceField(label="Import profile", required=False)
    number_format = forms.ChoiceField(
        label="Numbers written as",
        required=False,
        choices=_number_formats("Not stated: refuse numbers that read two ways"),
    )
    sheet = forms.CharField(label="Sheet (XLSX; default: the active sheet)", required=False)
    encoding = forms.ChoiceField(
        label="Encoding",
        required=False,
        choices=[("", "Not stated: UTF-8, text decoded twice is a warning")]
        + [(code, label) for code, label in ENCODINGS.items() if code],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [
            (PROFILE_MATCH, "The one whose file-name pattern fits, if any"),
            (PROFILE_NONE, "None: the documented format, or the options below"),
        ] + [
            (str(p.pk), f"{p.name} ({p.entity.replace('_', ' ')})")
            for p in ImportProfile.objects.all()
        ]

    def read_options(self) -> ReadOptions:
        """How to read the file, as the admin stated it on the form itself."""
        data = self.cleaned_data
        return ReadOptions.with_number_format(
            data["number_format"], sheet=data["sheet"].strip(), encoding=data["encoding"]
        )

    def chosen_profile(self) -> tuple[ImportProfile | None, bool]:
        """The profile named, and whether to match one by the file's name."""
        choice = self.cleaned_data["profile"]
        if isinstance(choice, ImportProfile):
            return choice, False
        return None, choice == PROFILE_MATCH

    def clean_profile(self) -> ImportProfile | str:
        choice = self.cleaned_data["profile"]
        if choice in (PROFILE_MATCH, PROFILE_NONE):
            return choice
        profile = ImportProfile.objects.filter(pk=choice).first()
        if profile is None:
            raise forms.ValidationError("That profile no longer exists.")
        return profile

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.SOP_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {size_label(upload.size)} ({upload.size:,} bytes); the limit is "
                f"{limit:,} bytes ({size_label(limit)}). Split it into several files."
            )
        suffix = Path(upload.name).suffix.lower()
        if suffix == ".xls":
            raise forms.ValidationError(
                "Excel 97-2003 (.xls) files are not accepted; save as .xlsx or CSV."
            )
        if suffix not in ACCEPTED_SUFFIXES:
            raise forms.ValidationError("Upload a .csv, .txt, .tsv or .xlsx file.")
        return upload


class ImportProfileForm(forms.Form):
    """An import profile as the admin edits it: typed fields for every read option, and one
    line per column for the mapping, ignored columns, constants and factors."""

    name = forms.CharField(max_length=100)
    source = forms.CharField(
        max_length=100, required=False, help_text="The system the files come from: SAP ECC, Odoo 17"
    )
    entity = forms.ChoiceField(label="What the files hold", choices=ENTITY_CHOICES)
    file_name_pattern = forms.CharField(
        max_length=200,
        required=False,
        help_text="Files whose name fits are read with this profile: * is any text, ? one "
        "character (VBRK_*.csv); case is ignored",
    )
    encoding = forms.ChoiceField(
        required=False, choices=[(code, label) for code, label in ENCODINGS.items()]
    )
    separator = forms.ChoiceField(
        label="Columns separated by",
        required=False,
        choices=[("", "The file's sep= line, or its header row's")]
        # By name: a tab does not survive an HTML attribute everywhere.
        + [(label, label.capitalize()) for mark, label in SEPARATORS.items() if mark],
    )
    number_format = forms.ChoiceField(
        label="Numbers written as",
        required=False,
        choices=_number_formats("Not stated: refuse numbers that read two ways"),
    )
    trailing_minus = forms.BooleanField(
        label="Negatives with a trailing minus (12-)", required=False
    )
    parentheses = forms.BooleanField(label="Negatives in parentheses ((12))", required=False)
    date_format = forms.ChoiceField(
        label="Dates written as",
        required=False,
        choices=[("", "YYYY-MM-DD or Excel dates only")] + [(f, f) for f in DATE_FORMATS],
    )
    month_format = forms.ChoiceField(
        label="Months written as",
        required=False,
        choices=[("", "YYYY-MM, a date, or Excel dates")]
        + [(f, f) for f in (*MONTH_FORMATS, *DATE_FORMATS)],
    )
    with_time = forms.BooleanField(
        label="Dates may carry a time of day (it is dropped)", required=False
    )
    sheet = forms.CharField(
        label="Sheet (XLSX; default: the active sheet)", max_length=100, required=False
    )
    header_row = forms.IntegerField(
        label="Header on row", min_value=1, max_value=MAX_HEADER_ROW, initial=1
    )
    first_column = forms.CharField(label="Table starts at column", max_length=3, initial="A")
    fill_merged = forms.BooleanField(
        label="Fill merged cells (each cell of a merged range takes its value)", required=False
    )
    columns = forms.CharField(
        label="Column mapping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line: the file's column name = the documented name (Material = sku)",
    )
    ignored = forms.CharField(
        label="Columns to ignore",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line; * is any text (Z*), a lone * ignores every unmapped column",
    )
    constants = forms.CharField(
        label="Constants",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line: a documented column the files lack = its value on every row "
        "(location_code = DC1)",
    )
    factors = forms.CharField(
        label="Unit factors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line: a numeric column = the factor it is multiplied by "
        "(quantity = 1000 for thousands)",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    @classmethod
    def initial_of(cls, profile: ImportProfile) -> dict:
        """The form's fields for a saved profile."""
        options = ReadOptions.from_profile(profile)
        return {
            "name": profile.name,
            "source": profile.source,
            "entity": profile.entity,
            "file_name_pattern": profile.file_name_pattern,
            **{
                name: getattr(options, name)
                for name in _OPTION_FIELDS
                if name not in ("columns", "ignored", "constants", "factors")
            },
            "number_format": options.number_format,
            "separator": SEPARATORS[options.separator] if options.separator else "",
            "columns": "\n".join(f"{k} = {v}" for k, v in options.columns.items()),
            "ignored": "\n".join(options.ignored),
            "constants": "\n".join(f"{k} = {v}" for k, v in options.constants.items()),
            "factors": "\n".join(f"{k} = {v}" for k, v in options.factors.items()),
            "version": profile.version,
        }

    def clean_separator(self):
        named = {label: mark for mark, label in SEPARATORS.items() if mark}
        return named.get(self.cleaned_data["separator"], "")

    def clean_first_column(self):
        return self.cleaned_data["first_column"].strip().upper()

    def clean_columns(self):
        return _pairs(self.cleaned_data["columns"], last=True, key=column_key)

    def clean_ignored(self):
        return tuple(
            line.strip() for line in self.cleaned_data["ignored"].splitlines() if line.strip()
        )

    def clean_constants(self):
        return _pairs(self.cleaned_data["constants"], last=False)

    def clean_factors(self):
        return _pairs(self.cleaned_data["factors"], last=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        values = {name: data[name] for name in _OPTION_FIELDS if name != "number_format"}
        try:
            self.options = ReadOptions.with_number_format(data["number_format"], **values)
        except ValueError as exc:
            raise forms.ValidationError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
        return data

    def read_options(self) -> ReadOptions:
        return self.options


# The form's fields that are read options (the rest name and place the profile).
_OPTION_FIELDS = (
    "encoding",
    "separator",
    "number_format",
    "trailing_minus",
    "parentheses",
    "date_format",
    "month_format",
    "with_time",
    "sheet",
    "header_row",
    "first_column",
    "fill_merged",
    "columns",
    "ignored",
    "constants",
    "factors",
)


def _pairs(text: str, *, last: bool, key=str.strip) -> dict[str, str]:
    """`name = value` lines as a dict; ValidationError naming the line that is not one.

    `last`: split at the last "=" (a source column's name may hold one).
    """
    pairs: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, mark, value = line.rpartition("=") if last else line.partition("=")
        if not mark or not name.strip() or not value.strip():
            raise forms.ValidationError(f"Line {number} ({line.strip()}) is not “name = value”.")
        if key(name) in seen:
            raise forms.ValidationError(
                f"Line {number} names {name.strip()} again (line {seen[key(name)]} did)."
            )
        seen[key(name)] = number
        pairs[name.strip()] = value.strip()
    return pairs


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams an upload to a temporary file, but never more than SOP_IMPORT_MAX_BYTES + 1.

    The rest is counted, not written, so `size` stays the real size and the form refuses
    the file by it: an endless upload costs bandwidth but cannot fill the disk.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        room = settings.SOP_IMPORT_MAX_BYTES + 1 - self.received
        if room > 0:
            self.file.write(raw_data[:room])
        self.received += len(raw_data)

    def file_complete(self, file_size):
        upload = super().file_complete(file_size)
        upload.size = self.received
        return upload


class ApiTokenForm(forms.Form):
    """A new API token: what it is for and what it may do; admins also choose whose it is."""

    name = forms.CharField(
        label="What it is for", max_length=100, help_text="e.g. ERP nightly push"
    )
    scope = forms.ChoiceField(label="It may", choices=TokenScope.choices, initial=TokenScope.READ)
    owner = forms.ModelChoiceField(
        label="For user",
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label="Me",
    )

    def __init__(self, *args, manager: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not manager:
            del self.fields["owner"]


class ImportSourceForm(forms.ModelForm):
    """An import source as the admin edits it; the model's clean says what is missing."""

    entity = forms.ChoiceField(label="What it holds", choices=ENTITY_CHOICES)

    class Meta:
        model = ImportSource
        fields = [
            "name",
            "kind",
            "entity",
            "profile",
            "folder",
            "file_glob",
            "url_env",
            "query",
            "interval_minutes",
            "enabled",
            "rerun_forecast",
        ]
        labels = {
            "url_env": "Connection URL in the environment variable",
            "interval_minutes": "Pull every (minutes)",
        }
        widgets = {"query": forms.Textarea(attrs={"rows": 8, "class": "mono"})}


class _MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, str):
            return value[:7]
        return None if value is None else value.strftime("%Y-%m")


class MonthField(forms.DateField):
    """A month typed as YYYY-MM (the browser's month picker), read as its first day."""

    widget = _MonthInput
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        day = super().to_python(value)
        return None if day is None else day.replace(day=1)


class EventForm(forms.Form):
    """An event as a planner records it; the services check what the table and the calendar
    must keep (a scope that names something, months the plan can see)."""

    code = forms.CharField(max_length=40, help_text="Your reference: PROMO-2027-03-BIKES")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=EventKind.choices)
    status = forms.ChoiceField(choices=EventStatus.choices, initial=EventStatus.PROPOSED)
    scope = forms.ChoiceField(choices=EventScope.choices, initial=EventScope.FAMILY)
    family = forms.ChoiceField(required=False, help_text="For a family event")
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("sku"), required=False, help_text="For a product event"
    )
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every location",
    )
    start_month = MonthField(label="First month")
    end_month = MonthField(label="Last month")
    effect_kind = forms.ChoiceField(
        label="Effect in", choices=EffectKind.choices, initial=EffectKind.PERCENT
    )
    effect_value = forms.DecimalField(
        label="Effect",
        max_digits=14,
        decimal_places=3,
        help_text="+30 for 30 % more than the baseline; -100 at the least",
    )
    dip_months = forms.IntegerField(
        label="Dip months", min_value=0, max_value=12, initial=0, help_text="After the event"
    )
    dip_percent = forms.DecimalField(
        label="Dip %", max_digits=7, decimal_places=3, initial=0, help_text="-20 for 20 % less"
    )
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, families: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [("", "—")] + [(f, f) for f in families]
        self.fields["product"].label_from_instance = lambda p: f"{p.sku} {p.name}"
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username

    @staticmethod
    def initial_of(event: Event) -> dict:
        initial = {name: getattr(event, name) for name in EVENT_FIELDS}
        initial["locations"] = list(event.locations.all())
        initial["version"] = event.version
        return initial

    def event_fields(self) -> dict:
        """The fields the services take (all but the version and the locations)."""
        return {name: self.cleaned_data[name] for name in EVENT_FIELDS}
