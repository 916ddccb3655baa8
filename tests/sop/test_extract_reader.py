"""No silent wrong data: what a real ERP extract holds is loaded as it is meant, or refused.

Each test imports a file the way an admin does and checks what the admin would see: the
job's status, message, errors and warnings, and what the tables hold afterwards.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction

from sop import imports
from sop.choices import JobStatus, Role
from sop.extract_reader import (
    NUMBER_FORMAT_HINT,
    ExtractRefused,
    ReadOptions,
    read_table,
    validate,
)
from sop.extracts import ENTITIES
from sop.models import ImportJob, InventorySnapshot, Product, SalesHistory
from tests.sop.extract_files import problems, run, workbook_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SALES = "sku,location_code,month,quantity,revenue\n"
INVENTORY = "sku,location_code,date,on_hand\n"
PRODUCTS = "sku,name,family\n"


def patched(data: bytes, member: str, old: str, new: str) -> bytes:
    """The workbook with one text replaced inside one of its zip members."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == member:
                text = content.decode()
                assert old in text, text[:500]
                content = text.replace(old, new, 1).encode()
            target.writestr(item, content)
    return out.getvalue()


def sales_book(rows: int = 2) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(SALES.strip().split(","))
    for month in range(1, rows + 1):
        sheet.append(["A1", "WH1", f"2026-{month:02d}", month, 10 * month])
    return book


# -- 1. Numbers that overflow their column ---------------------------------------------------


def test_a_value_that_rounds_past_its_column_is_refused_and_the_table_stays_readable(
    tmp_path, refs
):
    bad = run(tmp_path, "inventory", INVENTORY + "A1,WH1,2026-01-31,99999999999.9999\n")
    assert bad.status == JobStatus.FAILED
    assert problems(bad) == [
        (
            2,
            "on_hand",
            "99999999999.9999",
            "too large: rounded to 3 decimals it is 100000000000.000, more than 11 digits "
            "before the decimal point",
        )
    ]
    fixed = run(tmp_path, "inventory", INVENTORY + "A1,WH1,2026-01-31,99999999999.999\n")
    assert fixed.status == JobStatus.SUCCEEDED, fixed.errors
    assert list(InventorySnapshot.objects.values_list("on_hand", flat=True)) == [
        Decimal("99999999999.999")
    ]


def test_a_revenue_sqlite_would_read_back_too_large_is_refused(tmp_path, refs):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite keeps fewer digits than the column declares")
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2024-01,1,99999999999999.99\n")
    assert job.status == JobStatus.FAILED
    assert problems(job)[0][:2] == (2, "revenue")
    assert "keeps 15 significant digits" in problems(job)[0][3]
    assert not SalesHistory.objects.exists()
    fine = run(tmp_path, "sales_history", SALES + "A1,WH1,2024-01,1,99999999999999.49\n")
    assert fine.status == JobStatus.SUCCEEDED, fine.errors
    assert SalesHistory.objects.get().revenue > Decimal("99999999999999")


@pytest.mark.postgres
@pytest.mark.parametrize("threshold", [1, 10**6], ids=["copy", "orm"])
def test_an_overflow_names_its_row_and_column_on_postgres(tmp_path, refs, settings, threshold):
    settings.SOP_IMPORT_COPY_THRESHOLD = threshold
    body = "A1,WH1,2026-01,1,\nA1,WH1,2026-02,99999999999.9999,\n"
    job = run(tmp_path, "sales_history", SALES + body)
    assert job.status == JobStatus.FAILED
    assert [(row, column) for row, column, _, _ in problems(job)] == [(3, "quantity")]
    assert "InvalidOperation" not in job.message and "overflow" not in job.message
    assert not SalesHistory.objects.exists()


