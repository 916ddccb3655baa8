"""Forms of the core pages."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from sop.choices import TokenScope
from sop.extract_reader import NUMBER_FORMATS, ReadOptions, size_label
from sop.extracts import ENTITIES

ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")


class PlannerEditForm(forms.Form):
    """What every planner edit carries besides its value: the version it saw, and why.

    A subclass adds the edited cell's fields and a `reason` with its app's codes. The
    version, reason and comment stay last: the pages report errors in field order.
    """

    version = forms.IntegerField(required=False, min_value=1)
    comment = forms.CharField(
        max_length=1000, error_messages={"required": "Write a comment saying why."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("version", "reason", "comment"):
            self.fields[name] = self.fields.pop(name)

    def error_text(self) -> str:
        """Every error of the bound form in one line, in field order, for the cell's message."""
        return " ".join(e for errors in self.errors.values() for e in errors)


class ImportUploadForm(forms.Form):
    entity = forms.ChoiceField(
        label="What the file holds",
        choices=[(name, name.replace("_", " ").capitalize()) for name in ENTITIES],
    )
    file = forms.FileField(label="ERP extract (CSV or XLSX)")
    number_format = forms.ChoiceField(
        label="Numbers written as",
        required=False,
        choices=[("", "Not stated: refuse numbers that read two ways")]
        + [(name, name) for name in NUMBER_FORMATS],
    )
    sheet = forms.CharField(label="Sheet (XLSX; default: the active sheet)", required=False)
    utf8 = forms.BooleanField(
        label="The file is UTF-8: refuse text that looks decoded twice", required=False
    )

    def read_options(self) -> ReadOptions:
        """How to read the file, as the admin stated it."""
        data = self.cleaned_data
        return ReadOptions.with_number_format(
            data["number_format"], sheet=data["sheet"].strip(), utf8=data["utf8"]
        )

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
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        return upload


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
