"""A big file is read and checked in chunks: tiny chunks here, so small files cross them."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Sum

from sop import imports
from sop.choices import JobStatus
from sop.extract_reader import ReadOptions, read_extract, read_extract_chunks
from sop.extracts import ENTITIES
from sop.models import ImportJob, Product, SalesHistory
from tests.sop.extract_files import problems, run, workbook_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

HEADER = "sku,location_code,month,quantity,revenue\n"
# 64 bytes: the header and one 18-byte row in the first chunk, then three rows a chunk.
CHUNK = 64


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.SOP_IMPORT_CHUNK_BYTES = CHUNK


def months(count: int, quantity=lambda i: str(i + 1)) -> str:
    """`count` rows of A1 at WH1, one a month from 2020-01, quantity i + 1 on row i + 2."""
    return "".join(
        f"A1,WH1,{2020 + i // 12}-{i % 12 + 1:02d},{quantity(i)},\n" for i in range(count)
    )


def chunks_of(content: str, entity: str = "sales_history", refs=None) -> list:
    return list(
        read_extract_chunks(
            content.encode(),
            entity=ENTITIES[entity],
            refs=refs if refs is not None else imports.import_refs(entity=ENTITIES[entity]),
            max_bytes=1 << 20,
            chunk_bytes=CHUNK,
        )
    )


def test_a_file_of_many_chunks_loads_every_row(tmp_path, refs):
    body = months(40)
    assert len(chunks_of(HEADER + body)) > 5
    job = run(tmp_path, "sales_history", HEADER + body)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert (job.rows_read, job.rows_inserted) == (40, 40)
    # 1 + 2 + ... + 40
    assert SalesHistory.objects.aggregate(s=Sum("quantity"))["s"] == Decimal(820)
    again = run(tmp_path, "sales_history", HEADER + body)
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 40)


def test_a_key_repeated_in_a_later_chunk_is_refused_and_nothing_loads(tmp_path, refs):
    body = months(12) + "A1,WH1,2020-03,7,\n"
    job = run(tmp_path, "sales_history", HEADER + body)
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (
            14,
            "sku, location_code, month",
            "A1 / WH1 / 2020-03",
            "duplicate key (sku, location_code, month): same as row 4",
        )
    ]
    assert SalesHistory.objects.count() == 0


def test_keys_of_every_earlier_chunk_are_remembered(tmp_path, refs):
    # 14 chunks of rows 2-41, kept as merged runs of keys; then the keys of rows 2 (the
    # first chunk), 20 and 37 again, each named with the row it repeats.
    body = months(40) + "A1,WH1,2020-01,1,\nA1,WH1,2021-07,1,\nA1,WH1,2022-12,1,\n"
    job = run(tmp_path, "sales_history", HEADER + body)
    assert problems(job) == [
        (row, "sku, location_code, month", f"A1 / WH1 / {month}", f"{reason} {first}")
        for row, month, first in ((42, "2020-01", 2), (43, "2021-07", 20), (44, "2022-12", 37))
        for reason in ["duplicate key (sku, location_code, month): same as row"]
    ]
    assert SalesHistory.objects.count() == 0


def test_a_dry_run_checks_every_chunk_and_shows_the_first_rows(tmp_path, refs, capsys):
    # 14 chunks: a bad quantity on row 29 and the key of row 4 again on row 42.
    path = tmp_path / "sales.csv"
    body = months(40, quantity=lambda i: "x" if i == 27 else "1") + "A1,WH1,2020-03,7,\n"
    path.write_text(HEADER + body)
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_extract", "sales_history", str(path), "--dry-run")
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    # The first chunk holds one row: the preview's first rows are that chunk's.
    assert "The first 1 rows as they would be stored:" in captured.out
    assert "Dry run: 2 errors found; the import would load nothing." in captured.err
    # Grouped by problem, counted over every chunk: the wrong value before the duplicate.
    assert "2 problems, wrong values first:" in captured.err
    assert captured.err.index("    row 29: 'x'") < captured.err.index("    row 42: ")
    assert "(duplicate key (sku, location_code, month): same as row 4)" in captured.err
    assert not ImportJob.objects.exists() and not SalesHistory.objects.exists()


def test_an_error_in_a_later_chunk_loads_nothing(tmp_path, refs):
    body = months(30, quantity=lambda i: "x" if i == 27 else "1")
    job = run(tmp_path, "sales_history", HEADER + body)
    assert job.status == JobStatus.FAILED
    assert [(row, column) for row, column, _, _ in problems(job)] == [(29, "quantity")]
    assert job.rows_read == 30
    assert SalesHistory.objects.count() == 0


def test_rows_keep_the_files_numbers_across_chunk_boundaries(tmp_path, refs):
    # Every row is wrong, and blank lines sit between some: each error names its own line.
    lines = [f"A1,WH1,2020-{m:02d},-1,\n" for m in range(1, 13)]
    lines.insert(5, "\n")
    lines.insert(9, ",,,,\n")
    job = run(tmp_path, "sales_history", HEADER + "".join(lines))
    assert [row for row, *_ in problems(job)] == [2, 3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15]
    assert job.rows_read == 12


def test_a_quoted_line_break_across_a_chunk_boundary_stays_one_row(tmp_path):
    header = "sku,name,family\n"
    # The quoted name spans bytes 40 to 90: over the 64-byte boundary.
    rows = 'P1,One,F\n"P2","Two, a name long enough\nto cross the chunk\'s end",F\nP3,Three,F\n'
    content = header + rows + "".join(f"Q{i},Name {i},F\n" for i in range(10)) + "P1,Again,F\n"
    job = run(tmp_path, "products", content)
    assert problems(job) == [
        (15, "sku", "P1", "duplicate key (sku): same as row 2"),
    ]
    job = run(tmp_path, "products", content.replace("P1,Again,F\n", "P4,,F\n"))
    # The two-line record is one row (3): a spreadsheet's numbering, not the lines'.
    assert [(row, column) for row, column, _, _ in problems(job)] == [(15, "name")]
    fixed = run(tmp_path, "products", content.replace("P1,Again,F\n", "P4,Four,F\n"))
    assert fixed.status == JobStatus.SUCCEEDED, fixed.errors
    assert Product.objects.get(sku="P2").name == "Two, a name long enough\nto cross the chunk's end"
    assert Product.objects.get(sku="Q0").name == "Name 0"


def test_chunks_give_the_rows_and_errors_of_the_whole_file(refs):
    content = HEADER + months(25, quantity=lambda i: "x" if i % 7 == 3 else str(i))
    entity = ENTITIES["sales_history"]
    refs_ = imports.import_refs(entity=entity)
    whole = read_extract(content.encode(), entity=entity, refs=refs_, max_bytes=1 << 20)
    parts = chunks_of(content, refs=refs_)
    assert len(parts) > 3
    assert [row for part in parts for row in part.errors["row"]] == list(whole.errors["row"])
    assert [row for part in parts for row in part.frame.index] == list(whole.frame.index)
    assert sum(part.rows_read for part in parts) == whole.rows_read == 25


def test_a_file_cut_off_in_its_last_chunk_names_the_last_row(tmp_path, refs):
    content = HEADER + months(10) + "A1,WH1,2021-01"
    job = run(tmp_path, "sales_history", content)
    (row, _, _, reason) = problems(job)[0]
    assert row == 12
    assert "cut off" in reason


def test_a_byte_that_is_not_utf8_in_a_later_chunk_names_its_line(tmp_path, refs):
    content = (HEADER + months(10)).encode() + b"A1,WH1,2021-01,1,caf\xe9\n"
    job = run(tmp_path, "sales_history", content)
    (row, _, _, reason) = problems(job)[0]
    assert (row, reason[:20]) == (12, "not valid UTF-8 (byt")
    assert SalesHistory.objects.count() == 0


def test_the_report_keeps_the_first_errors_and_counts_them_all(tmp_path, refs, settings):
    settings.SOP_IMPORT_ERRORS_KEPT = 3
    job = run(tmp_path, "sales_history", HEADER + months(10, quantity=lambda i: "-1"))
    assert job.error_count == 10
    assert [row for row, *_ in problems(job)] == [2, 3, 4]
    assert job.message.startswith("10 errors found (the first 3 are listed)")


def test_validation_reports_its_progress_by_the_bytes_read(tmp_path, refs, monkeypatch):
    said = []
    real = imports.run_progress

    def spy(job, progress, phase):
        said.append((progress, phase))
        real(job, progress, phase)

    monkeypatch.setattr(imports, "run_progress", spy)
    job = run(tmp_path, "sales_history", HEADER + months(40))
    assert job.status == JobStatus.SUCCEEDED
    validating = [p for p, phase in said if phase.startswith("Validating")]
    assert len(validating) > 5
    assert validating == sorted(validating)
    assert validating[0] < 20 and validating[-1] == 60
    assert ("Validating (100% of the file read)") in [phase for _, phase in said]
    assert said[-1] == (60, "Loading 40 rows")


def test_a_profile_read_file_streams_with_its_options(tmp_path, refs):
    content = "sep=;\n" + HEADER.replace(",", ";") + months(12).replace(",", ";")
    job = run(tmp_path, "sales_history", content, options=ReadOptions())
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 12


# -- XLSX: a sheet is streamed in chunks of rows -----------------------------------------------
# At CHUNK bytes a chunk is one row. The first 30 rows are read together (the rows searched
# for a header), so the tests put merged ranges and marks past them too.


def sheet_of(count: int) -> openpyxl.Workbook:
    """The sales header, then `count` months of A1 at WH1 from 2020-01, quantity i + 1."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(HEADER.strip().split(","))
    for i in range(count):
        sheet.append(["A1", "WH1", f"{2020 + i // 12}-{i % 12 + 1:02d}", i + 1, None])
    return book