@pytest.mark.postgres
def test_a_row_the_database_refuses_during_copy_is_named_by_its_spreadsheet_row(
    tmp_path, refs, settings
):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    path = tmp_path / "sales.csv"
    # A blank line makes the spreadsheet row differ from the line COPY counts.
    path.write_text(SALES + "A1,WH1,2026-01,1,\n\nA1,WH1,2026-02,2,\nA1,WH1,2026-03,3,\n")
    entity = ENTITIES["sales_history"]
    table = read_table(path, max_bytes=10**6)
    extract = validate(table, entity=entity, refs=imports.import_refs(entity=entity))
    # As if a value had passed validation that the database then refused.
    extract.frame.loc[4, "quantity"] = "1e30"
    with pytest.raises(ExtractRefused) as refused, transaction.atomic():
        imports.extract_load(entity=entity, extract=extract)
    error = refused.value.errors.iloc[0]
    assert (error["row"], error["column"], error["value"]) == (4, "quantity", "1e30")
    assert "numeric field overflow" in error["reason"]


# -- 2. Thousands separators ----------------------------------------------------------------


def test_german_thousands_are_refused_with_both_readings_and_one_hint(tmp_path, refs):
    content = SALES.replace(",", ";") + "A1;WH1;2026-01;3.900;\nA1;WH1;2026-02;42.510;\n"
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (0, "", "", NUMBER_FORMAT_HINT),
        (
            2,
            "quantity",
            "3.900",
            "ambiguous: 3.900 is 3.9 with a decimal point, or 3900 with a point between "
            "thousands; say which the file uses",
        ),
        (
            3,
            "quantity",
            "42.510",
            "ambiguous: 42.510 is 42.51 with a decimal point, or 42510 with a point between "
            "thousands; say which the file uses",
        ),
    ]
    assert not SalesHistory.objects.exists()


def test_a_us_thousands_comma_is_refused_with_both_readings(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + 'A1,WH1,2026-01,"1,390",\n')
    assert problems(job)[1][3] == (
        "ambiguous: 1,390 is 1.39 with a decimal comma, or 1390 with a comma between "
        "thousands; say which the file uses"
    )


def test_a_us_amount_with_thousands_commas_is_refused_naming_them(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + 'A1,WH1,2026-01,"1,390.5",\n')
    assert problems(job)[1][3] == (
        "not a number without thousands separators (it has commas between thousands)"
    )
    assert problems(job)[0][3] == NUMBER_FORMAT_HINT


