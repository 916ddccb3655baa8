"""Forms of the core pages."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings

from sop.extract_reader import size_label
from sop.extracts import ENTITIES

ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")


class ImportUploadForm(forms.Form):
    entity = forms.ChoiceField(
        label="What the file holds",
        choices=[(name, name.replace("_", " ").capitalize()) for name in ENTITIES],
    )
    file = forms.FileField(label="ERP extract (CSV or XLSX)")

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
