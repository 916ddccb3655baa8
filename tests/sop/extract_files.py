"""Importing a file in a test as an admin would, and reading back what the job says."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import openpyxl

from sop import imports
from sop.extract_reader import ReadOptions
from sop.models import ImportJob

_names = itertools.count()


def run(
    tmp_path: Path,
    entity: str,
    content: str | bytes,
    suffix: str = ".csv",
    options: ReadOptions | None = None,
) -> ImportJob:
    """Write `content` to a fresh file and import it synchronously; the finished job."""
    path = tmp_path / f"extract-{next(_names)}{suffix}"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return imports.import_file(entity=entity, path=path, options=options)


def problems(job: ImportJob) -> list[tuple[int, str, str, str]]:
    """The job's error report as (row, column, value, reason)."""
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in job.errors]


def workbook_bytes(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
