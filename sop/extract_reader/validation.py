"""Validate a read `Table` against its entity's declaration in sop/extracts.py.

No database access: the caller passes the reference maps (sku -> product id ...). Every
check is a vectorised mask over a whole column, so a million-row file validates in seconds;
per-value parsing (months, references) runs once per distinct value, not once per row.
Columns are matched by name, after the import's mapping, ignored columns and constants
(`ReadOptions`). Rows are numbered as a spreadsheet shows them: the header is row 1 (or the
stated header row), the first data row the one below.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np
import pandas as pd
from django.apps import apps
from django.utils.module_loading import import_string

from sop.extract_reader.errors import ERROR_COLUMNS, ExtractRefused, error_frame, refuse
from sop.extract_reader.options import ENCODINGS, NUMBER_FORMATS, ReadOptions
from sop.extract_reader.tables import Table, column_letter
from sop.extract_reader.values import date_readings, parse_date, parse_month
from sop.extracts import Column, Entity

INT_MAX = 2_147_483_647
REF_LABELS = {
    "product": "SKU",
    "location": "location",
    "resource": "resource",
    "supplier": "supplier",
    "family": "product family",
    "user": "user",
    "like": "like product",
}
# A single separator followed by exactly three digits reads two ways: 3.900 is 3.9 with a
# decimal point and 3900 with a point between thousands. A leading 0 (0.500) reads one way.
_AMBIGUOUS_RE = re.compile(r"\s*[+-]?[1-9]\d{0,2}[.,]\d{3}\s*", re.ASCII)
_DECIMAL_COMMA_RE = re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+\s*", re.ASCII)
_THOUSANDS_COMMA_RE = re.compile(r"\s*[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\s*", re.ASCII)
# Negative numbers as SAP (12-, 1.234,50-) and accountants ((12)) write them.
_TRAILING_MINUS_RE = re.compile(r"\s*(\+?\d[\d.,' ]*?)\s*-\s*", re.ASCII)
_PARENTHESES_RE = re.compile(r"\s*\(\s*(\+?\d[\d.,' ]*?)\s*\)\s*", re.ASCII)
_SPACES_RE = re.compile(r"\s+")
NUMBER_FORMAT_HINT = (
    "the file does not say how it writes numbers, and some of them read two ways or have a "
    "decimal comma: import it with its number format stated (1,234.5 or 1.234,5 ...: an "
    'import profile, the upload\'s "Numbers written as", or import_extract --number-format)'
)
NEGATIVES_HINT = (
    "the file writes negative numbers with the minus sign at the end (12-, as SAP does) or in "
    "parentheses ((12)): state it in an import profile, and they are read as -12"
)
DATE_FORMAT_HINT = (
    "the file writes dates or months in a form that was not stated, and a day and month "
    "order is never guessed (03/04/2026 is 3 April or March 4): state the date and month "
    "formats (dd.mm.yyyy, mm/dd/yyyy, yyyymm ...) in an import profile"
)
EXCEL_ERRORS = frozenset(
    ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!")
)
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}

Progress = Callable[[float], None]


@dataclass
class Extract:
    """The validated rows: `frame` holds model columns ready to load; `errors` every problem.

    `warnings` are doubts that do not stop the load, each naming its column and rows.
    `source` is the file's text under the documented column names (mapping and constants
    applied), for showing the rows. `refused`: the file could not be read as a table of
    the entity at all (its encoding, its header ...), so no row was checked.
    """

    rows_read: int
    frame: pd.DataFrame
    present_fields: list[str]
    errors: pd.DataFrame
    warnings: list[str]
    source: pd.DataFrame = field(default_factory=pd.DataFrame)
    sheet: str = ""
    hidden_rows: int = 0
    refused: bool = False

    @classmethod
    def refusal(cls, errors: pd.DataFrame, *, sheet: str = "") -> Extract:
        """The extract of a file refused as a whole: its errors, no rows."""
        return cls(0, pd.DataFrame(), [], errors, [], sheet=sheet, refused=True)


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
    keeps fewer than a column declares (SQLite stores numbers as floats). A header that
    cannot be read as the entity's raises ExtractRefused.
    """
    model = apps.get_model(entity.model)
    options = options or ReadOptions()
    columns = _map_columns(read, entity, options)
    table = columns.table
    checks = _Checks(
        options=options,
        significant_digits=significant_digits,
        cell_problems=columns.cell_problems,
        hints=set(),
        warnings=[],
    )

    errors: list[pd.DataFrame] = []
    fields = table["__fields__"].to_numpy()
    wrong = fields != 0
    if wrong.any():
        width = read.first_index + len(read.header)
        cut = table["__cut__"].to_numpy(dtype=bool) if "__cut__" in table else wrong & False
        reasons = np.asarray(
            [f"this row has {n} fields, the header has {width}" for n in fields[wrong]],
            dtype=object,
        )
        reasons[cut[wrong]] += (
            ": the file ends in the middle of this row (no line break after it), so it looks "
            "cut off; export it again"
        )
        errors.append(
            error_frame(table.index[wrong], "", [f"{n} fields" for n in fields[wrong]], reasons)
        )
    rows_read = len(table)
    table = table[~wrong]
    # Blank rows (spreadsheets export trailing ones as ",,,,") are skipped, not reported; a
    # row is blank when the file gives it nothing (constants are the import's, not its).
    if columns.from_file:
        maybe_blank = np.flatnonzero(table[columns.from_file[0]].to_numpy(dtype=object) == "")
        if len(maybe_blank):
            blank = (table.iloc[maybe_blank][columns.from_file] == "").all(axis=1).to_numpy()
            if read.cell_problems is not None:
                # A row of formulas without values reads as blank but is not.
                blank = blank & ~table.index[maybe_blank].isin(read.cell_problems["row"])
            table = table.drop(index=table.index[maybe_blank[blank]])
            rows_read -= int(blank.sum())

    out = pd.DataFrame(index=table.index)
    present: list[str] = []
    valid = np.ones(len(table), dtype=bool)
    for done, column in enumerate(entity.columns):
        field = model._meta.get_field(column.model_field)
        target = field.attname
        if column.name not in table:
            out[target] = _objects(_default(field, column), out.index)
        else:
            raw = table[column.name]
            typed = None
            if columns.number_cells is not None and column.name in columns.number_cells:
                typed = columns.number_cells[column.name].reindex(raw.index).to_numpy(dtype=bool)
            values, bad = _check_column(raw, column, field, refs, errors, checks, typed)
            out[target] = _objects(values, out.index)
            valid &= ~bad
            if column.name not in entity.key:
                present.append(target)
        if progress:
            progress((done + 1) / (len(entity.columns) + 1))

    if entity.row_check:
        _check_rows(entity, out, table, refs, valid, errors)
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
    shown = [c.name for c in entity.columns if c.name in table]
    return Extract(
        rows_read=rows_read,
        frame=out,
        present_fields=present,
        errors=error_table,
        warnings=checks.warnings,
        source=table[shown],
        sheet=read.sheet,
        hidden_rows=read.hidden_rows,
    )


