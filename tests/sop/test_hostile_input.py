"""Hostile input: oversized files, zip bombs, formula and HTML injection, fuzzed extracts.

Every refused file must load nothing and say why; whatever is loaded must come back out of
the pages escaped and out of the downloads neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import UploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sop import imports
from sop.choices import JobStatus, Role
from sop.exports import cell_safe, cells_safe, table_response
from sop.extract_reader import ReadOptions, parse_month
from sop.forms import CappedUploadHandler, ImportUploadForm
from sop.models import ImportJob, Product, SalesHistory
from tests.sop.extract_files import run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

MB = 1024 * 1024
SALES_HEADER = "sku,location_code,month,quantity,revenue\n"
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
CLOSE_SCRIPT = "</script><script>alert(1)</script>"
HTML_PAYLOADS = (SCRIPT, IMG, CLOSE_SCRIPT)

FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def sales_snapshot() -> set[tuple]:
    return set(
        SalesHistory.objects.values_list(
            "product__sku", "location__code", "month", "quantity", "revenue"
        )
    )


def product_snapshot() -> set[tuple]:
    return set(Product.objects.values_list("sku", "name", "family", "unit_cost", "active"))


def assert_refused_cleanly(job: ImportJob) -> None:
    """A failed job says what is wrong, row by row or for the whole file, and loaded nothing."""
    assert job.status == JobStatus.FAILED
    assert "unexpected error" not in job.message, job.message
    assert job.error_count > 0 and job.errors
    assert (job.rows_inserted, job.rows_updated) == (0, 0)
    for error in job.errors:
        assert isinstance(error["row"], int) and error["row"] >= 0
        assert error["reason"].strip()


# -- File size ------------------------------------------------------------------------------


def test_a_file_over_the_limit_loads_nothing_and_names_the_limit_and_its_size(
    tmp_path, refs, settings
):
    settings.SOP_IMPORT_MAX_BYTES = MB
    body = "A1,WH1,2026-01,1,\n" * (MB // 18 + 100)
    job = run(tmp_path, "sales_history", SALES_HEADER + body)
    assert_refused_cleanly(job)
    size = len(SALES_HEADER) + len(body)
    reason = job.errors[0]["reason"]
    assert f"({size:,} bytes)" in reason and "larger than the limit of 1,048,576 bytes" in reason
    assert "(1.0 MB)" in reason and "split it into several files" in reason
    assert job.errors[0]["row"] == 0 and job.rows_read == 0
    assert not SalesHistory.objects.exists()


def sparse_file(path: Path, size: int, head: bytes) -> Path:
    """A file of `size` bytes that costs no disk or time: a header, then a hole of zeros."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def test_a_file_just_over_the_default_50_mb_is_refused_before_it_is_read(
    tmp_path, refs, settings, monkeypatch
):
    limit = settings.SOP_IMPORT_MAX_BYTES
    assert limit == 50 * MB  # the documented default, not a test override
    path = sparse_file(tmp_path / "big.csv", limit + 1, SALES_HEADER.encode())
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    started = time.monotonic()
    job = imports.import_file(entity="sales_history", path=path)
    assert time.monotonic() - started < 5
    assert_refused_cleanly(job)
    reason = job.errors[0]["reason"]
    assert "the file is 50.0 MB (52,428,801 bytes)" in reason
    assert "larger than the limit of 52,428,800 bytes (50.0 MB)" in reason
    assert job.size_bytes == limit + 1
    assert not SalesHistory.objects.exists()


def test_the_upload_form_refuses_a_file_just_over_the_default_limit(tmp_path, settings):
    path = sparse_file(tmp_path / "big.csv", settings.SOP_IMPORT_MAX_BYTES + 1, b"sku\n")
    with path.open("rb") as handle:
        upload = UploadedFile(handle, name="big.csv", size=path.stat().st_size)
        form = ImportUploadForm({"entity": "products"}, {"file": upload})
        assert not form.is_valid()
    assert form.errors["file"] == [
        "The file is 50.0 MB (52,428,801 bytes); the limit is 52,428,800 bytes (50.0 MB). "
        "Split it into several files."
    ]


