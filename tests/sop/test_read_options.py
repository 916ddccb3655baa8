"""What real extracts need: every reading option of an import profile, and what a file that
needs one gets without it.

Each test imports a file the way an admin does and checks what the admin would see: the
job's status, errors and message, and what the tables hold afterwards.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

import openpyxl
import pytest

from sop import imports
from sop.choices import JobStatus
from sop.extract_reader import (
    DATE_FORMAT_HINT,
    NEGATIVES_HINT,
    ReadOptions,
    read_extract,
    read_table,
)
from sop.extracts import ENTITIES
from sop.models import InventorySnapshot, Product, SalesHistory
from tests.factories import LocationFactory, ProductFactory
from tests.sop.extract_files import problems, run, workbook_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SALES = "sku,location_code,month,quantity,revenue\n"
INVENTORY = "sku,location_code,date,on_hand\n"


def sales() -> list[tuple]:
    return list(
        SalesHistory.objects.order_by("product__sku", "month").values_list(
            "product__sku", "location__code", "month", "quantity", "revenue"
        )
    )


# -- Encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["windows-1252", "latin-1"])
def test_a_stated_8_bit_encoding_reads_accented_names(tmp_path, encoding):
    content = "sku,name,family\nP1,Café crème,Boissons\nP2,Grüße Öl,Küche\n".encode(encoding)
    job = run(tmp_path, "products", content, options=ReadOptions(encoding=encoding))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    names = dict(Product.objects.values_list("sku", "name"))
    assert names == {"P1": "Café crème", "P2": "Grüße Öl"}
    assert Product.objects.get(sku="P2").family == "Küche"


def test_windows_1252_characters_latin_1_lacks_are_read(tmp_path):
    # 0x80 is the euro sign and 0x96 an en dash in Windows-1252, control codes in Latin-1.
    content = b"sku,name,family\nP1,Filter \x80 10 \x96 small,Parts\n"
    job = run(tmp_path, "products", content, options=ReadOptions(encoding="windows-1252"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert Product.objects.get().name == "Filter € 10 \N{EN DASH} small"


def test_a_byte_windows_1252_does_not_define_is_refused_with_its_row(tmp_path):
    content = b"sku,name,family\nP1,Fine,Parts\nP2,Bad \x81 byte,Parts\n"
    job = run(tmp_path, "products", content, options=ReadOptions(encoding="windows-1252"))
    assert problems(job) == [
        (
            3,
            "",
            "",
            "not valid Windows-1252 (Excel's ANSI in Western Europe) (byte 0x81): the file is in "
            "another encoding; correct the import profile",
        )
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_its_byte_order_mark_is_read_without_being_stated(tmp_path, refs, codec):
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    content = bom + (SALES + "A1,WH1,2026-01,12,\n").encode(codec)
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sales() == [("A1", "WH1", dt.date(2026, 1, 1), Decimal("12"), None)]


def test_utf16_stated_without_a_byte_order_mark_is_refused(tmp_path, refs):
    content = (SALES + "A1,WH1,2026-01,12,\n").encode("utf-16-le")
    job = run(tmp_path, "sales_history", content, options=ReadOptions(encoding="utf-16"))
    assert problems(job)[0][3].startswith("the file has no UTF-16 byte-order mark")


def test_a_utf8_file_stated_as_windows_1252_is_refused_as_decoded_twice(tmp_path):
    content = "sku,name,family\nP1,Büroklammer,Office\n".encode()
    job = run(tmp_path, "products", content, options=ReadOptions(encoding="windows-1252"))
    assert problems(job) == [
        (
            2,
            "name",
            "BÃ¼roklammer",
            "text decoded twice (probably 'Büroklammer'): the file looks like UTF-8, not the "
            "Windows-1252 (Excel's ANSI in Western Europe) it was said to be; correct the "
            "import profile",
        )
    ]
    assert not Product.objects.exists()


def test_a_utf8_byte_order_mark_contradicting_a_stated_encoding_is_refused(tmp_path):
    content = b"\xef\xbb\xbfsku,name,family\nP1,Clip,Office\n"
    job = run(tmp_path, "products", content, options=ReadOptions(encoding="latin-1"))
    assert problems(job)[0][3].startswith("the file is UTF-8 (it starts with UTF-8's byte-order")


# -- Separators ----------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\t", "|", ";"])
def test_tab_pipe_and_semicolon_files_are_read_from_their_header(tmp_path, refs, separator):
    lines = [SALES.strip().split(","), ["A1", "WH1", "2026-01", "12", "120.5"]]
    content = "".join(separator.join(line) + "\n" for line in lines)
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sales() == [("A1", "WH1", dt.date(2026, 1, 1), Decimal("12"), Decimal("120.5"))]


def test_a_leading_sep_line_is_honoured_and_not_a_row(tmp_path, refs):
    # Excel's sep= line names the separator; its header row alone would say the comma.
    content = "sep=;\nsku;location_code;month;quantity;revenue\nA1;WH1;2026-01;12;\nB2;WH1;x,y;1;\n"
    job = run(tmp_path, "sales_history", content)
    # Excel hides the sep= line, so the header is row 1 and the bad row is row 3.
    assert problems(job) == [
        (3, "month", "x,y", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)")
    ]


def test_a_sep_line_contradicting_the_stated_separator_is_refused(tmp_path, refs):
    content = "sep=|\n" + SALES + "A1,WH1,2026-01,12,\n"
    job = run(tmp_path, "sales_history", content, options=ReadOptions(separator=","))
    assert problems(job) == [
        (
            1,
            "",
            "sep=|",
            "the file's first line declares its separator (sep=|), but the import states "
            "comma: correct the import profile",
        )
    ]


def test_a_stated_separator_splits_columns_whatever_the_header_holds(tmp_path, refs):
    content = "sku|location_code|month|quantity|revenue\nA1|WH1|2026-01|1|\n"
    stated = run(tmp_path, "sales_history", content, options=ReadOptions(separator="|"))
    assert stated.status == JobStatus.SUCCEEDED, stated.errors
    wrong = run(tmp_path, "sales_history", content, options=ReadOptions(separator=";"))
    assert problems(wrong)[0][3].startswith("unknown column")


def test_a_header_with_as_many_of_two_separators_is_refused(tmp_path):
    job = run(tmp_path, "products", "sku;name,family\nP1;Clip,Office\n")
    assert problems(job) == [
        (
            1,
            "",
            "",
            "the header row has as many of each of comma and semicolon, so which one separates "
            "the columns is unclear: state the separator in an import profile",
        )
    ]


# -- Line endings, the last row, quotes ------------------------------------------------------------


def test_a_complete_last_row_without_a_final_line_break_is_loaded(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2026-01,1,\nA1,WH1,2026-02,2,20")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [s[3:] for s in sales()] == [(Decimal("1"), None), (Decimal("2"), Decimal("20"))]


def test_a_last_row_cut_short_is_refused_as_cut_off(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2026-01,1,\nA1,WH1,20")
    assert problems(job) == [
        (
            3,
            "",
            "3 fields",
            "this row has 3 fields, the header has 5: the file ends in the middle of this row "
            "(no line break after it), so it looks cut off; export it again",
        )
    ]
    assert not SalesHistory.objects.exists()


def test_a_quote_left_open_at_the_end_is_refused_as_cut_off(tmp_path):
    job = run(tmp_path, "products", 'sku,name,family\nP1,Clip,Office\nP2,"Stapler, hea')
    assert problems(job) == [
        (
            3,
            "",
            "",
            'this row opens a quote (") that is never closed: the file ends inside it, so it '
            "looks cut off; export it again",
        )
    ]


def test_cr_only_line_endings_are_read(tmp_path, refs):
    content = SALES.replace("\n", "\r") + "A1,WH1,2026-01,1,\rB2,WH1,2026-01,2,\r"
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 2


def test_a_trailing_delimiter_on_every_line_is_not_an_unknown_column(tmp_path, refs):
    content = "sku,location_code,month,quantity,revenue,\nA1,WH1,2026-01,1,,\nB2,WH1,2026-01,2,,\n"
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 2


def test_a_column_without_a_name_that_holds_values_is_refused(tmp_path, refs):
    content = "sku,location_code,month,quantity,revenue,\nA1,WH1,2026-01,1,,\nB2,WH1,2026-01,2,,9\n"
    job = run(tmp_path, "sales_history", content)
    assert problems(job) == [
        (
            1,
            "",
            "9",
            "column F has no name in the header but holds values (row 3 first): name it, or "
            "remove it",
        )
    ]


# -- Unicode spellings ---------------------------------------------------------------------------


def test_nfd_and_nfc_spellings_of_a_name_match(tmp_path):
    LocationFactory(code="WH1")
    ProductFactory(sku="CAFÉ-1")  # NFC, as typed
    decomposed = unicodedata.normalize("NFD", "CAFÉ-1")  # as macOS file names and some ERPs
    assert decomposed != "CAFÉ-1"
    options = ReadOptions(columns={unicodedata.normalize("NFD", "Menge ausgeliefert"): "quantity"})
    header = "sku,location_code,month,Menge ausgeliefert\n"
    job = run(tmp_path, "sales_history", header + f"{decomposed},WH1,2026-01,3\n", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().product.sku == "CAFÉ-1"


def test_text_is_stored_in_nfc(tmp_path):
    job = run(tmp_path, "products", "sku,name,family\nP1,Cafe\u0301,Boissons\n")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert Product.objects.get().name == "Café"


# -- Numbers: separators, negatives, factors -------------------------------------------------


def test_a_profile_reads_german_numbers_on_a_semicolon_file(tmp_path, refs):
    content = SALES.replace(",", ";") + "A1;WH1;2026-01;1.234,5;12.345,67\n"
    job = run(tmp_path, "sales_history", content, options=ReadOptions.with_number_format("1.234,5"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sales()[0][3:] == (Decimal("1234.5"), Decimal("12345.67"))


@pytest.mark.parametrize(
    ("options", "cell"),
    [
        (ReadOptions.with_number_format("1.234,5", trailing_minus=True), "1.234,50-"),
        (ReadOptions(trailing_minus=True), "12-"),
        (ReadOptions(parentheses=True), "(12)"),
        (ReadOptions.with_number_format("1,234.5", parentheses=True), '"(1,234.50)"'),
    ],
)
def test_stated_negative_forms_are_read_as_negative_numbers(tmp_path, refs, options, cell):
    content = SALES + f"A1,WH1,2026-01,{cell},\n"
    if options.decimal_separator == ",":
        content = content.replace(",", ";").replace("1.234;50-", "1.234,50-")
    job = run(tmp_path, "sales_history", content, options=options)
    # Read as negative, so the rule that shipped quantities are not negative applies.
    assert [(p[0], p[1], p[3]) for p in problems(job)] == [
        (2, "quantity", "negative quantity: must be 0 or more")
    ]


def test_negative_forms_not_stated_are_refused_with_one_hint(tmp_path, refs):
    body = "A1,WH1,2026-01,12-,\nA1,WH1,2026-02,(3),\nA1,WH1,2026-03,4-,\n"
    job = run(tmp_path, "sales_history", SALES + body)
    assert problems(job) == [
        (0, "", "", NEGATIVES_HINT),
        (2, "quantity", "12-", "not a number: its minus sign is at the end"),
        (3, "quantity", "(3)", "not a number: it is in parentheses"),
        (4, "quantity", "4-", "not a number: its minus sign is at the end"),
    ]


def test_a_unit_factor_converts_exactly_before_the_checks(tmp_path, refs):
    options = ReadOptions(factors={"quantity": "1000", "revenue": "0.001"})
    body = "A1,WH1,2026-01,1.25,123456\nA1,WH1,2026-02,0.0004,\n"
    job = run(tmp_path, "sales_history", SALES + body, options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    # 1.25 thousand is 1,250; 123,456 thousandths are 123.456, stored to 2 decimals: 123.46;
    # 0.0004 thousand is 0.4.
    assert [s[3:] for s in sales()] == [
        (Decimal("1250.000"), Decimal("123.46")),
        (Decimal("0.400"), None),
    ]


def test_a_factor_that_makes_a_value_overflow_is_refused_on_the_converted_value(tmp_path, refs):
    options = ReadOptions(factors={"quantity": "1000"})
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2026-01,100000000,\n", options=options)
    assert problems(job) == [
        (
            2,
            "quantity",
            "100000000",
            "too large: rounded to 3 decimals it is 100000000000.000, more than 11 digits before "
            "the decimal point",
        )
    ]


def test_a_factor_on_a_whole_number_column_must_give_whole_numbers(tmp_path):
    options = ReadOptions(factors={"lead_time_days": "7"})
    content = "sku,name,family,lead_time_days\nP1,Clip,Office,2\nP2,Pin,Office,0.5\n"
    job = run(tmp_path, "products", content, options=options)
    assert [(p[0], p[3]) for p in problems(job)] == [(3, "not a whole number")]
    fixed = run(tmp_path, "products", content.replace("0.5", "3"), options=options)
    assert fixed.status == JobStatus.SUCCEEDED, fixed.errors
    assert dict(Product.objects.values_list("sku", "lead_time_days")) == {"P1": 14, "P2": 21}


# -- Dates and months ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_format", "cell", "stored"),
    [
        ("dd.mm.yyyy", "03.04.2026", dt.date(2026, 4, 3)),
        ("dd.mm.yyyy", "3.4.2026", dt.date(2026, 4, 3)),
        ("mm/dd/yyyy", "03/04/2026", dt.date(2026, 3, 4)),
        ("dd/mm/yyyy", "03/04/2026", dt.date(2026, 4, 3)),
        ("dd-mon-yy", "17-MAR-26", dt.date(2026, 3, 17)),
        ("dd-mon-yy", "17-Mar-99", dt.date(1999, 3, 17)),
        ("yyyymmdd", "20260317", dt.date(2026, 3, 17)),
    ],
)
def test_a_stated_date_format_reads_dates(tmp_path, refs, date_format, cell, stored):
    options = ReadOptions(date_format=date_format)
    job = run(tmp_path, "inventory", INVENTORY + f"A1,WH1,{cell},5\n", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert InventorySnapshot.objects.get().date == stored


def test_iso_and_excel_dates_still_read_under_a_stated_format(tmp_path, refs):
    options = ReadOptions(date_format="dd.mm.yyyy")
    body = "A1,WH1,2026-03-17,5\nB2,WH1,46082,5\n"
    job = run(tmp_path, "inventory", INVENTORY + body, options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sorted(InventorySnapshot.objects.values_list("date", flat=True)) == [
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 17),
    ]


def test_an_ambiguous_day_and_month_is_refused_without_a_profile(tmp_path, refs):
    body = "A1,WH1,03/04/2026,5\nB2,WH1,17/03/2026,5\nA1,DC1,03/04/2026,5\n"
    job = run(tmp_path, "inventory", INVENTORY + body)
    assert problems(job) == [
        (0, "", "", DATE_FORMAT_HINT),
        (
            2,
            "date",
            "03/04/2026",
            "ambiguous: 03/04/2026 is 2026-04-03 (dd/mm/yyyy) or 2026-03-04 (mm/dd/yyyy); "
            "state the file's date format",
        ),
        (
            3,
            "date",
            "17/03/2026",
            "not a date in a stated format: 17/03/2026 reads as 2026-03-17 (dd/mm/yyyy); state "
            "the date format",
        ),
        (
            4,
            "date",
            "03/04/2026",
            "ambiguous: 03/04/2026 is 2026-04-03 (dd/mm/yyyy) or 2026-03-04 (mm/dd/yyyy); "
            "state the file's date format",
        ),
    ]
    assert not InventorySnapshot.objects.exists()


def test_a_date_in_another_form_than_the_stated_one_is_refused(tmp_path, refs):
    options = ReadOptions(date_format="dd.mm.yyyy")
    job = run(tmp_path, "inventory", INVENTORY + "A1,WH1,03/04/2026,5\n", options=options)
    assert problems(job) == [
        (
            2,
            "date",
            "03/04/2026",
            "not a date in the stated format (dd.mm.yyyy), YYYY-MM-DD or an Excel date: "
            "03/04/2026 reads as 2026-04-03 (dd/mm/yyyy) or 2026-03-04 (mm/dd/yyyy)",
        )
    ]


@pytest.mark.parametrize(
    ("options", "cell"),
    [
        (ReadOptions(month_format="yyyymm"), "202603"),
        (ReadOptions(month_format="mm.yyyy"), "03.2026"),
        (ReadOptions(month_format="mon-yy"), "MAR-26"),
        (ReadOptions(date_format="dd.mm.yyyy"), "17.03.2026"),  # a date read as its month
        (ReadOptions(month_format="yyyymm"), "2026-03"),  # ISO is always read
    ],
)
def test_a_stated_month_format_reads_months(tmp_path, refs, options, cell):
    job = run(tmp_path, "sales_history", SALES + f"A1,WH1,{cell},1,\n", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().month == dt.date(2026, 3, 1)


def test_a_yyyymm_month_without_a_profile_is_refused_naming_the_form(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,202603,1,\n")
    assert problems(job)[1] == (
        2,
        "month",
        "202603",
        "not a month in a stated format: 202603 reads as 2026-03 (yyyymm); state the month format",
    )
    assert problems(job)[0] == (0, "", "", DATE_FORMAT_HINT)


@pytest.mark.parametrize(
    ("options", "cell", "stored"),
    [
        (ReadOptions(with_time=True), "2026-03-17 14:32:05", dt.date(2026, 3, 17)),
        (ReadOptions(with_time=True), "2026-03-17T23:59:59.123Z", dt.date(2026, 3, 17)),
        (ReadOptions(date_format="dd.mm.yyyy", with_time=True), "17.03.2026 14:32",
         dt.date(2026, 3, 17)),
        (ReadOptions(date_format="mm/dd/yyyy", with_time=True), "03/17/2026 2:32 PM",
         dt.date(2026, 3, 17)),
    ],
)  # fmt: skip
def test_timestamps_with_a_time_read_as_their_day_when_stated(
    tmp_path, refs, options, cell, stored
):
    job = run(tmp_path, "inventory", INVENTORY + f"A1,WH1,{cell},5\n", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert InventorySnapshot.objects.get().date == stored


def test_a_timestamp_with_a_time_is_refused_unless_stated(tmp_path, refs):
    job = run(tmp_path, "inventory", INVENTORY + "A1,WH1,2026-03-17 14:32:05,5\n")
    assert problems(job)[1] == (
        2,
        "date",
        "2026-03-17 14:32:05",
        "not a date: 2026-03-17 14:32:05 has a time of day (2026-03-17 (yyyy-mm-dd)); state "
        "in an import profile that dates carry a time, which is dropped",
    )


def test_an_xlsx_datetime_with_a_time_needs_timestamps_stated(tmp_path, refs):
    book = openpyxl.Workbook()
    book.active.append(INVENTORY.strip().split(","))
    book.active.append(["A1", "WH1", dt.datetime(2026, 3, 17, 14, 32), 5])
    data = workbook_bytes(book)
    refused = run(tmp_path, "inventory", data, suffix=".xlsx")
    assert problems(refused)[1][:3] == (2, "date", "2026-03-17 14:32:00")
    job = run(tmp_path, "inventory", data, suffix=".xlsx", options=ReadOptions(with_time=True))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert InventorySnapshot.objects.get().date == dt.date(2026, 3, 17)


# -- Where the header is ----------------------------------------------------------------------


def test_title_rows_above_the_header_are_refused_saying_where_the_header_is(tmp_path, refs):
    content = "Sales report March 2026\nPlant 1000\n\n" + SALES + "A1,WH1,2026-01,1,\n"
    job = run(tmp_path, "sales_history", content)
    assert problems(job) == [
        (
            1,
            "",
            "Sales report March 2026",
            "the header was expected on row 1, but it holds 'Sales report March 2026'; a header "
            "seems to be on row 4: state header row 4 in an import profile, or delete what is "
            "above and before it",
        )
    ]


def test_a_stated_header_row_skips_the_title_rows_and_numbers_rows_as_shown(tmp_path, refs):
    content = (
        "Sales report March 2026\nPlant 1000\n\n" + SALES + "A1,WH1,2026-01,1,\nZ9,WH1,2026-01,1,\n"
    )
    job = run(tmp_path, "sales_history", content, options=ReadOptions(header_row=4))
    assert [(p[0], p[1], p[3]) for p in problems(job)] == [(6, "sku", "unknown SKU")]


def xlsx_table_at_b2(title: str | None = "Stock on 17.03.2026") -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet["A1"] = title
    for row, values in enumerate(
        [
            INVENTORY.strip().split(","),
            ["A1", "WH1", "2026-03-17", 5],
            ["B2", "WH1", "2026-03-17", 7],
        ],
        start=3,
    ):
        for column, value in enumerate(values, start=2):
            sheet.cell(row=row, column=column, value=value)
    return book


def test_a_table_away_from_a1_is_refused_saying_where_it_seems_to_be(tmp_path, refs):
    job = run(tmp_path, "inventory", workbook_bytes(xlsx_table_at_b2()), suffix=".xlsx")
    assert problems(job) == [
        (
            1,
            "",
            "Stock on 17.03.2026",
            "the header was expected on row 1, but it holds 'Stock on 17.03.2026'; a header seems "
            "to be on row 3 from column B: state header row 3 and first column B in an import "
            "profile, or delete what is above and before it",
        )
    ]


def test_a_stated_header_row_and_first_column_read_a_table_at_b3(tmp_path, refs):
    book = xlsx_table_at_b2()
    book.active["A4"] = "note: counted twice"  # left of the table: not part of it
    options = ReadOptions(header_row=3, first_column="B")
    job = run(tmp_path, "inventory", workbook_bytes(book), suffix=".xlsx", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert dict(InventorySnapshot.objects.values_list("product__sku", "on_hand")) == {
        "A1": Decimal("5"),
        "B2": Decimal("7"),
    }


def test_a_csv_table_starting_in_column_b_is_read_with_its_first_column(tmp_path, refs):
    content = "," + SALES + ",A1,WH1,2026-01,1,\n"
    job = run(tmp_path, "sales_history", content, options=ReadOptions(first_column="B"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 1


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_first_column_past_the_table_is_refused_with_the_width(tmp_path, refs, suffix):
    content = SALES + "A1,WH1,2026-01,1,\n"
    if suffix == ".xlsx":
        book = openpyxl.Workbook()
        for line in content.splitlines():
            book.active.append(line.split(","))
        book.active.title = "Sales"
        content = workbook_bytes(book)
    job = run(tmp_path, "sales_history", content, suffix=suffix,
              options=ReadOptions(first_column="H"))  # fmt: skip
    table = "the header row" if suffix == ".csv" else 'the sheet "Sales"'
    assert job.status == JobStatus.FAILED
    assert problems(job) == [
        (
            1,
            "",
            "",
            f"{table} has 5 columns, so no table starts at column H (the first column the "
            "import states)",
        )
    ]


def merged_book() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(SALES.strip().split(","))
    sheet.append(["A1", "WH1", "2026-01", 1, None])
    sheet.append([None, None, "2026-02", 2, None])
    sheet.append([None, None, "2026-03", 3, None])
    sheet.merge_cells("A2:A4")
    sheet.merge_cells("B2:B4")
    return book


def test_merged_cells_are_filled_down_when_stated(tmp_path, refs):
    options = ReadOptions(fill_merged=True)
    job = run(
        tmp_path, "sales_history", workbook_bytes(merged_book()), suffix=".xlsx", options=options
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [s[:4] for s in sales()] == [
        ("A1", "WH1", dt.date(2026, m, 1), Decimal(m)) for m in (1, 2, 3)
    ]


def test_merged_cells_not_stated_are_refused_not_read_as_empty(tmp_path, refs):
    job = run(tmp_path, "sales_history", workbook_bytes(merged_book()), suffix=".xlsx")
    assert [(p[0], p[1]) for p in problems(job)] == [
        (3, "sku"),
        (3, "location_code"),
        (4, "sku"),
        (4, "location_code"),
    ]
    assert problems(job)[0][3] == (
        "part of the merged cells A2:A4, whose value ('A1') Excel shows here but keeps in A2 "
        "only: state in the import profile that merged cells are filled, or unmerge them"
    )


# -- Column mapping, ignored columns, constants ---------------------------------------------------


SAP_MAPPING = {
    "Material": "sku",
    "Plant": "location_code",
    "Calendar Year/Month": "month",
    "Billed Quantity": "quantity",
    "Net Value": "revenue",
}


def test_a_mapping_reads_sap_column_names(tmp_path, refs):
    content = (
        "Material;Plant;Calendar Year/Month;Billed Quantity;Net Value;Sales Unit;Currency\n"
        "A1;WH1;03.2026;1.250,000;9.876,50;ST;EUR\n"
    )
    options = ReadOptions.with_number_format(
        "1.234,5",
        month_format="mm.yyyy",
        columns=SAP_MAPPING,
        ignored=("Sales Unit", "currency"),
    )
    job = run(tmp_path, "sales_history", content, options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sales() == [("A1", "WH1", dt.date(2026, 3, 1), Decimal("1250"), Decimal("9876.5"))]


def test_header_names_with_spaces_match_the_documented_names(tmp_path, refs):
    content = "SKU,Location Code,Month,Quantity\nA1,WH1,2026-01,1\n"
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.SUCCEEDED, job.errors


def test_ignored_columns_take_glob_patterns(tmp_path, refs):
    content = "sku,location_code,month,quantity,ZZ_Flag,ZZ_Batch\nA1,WH1,2026-01,1,X,42\n"
    job = run(tmp_path, "sales_history", content, options=ReadOptions(ignored=("zz_*",)))
    assert job.status == JobStatus.SUCCEEDED, job.errors


def test_an_extra_column_not_ignored_is_refused_pointing_at_the_profile(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES.strip() + ",Currency\nA1,WH1,2026-01,1,,EUR\n")
    assert problems(job) == [
        (
            1,
            "currency",
            "currency",
            "unknown column; the sales_history columns are sku, location_code, month, quantity, "
            "revenue (an import profile can map it to one of them, or ignore it)",
        )
    ]


def test_two_columns_standing_for_one_are_refused(tmp_path, refs):
    options = ReadOptions(columns={"Material": "sku"})
    content = "Material,sku,location_code,month,quantity\nA1,A1,WH1,2026-01,1\n"
    job = run(tmp_path, "sales_history", content, options=options)
    assert problems(job) == [(1, "sku", "sku", "'Material' and 'sku' both stand for sku")]


def test_a_constant_fills_a_column_the_source_lacks(tmp_path, refs):
    options = ReadOptions(constants={"location_code": "DC1"})
    job = run(
        tmp_path,
        "sales_history",
        "sku,month,quantity\nA1,2026-01,1\nB2,2026-01,2\n",
        options=options,
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert {s[:2] for s in sales()} == {("A1", "DC1"), ("B2", "DC1")}


def test_a_constant_is_checked_like_the_column_it_fills(tmp_path, refs):
    options = ReadOptions(constants={"location_code": "DC9"})
    job = run(tmp_path, "sales_history", "sku,month,quantity\nA1,2026-01,1\n", options=options)
    assert problems(job) == [(2, "location_code", "DC9", "unknown location")]


def test_a_constant_for_a_column_the_file_has_is_refused(tmp_path, refs):
    options = ReadOptions(constants={"location_code": "DC1"})
    job = run(tmp_path, "sales_history", SALES + "A1,WH1,2026-01,1,\n", options=options)
    assert problems(job) == [
        (
            1,
            "location_code",
            "location_code",
            "the file has a location_code column and the import also gives location_code the "
            "value 'DC1' on every row: keep one",
        )
    ]


def test_a_blank_row_stays_blank_with_a_constant(tmp_path, refs):
    options = ReadOptions(constants={"location_code": "DC1"})
    job = run(tmp_path, "sales_history", "sku,month,quantity\nA1,2026-01,1\n,,\n", options=options)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_read == 1


# -- The options themselves ----------------------------------------------------------------------


def test_options_round_trip_through_json():
    options = ReadOptions.with_number_format(
        "1.234,5",
        encoding="windows-1252",
        separator="\t",
        date_format="dd.mm.yyyy",
        header_row=3,
        first_column="B",
        columns={"Material": "sku"},
        ignored=("Z*",),
        constants={"location_code": "DC1"},
        factors={"quantity": "1000"},
    )
    assert ReadOptions.from_dict(options.to_dict()) == options
    with pytest.raises(ValueError, match="unknown read options: utf8"):
        ReadOptions.from_dict({"utf8": True})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"encoding": "ebcdic"}, "encoding 'ebcdic'"),
        ({"separator": "#"}, "separator '#'"),
        ({"date_format": "yyyy.dd.mm"}, "date format 'yyyy.dd.mm'"),
        ({"header_row": 0}, "header row 0"),
        ({"first_column": "b2"}, "first column 'b2'"),
        ({"factors": {"quantity": "-3"}}, "the factor of quantity is '-3'"),
        ({"factors": {"quantity": "a lot"}}, "the factor of quantity is 'a lot'"),
    ],
)
def test_options_that_cannot_be_followed_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        ReadOptions(**fields)


def test_options_naming_columns_the_entity_lacks_say_so():
    options = ReadOptions(
        columns={"Material": "article", "Plant": "location_code", "Werk": "location_code"},
        constants={"location_code": "DC1", "colour": "red"},
        factors={"sku": "2"},
    )
    assert options.problems(ENTITIES["sales_history"]) == [
        "the mapping of 'Material' names 'article', which is not a sales_history column (sku, "
        "location_code, month, quantity, revenue)",
        "'Plant' and 'Werk' are both mapped to location_code",
        "location_code has a constant and is mapped from 'Werk'",
        "the constant 'colour' is not a sales_history column (sku, location_code, month, "
        "quantity, revenue)",
        "the factor for 'sku' needs a numeric sales_history column (quantity, revenue)",
    ]


# -- A preview reads the head of a file ------------------------------------------------------


def test_a_preview_reads_only_the_first_rows(tmp_path, refs, settings):
    # Long rows make a big file of few rows: 1. followed by 60 zeros is a 1.
    rows = "".join(
        f"A1,WH1,{1 + m // 12:04d}-{1 + m % 12:02d},1.{'0' * 60},\n" for m in range(20_000)
    )
    path = tmp_path / "big.csv"
    path.write_text(SALES + rows + "Z9,WH1,2026-01,1,\n")  # the last row is wrong
    entity = ENTITIES["sales_history"]
    refs_ = imports.import_refs(entity=entity)
    head = read_extract(path, entity=entity, refs=refs_, max_bytes=10**8, head=20)
    assert (head.rows_read, len(head.errors)) == (20, 0)
    whole = read_extract(path, entity=entity, refs=refs_, max_bytes=10**8)
    assert whole.rows_read == 20_001
    assert whole.errors.to_dict("records") == [
        {"row": 20_002, "column": "sku", "value": "Z9", "reason": "unknown SKU"}
    ]
    assert path.stat().st_size > 2**20  # more than a preview reads


def test_a_preview_cut_inside_a_quoted_line_break_leaves_that_record_out(tmp_path):
    record = 'P{n},"Clip\nwith a two-line name",Office\n'
    content = "sku,name,family\n" + "".join(record.format(n=n) for n in range(40_000))
    table = read_table(content.encode(), max_bytes=10**8, head=20)
    assert len(table.frame) == 20
    assert table.frame.iloc[0].tolist()[:3] == ["P0", "Clip\nwith a two-line name", "Office"]


def test_a_preview_of_a_whole_small_file_keeps_its_last_row_without_a_line_break(tmp_path, refs):
    content = SALES + "A1,WH1,2026-01,1,\nA1,WH1,2026-02,2,"
    table = read_table(content.encode(), max_bytes=10**6, head=20)
    assert table.frame.index.tolist() == [2, 3]
    short = read_table((SALES + "A1,WH1,2026-01,1,\nA1,WH1,20").encode(), max_bytes=10**6, head=20)
    assert short.frame["__cut__"].tolist() == [False, True]