def column_key(name) -> str:
    """A header cell as the column name it stands for: case, surrounding spaces, Unicode
    spelling (NFC) ignored, and inner spaces read as underscores (Location Code is
    location_code)."""
    text = unicodedata.normalize("NFC", str(name)).strip().lower()
    return _SPACES_RE.sub("_", text)


@dataclass
class _Columns:
    """The table under documented names: the file's columns kept, then the constants."""

    table: pd.DataFrame
    from_file: list[str]
    number_cells: pd.DataFrame | None
    cell_problems: pd.DataFrame | None


def _map_columns(read: Table, entity: Entity, options: ReadOptions) -> _Columns:
    """Name the file's columns as documented: mapped, ignored, or as written; add the
    constants. Raises ExtractRefused, on the header row, for a header that does not fit."""
    documented = [c.name for c in entity.columns]
    mapping = {column_key(source): target for source, target in options.columns.items()}
    ignored = [column_key(pattern) for pattern in options.ignored]
    frame = read.frame
    problems: list[tuple[str, str, str]] = []  # column, value, reason
    kept: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, raw in enumerate(read.header):
        key = column_key(raw)
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in ignored):
            continue
        if key == "":
            # A trailing separator on every line makes an unnamed, empty column: nothing to
            # read. One that holds values is data without a name.
            cells = frame[position].str.strip()
            filled = cells.to_numpy(dtype=object) != ""
            if filled.any():
                row = frame.index[filled][0]
                letter = column_letter(read.first_index + position)
                problems.append(
                    (
                        "",
                        cells[row],
                        f"column {letter} has no name in the header but holds values (row "
                        f"{row} first): name it, or remove it",
                    )
                )
            continue
        name = mapping.get(key, key)
        if name in kept:
            reason = (
                "this column appears twice in the header"
                if column_key(written[name]) == key
                else f"{written[name]!r} and {raw!r} both stand for {name}"
            )
            problems.append((name, name if column_key(written[name]) == key else raw, reason))
            continue
        kept[name], written[name] = position, raw
    expected = ", ".join(documented)
    for name in kept:
        if name not in documented:
            problems.append(
                (
                    name,
                    name,
                    f"unknown column; the {entity.name} columns are {expected} (an import "
                    "profile can map it to one of them, or ignore it)",
                )
            )
    for name, value in options.constants.items():
        if name in kept:
            problems.append(
                (
                    name,
                    written[name],
                    f"the file has a {name} column and the import also gives {name} the value "
                    f"{value!r} on every row: keep one",
                )
            )
    missing = [
        name
        for name in entity.required_columns
        if name not in kept and name not in options.constants
    ]
    problems += [(name, "", "missing required column") for name in missing]
    if problems:
        elsewhere = _header_elsewhere(read, entity, options, mapping) if missing else None
        if elsewhere is not None:
            raise elsewhere
        raise ExtractRefused(
            error_frame(
                [read.header_row] * len(problems),
                [column for column, _, _ in problems],
                [value for _, value, _ in problems],
                [reason for _, _, reason in problems],
            )
        )

    names, positions = list(kept), list(kept.values())
    table = frame[positions].set_axis(names, axis=1)
    for meta in ("__fields__", "__cut__"):
        if meta in frame:
            table[meta] = frame[meta]
    for name, value in options.constants.items():
        table[name] = unicodedata.normalize("NFC", value)
    number_cells = None
    if read.number_cells is not None:
        number_cells = read.number_cells[positions].set_axis(names, axis=1)
    cell_problems = None
    if read.cell_problems is not None:
        named = {position: name for name, position in kept.items()}
        mine = read.cell_problems[read.cell_problems["position"].isin(named)]
        cell_problems = pd.DataFrame(
            {
                "row": mine["row"],
                "column": mine["position"].map(named),
                "reason": mine["reason"],
            }
        )
    return _Columns(table, names, number_cells, cell_problems)


