"""Grid downloads shared by the planning pages: one table as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


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

    XLSX is written in openpyxl's write-only mode, which streams rows instead of holding a
    cell object per value: a 180,000-row plan stays within memory.
    """
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_title[:31])
        if caption:
            sheet.append(list(caption))
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(name)}.{fmt}"'
    return response
