"""Read and validate an ERP extract (CSV or XLSX) against its declaration in sop/extracts.py.

One path for every way a file arrives (an upload and its preview, `import_extract`, later a
pushed or pulled file): `read_extract(bytes or path, entity, options)` gives the typed rows
to load, every error and every warning. No database access: the caller passes the
reference maps. The rooms:

- `options`: `ReadOptions`, how to read a file (what an import profile states);
- `tables`: the file's cells as text (`read_table`: encodings, separators, sheets, header
  row, merged cells);
- `values`: dates and months in ISO, Excel and the stated forms;
- `validation`: the cells against the entity's columns (`validate`);
- `errors`: the (row, column, value, reason) report;
- `streaming`: what a file read in chunks (`read_extract_chunks`) checks across chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.apps import apps

from sop.extract_reader.errors import ERROR_COLUMNS, ExtractRefused, error_frame
from sop.extract_reader.options import (
    DATE_FORMATS,
    ENCODINGS,
    MONTH_FORMATS,
    NEGATIVE_FORMS,
    NUMBER_FORMATS,
    SEPARATORS,
    ReadOptions,
)
from sop.extract_reader.streaming import KeyLedger, Summary
from sop.extract_reader.tables import Table, column_letter, iter_tables, read_table, size_label
from sop.extract_reader.validation import (
    DATE_FORMAT_HINT,
    NEGATIVES_HINT,
    NUMBER_FORMAT_HINT,
    Extract,
    Progress,
    column_key,
    validate,
)
from sop.extract_reader.values import parse_date, parse_month
from sop.extracts import Entity

__all__ = [
    "DATE_FORMATS",
    "DATE_FORMAT_HINT",
    "ENCODINGS",
    "ERROR_COLUMNS",
    "MONTH_FORMATS",
    "NEGATIVES_HINT",
    "NEGATIVE_FORMS",
    "NUMBER_FORMATS",
    "NUMBER_FORMAT_HINT",
    "SEPARATORS",
    "Extract",
    "ExtractRefused",
    "KeyLedger",
    "ReadOptions",
    "Summary",
    "Table",
    "column_key",
    "column_letter",
    "error_frame",
    "parse_date",
    "parse_month",
    "read_extract",
    "read_extract_chunks",
    "read_table",
    "size_label",
    "validate",
]


def read_extract(
    source: Path | bytes,
    *,
    entity: Entity,
    refs: dict[str, dict[str, object]],
    options: ReadOptions | None = None,
    max_bytes: int,
    max_unpacked_bytes: int = 200 * 1024 * 1024,
    head: int | None = None,
    significant_digits: int | None = None,
    progress: Progress | None = None,
) -> Extract:
    """Read a file and check every row: the typed rows, every error and warning.

    `head` reads only about that many rows past the header (a preview: its errors are those
    of these rows). A file that cannot be read as a table of the entity at all comes back
    `refused`, with its errors and no rows. `progress(share)` is told 0 once the file is
    read, then the share of the columns checked.
    """
    table = None
    try:
        table = read_table(
            source,
            max_bytes=max_bytes,
            max_unpacked_bytes=max_unpacked_bytes,
            options=options,
            head=head,
        )
        if progress:
            progress(0.0)
        return validate(
            table,
            entity=entity,
            refs=refs,
            options=options,
            significant_digits=significant_digits,
            progress=progress,
        )
    except ExtractRefused as refused:
        return Extract.refusal(refused.errors, sheet=table.sheet if table is not None else "")


def read_extract_chunks(
    source: Path | bytes,
    *,
    entity: Entity,
    refs: dict[str, dict[str, object]],
    options: ReadOptions | None = None,
    max_bytes: int,
    chunk_bytes: int,
    max_unpacked_bytes: int = 200 * 1024 * 1024,
    significant_digits: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Extract]:
    """Read and check a file about `chunk_bytes` at a time: one extract per chunk.

    Each chunk's rows keep the file's row numbers; a key repeated in a later chunk is an
    error of that chunk. A file that cannot be read as a table of the entity, at any chunk,
    gives a refused extract and nothing after it. `progress(share)` is told the share of
    the file's bytes read.
    """
    model = apps.get_model(entity.model)
    key_fields = [model._meta.get_field(entity.column(k).model_field).attname for k in entity.key]
    ledger = KeyLedger(entity, key_fields)
    sheet = ""
    try:
        for table, done, size in iter_tables(
            source,
            max_bytes=max_bytes,
            max_unpacked_bytes=max_unpacked_bytes,
            options=options,
            chunk_bytes=chunk_bytes,
        ):
            sheet = table.sheet
            extract = validate(
                table,
                entity=entity,
                refs=refs,
                options=options,
                significant_digits=significant_digits,
            )
            ledger.check(extract)
            if progress:
                progress(done / max(size, 1))
            yield extract
    except ExtractRefused as refused:
        yield Extract.refusal(refused.errors, sheet=sheet)