def _header_elsewhere(
    read: Table, entity: Entity, options: ReadOptions, mapping: dict[str, str]
) -> ExtractRefused | None:
    """The refusal of a header that is not where it was expected, when a row near the top of
    the file holds every required column (a title row above it, a table starting at B2)."""
    required = {n for n in entity.required_columns if n not in options.constants}
    for number, cells in enumerate(read.head, start=1):
        keys = [column_key(cell) for cell in cells]
        first = next((i for i, key in enumerate(keys) if key), None)
        if first is None or (number, first) == (read.header_row, read.first_index):
            continue
        if required <= {mapping.get(key, key) for key in keys}:
            break
    else:
        return None
    where = f"row {read.header_row}"
    if read.first_index:
        where += f" from column {column_letter(read.first_index)}"
    expected = read.head[read.header_row - 1] if len(read.head) >= read.header_row else []
    held = [cell.strip() for cell in expected[read.first_index :] if cell.strip()]
    says = "it is empty" if not held else "it holds " + ", ".join(repr(c[:40]) for c in held[:4])
    if len(held) > 4:
        says += " ..."
    found = f"row {number}" + (f" from column {column_letter(first)}" if first else "")
    state = f"header row {number}" + (f" and first column {column_letter(first)}" if first else "")
    return refuse(
        read.header_row,
        "",
        ", ".join(held)[:200],
        f"the header was expected on {where}, but {says}; a header seems to be on {found}: "
        f"state {state} in an import profile, or delete what is above and before it",
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
    parsed_u, reason_u = _parse_uniques(stripped, column, field, refs, checks)
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
    the file's encoding is stated, since then it can only be damage or a wrong statement."""
    repaired = {i: _undo_mojibake(v) for i, v in enumerate(uniques) if not v.isascii()}
    repaired = {i: v for i, v in repaired.items() if v is not None}
    if not repaired:
        return
    hit = np.isin(codes, list(repaired))
    encoding = checks.options.encoding
    if encoding:
        said = (
            "the file is not the UTF-8 it was said to be; export it again"
            if encoding == "utf-8"
            else f"the file looks like UTF-8, not the {ENCODINGS[encoding]} it was said to be; "
            "correct the import profile"
        )
        reasons = np.full(len(codes), None, dtype=object)
        reasons[hit] = [
            f"text decoded twice (probably {repaired[c]!r}): {said}" for c in codes[hit]
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
    text = _read_negatives(text, checks.options, typed)
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
        report(not_number, _not_number_reasons(text, not_number, checks))
        numbers = np.where(not_number, 0.0, numbers)
    factor = checks.options.factors.get(column.name)
    if factor is not None:
        # Units converted before any check, so the limits apply to what is stored.
        scaled = ~empty & ~not_number
        text = text.copy()
        text[scaled] = _scale(text[scaled], Decimal(factor))
        numbers = np.where(scaled, numbers * float(factor), numbers)
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
            report((numbers < column.min_value) & ~empty, f"{name} must be more than 0")
    # The text goes to the database as written (it rounds to the column's decimals); a float
    # would lose digits of large amounts.
    values = text
    if column.kind == "int":
        values = numbers.astype(np.int64).astype(str).astype(object)
    if not column.required:
        values = np.where(empty, _default(field, column), values)
    return values


def _read_negatives(text: np.ndarray, options: ReadOptions, typed: np.ndarray | None):
    """The column with 12- and (12) written -12, where the import states those forms."""
    forms = [
        form
        for form, stated in ((_TRAILING_MINUS_RE, options.trailing_minus),
                             (_PARENTHESES_RE, options.parentheses))
        if stated
    ]  # fmt: skip
    if not forms:
        return text
    cells = pd.Series(text, dtype=object)
    written = np.ones(len(text), dtype=bool) if typed is None else ~typed
    text = text.copy()
    for form in forms:
        hit = written & cells.str.fullmatch(form).to_numpy(dtype=bool)
        if hit.any():
            text[hit] = cells[hit].str.replace(form, r"-\1", regex=True).to_numpy(dtype=object)
    return text


def _not_number_reasons(text: np.ndarray, not_number: np.ndarray, checks: _Checks):
    """Why each cell is no number: a negative form the import did not state is named, and
    the file gets one hint for them."""
    reasons = np.full(len(text), "not a number", dtype=object)
    cells = pd.Series(text[not_number], dtype=object)
    for form, said in ((_TRAILING_MINUS_RE, "not a number: its minus sign is at the end"),
                       (_PARENTHESES_RE, "not a number: it is in parentheses")):  # fmt: skip
        hit = cells.str.fullmatch(form).to_numpy(dtype=bool)
        if hit.any():
            reasons[np.flatnonzero(not_number)[hit]] = said
            checks.hints.add(NEGATIVES_HINT)
    return reasons


def _scale(text: np.ndarray, factor: Decimal) -> np.ndarray:
    """Numbers written with a decimal point, multiplied exactly (a float would not be)."""
    return np.asarray([format(Decimal(v.strip()) * factor, "f") for v in text], dtype=object)


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
    values: list[str], column: Column, field, refs: dict[str, dict[str, object]], checks: _Checks
) -> tuple[list, list]:
    """(parsed value, error reason or None) for each distinct cell value."""
    options = checks.options
    parsed, reasons = [], []
    max_length = column.max_length or getattr(field, "max_length", None)
    lookup = refs.get(column.ref) if column.ref else None
    for value in values:
        result, reason = value, None
        if value == "":
            pass
        elif column.ref and column.many:
            result, reason = _parse_many(value, column, lookup or {})
        elif column.ref:
            result = lookup.get(value) if lookup is not None else None
            if result is None:
                reason = f"unknown {REF_LABELS[column.ref]}"
        elif column.kind == "month":
            result = parse_month(
                value, options.month_format, options.date_format, options.with_time
            )
            if result is None:
                reason = _date_reason(value, month=True, checks=checks)
        elif column.kind == "date":
            result = parse_date(value, options.date_format, options.with_time)
            if result is None:
                reason = _date_reason(value, month=False, checks=checks)
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


def _parse_many(value: str, column: Column, lookup: dict) -> tuple[str, str | None]:
    """A cell of several references separated by "|": their ids, sorted and joined by "|"
    (text, so a column of them stays one value a cell), or the codes not known."""
    codes = [code.strip() for code in value.split("|") if code.strip()]
    unknown = [code for code in codes if code not in lookup]
    if unknown:
        label = REF_LABELS[column.ref] + ("s" if len(unknown) > 1 else "")
        return value, f"unknown {label} in the list: {', '.join(unknown)}"
    return "|".join(str(i) for i in sorted({lookup[code] for code in codes})), None


def _date_reason(value: str, *, month: bool, checks: _Checks) -> str:
    """Why a value is no date (or month), saying how it would read in the forms it fits.

    Without a stated form the file gets one hint: the order of day and month is the
    import's to state, never the reader's to guess.
    """
    options = checks.options
    noun = "month" if month else "date"
    iso = "YYYY-MM, YYYY-MM-DD" if month else "YYYY-MM-DD"
    stated = (options.month_format or options.date_format) if month else options.date_format
    readings, timed = date_readings(value, month=month)
    listed = " or ".join(f"{reading} ({form})" for reading, form in list(readings.items())[:3])
    if stated:
        said = f": {value} reads as {listed}" if readings else ""
        return f"not a {noun} in the stated format ({stated}), {iso} or an Excel date{said}"
    if not readings:
        return f"not a {noun} (use {iso} or an Excel date)"
    checks.hints.add(DATE_FORMAT_HINT)
    if timed:
        return (
            f"not a {noun}: {value} has a time of day ({listed}); state in an import profile "
            "that dates carry a time, which is dropped"
        )
    if len(readings) > 1:
        return f"ambiguous: {value} is {listed}; state the file's {noun} format"
    return f"not a {noun} in a stated format: {value} reads as {listed}; state the {noun} format"


def _check_rows(
    entity: Entity,
    out: pd.DataFrame,
    table: pd.DataFrame,
    refs: dict[str, dict[str, object]],
    valid: np.ndarray,
    errors: list[pd.DataFrame],
) -> None:
    """The entity's check across the columns of each row whose cells are all valid."""
    check = import_string(entity.row_check)
    checked = np.flatnonzero(valid)
    for mask, column, reason in check(out.iloc[checked], table.iloc[checked], refs):
        rows = table.index[checked[mask]]
        values = table.loc[rows, column].to_numpy(dtype=object) if column in table else ""
        errors.append(error_frame(rows, column, values, reason))
        valid[checked[mask]] = False


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
