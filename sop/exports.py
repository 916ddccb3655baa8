"""Grid downloads shared by the planning pages: one table as CSV or XLSX.

Figures are written by the one rule (`sop.formatting.export_number`): money to the cent,
quantities whole, percentages with one decimal, as numbers a spreadsheet can sum; a column
of money or quantities says its unit in its header ("revenue (EUR)", "demand (units)").
Dates are ISO 8601 (2026-11-01), which spreadsheets read as dates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from sop.formatting import export_number, with_unit

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
# Text that is only a number ("-12.5", "+10%") is left alone: a spreadsheet reads it as that
# number, never as a formula, and a planner expects to sum it.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?", re.ASCII)


def safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def cell_safe(value: object) -> object:
    """The value as a spreadsheet should get it: text that would run as a formula is quoted.

    Numbers, dates and empty cells pass through; text starting with =, +, -, @, a tab or a
    carriage return gets a leading single quote, so Excel and LibreOffice show it as text.
    """
    if isinstance(value, str) and value[:1] in _FORMULA_FIRST and not _NUMBER_TEXT.fullmatch(value):
        return "'" + value
    return value


def cells_safe(row: Iterable[object]) -> list[object]:
    # cell_safe inlined: a 180,000-row plan has two million cells, and the call per cell
    # would cost a third of the export's time.
    first, number = _FORMULA_FIRST, _NUMBER_TEXT.fullmatch
    return ["'" + v if isinstance(v, str) and v[:1] in first and not number(v) else v for v in row]


def table_response(
    *,
    name: str,
    fmt: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    sheet_title: str = "Data",
    caption: Sequence[object] | None = None,
    kinds: Sequence[str | None] | None = None,
    labelled: bool = True,
) -> HttpResponse:
    """The rows as a CSV (header first) or an XLSX sheet (caption row, then header) download.

    `kinds` gives each column's kind of figure (`sop.formatting.KINDS`; None for text,
    dates and flags): its numbers are rounded by the rule and its header carries the unit
    (not with `labelled=False`, for a grid of months whose caption says it).
    Text in a figure's column (an override typed as "+10%") is written as it is.

    Every text cell goes through `cell_safe`: names come from ERP extracts, which anyone who
    can edit the ERP's item master writes. XLSX is written in openpyxl's write-only mode,
    which streams rows instead of holding a cell object per value: a 180,000-row plan stays
    within memory.
    """
    if kinds is not None:
        if labelled:
            header = [
                n if k is None else with_unit(n, k) for n, k in zip(header, kinds, strict=True)
            ]
        rows = _rounded(rows, kinds)
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_title[:31])
        if caption:
            sheet.append(cells_safe(caption))
        sheet.append(cells_safe(header))
        for row in rows:
            sheet.append(cells_safe(row))
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(cells_safe(header))
        writer.writerows(cells_safe(row) for row in rows)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(name)}.{fmt}"'
    return response


def _rounded(rows: Iterable[Sequence[object]], kinds: Sequence[str | None]) -> Iterable[list]:
    figures = [(i, kind) for i, kind in enumerate(kinds) if kind is not None]
    for row in rows:
        row = list(row)
        for i, kind in figures:
            if not isinstance(row[i], str):
                row[i] = export_number(row[i], kind)
        yield row
