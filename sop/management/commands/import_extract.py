"""Load an ERP extract from the command line: the same reading, validation and load as the page.

`--dry-run` reads and checks the whole file, in the import's chunks (so in the import's memory),
and prints what the upload's preview shows (the first rows as they would be stored, the
errors, the warnings); it writes nothing. Errors are printed by problem, as the import page
shows them: wrong values first, unknown references last.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sop.choices import JobStatus
from sop.extract_reader import ENCODINGS, NUMBER_FORMATS, ReadOptions
from sop.extracts import ENTITIES
from sop.import_problems import ErrorGroup, job_error_groups
from sop.import_profiles import import_reading
from sop.imports import import_check, import_file
from sop.models import ImportProfile


class Command(BaseCommand):
    help = (
        "Validate and load an ERP extract (CSV or XLSX); exits 1 when the file has errors. "
        "The file is read with the profile named, else the options given, else the profile "
        "whose file-name pattern fits it."
    )

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(ENTITIES))
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="username recorded as the importer")
        parser.add_argument("--profile", default="", help="the import profile to read it with")
        parser.add_argument(
            "--no-profile",
            action="store_true",
            help="read it as documented, even if a profile's file-name pattern fits",
        )
        parser.add_argument(
            "--number-format",
            choices=list(NUMBER_FORMATS),
            default="",
            help="how the file writes numbers, shown as 1234.5 would be; without it a number "
            "that reads two ways (3.900, 1,390) is an error",
        )
        parser.add_argument("--sheet", default="", help="XLSX sheet to read (default: active)")
        parser.add_argument(
            "--encoding",
            choices=[code for code in ENCODINGS if code],
            default="",
            help="the file's encoding (default UTF-8, or UTF-16 by its byte-order mark); a "
            "stated one also makes text that looks decoded twice an error",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the whole file and show its first rows as they would be stored; "
            "write nothing",
        )

    def handle(self, *args, entity: str, file: Path, user: str | None, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        importer = None
        if user:
            try:
                importer = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {user!r}.") from None
        profile = None
        if options["profile"]:
            profile = ImportProfile.objects.filter(name=options["profile"]).first()
            if profile is None:
                names = ", ".join(ImportProfile.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"No import profile named {options['profile']!r} ({names}).")
        try:
            reading = import_reading(
                entity=entity,
                file_name=file.name,
                profile=profile,
                match=not options["no_profile"],
                options=ReadOptions.with_number_format(
                    options["number_format"], sheet=options["sheet"], encoding=options["encoding"]
                ),
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{file.name} ({entity}) read with {reading.described()}.")
        for said in reading.options.described():
            self.stdout.write(f"  {said}")
        if options["dry_run"]:
            self._dry_run(entity, file, reading.options)
            return
        job = import_file(entity=entity, path=file, user=importer, reading=reading)
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write(f"{job.file_name} ({entity}): {job.message}")
            for warning in job.warnings:
                self.stdout.write(f"  warning: {warning}")
            return
        self.stderr.write(f"{job.file_name} ({entity}): {job.message}")
        self._problems(job.warnings, job_error_groups(job))
        sys.exit(1)

    def _dry_run(self, entity: str, file: Path, options: ReadOptions) -> None:
        preview, extract, count = import_check(entity=entity, path=file, options=options)
        if preview.rows:
            sheet = f' of sheet "{preview.sheet}"' if preview.sheet else ""
            self.stdout.write(f"The first {len(preview.rows)} rows{sheet} as they would be stored:")
            header = ["row", *preview.columns]
            lines = [
                [str(row), *(f"{value} (!)" if error else value for value, error in cells)]
                for row, cells in preview.rows
            ]
            widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
            for line in [header, *lines]:
                self.stdout.write(
                    "  "
                    + "  ".join(
                        cell.ljust(w) for cell, w in zip(line, widths, strict=True)
                    ).rstrip()
                )
        if preview.absent:
            self.stdout.write(f"Not in the file: {', '.join(preview.absent)}.")
        errors = preview.errors
        if not errors:
            self.stdout.write(
                f"Dry run: {extract.rows_read:,} rows are valid and would be loaded; "
                "nothing was written."
            )
            for warning in extract.warnings:
                self.stdout.write(f"  warning: {warning}")
            return
        noun = "error" if count == 1 else "errors"
        self.stderr.write(
            f"Dry run: {count:,} {noun} found; the import would load nothing. Nothing was written."
        )
        self._problems(extract.warnings, preview.groups)
        sys.exit(1)

    def _problems(self, warnings: list[str], groups: list[ErrorGroup]) -> None:
        for warning in warnings:
            self.stderr.write(f"  warning: {warning}")
        noun = "problem" if len(groups) == 1 else "problems"
        self.stderr.write(f"{len(groups)} {noun}, wrong values first:")
        for group in groups:
            if group.is_file:
                self.stderr.write(f"  the whole file: {group.problem}")
                continue
            count = f"{'at least ' if group.at_least else ''}{group.count:,}"
            rows = "row" if group.count == 1 else "rows"
            self.stderr.write(f"  {group.column or 'row'}: {group.problem} ({count} {rows})")
            for error in group.first:
                value = f" {error['value']!r}" if error["value"] else ""
                detail = f" ({error['reason']})" if error["reason"] != group.problem else ""
                self.stderr.write(f"    row {error['row']}:{value}{detail}")
            if group.count > len(group.first):
                self.stderr.write(f"    ... and {group.count - len(group.first):,} more")
            if group.hint:
                self.stderr.write(f"    {group.hint}")