def test_an_upload_over_the_limit_is_counted_but_not_written_past_it(settings):
    settings.SOP_IMPORT_MAX_BYTES = 1024
    handler = CappedUploadHandler()
    handler.new_file("file", "big.csv", "text/csv", 0)
    for start in range(0, 64 * 1024, 4096):
        handler.receive_data_chunk(b"x" * 4096, start)
    upload = handler.file_complete(64 * 1024)
    assert upload.size == 64 * 1024
    assert Path(upload.temporary_file_path()).stat().st_size == 1025
    upload.close()


def test_a_large_upload_over_the_limit_is_refused_with_its_real_size(
    client_for, settings, django_capture_on_commit_callbacks
):
    settings.SOP_IMPORT_MAX_BYTES = 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2048  # so the upload streams to a temporary file
    content = SALES_HEADER.encode() + b"A1,WH1,2026-01,1,\n" * 2000
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(Role.ADMIN).post(
            "/imports/",
            {"entity": "sales_history", "file": io.BytesIO(content)},
        )
    assert response.status_code == 200
    assert (
        f"The file is 35.2 KB ({len(content):,} bytes); the limit is 1,024 bytes (1.0 KB)."
        in html.unescape(response.content.decode())
    )
    assert not ImportJob.objects.exists()


# -- XLSX zip bombs -------------------------------------------------------------------------