def xlsx_chunks(book: openpyxl.Workbook, options: ReadOptions | None = None) -> list:
    entity = ENTITIES["sales_history"]
    return list(
        read_extract_chunks(
            workbook_bytes(book),
            entity=entity,
            refs=imports.import_refs(entity=entity),
            options=options,
            max_bytes=1 << 20,
            chunk_bytes=CHUNK,
        )
    )


def test_an_xlsx_of_many_chunks_loads_every_row_numbered_as_the_sheet(tmp_path, refs):
    book = sheet_of(40)
    parts = xlsx_chunks(book)
    assert len(parts) == 40
    assert [row for part in parts for row in part.frame.index] == list(range(2, 42))
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert (job.rows_read, job.rows_inserted) == (40, 40)
    assert SalesHistory.objects.aggregate(s=Sum("quantity"))["s"] == Decimal(820)


def test_an_xlsx_key_repeated_in_a_later_chunk_names_both_sheet_rows(tmp_path, refs):
    book = sheet_of(38)
    book["Sales"].append(["A1", "WH1", "2020-03", 7, None])  # row 40 repeats row 4
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (
            40,
            "sku, location_code, month",
            "A1 / WH1 / 2020-03",
            "duplicate key (sku, location_code, month): same as row 4",
        )
    ]
    assert SalesHistory.objects.count() == 0


