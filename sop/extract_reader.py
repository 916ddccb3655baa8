"""Read and validate an ERP extract (CSV or XLSX) against its declaration in sop/extracts.py.

No database access: the caller passes the reference maps (sku -> product id ...). Every
check is a vectorised mask over a whole column, so a million-row file validates in seconds;
per-value parsing (months, references) runs once per distinct value, not once per row.
Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from django.apps import apps

from sop.extracts import Column, Entity

ERROR_COLUMNS = ["row", "column", "value", "reason"]
EXCEL_EPOCH = dt.date(1899, 12, 30)
# Excel serial numbers accepted as dates: 1950-01-01 .. 2100-12-31. Wider ranges would
# read plain numbers such as 202401 (a YYYYMM) as a date in the 26th century.
EXCEL_SERIAL_RANGE = (18264, 73415)
INT_MAX = 2_147_483_647
# Zip-bomb guards of XLSX uploads: sheet XML compresses 5 to 30 to 1; a member packed over
# 100 to 1 and unpacking to more than 10 MB is not a spreadsheet someone saved.
XLSX_MAX_RATIO = 100
XLSX_BOMB_MIN_BYTES = 10 * 1024 * 1024
XLSX_MAX_MEMBERS = 10_000
REF_LABELS = {
    "product": "SKU",
    "location": "location",
    "resource": "resource",
    "supplier": "supplier",
    "family": "product family",
}
# ASCII digits only: Python reads full-width digits as numbers, the database does not.
_MONTH_RE = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[ T]00:00(?::00)?)?", re.ASCII)
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?", re.ASCII)
_SERIAL_RE = re.compile(r"\d{5}(?:\.0+)?", re.ASCII)
# A single separator followed by exactly three digits reads two ways: 3.900 is 3.9 with a
# decimal point and 3900 with a point between thousands. A leading 0 (0.500) reads one way.
_AMBIGUOUS_RE = re.compile(r"\s*[+-]?[1-9]\d{0,2}[.,]\d{3}\s*", re.ASCII)
_DECIMAL_COMMA_RE = re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+\s*", re.ASCII)
_THOUSANDS_COMMA_RE = re.compile(r"\s*[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\s*", re.ASCII)
# The forms an import may declare, named by how they write one thousand two hundred and
# thirty-four and a half: (decimal separator, thousands separator).
NUMBER_FORMATS = {
    "1234.5": (".", ""),
    "1,234.5": (".", ","),
    "1234,5": (",", ""),
    "1.234,5": (",", "."),
    "1 234,5": (",", " "),
    "1'234.5": (".", "'"),
}
NUMBER_FORMAT_HINT = (
    "the file does not say how it writes numbers, and some of them read two ways or have a "
    "decimal comma: import it with its number format stated (1,234.5 or 1.234,5 ...: "
    'the upload\'s "Numbers written as", or import_extract --number-format)'
)
EXCEL_ERRORS = frozenset(
    ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!")
)
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}

Progress = Callable[[float], None]


@dataclass(frozen=True)
class ReadOptions:
    """What a file cannot say about itself, stated by whoever imports it.

    `decimal_separator` "." or ","; empty when not stated, and then a number that reads two
    ways (3.900, 1,390) is refused. `thousands_separator` applies only with a stated decimal
    separator. `sheet` names the XLSX sheet to read (empty: the active one). `utf8` states
    that the file is UTF-8, so text that looks decoded twice is an error, not a warning.
    """

    decimal_separator: str = ""
    thousands_separator: str = ""
    sheet: str = ""
    utf8: bool = False

    def __post_init__(self):
        if self.decimal_separator not in ("", ".", ","):
            raise ValueError(f"decimal separator {self.decimal_separator!r}: use . or ,")
        if self.thousands_separator and (
            self.thousands_separator == self.decimal_separator
            or (self.decimal_separator, self.thousands_separator) not in NUMBER_FORMATS.values()
        ):
            raise ValueError(
                f"thousands separator {self.thousands_separator!r} with decimal separator "
                f"{self.decimal_separator!r}: see NUMBER_FORMATS"
            )

    @classmethod
    def with_number_format(cls, number_format: str, **others) -> ReadOptions:
        """Options for a number format named as in NUMBER_FORMATS ("1.234,5"); "" states none."""
        decimal, thousands = NUMBER_FORMATS[number_format] if number_format else ("", "")
        return cls(decimal_separator=decimal, thousands_separator=thousands, **others)


class ExtractRefused(Exception):
    """The file cannot be read as a table of this entity; `errors` says why."""

    def __init__(self, errors: pd.DataFrame):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s)")


@dataclass
class Table:
    """A file's cells as text, indexed by spreadsheet row, and what reading them noticed.

    `cell_problems` (row, column, reason) are cells whose text is not what the file holds,
    such as an XLSX formula without a computed value, which reads as an empty cell.
    `number_cells` marks the cells an XLSX typed as numbers: their text is the number's own,
    never to be read with a file's separators.
    """

    frame: pd.DataFrame
    sheet: str = ""
    hidden_rows: int = 0
    cell_problems: pd.DataFrame | None = None
    number_cells: pd.DataFrame | None = None


@dataclass
class Extract:
    """The validated rows: `frame` holds model columns ready to load; `errors` every problem.

    `warnings` are doubts that do not stop the load, each naming its column and rows.
    """

    rows_read: int
    frame: pd.DataFrame
    present_fields: list[str]
    errors: pd.DataFrame
    warnings: list[str]


def error_frame(rows, column, values, reason) -> pd.DataFrame:
    """Errors for many rows at once; scalars are broadcast."""
    rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
    frame = pd.DataFrame({"row": rows})
    frame["column"] = column
    frame["value"] = values if not np.isscalar(values) else [values] * len(rows)
    frame["reason"] = reason if np.isscalar(reason) else list(reason)
    return frame


def _refuse(row: int, column: str, value: str, reason: str) -> ExtractRefused:
    return ExtractRefused(error_frame([row], column, [value], reason))


# -- Reading ---------------------------------------------------------------------------------


def read_table(
    path: Path,
    *,
    max_bytes: int,
    max_unpacked_bytes: int = 200 * 1024 * 1024,
    options: ReadOptions | None = None,
) -> Table:
    """The file's cells as stripped-free strings, indexed by spreadsheet row number.

    Rows whose field count differs from the header's carry the count in `__fields__`
    (0 when the row is fine) so validation can report them without guessing at the values.
    The size is checked before a byte is read, and an XLSX's zip directory before openpyxl
    unpacks anything (`max_unpacked_bytes`), so a hostile file is refused cheaply.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise _refuse(
            0,
            "",
            f"{size:,} bytes",
            f"the file is {size_label(size)} ({size:,} bytes), larger than the limit of "
            f"{max_bytes:,} bytes ({size_label(max_bytes)}); split it into several files",
        )
    data = path.read_bytes()
    if not data.strip():
        raise _refuse(1, "", "", "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        _check_xlsx_zip(data, max_unpacked_bytes=max_unpacked_bytes)
        return _read_xlsx(data, sheet_name=(options or ReadOptions()).sheet)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(
            1, "", "", "Excel 97-2003 (.xls) files are not accepted; save as .xlsx or CSV"
        )
    return Table(_read_csv(data))


def size_label(n: int) -> str:
    """A size as people read it: 50.0 MB, 12.5 KB."""
    return f"{n / (1024 * 1024):,.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.1f} KB"


def _check_xlsx_zip(data: bytes, *, max_unpacked_bytes: int) -> None:
    """Refuse a zip that is not a workbook, or that would unpack to far more than it weighs.

    The sizes come from the zip's central directory. Python's zipfile stops a member at its
    declared size (and fails its CRC check), so a member lying about its size cannot unpack
    to more than the size checked here.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _refuse(0, "", "", f"not a readable XLSX workbook (a damaged zip: {exc})") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise _refuse(0, "", "", "not an XLSX workbook (the zip holds no xl/workbook.xml)")
    if len(members) > XLSX_MAX_MEMBERS:
        raise _refuse(
            0,
            "",
            f"{len(members):,} parts",
            f"the workbook has {len(members):,} parts, more than {XLSX_MAX_MEMBERS:,}; "
            "save the sheet alone as .xlsx or CSV",
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked_bytes:
        raise _refuse(
            0,
            "",
            f"{unpacked:,} bytes",
            f"the workbook would unpack to {size_label(unpacked)}, over the limit of "
            f"{size_label(max_unpacked_bytes)}; save it as CSV or split it",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_BOMB_MIN_BYTES and ratio > XLSX_MAX_RATIO:
            raise _refuse(
                0,
                "",
                member.filename,
                f"the workbook part {member.filename} is compressed {ratio:,.0f} to 1, more "
                f"than a spreadsheet ever is ({XLSX_MAX_RATIO} to 1): it looks like a zip bomb",
            )


def _read_csv(data: bytes) -> pd.DataFrame:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(1, "", "", "the file is UTF-16; save the file as UTF-8 (CSV UTF-8)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        if not data.strip():
            raise _refuse(1, "", "", "the file is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise _refuse(
            row, "", "", f"not valid UTF-8 (byte 0x{byte}); save the file as UTF-8"
        ) from None

    header_line = data.split(b"\n", 1)[0].decode("utf-8")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    if "\t" in header_line and delimiter not in header_line:
        raise _refuse(
            1, "", "", "the file is tab-delimited; use a comma or a semicolon between columns"
        )
    try:
        header = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error as exc:
        raise _refuse(1, "", "", _csv_reason(exc)) from None
    names = [n.strip().lower() for n in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # pandas would rename the second one "name.1" and hide the mistake
        raise ExtractRefused(
            error_frame([1] * len(twice), twice, twice, "this column appears twice in the header")
        )
    fields, blank = _field_counts(data, delimiter)
    width = int(fields[0])

    try:
        # usecols keeps rows with extra fields (cut to the header's width) so that frame
        # rows and records stay one to one; the counts above report the extra fields.
        frame = pd.read_csv(
            io.BytesIO(data),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            usecols=range(width),
            index_col=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise _refuse(0, "", "", f"the file is not a readable CSV table: {exc}") from None

    counts = fields[1:]
    if len(counts) != len(frame):  # a quoted line break pandas and the counter saw differently
        raise _refuse(0, "", "", "the file's quoting could not be read; check the quote marks")
    frame.index = pd.Index(np.arange(2, len(frame) + 2), name="row")
    frame["__fields__"] = np.where(counts == width, 0, counts)
    frame = frame[~blank[1:]]
    if not data.endswith(b"\n"):
        frame["__cut__"] = frame.index == len(counts) + 1
    return frame


def _field_counts(data: bytes, delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    """Fields per record (header first) and whether each record is a blank line."""
    if b'"' not in data:
        # Without quotes every line is one record: count delimiters between line breaks.
        raw = np.frombuffer(data, dtype=np.uint8)
        breaks = np.flatnonzero(raw == 10)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(raw)]))
        if data.endswith(b"\n"):
            starts, ends = starts[:-1], ends[:-1]
        delims = np.flatnonzero(raw == ord(delimiter))
        counts = np.searchsorted(delims, ends) - np.searchsorted(delims, starts) + 1
        length = ends - starts
        crlf = (length > 0) & (raw[np.maximum(ends - 1, 0)] == 13)
        return counts, (length - crlf) == 0
    text = data.decode("utf-8")
    counts, blank = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            counts.append(max(len(record), 1))
            blank.append(not record)
    except csv.Error as exc:
        raise _refuse(reader.line_num, "", "", _csv_reason(exc)) from None
    return np.asarray(counts), np.asarray(blank)


def _csv_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        # No column holds more than a few hundred characters; a field this long is a
        # quote mark left open, or not an extract at all.
        return (
            f"a field is longer than {csv.field_size_limit():,} characters; check for a quote "
            "mark that is never closed"
        )
    return f"the file is not a readable CSV table: {exc}"


def _read_xlsx(data: bytes, *, sheet_name: str) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not book.worksheets:
            raise ValueError("it has no worksheet")
        sheet = _choose_sheet(book, sheet_name)
        # Read-only mode stops at the range the sheet's <dimension> declares, and writers
        # get it wrong: forget it and read until the rows end.
        sheet.reset_dimensions()
        rows, typed = [], []
        for values in sheet.iter_rows(values_only=True):
            rows.append(tuple(_cell_text(v) for v in values))
            typed.append(tuple(isinstance(v, int | float) and not isinstance(v, bool)
                               for v in values))  # fmt: skip
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # openpyxl has no public name for the sheet's part in the zip.
            hidden, uncomputed = _sheet_marks(archive.open(sheet._worksheet_path))
        book.close()
    except ExtractRefused:
        raise
    except Exception as exc:
        # openpyxl reads the sheet lazily and a damaged or hand-made part fails in many ways
        # (XML syntax, missing parts, bad attributes): each means this is no workbook to load.
        raise _refuse(0, "", "", f"not a readable XLSX workbook ({exc})") from None
    if not rows:
        raise _refuse(1, "", "", f'the sheet "{sheet.title}" of the workbook is empty')
    header = list(rows[0])
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    body = [(r + ("",) * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=str, index=range(2, len(rows) + 1))
    frame.index.name = "row"
    frame["__fields__"] = 0
    number_cells = pd.DataFrame(
        [(t + (False,) * width)[:width] for t in typed[1:]],
        columns=[column_key(name) for name in header],
        index=frame.index,
        dtype=bool,
    )
    uncomputed = [(r, c) for r, c in uncomputed if 2 <= r <= len(rows) and c <= width]
    problems = pd.DataFrame(
        {
            "row": [r for r, _ in uncomputed],
            "column": [column_key(header[c - 1]) for _, c in uncomputed],
            "reason": "formula without a computed value: open and save the file in Excel",
        }
    )
    return Table(
        frame,
        sheet=sheet.title,
        hidden_rows=len(hidden & set(frame.index)),
        cell_problems=problems,
        number_cells=number_cells,
    )


def _choose_sheet(book, name: str):
    """The sheet named, else the active sheet: the one Excel opens on, if it is visible.

    A workbook's first sheet is often a hidden or stale copy; the active sheet is the one
    its author last looked at. A hidden active sheet leaves the choice open, so it is refused.
    """
    names = ", ".join(f'"{s.title}"' for s in book.worksheets)
    if name:
        for sheet in book.worksheets:
            if sheet.title.strip().lower() == name.strip().lower():
                return sheet
        raise _refuse(0, "", name, f'the workbook has no sheet "{name}" (its sheets: {names})')
    sheet = book.active
    if sheet is None:
        raise _refuse(0, "", "", f"the workbook has no active sheet: name the sheet to import "
                      f"(its sheets: {names})")  # fmt: skip
    if sheet.sheet_state != "visible":
        raise _refuse(
            0,
            "",
            sheet.title,
            f'the workbook\'s active sheet "{sheet.title}" is hidden, so which sheet to read is '
            f"unclear: name the sheet to import (its sheets: {names})",
        )
    return sheet


def _sheet_marks(source) -> tuple[set[int], list[tuple[int, int]]]:
    """Hidden rows, and (row, column) of formulas without a computed value, of a sheet's XML.

    openpyxl's read-only mode reports neither: it drops row attributes, and reads a formula
    whose value was never computed (a file written by a program, not saved by Excel) as an
    empty cell. One streaming pass over the sheet's XML finds both.
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
    from openpyxl.xml.functions import iterparse

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    hidden: set[int] = set()
    uncomputed: list[tuple[int, int]] = []
    row_number = column_number = 0
    for event, element in iterparse(source, events=("start", "end")):
        if element.tag == f"{main}row":
            if event == "start":
                row_number = int(element.get("r", row_number + 1))
                column_number = 0
                continue
            if element.get("hidden") in ("1", "true"):
                hidden.add(row_number)
            element.clear()
        elif element.tag == f"{main}c" and event == "end":
            reference = element.get("r")
            column_number = (
                column_index_from_string(coordinate_from_string(reference)[0])
                if reference
                else column_number + 1
            )
            # A computed empty text is an empty <v> in a cell typed "str"; any other formula
            # with no value was never computed.
            value = element.find(f"{main}v")
            if element.find(f"{main}f") is not None and (
                value is None or (not value.text and element.get("t") != "str")
            ):
                uncomputed.append((row_number, column_number))
    return hidden, uncomputed


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- Validation ------------------------------------------------------------------------------


@dataclass
class _Checks:
    """What every column's check shares: the options, and the notes it adds for the file."""

    options: ReadOptions
    significant_digits: int | None
    cell_problems: pd.DataFrame | None
    hints: set[str]
    warnings: list[str]


def validate(
    read: Table,
    *,
    entity: Entity,
    refs: dict[str, dict[str, object]],
    options: ReadOptions | None = None,
    significant_digits: int | None = None,
    progress: Progress | None = None,
) -> Extract:
    """Check every row of the table read; return the loadable frame and every error found.

    `refs` maps a reference kind ("product", "family" ...) to {natural key: id or value}.
    `significant_digits` is how many digits of a number the database gives back, when it
    keeps fewer than a column declares (SQLite stores numbers as floats).
    """
    model = apps.get_model(entity.model)
    table = read.frame.rename(columns=lambda c: c if c.startswith("__") else column_key(c))
    _check_header(table, entity)
    checks = _Checks(
        options=options or ReadOptions(),
        significant_digits=significant_digits,
        cell_problems=read.cell_problems,
        hints=set(),
        warnings=[],
    )

    errors: list[pd.DataFrame] = []
    fields = table["__fields__"].to_numpy()
    cut = table["__cut__"].to_numpy(dtype=bool) if "__cut__" in table else fields != fields
    wrong = (fields != 0) & ~cut
    if wrong.any():
        width = len(_data_columns(table))
        errors.append(
            error_frame(
                table.index[wrong],
                "",
                [f"{n} fields" for n in fields[wrong]],
                [f"this row has {n} fields, the header has {width}" for n in fields[wrong]],
            )
        )
    if cut.any():
        errors.append(
            error_frame(
                table.index[cut],
                "",
                "",
                "the file ends in the middle of this row (no line break after it): it looks "
                "cut off; export it again",
            )
        )
    rows_read = len(table)
    table = table[~(wrong | cut)]
    # Blank rows (spreadsheets export trailing ones as ",,,,") are skipped, not reported.
    columns = _data_columns(table)
    maybe_blank = np.flatnonzero(table[columns[0]].to_numpy(dtype=object) == "")
    if len(maybe_blank):
        blank = (table.iloc[maybe_blank][columns] == "").all(axis=1).to_numpy()
        if read.cell_problems is not None:
            # A row of formulas without values reads as blank but is not.
            blank = blank & ~table.index[maybe_blank].isin(read.cell_problems["row"])
        table = table.drop(index=table.index[maybe_blank[blank]])
        rows_read -= int(blank.sum())

    out = pd.DataFrame(index=table.index)
    present: list[str] = []
    valid = np.ones(len(table), dtype=bool)
    columns = list(entity.columns)
    for done, column in enumerate(columns):
        field = model._meta.get_field(column.model_field)
        target = field.attname
        if column.name not in table:
            out[target] = _objects(_default(field, column), out.index)
        else:
            raw = table[column.name]
            typed = (
                None
                if read.number_cells is None
                else read.number_cells[column.name].reindex(raw.index).to_numpy(dtype=bool)
            )
            values, bad = _check_column(raw, column, field, refs, errors, checks, typed)
            out[target] = _objects(values, out.index)
            valid &= ~bad
            if column.name not in entity.key:
                present.append(target)
        if progress:
            progress((done + 1) / (len(columns) + 1))

    key_fields = [model._meta.get_field(entity.column(k).model_field).attname for k in entity.key]
    _check_duplicates(out, table, valid, key_fields, entity, errors)
    for name in _model_defaults(model, out):
        out[name] = _objects(_default(model._meta.get_field(name), None), out.index)

    # A file-wide hint is said once, on row 0, not on each of a million rows.
    for hint in sorted(checks.hints):
        errors.append(error_frame([0], "", [""], hint))
    error_table = (
        pd.concat(errors, ignore_index=True)
        if errors
        else pd.DataFrame({c: [] for c in ERROR_COLUMNS})
    )
    order = {c.name: i for i, c in enumerate(entity.columns)}
    error_table = (
        error_table.assign(_order=error_table["column"].map(order).fillna(-1))
        .sort_values(["row", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return Extract(
        rows_read=rows_read,
        frame=out,
        present_fields=present,
        errors=error_table,
        warnings=checks.warnings,
    )


def column_key(name) -> str:
    """A header cell as the column name it stands for: case and surrounding spaces ignored."""
    return str(name).strip().lower()


def _data_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if not c.startswith("__")]


def _check_header(table: pd.DataFrame, entity: Entity) -> None:
    header = _data_columns(table)
    known = {c.name for c in entity.columns}
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append((name, name, "this column appears twice in the header"))
        seen.add(name)
        if name not in known:
            expected = ", ".join(c.name for c in entity.columns)
            problems.append(
                (name, name, f"unknown column; the {entity.name} columns are {expected}")
            )
    for name in entity.required_columns:
        if name not in seen:
            problems.append((name, "", "missing required column"))
    if problems:
        raise ExtractRefused(
            error_frame(
                [1] * len(problems),
                [name for name, _, _ in problems],
                [value for _, value, _ in problems],
                [reason for _, _, reason in problems],
            )
        )


def _check_column(
    raw: pd.Series,
    column: Column,
    field,
    refs: dict[str, dict[str, object]],
    errors: list[pd.DataFrame],
    checks: _Checks,
    typed: np.ndarray | None = None,
) -> tuple[object, np.ndarray]:
    """Parse one column; append its errors; return (values to load, mask of bad rows).

    `typed` marks the cells the file typed as numbers (XLSX), if it types cells at all.
    """
    text = raw.to_numpy(dtype=object)
    bad = np.zeros(len(raw), dtype=bool)

    def report(mask: np.ndarray, reason) -> None:
        nonlocal bad
        mask = mask & ~bad
        if mask.any():
            reasons = reason if np.isscalar(reason) else np.asarray(reason, dtype=object)[mask]
            errors.append(error_frame(raw.index[mask], column.name, text[mask], reasons))
        bad |= mask

    # What the cell really held comes first: its text (empty, #N/A) would mislead.
    problems = checks.cell_problems
    if problems is not None and len(problems):
        mine = problems[problems["column"] == column.name].set_index("row")["reason"]
        if len(mine):
            report(raw.index.isin(mine.index), mine.reindex(raw.index).to_numpy(dtype=object))
    excel_error = raw.isin(EXCEL_ERRORS).to_numpy()
    if excel_error.any():
        reasons = np.full(len(text), None, dtype=object)
        reasons[excel_error] = [f"Excel error value {v}" for v in text[excel_error]]
        report(excel_error, reasons)

    if column.kind in ("decimal", "int"):
        return _check_number(text, column, field, report, checks, typed), bad

    # Distinct values are few for codes, months and choices: parse each once, not per row.
    codes, uniques = pd.factorize(raw, sort=False)
    stripped = list(pd.Index(uniques, dtype=object).str.strip())
    empty = np.asarray([v == "" for v in stripped], dtype=bool)[codes]
    if column.required:
        report(empty, "required value is empty")
    parsed_u, reason_u = _parse_uniques(stripped, column, field, refs)
    failed_u = np.asarray([r is not None for r in reason_u], dtype=bool)
    report(~empty & failed_u[codes], np.asarray(reason_u, dtype=object)[codes])
    values = np.asarray(parsed_u, dtype=object)[codes]
    if not column.required:
        values = np.where(empty, _default(field, column), values)
    if column.kind == "str" and not column.ref:
        _check_mojibake(stripped, codes, raw.index, column, checks, report)
    return values, bad


def _check_mojibake(
    uniques: list[str], codes: np.ndarray, rows: pd.Index, column: Column, checks: _Checks, report
) -> None:
    """Warn of text that was UTF-8 decoded as Windows-1252 (BÃ¼ro for Büro); refuse it when
    the file is stated to be UTF-8, since then it can only be damage."""
    repaired = {i: _undo_mojibake(v) for i, v in enumerate(uniques) if not v.isascii()}
    repaired = {i: v for i, v in repaired.items() if v is not None}
    if not repaired:
        return
    hit = np.isin(codes, list(repaired))
    if checks.options.utf8:
        reasons = np.full(len(codes), None, dtype=object)
        reasons[hit] = [
            f"text decoded twice (probably {repaired[c]!r}): the file is not the UTF-8 it was "
            "said to be; export it again"
            for c in codes[hit]
        ]
        report(hit, reasons)
        return
    first = codes[hit][0]
    checks.warnings.append(
        f"column {column.name}, {_rows_label(rows[hit])}: text that looks decoded twice "
        f"({uniques[first][:60]!r}, probably {repaired[first][:60]!r}); it was loaded as "
        "written. Check the export's encoding"
    )


def _undo_mojibake(text: str) -> str | None:
    """The text UTF-8 encoded then decoded as Windows-1252 or Latin-1 stood for, or None.

    A real name with accents (Café, São, Müller) almost never re-encodes to valid UTF-8,
    since its accented letters are not followed by the bytes UTF-8 continues with.
    """
    for encoding in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != text:
            return repaired
    return None


def _rows_label(rows: pd.Index, shown: int = 10) -> str:
    listed = ", ".join(str(r) for r in rows[:shown])
    more = f" and {len(rows) - shown:,} more" if len(rows) > shown else ""
    return f"row {listed}" if len(rows) == 1 else f"rows {listed}{more}"


def _check_number(
    text: np.ndarray, column: Column, field, report, checks: _Checks, typed: np.ndarray | None
) -> np.ndarray:
    text = _read_separators(text, checks, report, typed)
    # Numbers are mostly distinct, so no factorising: numpy's float conversion of the whole
    # column is the fast path, and only a column with a bad cell takes the per-cell one.
    empty = text == ""
    try:
        numbers = np.where(empty, "0", text).astype(float)
    except ValueError:
        empty = np.asarray([not v.strip() for v in text], dtype=bool)
        numbers = _to_floats(np.where(empty, "0", text)).astype(float)
    if column.required:
        report(empty, "required value is empty")
    not_number = ~np.isfinite(numbers)
    joined = "".join(text)
    if "_" in joined:  # float() reads "1_000"; the database does not
        not_number |= np.asarray(["_" in v for v in text], dtype=bool)
    if not joined.isascii():  # nor does it read full-width digits
        not_number |= np.asarray([not v.isascii() for v in text], dtype=bool)
    if not_number.any():
        report(not_number, "not a number")
        numbers = np.where(not_number, 0.0, numbers)
    if column.kind == "int":
        report(numbers != np.floor(numbers), "not a whole number")
        report(numbers > INT_MAX, f"too large (at most {INT_MAX})")
    else:
        report(*_overflow(text, numbers, field, checks.significant_digits))
    if column.min_value is not None:
        name = column.name.replace("_", " ")
        if column.min_value == 0:
            report(numbers < 0, f"negative {name}: must be 0 or more")
        else:
            report(numbers < column.min_value, f"{name} must be more than 0")
    # The text goes to the database as written (it rounds to the column's decimals); a float
    # would lose digits of large amounts.
    values = text
    if column.kind == "int":
        values = numbers.astype(np.int64).astype(str).astype(object)
    if not column.required:
        values = np.where(empty, _default(field, column), values)
    return values


def _read_separators(
    text: np.ndarray, checks: _Checks, report, typed: np.ndarray | None
) -> np.ndarray:
    """The column's numbers with a decimal point and no thousands separators.

    Without a stated format the file must not depend on one: a number that reads two ways
    (3.900, 1,390) and one with a decimal comma are refused, and the file gets one hint.
    With a stated format its separators are read, and a number not in that form is refused.
    A cell the file typed as a number is its own value and reads one way only.
    """
    decimal = checks.options.decimal_separator
    thousands = checks.options.thousands_separator
    # pandas' string methods loop in C; a Python loop over a million cells takes seconds.
    cells = pd.Series(text, dtype=object)
    written = np.ones(len(text), dtype=bool) if typed is None else ~typed
    reasons = np.full(len(text), None, dtype=object)
    if not decimal:
        ambiguous = written & cells.str.fullmatch(_AMBIGUOUS_RE).to_numpy(dtype=bool)
        reasons[ambiguous] = [_ambiguity(v.strip()) for v in text[ambiguous]]
        comma = ~ambiguous & cells.str.contains(",", regex=False).to_numpy(dtype=bool)
        if comma.any():
            for form, reason in (
                (_DECIMAL_COMMA_RE, "not a number with a decimal point (it has a decimal comma)"),
                (_THOUSANDS_COMMA_RE, "not a number without thousands separators (it has "
                 "commas between thousands)"),
            ):  # fmt: skip
                reasons[comma & cells.str.fullmatch(form).to_numpy(dtype=bool)] = reason
        refused = reasons != None  # noqa: E711 (elementwise)
        if refused.any():
            checks.hints.add(NUMBER_FORMAT_HINT)
    else:
        marks = ({thousands} | ({decimal, "."} if decimal == "," else set())) - {""}
        marked = np.zeros(len(text), dtype=bool)
        for mark in marks:
            marked |= cells.str.contains(mark, regex=False).to_numpy(dtype=bool)
        marked &= written
        if marked.any():
            digits = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+" if thousands else r"\d+"
            form = re.compile(rf"\s*[+-]?(?:{digits})(?:{re.escape(decimal)}\d+)?\s*", re.ASCII)
            fits = marked & cells.str.fullmatch(form).to_numpy(dtype=bool)
            read = cells[fits].str.strip()
            if thousands:
                read = read.str.replace(thousands, "", regex=False)
            text = text.copy()
            text[fits] = read.str.replace(decimal, ".", regex=False).to_numpy(dtype=object)
            name = next(k for k, v in NUMBER_FORMATS.items() if v == (decimal, thousands))
            reasons[marked & ~fits] = f"not a number in the file's stated format ({name})"
        refused = reasons != None  # noqa: E711 (elementwise)
    if refused.any():
        report(refused, reasons)
        text = np.where(refused, "", text)
    return text


def _overflow(
    text: np.ndarray, numbers: np.ndarray, field, significant_digits: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cells too large for the column once rounded to its decimals, and why.

    The float test only finds the cells near the limit; the exact one is on the text, as
    rounding can add a digit (99999999999.9999 to 3 decimals is 100000000000.000). Where
    the database keeps fewer digits than the column declares, a value must also fit as it
    will be read back: a stored value that does not makes every later read of the table fail.
    """
    digits = field.max_digits - field.decimal_places
    size = np.abs(numbers)
    over = size >= 10.0**digits + 1
    reasons = np.full(
        len(text), f"too large (at most {digits} digits before the decimal point)", dtype=object
    )
    step = Decimal(1).scaleb(-field.decimal_places)
    bound = Decimal(10) ** digits
    for i in np.flatnonzero((size >= 10.0**digits - 1) & ~over):
        rounded = Decimal(text[i].strip()).quantize(step, ROUND_HALF_UP)
        if abs(rounded) >= bound:
            over[i] = True
            reasons[i] = (
                f"too large: rounded to {field.decimal_places} decimals it is {rounded}, more "
                f"than {digits} digits before the decimal point"
            )
            continue
        if significant_digits is None:
            continue
        read_back = Context(prec=significant_digits).create_decimal_from_float(float(rounded))
        if abs(read_back.quantize(step)) >= bound:
            over[i] = True
            reasons[i] = (
                f"too large for this database, which keeps {significant_digits} significant "
                f"digits: it would read back as {read_back.quantize(step)}, more than {digits} "
                "digits before the decimal point"
            )
    return over, reasons


def _ambiguity(value: str) -> str:
    whole, part = value[:-4], value[-3:]
    as_decimal = f"{whole}.{part}".rstrip("0").rstrip(".")
    as_thousands = f"{whole}{part}"
    name = "point" if value[-4] == "." else "comma"
    return (
        f"ambiguous: {value} is {as_decimal} with a decimal {name}, or {as_thousands} with a "
        f"{name} between thousands; say which the file uses"
    )


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return np.nan


_to_floats = np.frompyfunc(_to_float, 1, 1)


def _parse_uniques(
    values: list[str], column: Column, field, refs: dict[str, dict[str, object]]
) -> tuple[list, list]:
    """(parsed value, error reason or None) for each distinct cell value."""
    parsed, reasons = [], []
    max_length = column.max_length or getattr(field, "max_length", None)
    lookup = refs.get(column.ref) if column.ref else None
    for value in values:
        result, reason = value, None
        if value == "":
            pass
        elif column.ref:
            result = lookup.get(value) if lookup is not None else None
            if result is None:
                reason = f"unknown {REF_LABELS[column.ref]}"
        elif column.kind == "month":
            result = parse_month(value)
            if result is None:
                reason = "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)"
        elif column.kind == "date":
            result = parse_date(value)
            if result is None:
                reason = "not a date (use YYYY-MM-DD or an Excel date)"
        elif column.kind == "choice":
            result = value.lower()
            if result not in column.choices:
                reason = f"must be one of: {', '.join(column.choices)}"
        elif column.kind == "bool":
            lowered = value.lower()
            result = True if lowered in _TRUE else False if lowered in _FALSE else None
            if result is None:
                reason = "not a yes/no value (use true or false)"
        elif max_length and len(value) > max_length:
            reason = f"too long ({len(value):,} characters, at most {max_length})"
        elif "\x00" in value:
            reason = "contains a NUL character (0x00), which text cannot hold"
        parsed.append(result)
        reasons.append(reason)
    return parsed, reasons


def parse_date(value: str) -> str | None:
    """An ISO date or Excel serial as 'YYYY-MM-DD', or None."""
    match = _DATE_RE.fullmatch(value)
    try:
        if match:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        if _SERIAL_RE.fullmatch(value):
            serial = int(float(value))
            if EXCEL_SERIAL_RANGE[0] <= serial <= EXCEL_SERIAL_RANGE[1]:
                return (EXCEL_EPOCH + dt.timedelta(days=serial)).isoformat()
    except ValueError:
        pass
    return None


def parse_month(value: str) -> str | None:
    """YYYY-MM, YYYY-MM-DD or an Excel serial as the first day of its month, or None."""
    match = _MONTH_RE.fullmatch(value)
    if match:
        year, month, day = match.groups()
        try:
            dt.date(int(year), int(month), int(day or 1))
        except ValueError:
            return None
        return f"{int(year):04d}-{int(month):02d}-01"
    day = parse_date(value)
    return None if day is None else day[:8] + "01"


def _check_duplicates(
    out: pd.DataFrame,
    table: pd.DataFrame,
    valid: np.ndarray,
    key_fields: list[str],
    entity: Entity,
    errors: list[pd.DataFrame],
) -> None:
    keys = out.loc[valid, key_fields]
    dup = keys.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first_row = (
        pd.Series(keys.index, index=keys.index)
        .groupby([keys[k] for k in key_fields], sort=False)
        .transform("first")
    )
    rows = keys.index[dup]
    label = ", ".join(entity.key)
    errors.append(
        error_frame(
            rows,
            label,
            [" / ".join(t) for t in table.loc[rows, list(entity.key)].itertuples(index=False)],
            [f"duplicate key ({label}): same as row {r}" for r in first_row.to_numpy()[dup]],
        )
    )
    valid[np.flatnonzero(valid)[dup]] = False


def _objects(values, index: pd.Index) -> pd.Series:
    # Object dtype keeps None as None: a string dtype would turn it into NaN, which
    # PostgreSQL's numeric type would accept as a value.
    if np.isscalar(values) or values is None:
        values = [values] * len(index)
    return pd.Series(values, index=index, dtype=object)


def _default(field, column: Column | None):
    if column is not None and column.default is not None:
        value = column.default
    else:
        value = field.get_default()
    if value is None or isinstance(value, bool):
        return value
    return str(value)


def _model_defaults(model, out: pd.DataFrame) -> list[str]:
    """Model fields no extract column fills; new rows take their default."""
    return [
        f.attname
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in out.columns
    ]