def test_a_decimal_comma_file_gets_one_hint_not_one_per_row(tmp_path, refs):
    rows = "".join(f"A1;WH1;2026-{m:02d};{m},5;\n" for m in range(1, 7))
    job = run(tmp_path, "sales_history", SALES.replace(",", ";") + rows)
    hints = [p for p in problems(job) if p[3] == NUMBER_FORMAT_HINT]
    assert hints == [(0, "", "", NUMBER_FORMAT_HINT)]
    assert [p[0] for p in problems(job)] == [0, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("number_format", "cells", "stored"),
    [
        ("1.234,5", ["3.900", "1.234,5", "42,51"], ["3900", "1234.5", "42.51"]),
        ("1,234.5", ['"1,390"', "3.900", '"1,234,567.25"'], ["1390", "3.9", "1234567.25"]),
        ("1234,5", ["3,9", "1390", "0,125"], ["3.9", "1390", "0.125"]),
        ("1234.5", ["3.900", "1390", "0.125"], ["3.9", "1390", "0.125"]),
    ],
)
def test_a_stated_number_format_reads_its_separators(tmp_path, refs, number_format, cells, stored):
    delimiter = ";" if "," in number_format.replace("1,234.5", "") else ","
    rows = "".join(
        f"A1{delimiter}WH1{delimiter}2026-{m:02d}{delimiter}{cell}{delimiter}\n"
        for m, cell in enumerate(cells, start=1)
    )
    job = run(
        tmp_path,
        "sales_history",
        SALES.replace(",", delimiter) + rows,
        options=ReadOptions.with_number_format(number_format),
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    quantities = SalesHistory.objects.order_by("month").values_list("quantity", flat=True)
    assert list(quantities) == [Decimal(s) for s in stored]


def test_a_number_not_in_the_stated_format_is_refused(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        SALES.replace(",", ";") + "A1;WH1;2026-01;3.9;\nA1;WH1;2026-02;12.34.5;\n",
        options=ReadOptions.with_number_format("1.234,5"),
    )
    assert [(p[0], p[3]) for p in problems(job)] == [
        (2, "not a number in the file's stated format (1.234,5)"),
        (3, "not a number in the file's stated format (1.234,5)"),
    ]


def test_a_number_with_a_leading_zero_or_other_decimals_is_not_ambiguous(tmp_path, refs):
    body = "A1,WH1,2026-01,0.500,\nA1,WH1,2026-02,3.9,\nA1,WH1,2026-03,1234.500,\n"
    job = run(tmp_path, "sales_history", SALES + body)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    quantities = SalesHistory.objects.order_by("month").values_list("quantity", flat=True)
    assert list(quantities) == [Decimal("0.5"), Decimal("3.9"), Decimal("1234.5")]


@pytest.mark.parametrize("number_format", ["", "1.234,5", "1,234.5"])
def test_an_xlsx_number_cell_reads_as_its_value_whatever_the_stated_format(
    tmp_path, refs, number_format
):
    book = sales_book(rows=1)
    book["Sales"]["D2"] = 3.125  # a number cell, not text
    job = run(
        tmp_path,
        "sales_history",
        workbook_bytes(book),
        suffix=".xlsx",
        options=ReadOptions.with_number_format(number_format),
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().quantity == Decimal("3.125")


def test_an_xlsx_text_cell_that_reads_two_ways_is_refused(tmp_path, refs):
    book = sales_book(rows=1)
    book["Sales"]["D2"] = "3.900"
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert problems(job)[1][:3] == (2, "quantity", "3.900")


def test_the_command_states_the_number_format(tmp_path, refs, capsys):
    path = tmp_path / "de.csv"
    path.write_text(SALES.replace(",", ";") + "A1;WH1;2026-01;3.900;1.234,50\n")
    call_command("import_extract", "sales_history", str(path), "--number-format", "1.234,5")
    assert "1 inserted" in capsys.readouterr().out
    stored = SalesHistory.objects.get()
    assert (stored.quantity, stored.revenue) == (Decimal("3900"), Decimal("1234.5"))


def test_the_upload_form_states_the_number_format(
    client_for, refs, django_capture_on_commit_callbacks
):
    content = (SALES.replace(",", ";") + "A1;WH1;2026-01;3.900;\n").encode()
    admin = client_for(Role.ADMIN)
    preview = admin.post(
        "/imports/",
        {
            "entity": "sales_history",
            "file": SimpleUploadedFile("de.csv", content),
            "number_format": "1.234,5",
        },
        follow=True,
    )
    assert "numbers written 1.234,5" in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(preview.request["PATH_INFO"] + "confirm/")
    assert ImportJob.objects.get().status == JobStatus.SUCCEEDED
    assert SalesHistory.objects.get().quantity == Decimal("3900")


# -- 3. Which sheet ----------------------------------------------------------------------------


@pytest.mark.parametrize("stale_state", ["hidden", "visible"])
def test_an_xlsx_reads_the_active_sheet_and_says_which(tmp_path, refs, stale_state):
    book = sales_book(rows=2)
    stale = book.create_sheet("Old copy", 0)
    stale.append(SALES.strip().split(","))
    stale.append(["B2", "WH1", "2020-01", 999, None])
    stale.sheet_state = stale_state
    book.active = book["Sales"]
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.message.startswith('Loaded 2 rows from sheet "Sales":')
    assert set(SalesHistory.objects.values_list("product__sku", flat=True)) == {"A1"}


def hidden_active_sheet_workbook() -> bytes:
    book = sales_book(rows=1)
    stale = book.create_sheet("Old copy", 0)
    stale.append(["sku"])
    stale.sheet_state = "hidden"
    book.active = book["Sales"]
    # openpyxl will not save a hidden active sheet; Excel files in the wild have them.
    return patched(workbook_bytes(book), "xl/workbook.xml", 'activeTab="1"', 'activeTab="0"')


def test_a_workbook_whose_active_sheet_is_hidden_is_refused(tmp_path, refs):
    job = run(tmp_path, "sales_history", hidden_active_sheet_workbook(), suffix=".xlsx")
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (
            0,
            "",
            "Old copy",
            'the workbook\'s active sheet "Old copy" is hidden, so which sheet to read is '
            'unclear: name the sheet to import (its sheets: "Old copy", "Sales")',
        )
    ]


def test_the_sheet_named_by_the_import_is_read(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        hidden_active_sheet_workbook(),
        suffix=".xlsx",
        options=ReadOptions(sheet="sales"),
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert 'from sheet "Sales"' in job.message


def test_a_sheet_the_workbook_does_not_have_is_refused_with_its_sheets(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        workbook_bytes(sales_book()),
        suffix=".xlsx",
        options=ReadOptions(sheet="Salse"),
    )
    assert problems(job)[0][3] == 'the workbook has no sheet "Salse" (its sheets: "Sales")'


def test_a_failed_xlsx_import_says_which_sheet_it_read(tmp_path, refs):
    book = sales_book(rows=1)
    book["Sales"]["A2"] = "Z9"
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.message.startswith('1 error found in sheet "Sales"; nothing was loaded.')


# -- 4. A dimension that under-declares the sheet --------------------------------------------


def test_an_xlsx_whose_dimension_under_declares_its_rows_loads_them_all(tmp_path, refs):
    data = workbook_bytes(sales_book(rows=12))
    data = patched(
        data, "xl/worksheets/sheet1.xml", '<dimension ref="A1:E13"', '<dimension ref="A1:C5"'
    )
    job = run(tmp_path, "sales_history", data, suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 12
    assert SalesHistory.objects.get(month=dt.date(2026, 12, 1)).revenue == Decimal("120")


# -- 5. Formulas without a value and Excel error values --------------------------------------


def test_a_formula_without_a_computed_value_is_refused(tmp_path, refs):
    book = sales_book(rows=2)
    book["Sales"]["E3"] = "=D3*10"  # openpyxl saves a formula without its value
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (3, "revenue", "", "formula without a computed value: open and save the file in Excel")
    ]
    assert not SalesHistory.objects.exists()


def test_a_row_of_formulas_without_values_is_reported_not_skipped_as_blank(tmp_path, refs):
    book = sales_book(rows=1)
    book["Sales"].append(["=A2", "=B2", "=C2", "=D2", "=E2"])
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.FAILED
    assert [(row, column) for row, column, _, _ in problems(job)] == [
        (3, "sku"),
        (3, "location_code"),
        (3, "month"),
        (3, "quantity"),
        (3, "revenue"),
    ]


def test_a_formula_that_computed_an_empty_text_loads_as_an_empty_cell(tmp_path, refs):
    book = sales_book(rows=1)
    book["Sales"]["E2"] = '=""'
    data = patched(
        workbook_bytes(book),
        "xl/worksheets/sheet1.xml",
        '<c r="E2"><f>""</f><v /></c>',
        '<c r="E2" t="str"><f>""</f><v></v></c>',  # as Excel saves it
    )
    job = run(tmp_path, "sales_history", data, suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().revenue is None


ERROR_VALUES = ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"]


@pytest.mark.parametrize("error", ERROR_VALUES)
@pytest.mark.parametrize("as_type", ["e", "s"], ids=["error cell", "text cell"])
def test_an_excel_error_value_is_refused_not_loaded_as_text(tmp_path, error, as_type):
    book = openpyxl.Workbook()
    book.active.append(["sku", "name", "family"])
    book.active.append(["P1", "Paper clip", "Office"])
    book.active["C2"].value = error
    book.active["C2"].data_type = as_type
    job = run(tmp_path, "products", workbook_bytes(book), suffix=".xlsx")
    assert problems(job) == [(2, "family", error, f"Excel error value {error}")]
    assert not Product.objects.exists()


def test_an_excel_error_value_in_a_csv_number_column_is_named(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2026-01,#DIV/0!,\n")
    assert problems(job) == [(2, "quantity", "#DIV/0!", "Excel error value #DIV/0!")]


# -- 6. Text decoded twice ---------------------------------------------------------------------


def test_text_decoded_twice_loads_with_a_warning_naming_its_rows_and_column(tmp_path):
    body = "P1,BÃ¼roklammer,Office\nP2,Stapler,Office\nP3,GrÃ¶ÃŸe L,Office\n"
    job = run(tmp_path, "products", PRODUCTS + body)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.warnings == [
        "column name, rows 2, 4: text that looks decoded twice ('BÃ¼roklammer', probably "
        "'Büroklammer'); it was loaded as written. Check the export's encoding"
    ]
    assert Product.objects.get(sku="P1").name == "BÃ¼roklammer"


@pytest.mark.parametrize(
    "name",
    ["Café crème", "São Paulo", "Müller & Söhne", "Ærøskøbing", "Łódź", "naïve Ångström",
     "東京", "Größe XL", "Âge d'or", "Ãgua"],
)  # fmt: skip
def test_accented_names_raise_no_warning(tmp_path, name):
    job = run(tmp_path, "products", PRODUCTS + f'P1,"{name}",Office\n')
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.warnings == []


def test_text_decoded_twice_is_refused_when_the_file_is_said_to_be_utf8(tmp_path):
    job = run(
        tmp_path,
        "products",
        PRODUCTS + "P1,BÃ¼roklammer,Office\n",
        options=ReadOptions(encoding="utf-8"),
    )
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (
            2,
            "name",
            "BÃ¼roklammer",
            "text decoded twice (probably 'Büroklammer'): the file is not the UTF-8 it was "
            "said to be; export it again",
        )
    ]
    assert not Product.objects.exists()


def test_the_job_page_the_list_and_the_command_show_the_warnings(tmp_path, client_for, capsys):
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS + "P1,BÃ¼roklammer,Office\n")
    call_command("import_extract", "products", str(path))
    assert "warning: column name, row 2: text that looks decoded twice" in capsys.readouterr().out
    job = ImportJob.objects.get()
    admin = client_for(Role.ADMIN)
    page = admin.get(f"/imports/{job.pk}/").content.decode()
    assert "Warnings" in page and "column name, row 2: text that looks decoded twice" in page
    assert "1 warning</span>" in admin.get("/imports/").content.decode()


def test_the_command_refuses_text_decoded_twice_in_a_file_said_to_be_utf8(tmp_path, capsys):
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS + "P1,BÃ¼roklammer,Office\n")
    with pytest.raises(SystemExit):
        call_command("import_extract", "products", str(path), "--encoding", "utf-8")
    err = capsys.readouterr().err
    assert "  name: text decoded twice: the file is not the UTF-8 it was said to be" in err
    assert "    row 2: 'BÃ¼roklammer' (text decoded twice (probably 'Büroklammer')" in err
    assert not Product.objects.exists()


def test_the_command_reads_the_sheet_it_names(tmp_path, refs, capsys):
    path = tmp_path / "sales.xlsx"
    path.write_bytes(hidden_active_sheet_workbook())
    call_command("import_extract", "sales_history", str(path), "--sheet", "Sales")
    assert 'Loaded 1 rows from sheet "Sales"' in capsys.readouterr().out


# -- 7. Rows hidden by a filter ----------------------------------------------------------------


def test_rows_hidden_by_a_filter_are_loaded_and_counted_in_the_message(tmp_path, refs):
    book = sales_book(rows=5)
    for row in (3, 5):
        book["Sales"].row_dimensions[row].hidden = True
    job = run(tmp_path, "sales_history", workbook_bytes(book), suffix=".xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 5
    assert re.match(
        r'Loaded 5 rows from sheet "Sales" \(2 of them hidden in the workbook, by a filter '
        r"or by hand\): 5 inserted",
        job.message,
    )