def test_xlsx_marks_in_later_chunks_are_named_and_counted(tmp_path, refs):
    book = sheet_of(40)
    book["Sales"].row_dimensions[35].hidden = True
    book["Sales"].row_dimensions[5].hidden = True
    book["Sales"]["E38"] = "=D38*10"  # saved without a computed value
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert problems(job) == [
        (38, "revenue", "", "formula without a computed value: open and save the file in Excel")
    ]
    del book["Sales"]["E38"]
    book["Sales"]["E38"] = None
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert "(2 of them hidden in the workbook" in job.message


def merged_across_chunks() -> openpyxl.Workbook:
    """Rows 33-36 share one SKU and location, merged over four one-row chunks."""
    book = sheet_of(40)
    sheet = book["Sales"]
    for row in (34, 35, 36):
        sheet.cell(row, 1).value = sheet.cell(row, 2).value = None
    sheet.merge_cells("A33:A36")
    sheet.merge_cells("B33:B36")
    return book


def test_xlsx_merged_cells_across_chunks_are_filled_down_when_stated(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        workbook_bytes(merged_across_chunks()),
        suffix=".xlsx",
        options=ReadOptions(fill_merged=True),
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 40


def test_xlsx_merged_cells_across_chunks_not_stated_are_named_in_each_row(tmp_path, refs):
    job = run(tmp_path, "sales_history", workbook_bytes(merged_across_chunks()), suffix=".xlsx")
    assert job.status == JobStatus.FAILED
    assert [(p[0], p[1]) for p in problems(job)] == [
        (r, c) for r in (34, 35, 36) for c in ("sku", "location_code")
    ]
    assert "merged cells A33:A36, whose value ('A1')" in problems(job)[0][3]


def test_xlsx_chunks_give_the_rows_and_errors_of_the_whole_sheet(refs):
    book = sheet_of(40)
    for row in (9, 31, 37):
        book["Sales"].cell(row, 4).value = "x"
    entity = ENTITIES["sales_history"]
    refs_ = imports.import_refs(entity=entity)
    whole = read_extract(workbook_bytes(book), entity=entity, refs=refs_, max_bytes=1 << 20)
    parts = xlsx_chunks(book)
    assert [row for part in parts for row in part.errors["row"]] == [9, 31, 37]
    assert list(whole.errors["row"]) == [9, 31, 37]
    assert [row for part in parts for row in part.frame.index] == list(whole.frame.index)


def test_xlsx_chunks_report_progress_by_the_sheet_xml_read(refs):
    from sop.extract_reader.tables import XLSX_ROW_BYTES, iter_tables

    data = workbook_bytes(sheet_of(1000))  # about 90 kB of XML: read 16 kB at a time
    chunks = list(iter_tables(data, max_bytes=1 << 20, chunk_bytes=XLSX_ROW_BYTES * 100))
    assert [len(table.frame) for table, _, _ in chunks] == [100] * 10
    steps = [done for _, done, _ in chunks]
    assert steps == sorted(steps) and 0 < steps[0] < steps[-2] < len(data)
    assert steps[-1] == len(data)  # the last chunk is the whole file


def _with_sheet_xml(data: bytes, edit) -> bytes:
    """The workbook `data` with its first sheet's XML passed through `edit`."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            target.writestr(item, content)
    return out.getvalue()


def test_an_xlsx_sheet_is_sized_from_the_xml_before_its_rows():
    """openpyxl parsed a whole sheet without a <dimension> when it opened the workbook (58 MB
    for 760,000 rows); the size now comes from the bytes before <sheetData> alone."""
    import io

    from sop.extract_reader.tables import _read_only_size_from_head

    _read_only_size_from_head()
    data = workbook_bytes(sheet_of(40))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.worksheets[0].max_row == 41  # the <dimension> the writer declared

    def rows_broken(xml: bytes) -> bytes:  # no <dimension>, and rows no parser can read
        xml = xml.replace(b"<dimension ref=", b"<sheetFormatPr x=")
        return xml.replace(b"<sheetData>", b"<sheetData><row r='2'><c><<<")

    book = openpyxl.load_workbook(io.BytesIO(_with_sheet_xml(data, rows_broken)), read_only=True)
    assert book.worksheets[0].max_row is None  # opened without reading a row