def zip_file(path: Path, members: dict[str, bytes | int]) -> Path:
    """A zip; an int member is that many zeros, streamed so a 300 MB member costs ~1 s."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                chunk = bytes(MB)
                for _ in range(content // MB):
                    member.write(chunk)
    return path


@pytest.fixture
def openpyxl_untouched(monkeypatch):
    """Fail the test if the workbook reaches openpyxl: refusals must come before it."""
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl opened"))


def xlsx_job(tmp_path: Path, path: Path) -> ImportJob:
    return imports.import_file(entity="sales_history", path=path, file_name="extract.xlsx")


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking(
    tmp_path, refs, openpyxl_untouched
):
    bomb = zip_file(
        tmp_path / "bomb.xlsx",
        {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
         "xl/worksheets/sheet1.xml": 300 * MB},
    )  # fmt: skip
    assert bomb.stat().st_size < 2 * MB
    started = time.monotonic()
    job = xlsx_job(tmp_path, bomb)
    assert time.monotonic() - started < 5
    assert_refused_cleanly(job)
    assert job.errors[0]["reason"] == (
        "the workbook would unpack to 300.0 MB, over the limit of 200.0 MB; "
        "save it as CSV or split it"
    )
    assert not SalesHistory.objects.exists()


def test_a_member_compressed_far_beyond_any_spreadsheet_is_refused(
    tmp_path, refs, openpyxl_untouched
):
    bomb = zip_file(
        tmp_path / "ratio.xlsx",
        {"xl/workbook.xml": b"<workbook/>", "xl/sharedStrings.xml": 20 * MB},
    )
    job = xlsx_job(tmp_path, bomb)
    assert_refused_cleanly(job)
    assert job.errors[0]["value"] == "xl/sharedStrings.xml"
    assert "it looks like a zip bomb" in job.errors[0]["reason"]


def test_the_unpacked_limit_is_a_setting(tmp_path, refs, settings, openpyxl_untouched):
    settings.SOP_IMPORT_MAX_UNPACKED_BYTES = 2 * MB
    path = zip_file(tmp_path / "book.xlsx", {"xl/workbook.xml": b"<workbook/>", "a.xml": 3 * MB})
    job = xlsx_job(tmp_path, path)
    assert "over the limit of 2.0 MB" in job.errors[0]["reason"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04" + b"\x00garbage" * 50, "not a readable XLSX workbook (a damaged zip"),
        ({"word/document.xml": b"<w/>"}, "not an XLSX workbook (the zip holds no xl/workbook.xml)"),
        (
            {"xl/workbook.xml": b"<workbook/>", **{f"p{i}.xml": b"" for i in range(10_001)}},
            "the workbook has 10,002 parts, more than 10,000",
        ),
    ],
    ids=["damaged zip", "not a workbook", "too many parts"],
)
def test_a_zip_that_is_no_workbook_is_refused(tmp_path, refs, openpyxl_untouched, content, reason):
    path = tmp_path / "odd.xlsx"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        zip_file(path, content)
    job = xlsx_job(tmp_path, path)
    assert_refused_cleanly(job)
    assert job.errors[0]["reason"].startswith(reason)


def test_a_workbook_openpyxl_cannot_parse_is_refused_with_a_message(tmp_path, refs):
    path = zip_file(
        tmp_path / "broken.xlsx",
        {"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<workbook><sheets>"},
    )
    job = xlsx_job(tmp_path, path)
    assert_refused_cleanly(job)
    assert job.errors[0]["reason"].startswith("not a readable XLSX workbook")


def test_a_real_workbook_still_loads(tmp_path, refs):
    book = openpyxl.Workbook()
    book.active.append(["sku", "location_code", "month", "quantity"])
    book.active.append(["A1", "WH1", "2026-01", 12])
    path = tmp_path / "real.xlsx"
    book.save(path)
    job = xlsx_job(tmp_path, path)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().quantity == Decimal("12")


# -- Formula injection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [FORMULA, "=1+2", "+1+cmd", "-2+3", "@SUM(A1:A2)", "\tx", "\r=1", "-", "+x", "=-1"]
)
def test_text_that_a_spreadsheet_would_run_is_quoted(text):
    assert cell_safe(text) == "'" + text


@pytest.mark.parametrize(
    "value", [-5, -2.5, Decimal("-0.125"), 0, "-12.5", "+10%", "-5%", "1e3", "", "Widgets", None]
)
def test_numbers_and_plain_text_are_left_alone(value):
    assert cell_safe(value) == value


@FUZZ
@given(row=st.lists(st.one_of(st.text(max_size=8), st.integers(), st.floats(), st.none())))
def test_a_row_is_neutralised_cell_by_cell(row):
    assert cells_safe(row) == [cell_safe(v) for v in row]
    for before, after in zip(row, cells_safe(row), strict=True):
        assert after is before or after == "'" + before


def export_rows() -> list[list[object]]:
    return [["A1", FORMULA, -3, -2.5], ["B2", "@SUM(1+1)", 4, Decimal("-0.5")]]


def test_a_csv_export_quotes_formulas_and_keeps_negative_numbers():
    response = table_response(
        name="t", fmt="csv", header=["sku", "=name", "qty", "value"], rows=export_rows()
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["sku", "'=name", "qty", "value"],
        ["A1", "'" + FORMULA, "-3", "-2.5"],
        ["B2", "'@SUM(1+1)", "4", "-0.5"],
    ]


def test_an_xlsx_export_writes_formulas_as_quoted_text_and_numbers_as_numbers():
    response = table_response(
        name="t",
        fmt="xlsx",
        header=["sku", "name", "qty", "value"],
        rows=export_rows(),
        caption=["-caption", FORMULA],
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    cells = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]
    assert cells[0][:2] == [("'-caption", "s"), ("'" + FORMULA, "s")]
    assert cells[2] == [("A1", "s"), ("'" + FORMULA, "s"), (-3, "n"), (-2.5, "n")]
    assert cells[3][1] == ("'@SUM(1+1)", "s")
    assert not any(t == "f" for row in cells for _, t in row)  # no cell is a formula


def test_a_formula_in_a_text_field_loads_as_inert_text(tmp_path):
    job = run(
        tmp_path,
        "products",
        f'sku,name,family\nF1,"{FORMULA.replace(chr(34), chr(34) * 2)}",@SUM(1+1)\n',
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    product = Product.objects.get(sku="F1")
    assert (product.name, product.family) == (FORMULA, "@SUM(1+1)")


def test_an_xlsx_formula_string_loads_as_text_never_as_a_formula(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["sku", "name", "family"])
    book.active.append(["F2", "placeholder", "Widgets"])
    book.active["B2"].value = FORMULA
    book.active["B2"].data_type = "s"  # a text cell that merely starts with "="
    path = tmp_path / "formula.xlsx"
    book.save(path)
    job = imports.import_file(entity="products", path=path)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert Product.objects.get(sku="F2").name == FORMULA


def test_the_errors_csv_quotes_formulas_from_the_file(tmp_path, refs, client_for):
    job = run(tmp_path, "sales_history", SALES_HEADER + f"{'=HYPERLINK(1)'},WH1,2026-01,-3,\n")
    assert job.status == JobStatus.FAILED
    assert job.errors[0]["value"] == "=HYPERLINK(1)"  # the page shows the value as it was
    response = client_for(Role.ADMIN).get(f"/imports/{job.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1] == ["2", "sku", "'=HYPERLINK(1)", "unknown SKU", "unknown SKU"]
    assert rows[2][:4] == ["2", "quantity", "-3", "negative quantity: must be 0 or more"]


def test_a_nul_character_in_a_text_field_is_refused_and_the_report_is_saved(tmp_path, refs):
    job = run(tmp_path, "products", "sku,name,family\nN1,Nul\x00name,Widgets\nA\x00,x,y\n")
    assert_refused_cleanly(job)
    assert [(e["row"], e["column"], e["value"], e["reason"]) for e in job.errors] == [
        (2, "name", "Nul\\x00name", "contains a NUL character (0x00), which text cannot hold"),
        (3, "sku", "A\\x00", "contains a NUL character (0x00), which text cannot hold"),
    ]
    assert not Product.objects.filter(sku="N1").exists()


def test_full_width_digits_are_neither_a_month_nor_a_number(tmp_path, refs):
    body = f"A1,WH1,{FULL_WIDTH_MONTH},1,\nA1,WH1,2026-02,\uff15,\n"
    job = run(tmp_path, "sales_history", SALES_HEADER + body)
    assert_refused_cleanly(job)
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "month"), (3, "quantity")]
    assert job.errors[1]["reason"] == "not a number"


# -- Huge fields ----------------------------------------------------------------------------


def test_a_one_megabyte_name_is_refused_as_too_long(tmp_path):
    job = run(tmp_path, "products", f"sku,name,family\nX1,{'n' * MB},Widgets\n")
    assert_refused_cleanly(job)
    assert job.errors[0]["reason"] == "too long (1,048,576 characters, at most 200)"
    assert len(job.errors[0]["value"]) <= 201  # the report keeps a prefix, not the megabyte
    assert not Product.objects.exists()


def test_a_one_megabyte_quoted_field_is_refused_with_a_hint(tmp_path):
    job = run(tmp_path, "products", f'sku,name,family\nX1,"{"n" * MB}",Widgets\n')
    assert_refused_cleanly(job)
    assert "a field is longer than 131,072 characters" in job.errors[0]["reason"]
    assert not Product.objects.exists()


def test_a_one_megabyte_number_is_refused(tmp_path, refs):
    job = run(tmp_path, "sales_history", SALES_HEADER + f"A1,WH1,2026-01,{'9' * MB},\n")
    assert_refused_cleanly(job)
    assert job.errors[0]["column"] == "quantity"
    assert not SalesHistory.objects.exists()


def test_a_one_megabyte_header_is_refused(tmp_path):
    job = run(tmp_path, "products", "h" * MB + "\n")
    assert_refused_cleanly(job)
    assert not Product.objects.exists()


# -- Property tests: whatever the file, all or nothing with a clear error ---------------------


@FUZZ
@given(content=st.binary(max_size=4000))
def test_random_bytes_load_nothing_and_say_why(tmp_path, refs, content):
    before = product_snapshot()
    job = run(tmp_path, "products", content)
    assert_refused_cleanly(job)
    assert product_snapshot() == before


@FUZZ
@given(content=st.binary(max_size=4000))
def test_random_bytes_behind_a_zip_signature_load_nothing_and_say_why(tmp_path, refs, content):
    before = sales_snapshot()
    job = run(tmp_path, "sales_history", b"PK\x03\x04" + content, suffix=".xlsx")
    assert_refused_cleanly(job)
    assert sales_snapshot() == before


@FUZZ
@given(text=st.text(max_size=2000))
def test_random_text_after_a_valid_header_is_loaded_whole_or_not_at_all(tmp_path, refs, text):
    before = sales_snapshot()
    job = run(tmp_path, "sales_history", SALES_HEADER + text)
    if job.status == JobStatus.SUCCEEDED:
        assert job.rows_inserted + job.rows_updated + job.rows_unchanged == job.rows_read
    else:
        assert_refused_cleanly(job)
        assert sales_snapshot() == before


@FUZZ
@given(text=st.text(max_size=2000))
def test_random_text_loads_nothing_and_says_why(tmp_path, refs, text):
    before = product_snapshot()
    job = run(tmp_path, "products", text)
    assert_refused_cleanly(job)
    assert product_snapshot() == before


FULL_WIDTH_MONTH = "\uff12\uff10\uff12\uff16-01"  # 2026-01 in full-width digits
ODD_CELLS = [FORMULA, SCRIPT, IMG, "", " ", "nan", "inf", "-0", "1e400", "0x10", "1,5", "1_000",
             FULL_WIDTH_MONTH, "\uff15", "2026-13", "2026-02-30", "46082", "\x00", '"', "'", ";",
             "\n", "NULL", "None", "A1 ", "a1", "x" * 5000]  # fmt: skip


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=30), st.sampled_from(ODD_CELLS))


VALID_MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01-15", "46082"]
sales_cells = st.tuples(
    st.one_of(st.sampled_from(["A1", "B2"]), hostile_text()),
    st.one_of(st.sampled_from(["WH1", "WH2"]), hostile_text()),
    st.one_of(st.sampled_from(VALID_MONTHS), hostile_text()),
    st.one_of(st.decimals(min_value=0, max_value=10**6, places=3).map(str), hostile_text()),
    st.one_of(st.just(""), st.integers(0, 10**9).map(str), hostile_text()),
)


def sales_csv(rows: list[tuple[str, ...]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(SALES_HEADER.strip().split(","))
    writer.writerows(rows)
    return out.getvalue()


def month_of(value: str) -> dt.date:
    return dt.date.fromisoformat(parse_month(value.strip()))


@FUZZ
@given(rows=st.lists(sales_cells, max_size=12), delimiter=st.sampled_from([",", ";"]))
def test_rows_of_wrong_types_load_whole_or_not_at_all(tmp_path, refs, rows, delimiter):
    before = sales_snapshot()
    content = sales_csv(rows, delimiter)
    job = run(tmp_path, "sales_history", content)
    after = sales_snapshot()
    if job.status != JobStatus.SUCCEEDED:
        assert_refused_cleanly(job)
        assert after == before
        # A bare carriage return ends a row, for the importer as for a spreadsheet.
        lines = len(re.split(r"\r\n|\r|\n", content))
        for error in job.errors:
            assert 0 <= error["row"] <= lines
        return
    stored = {(s, loc, m): q for s, loc, m, q, _ in after}
    for sku, location, month, quantity, _ in rows:
        key = (sku.strip(), location.strip(), month_of(month))
        assert stored[key] == Decimal(quantity.strip()).quantize(Decimal("0.001"))


valid_sales_rows = st.lists(
    st.tuples(
        st.sampled_from(["A1", "B2"]),
        st.sampled_from(["WH1", "WH2"]),
        st.sampled_from(VALID_MONTHS),
        st.decimals(min_value=0, max_value=10**6, places=3).map(str),
        st.one_of(st.just(""), st.integers(0, 10**9).map(str)),
    ),
    max_size=20,
    unique_by=lambda r: (r[0], r[1], month_of(r[2])),
)


@FUZZ
@given(rows=valid_sales_rows)
def test_valid_rows_always_load_exactly(tmp_path, refs, rows):
    # Quantities are written with three decimals (1.000), which only a stated format reads.
    options = ReadOptions.with_number_format("1234.5")
    job = run(tmp_path, "sales_history", sales_csv(rows), options=options)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    stored = {(s, loc, m): (q, r) for s, loc, m, q, r in sales_snapshot()}
    for sku, location, month, quantity, revenue in rows:
        assert stored[(sku, location, month_of(month))] == (
            Decimal(quantity),
            Decimal(revenue) if revenue else None,
        )


# -- HTML and script in names: every page escapes them, every download neutralises them ------

SVG = "<svg onload=alert(1)>"
# What must never reach a page raw: an element the browser would create from a name.
RAW_MARKUP = (SCRIPT, IMG, CLOSE_SCRIPT, SVG, "<script>alert", "<img src=x", "<svg onload")
CYCLE_MONTH = dt.date(2026, 11, 1)
HORIZON = 3


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def hostile_plan(tmp_path, make_user, django_capture_on_commit_callbacks):
    """A company whose every name is an attack, loaded through the importer, with a cycle
    in demand review, a published consensus and a published supply run."""
    from django.utils import timezone

    from demand.models import ConsensusDemand, ForecastRun
    from sop import services as sop_services
    from sop.choices import Stage
    from sop.models import Cycle, Location, Resource
    from supply import services as supply_services

    months = [sop_services.add_months(CYCLE_MONTH, h) for h in range(-24, HORIZON)]
    history, horizon = months[:24], months[24:]
    files = {
        "suppliers": (["supplier_code", "name"], [["SUP1", SCRIPT]]),
        "products": (
            ["sku", "name", "family", "make_or_buy", "supplier_code", "lead_time_days"],
            [
                ["XSS-1", SCRIPT, IMG, "make", "", 0],
                ["XSS-2", CLOSE_SCRIPT, CLOSE_SCRIPT, "make", "", 0],
                [SVG, FORMULA, "@SUM(1+1)", "buy", "SUP1", 30],
            ],
        ),
        "locations": (["location_code", "name"], [[IMG, SCRIPT]]),
        "resources": (["resource_code", "name", "location_code"], [[SVG, CLOSE_SCRIPT, IMG]]),
        "routings": (
            ["sku", "resource_code", "hours_per_unit"],
            [["XSS-1", SVG, 1], ["XSS-2", SVG, 1]],
        ),
        "sales_history": (
            ["sku", "location_code", "month", "quantity", "revenue"],
            [
                [sku, IMG, m.isoformat(), 40 + 10 * i + m.month, 400 + m.month]
                for i, sku in enumerate(["XSS-1", "XSS-2", SVG])
                for m in history
            ],
        ),
        "inventory": (
            ["sku", "location_code", "date", "on_hand"],
            [[sku, IMG, CYCLE_MONTH.isoformat(), 20] for sku in ["XSS-1", "XSS-2", SVG]],
        ),
        "capacity": (
            ["resource_code", "month", "hours"],
            [[SVG, m.isoformat(), 60] for m in horizon],
        ),
    }
    for entity, (header, rows) in files.items():
        job = run(tmp_path, entity, csv_text(header, rows))
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors)

    admin = make_user(Role.ADMIN)
    cycle = sop_services.cycle_open(month=CYCLE_MONTH, user=admin, horizon_months=HORIZON)
    ForecastRun.objects.create(
        cycle=cycle,
        status=JobStatus.SUCCEEDED,
        is_published=True,
        published_at=timezone.now(),
        progress=100,
    )
    location = Location.objects.get()
    ConsensusDemand.objects.bulk_create(
        ConsensusDemand(
            cycle=cycle, product=p, location=location, month=m, statistical=50, value=50
        )
        for p in Product.objects.all()
        for m in horizon
    )
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.DEMAND_REVIEW)
    cycle.refresh_from_db()
    supply_planner = make_user(Role.SUPPLY_PLANNER)
    with django_capture_on_commit_callbacks(execute=True):
        supply_run = supply_services.supply_run_start(cycle=cycle, user=supply_planner)
    supply_run.refresh_from_db()
    assert supply_run.status == JobStatus.SUCCEEDED, supply_run.message
    return {
        "cycle": cycle,
        "run": supply_run,
        "products": {p.sku: p for p in Product.objects.all()},
        "location": location,
        "resource": Resource.objects.get(),
        "horizon": horizon,
    }


def assert_escaped(body: str, where: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in body, (where, markup)
    for attribute in re.findall(r'data-figure="([^"]*)"', body):
        # The figure's JSON sits in an attribute: no < or > may survive there, and it must
        # still decode to the figure with the names as they were.
        assert "<" not in attribute and ">" not in attribute, where
        assert isinstance(json.loads(html.unescape(attribute)), dict), where


def get_page(client, url: str, params: dict | None = None, **headers) -> str:
    response = client.get(url, params or {}, headers=headers)
    assert response.status_code == 200, (url, params, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert_escaped(body, f"{url} {params}")
    return body


def figure_titles(body: str) -> list[str]:
    titles = []
    for attribute in re.findall(r'data-figure="([^"]*)"', body):
        layout = json.loads(html.unescape(attribute)).get("layout", {})
        titles.append(layout.get("title", {}).get("text", ""))
    return titles


def test_the_demand_review_escapes_every_hostile_name(client_for, hostile_plan):
    client = client_for(Role.DEMAND_PLANNER)
    cycle, location = hostile_plan["cycle"], hostile_plan["location"]
    body = get_page(client, "/demand/")
    assert html.escape(SCRIPT) in body and html.escape(IMG) in body  # the names are shown
    for family in (IMG, CLOSE_SCRIPT, "@SUM(1+1)"):
        get_page(client, "/demand/", {"cycle": cycle.pk, "family": family})
        get_page(client, "/demand/", {"cycle": cycle.pk, "only_family": family})
    for product in hostile_plan["products"].values():
        body = get_page(client, "/demand/", {"cycle": cycle.pk, "sku": product.pk})
        body = get_page(
            client, "/demand/", {"cycle": cycle.pk, "sku": product.pk, "location": location.pk}
        )
        assert f"{product.sku} {product.name} @ {location.code}" in figure_titles(body)
    get_page(client, "/", {})


def test_the_demand_partials_escape_names_and_the_typed_input(client_for, hostile_plan):
    from demand.models import DemandOverride

    client = client_for(Role.DEMAND_PLANNER)
    cycle = hostile_plan["cycle"]
    month = hostile_plan["horizon"][1].isoformat()
    cell = {"family": IMG, "month": month, "reason": "promotion", "version": ""}
    refused = client.post(
        f"/demand/cycles/{cycle.pk}/overrides/",
        {**cell, "value": IMG, "comment": SCRIPT},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 400
    assert_escaped(refused.content.decode(), "refused override")
    assert f'value="{html.escape(IMG)}"' in refused.content.decode()  # kept, escaped
    saved = client.post(
        f"/demand/cycles/{cycle.pk}/overrides/",
        {**cell, "value": "70", "comment": CLOSE_SCRIPT},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert_escaped(saved.content.decode(), "saved override")
    assert DemandOverride.objects.get().comment == CLOSE_SCRIPT
    body = get_page(client, "/demand/", {"cycle": cycle.pk, "family": IMG})
    assert html.escape(CLOSE_SCRIPT) in body  # the comment in the history, escaped


def test_the_supply_review_and_its_partials_escape_every_hostile_name(client_for, hostile_plan):
    client = client_for(Role.SUPPLY_PLANNER)
    cycle, run_ = hostile_plan["cycle"], hostile_plan["run"]
    location, resource = hostile_plan["location"], hostile_plan["resource"]
    body = get_page(client, "/supply/")
    assert html.escape(CLOSE_SCRIPT) in body  # the resource name on the heatmap's list
    for product in hostile_plan["products"].values():
        params = {"cycle": cycle.pk, "sku": product.pk, "location": location.pk}
        body = get_page(client, "/supply/", params)
        assert f"{product.sku} {product.name} @ {location.code}" in figure_titles(body)
        get_page(client, "/supply/", params, HX_REQUEST="true")
    for family in (IMG, CLOSE_SCRIPT):
        get_page(client, "/supply/", {"cycle": cycle.pk, "family": family})
    get_page(client, f"/supply/runs/{run_.pk}/", {}, HX_REQUEST="true")
    for month in hostile_plan["horizon"]:
        body = get_page(
            client,
            f"/supply/runs/{run_.pk}/drill/",
            {"resource": resource.pk, "month": month.isoformat()},
        )
    get_page(client, "/supply/classification/", {"cycle": cycle.pk})
    product = hostile_plan["products"]["XSS-1"]
    refused = client.post(
        f"/supply/cycles/{cycle.pk}/planned/",
        {"sku": product.pk, "product": product.pk, "location": location.pk,
         "month": hostile_plan["horizon"][1].isoformat(), "quantity": SCRIPT,
         "reason": "campaign", "comment": IMG, "version": ""},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert_escaped(refused.content.decode(), "refused planned supply")


def test_the_import_pages_escape_hostile_values(client_for, hostile_plan, tmp_path):
    failed = run(tmp_path, "sales_history", SALES_HEADER + f'"{IMG.replace(chr(34), 2 * chr(34))}"'
                 f",{SCRIPT},{CLOSE_SCRIPT},{SVG},\n")  # fmt: skip
    assert failed.status == JobStatus.FAILED
    admin = client_for(Role.ADMIN)
    for url in ("/imports/", f"/imports/{failed.pk}/", f"/imports/{failed.pk}/progress/"):
        get_page(admin, url)
    get_page(admin, "/imports/", {}, HX_REQUEST="true")


def downloads(hostile_plan) -> list[tuple[str, dict]]:
    cycle, location = hostile_plan["cycle"], hostile_plan["location"]
    urls = []
    for fmt in ("csv", "xlsx"):
        for table in ("plan", "capacity", "shortages", "excess"):
            urls.append((f"/supply/export.{fmt}", {"cycle": cycle.pk, "table": table}))
        for family in (IMG, CLOSE_SCRIPT, "@SUM(1+1)"):
            urls.append((f"/demand/export.{fmt}", {"cycle": cycle.pk, "family": family}))
        for product in hostile_plan["products"].values():
            params = {"cycle": cycle.pk, "sku": product.pk, "location": location.pk}
            urls.append((f"/demand/export.{fmt}", params))
    return urls


def download_cells(response) -> list[tuple[object, str]]:
    """Every cell of a CSV or XLSX download with its type ("s" text, "n" number, "f" formula)."""
    if response["Content-Type"].startswith("text/csv"):
        rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        return [(value, "s") for row in rows for value in row]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [(c.value, c.data_type) for row in sheet.iter_rows() for c in row if c.value is not None]


def test_every_download_neutralises_formulas_and_is_never_rendered_as_html(
    client_for, hostile_plan
):
    client = client_for(Role.SUPPLY_PLANNER)
    texts: set[str] = set()
    for url, params in downloads(hostile_plan):
        response = client.get(url, params)
        assert response.status_code == 200, (url, params)
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert not response["Content-Type"].startswith("text/html")
        assert re.fullmatch(r'attachment; filename="[\w-]+\.(csv|xlsx)"',
                            response["Content-Disposition"])  # fmt: skip
        for value, kind in download_cells(response):
            assert kind != "f", (url, value)
            if isinstance(value, str):
                texts.add(value)
                assert not value.startswith(("=", "+", "@", "\t", "\r")) or re.fullmatch(
                    r"\+[\d.]+%?", value
                ), (url, value)
                if value.startswith("-"):
                    float(value.rstrip("%"))  # only a number may start with a minus
    assert "'" + FORMULA in texts and "'@SUM(1+1)" in texts  # the names are there, quoted
    assert FORMULA not in texts
