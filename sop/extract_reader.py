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
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}

Progress = Callable[[float], None]


class ExtractRefused(Exception):
    """The file cannot be read as a table of this entity; `errors` says why."""

    def __init__(self, errors: pd.DataFrame):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s)")


@dataclass
class Extract:
    """The validated rows: `frame` holds model columns ready to load; `errors` every problem."""

    rows_read: int
    frame: pd.DataFrame
    present_fields: list[str]
    errors: pd.DataFrame


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
    path: Path, *, max_bytes: int, max_unpacked_bytes: int = 200 * 1024 * 1024
) -> pd.DataFrame:
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
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(
            1, "", "", "Excel 97-2003 (.xls) files are not accepted; save as .xlsx or CSV"
        )
    return _read_csv(data)


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


def _read_xlsx(data: bytes) -> pd.DataFrame:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not book.worksheets:
            raise ValueError("it has no worksheet")
        sheet = book.worksheets[0]
        rows = [
            tuple(_cell_text(v) for v in values) for values in sheet.iter_rows(values_only=True)
        ]
        book.close()
    except Exception as exc:
        # openpyxl reads the sheet lazily and a damaged or hand-made part fails in many ways
        # (XML syntax, missing parts, bad attributes): each means this is no workbook to load.
        raise _refuse(0, "", "", f"not a readable XLSX workbook ({exc})") from None
    if not rows:
        raise _refuse(1, "", "", "the first sheet of the workbook is empty")
    header = list(rows[0])
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    body = [(r + ("",) * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=str, index=range(2, len(rows) + 1))
    frame.index.name = "row"
    frame["__fields__"] = 0
    return frame


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


def validate(
    table: pd.DataFrame,
    *,
    entity: Entity,
    refs: dict[str, dict[str, object]],
    progress: Progress | None = None,
) -> Extract:
    """Check every row of `table`; return the loadable frame and every error found.

    `refs` maps a reference kind ("product", "family" ...) to {natural key: id or value}.
    """
    model = apps.get_model(entity.model)
    table = table.rename(columns=lambda c: c if c.startswith("__") else str(c).strip().lower())
    _check_header(table, entity)

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
            values, bad = _check_column(raw, column, field, refs, errors)
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
    )


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
) -> tuple[object, np.ndarray]:
    """Parse one column; append its errors; return (values to load, mask of bad rows)."""
    text = raw.to_numpy(dtype=object)
    bad = np.zeros(len(raw), dtype=bool)

    def report(mask: np.ndarray, reason) -> None:
        nonlocal bad
        mask = mask & ~bad
        if mask.any():
            reasons = reason if np.isscalar(reason) else np.asarray(reason)[mask]
            errors.append(error_frame(raw.index[mask], column.name, text[mask], reasons))
        bad |= mask

    if column.kind in ("decimal", "int"):
        return _check_number(text, column, field, report), bad

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
    return values, bad


def _check_number(text: np.ndarray, column: Column, field, report) -> np.ndarray:
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
        comma = np.asarray(["," in v for v in text], dtype=bool)
        report(
            not_number,
            np.where(comma, "not a number (use a point as the decimal separator)", "not a number"),
        )
        numbers = np.where(not_number, 0.0, numbers)
    if column.kind == "int":
        report(numbers != np.floor(numbers), "not a whole number")
        report(numbers > INT_MAX, f"too large (at most {INT_MAX})")
    else:
        digits = field.max_digits - field.decimal_places
        report(
            np.abs(numbers) >= 10.0**digits,
            f"too large (at most {digits} digits before the decimal point)",
        )
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
