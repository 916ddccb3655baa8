"""Load an ERP extract from the command line: the same validation and load as the page."""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sop.choices import JobStatus
from sop.extract_reader import NUMBER_FORMATS, ReadOptions
from sop.extracts import ENTITIES
from sop.imports import import_file

ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = "Validate and load an ERP extract (CSV or XLSX); exits 1 when the file has errors."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(ENTITIES))
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument(
            "--number-format",
            choices=list(NUMBER_FORMATS),
            default="",
            help="how the file writes numbers, shown as 1234.5 would be; without it a number "
            "that reads two ways (3.900, 1,390) is an error",
        )
        parser.add_argument("--sheet", default="", help="XLSX sheet to read (default: active)")
        parser.add_argument(
            "--utf8",
            action="store_true",
            help="the file is UTF-8: text that looks decoded twice is an error, not a warning",
        )

    def handle(
        self,
        *args,
        entity: str,
        file: Path,
        user: str | None,
        number_format: str,
        sheet: str,
        utf8: bool,
        **options,
    ):
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        importer = None
        if user:
            try:
                importer = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {user!r}.") from None
        read_options = ReadOptions.with_number_format(number_format, sheet=sheet, utf8=utf8)
        job = import_file(entity=entity, path=file, user=importer, options=read_options)
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write(f"{job.file_name} ({entity}): {job.message}")
            for warning in job.warnings:
                self.stdout.write(f"  warning: {warning}")
            return
        self.stderr.write(f"{job.file_name} ({entity}): {job.message}")
        for warning in job.warnings:
            self.stderr.write(f"  warning: {warning}")
        for error in job.errors[:ERRORS_SHOWN]:
            where = f"row {error['row']}" + (f", {error['column']}" if error["column"] else "")
            value = f" (value {error['value']!r})" if error["value"] else ""
            self.stderr.write(f"  {where}: {error['reason']}{value}")
        if job.error_count > ERRORS_SHOWN:
            self.stderr.write(f"  ... and {job.error_count - ERRORS_SHOWN:,} more")
        sys.exit(1)
