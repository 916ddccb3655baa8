"""Grid downloads shared by the planning pages: one table as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

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
) -> HttpResponse:
    """The rows as a CSV (header first) or an XLSX sheet (caption row, then header) download.

    Every text cell goes through `cell_safe`: names come from ERP extracts, which anyone who
    can edit the ERP's item master writes. XLSX is written in openpyxl's write-only mode,
    which streams rows instead of holding a cell object per value: a 180,000-row plan stays
    within memory.
    """
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
