from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Sum

from sop import imports
from sop.choices import JobStatus
from sop.extract_reader import NUMBER_FORMAT_HINT
from sop.extracts import ENTITIES, LOAD_ORDER
from sop.models import AuditEvent, Budget, ImportJob, Location, Product, SalesHistory
from tests.factories import LocationFactory, SalesHistoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "sku,location_code,month,quantity,revenue\n"


def run(tmp_path: Path, entity: str, content: str | bytes, name: str = "extract.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return imports.import_file(entity=entity, path=path)


def reasons(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in job.errors]


def load_samples(*entities: str) -> None:
    for entity in entities:
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors, job.message)


def test_every_sample_loads_in_load_order_on_an_empty_database():
    for entity in LOAD_ORDER:
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors, job.message)
        assert job.rows_inserted == job.rows_read > 0
    assert Product.objects.get(sku="GAD-010").supplier.code == "SUP-ACME"
    assert SalesHistory.objects.count() == 100
    assert Budget.objects.filter(family="Gadgets").count() == 12


def test_there_is_a_sample_file_for_every_entity():
    assert {p.stem for p in SAMPLES.glob("*.csv")} >= set(ENTITIES)


def test_reimporting_the_same_file_changes_nothing():
    load_samples("suppliers", "products", "locations")
    first = imports.import_file(entity="sales_history", path=SAMPLES / "sales_history.csv")
    again = imports.import_file(entity="sales_history", path=SAMPLES / "sales_history.csv")
    products = imports.import_file(entity="products", path=SAMPLES / "products.csv")
    assert (first.rows_inserted, first.rows_updated) == (100, 0)
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 100)
    assert (products.rows_inserted, products.rows_updated, products.rows_unchanged) == (0, 0, 5)
    assert first.checksum == again.checksum


def test_a_changed_row_is_updated_and_the_others_left_alone(tmp_path, refs):
    run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,10,\nA1,WH1,2026-02,20,\n")
    job = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,10,\nA1,WH1,2026-02,25.5,99\n")
    assert (job.rows_inserted, job.rows_updated, job.rows_unchanged) == (0, 1, 1)
    row = SalesHistory.objects.get(month=dt.date(2026, 2, 1))
    assert (row.quantity, row.revenue) == (Decimal("25.5"), Decimal("99"))


def test_an_absent_optional_column_keeps_the_stored_values(tmp_path):
    load_samples("suppliers", "products")
    job = run(tmp_path, "products", "sku,name,family\nGAD-010,Gadget Mini v2,Gadgets\n")
    product = Product.objects.get(sku="GAD-010")
    assert job.rows_updated == 1
    assert (product.name, product.unit_price, product.supplier.code) == (
        "Gadget Mini v2",
        Decimal("39"),
        "SUP-ACME",
    )


def test_an_invalid_file_loads_nothing_and_reports_every_bad_row():
    load_samples("suppliers", "products", "locations")
    SalesHistoryFactory(product=Product.objects.get(sku="WID-100"))
    before = SalesHistory.objects.count()
    job = imports.import_file(
        entity="sales_history", path=SAMPLES / "sales_history_with_errors.csv"
    )
    assert job.status == JobStatus.FAILED
    assert SalesHistory.objects.count() == before
    assert (job.rows_inserted, job.rows_updated) == (0, 0)
    assert job.rows_read == 100
    assert reasons(job) == [
        (0, "", NUMBER_FORMAT_HINT),
        (6, "sku", "unknown SKU"),
        (13, "quantity", "negative quantity: must be 0 or more"),
        (19, "month", "not a month (use YYYY-MM, YYYY-MM-DD or an Excel date)"),
        (27, "quantity", "not a number with a decimal point (it has a decimal comma)"),
    ]
    assert job.errors[1]["value"] == "WID-999"
    assert "nothing was loaded" in job.message
    assert not AuditEvent.objects.filter(object_id=str(job.pk)).exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Z9,WH1,2026-01,1,\n", (2, "sku", "unknown SKU")),
        ("A1,XX,2026-01,1,\n", (2, "location_code", "unknown location")),
        ("A1,WH1,2026-02-30,1,\n", (2, "month", "not a month")),
        ("A1,WH1,Jan 2026,1,\n", (2, "month", "not a month")),
        ("A1,WH1,2026-01,-3,\n", (2, "quantity", "negative quantity")),
        ("A1,WH1,2026-01,ten,\n", (2, "quantity", "not a number")),
        ("A1,WH1,2026-01,nan,\n", (2, "quantity", "not a number")),
        ("A1,WH1,2026-01,1_000,\n", (2, "quantity", "not a number")),
        ("A1,WH1,2026-01,1e20,\n", (2, "quantity", "too large")),
        ("A1,WH1,2026-01,1,-5\n", (2, "revenue", "negative revenue")),
        ("A1,WH1,2026-01,,\n", (2, "quantity", "required value is empty")),
        (" ,WH1,2026-01,1,\n", (2, "sku", "required value is empty")),
        (
            "A1,WH1,2026-01,1,\nA1,WH1,2026-01-15,2,\n",
            (3, "sku, location_code, month", "duplicate"),
        ),
        ("A1,WH1,2026-01,1,2,3\n", (2, "", "this row has 6 fields, the header has 5")),
        ("A1,WH1,2026-01\n", (2, "", "this row has 3 fields, the header has 5")),
    ],
)
def test_each_kind_of_bad_value_is_reported_with_row_column_and_reason(
    tmp_path, refs, body, expected
):
    job = run(tmp_path, "sales_history", HEADER + body)
    assert job.status == JobStatus.FAILED
    row, column, reason = reasons(job)[-1]
    assert (row, column) == expected[:2]
    assert reason.startswith(expected[2])
    assert SalesHistory.objects.count() == 0


def test_a_duplicate_key_names_the_row_it_repeats(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        HEADER + "A1,WH1,2026-01,1,\nB2,WH1,2026-01,1,\nA1,WH1,2026-01,3,\n",
    )
    assert reasons(job) == [
        (4, "sku, location_code, month", "duplicate key (sku, location_code, month): same as row 2")
    ]
    assert job.errors[0]["value"] == "A1 / WH1 / 2026-01"


@pytest.mark.parametrize(
    ("entity", "content", "expected"),
    [
        ("sales_history", "sku,location_code,quantity\nA1,WH1,1\n", (1, "month", "missing")),
        ("sales_history", HEADER.strip() + ",qty\nA1,WH1,2026-01,1,,2\n", (1, "qty", "unknown")),
        (
            "sales_history",
            HEADER.strip() + ",SKU\nA1,WH1,2026-01,1,,A1\n",
            (1, "sku", "appears twice"),
        ),
        ("products", "sku,name,family\nA1," + "x" * 201 + ",W\n", (2, "name", "too long")),
        ("products", "sku,name,family,make_or_buy\nA1,n,W,rent\n", (2, "make_or_buy", "must be")),
        ("products", "sku,name,family,active\nA1,n,W,maybe\n", (2, "active", "not a yes/no")),
        (
            "products",
            "sku,name,family,lead_time_days\nA1,n,W,2.5\n",
            (2, "lead_time_days", "not a whole"),
        ),
        (
            "products",
            "sku,name,family,supplier_code\nA1,n,W,NOPE\n",
            (2, "supplier_code", "unknown supplier"),
        ),
        (
            "budget",
            "family,month,revenue,volume\nToys,2026-01,1,1\n",
            (2, "family", "unknown product family"),
        ),
        (
            "inventory",
            "sku,location_code,date,on_hand\nA1,WH1,2026-02,1\n",
            (2, "date", "not a date"),
        ),
        (
            "routings",
            "sku,resource_code,hours_per_unit\nA1,R,0\n",
            (2, "resource_code", "unknown resource"),
        ),
    ],
)
def test_header_and_master_data_problems_are_reported(tmp_path, refs, entity, content, expected):
    job = run(tmp_path, entity, content)
    assert job.status == JobStatus.FAILED
    row, column, reason = reasons(job)[0]
    assert (row, column) == expected[:2]
    assert expected[2] in reason


@pytest.mark.parametrize(
    "content",
    [
        HEADER + "A1,WH1,2026-01,1,\nA1,WH1,2026-02,1",  # no line break: the last value may be cut
        HEADER + "A1,WH1,2026-01,1,\nA1,WH1,20",  # cut inside the month
    ],
)
def test_a_file_cut_off_mid_row_is_refused(tmp_path, refs, content):
    job = run(tmp_path, "sales_history", content)
    assert job.status == JobStatus.FAILED
    assert reasons(job)[-1][0] == 3
    assert "cut off" in reasons(job)[-1][2]
    assert SalesHistory.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused_naming_the_row_and_byte(tmp_path, refs):
    content = (HEADER + "A1,WH1,2026-01,1,\nA1,WH1,2026-02,1,Café\n").encode("latin-1")
    job = run(tmp_path, "sales_history", content)
    assert reasons(job) == [
        (
            3,
            "",
            "not valid UTF-8 (byte 0xe9); save the file as UTF-8, or state its encoding "
            "(Windows-1252, Latin-1 ...) in an import profile",
        )
    ]


def test_utf8_with_bom_semicolons_and_crlf_are_accepted(tmp_path, refs):
    content = "\ufeffsku;location_code;month;quantity;revenue\r\nA1;WH1;2026-01;1.5;\r\n\r\n"
    job = run(tmp_path, "sales_history", content.encode("utf-8"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert SalesHistory.objects.get().quantity == Decimal("1.5")


def test_months_are_stored_as_the_first_day_whatever_the_format(tmp_path, refs):
    job = run(
        tmp_path,
        "sales_history",
        HEADER + "A1,WH1,2026-01,1,\nA1,WH2,2026-02-17,1,\nB2,WH1,46100,1,\n",
    )
    assert job.status == JobStatus.SUCCEEDED, job.errors
    months = set(SalesHistory.objects.values_list("month", flat=True))
    assert months == {dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)}


def test_an_xlsx_extract_is_accepted(tmp_path, refs):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["SKU", "location_code", "month", "quantity", "revenue"])
    sheet.append(["A1", "WH1", dt.datetime(2026, 1, 1), 12, 120.5])
    sheet.append(["B2", "WH1", 46082, 3.25, None])  # an Excel serial for 2026-03-01
    sheet.append([None, None, None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(tmp_path, "sales_history", buffer.getvalue(), name="extract.xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 2
    assert SalesHistory.objects.aggregate(q=Sum("quantity"))["q"] == Decimal("15.25")
    assert SalesHistory.objects.get(product__sku="B2").month == dt.date(2026, 3, 1)


def test_an_xlsx_error_names_the_spreadsheet_row(tmp_path, refs):
    book = openpyxl.Workbook()
    book.active.append(["sku", "location_code", "month", "quantity"])
    book.active.append(["A1", "WH1", "2026-01", 1])
    book.active.append(["A1", "WH1", "2026-02", -1])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(tmp_path, "sales_history", buffer.getvalue(), name="extract.xlsx")
    assert reasons(job) == [(3, "quantity", "negative quantity: must be 0 or more")]


def test_a_file_over_the_size_limit_is_refused(tmp_path, refs, settings):
    settings.SOP_IMPORT_MAX_BYTES = 1024
    job = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,1,\n" * 100)
    assert job.status == JobStatus.FAILED
    assert "larger than the limit of 1,024 bytes" in job.errors[0]["reason"]


def test_a_spreadsheet_in_another_format_is_refused_with_a_hint(tmp_path, refs):
    job = run(tmp_path, "sales_history", b"\xd0\xcf\x11\xe0" + b"\0" * 100, name="old.xls")
    assert "save as .xlsx or CSV" in job.errors[0]["reason"]


def test_the_page_keeps_the_first_errors_and_the_csv_keeps_them_all(tmp_path, refs, monkeypatch):
    monkeypatch.setattr(imports, "ERRORS_ON_PAGE", 3)
    job = run(tmp_path, "sales_history", HEADER + "Z9,WH1,2026-01,1,\n" * 5)
    assert job.error_count == 5
    assert [e["row"] for e in job.errors] == [2, 3, 4]
    assert job.errors_csv.splitlines()[0] == "row,column,value,reason,problem"
    assert len(job.errors_csv.splitlines()) == 6


def test_a_successful_load_is_audited_with_its_counts(tmp_path, refs, make_user):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "A1,WH1,2026-01,1,\n")
    admin = make_user("Admin")
    job = imports.import_file(entity="sales_history", path=path, user=admin)
    event = AuditEvent.objects.get(action="import.load")
    assert (event.user, event.object_id) == (admin, str(job.pk))
    assert event.new["inserted"] == 1


def test_an_unexpected_failure_fails_the_job_and_loads_nothing(tmp_path, refs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "audit_of", broken)
    job = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,1,\n")
    assert job.status == JobStatus.FAILED
    assert "disk on fire" in job.message
    assert SalesHistory.objects.count() == 0


def test_a_job_that_already_ran_is_not_run_again(tmp_path, refs):
    job = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,1,\n")
    SalesHistory.objects.all().delete()
    again = imports.import_job_run(job_id=job.pk)
    assert again.status == JobStatus.SUCCEEDED
    assert SalesHistory.objects.count() == 0


@pytest.mark.postgres
def test_a_large_file_goes_through_copy_and_merge_on_postgres(
    tmp_path, refs, settings, monkeypatch
):
    settings.SOP_IMPORT_COPY_THRESHOLD = 2
    monkeypatch.setattr(imports, "_load_orm", None)  # the ORM path must not be used
    body = "A1,WH1,2026-01,1,\nA1,WH1,2026-02,2,10\nB2,WH2,2026-01,3.0005,\n"
    first = run(tmp_path, "sales_history", HEADER + body)
    again = run(tmp_path, "sales_history", HEADER + body)
    changed = run(tmp_path, "sales_history", HEADER + body.replace(",2,10", ",2,11"))
    assert (first.rows_inserted, first.rows_updated) == (3, 0), first.message
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert (changed.rows_inserted, changed.rows_updated) == (0, 1)
    assert SalesHistory.objects.get(product__sku="B2").quantity == Decimal("3.001")
    assert SalesHistory.objects.get(month=dt.date(2026, 2, 1)).revenue == Decimal("11")


@pytest.mark.postgres
def test_master_data_loads_through_copy_with_model_defaults(settings):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    load_samples("suppliers", "locations")
    job = imports.import_file(entity="products", path=SAMPLES / "products.csv")
    assert job.rows_inserted == 5
    assert Product.objects.get(sku="BOX-001").abc_class == ""


def test_the_command_loads_a_file_and_prints_the_counts(capsys):
    load_samples("suppliers")
    call_command("import_extract", "products", str(SAMPLES / "products.csv"))
    assert "5 inserted, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert Product.objects.count() == 5


def test_the_command_exits_non_zero_and_prints_the_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_extract", "sales_history", str(SAMPLES / "sales_history.csv"))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "  sku: unknown SKU (100 rows)\n    row 2: 'WID-100'\n" in err
    assert "    ... and 95 more\n    Usually the master data is not imported yet: import " in err


def test_the_format_document_describes_every_column_of_every_entity():
    text = (SAMPLES.parent / "import-formats.md").read_text()
    for entity in ENTITIES.values():
        section = text.split(f"`{entity.name}`\n", 1)[1].split("\n### ", 1)[0]
        for column in entity.columns:
            assert f"| `{column.name}` |" in section, (entity.name, column.name)


@pytest.mark.postgres
def test_the_database_still_refuses_a_reference_that_vanished_after_validation(
    tmp_path, refs, settings, monkeypatch
):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    location = LocationFactory(code="WH1")
    # As if the product were deleted between validation and load.
    monkeypatch.setattr(
        imports,
        "import_refs",
        lambda *, entity: {"product": {"A1": 10**9}, "location": {"WH1": location.pk}},
    )
    job = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,1,\n")
    assert job.status == JobStatus.FAILED
    assert "foreign key" in job.message
    assert SalesHistory.objects.count() == 0


@pytest.mark.postgres
def test_a_role_that_cannot_skip_row_checks_still_loads_and_refuses_bad_references(
    tmp_path, refs, settings, monkeypatch
):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    monkeypatch.setattr(imports, "_row_triggers_can_be_skipped", lambda cursor: False)
    good = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-01,1,\n")
    assert (good.status, good.rows_inserted) == (JobStatus.SUCCEEDED, 1)
    monkeypatch.setattr(
        imports,
        "import_refs",
        lambda *, entity: {
            "product": {"A1": 10**9},
            "location": {"WH1": Location.objects.get(code="WH1").pk},
        },
    )
    bad = run(tmp_path, "sales_history", HEADER + "A1,WH1,2026-02,1,\n")
    assert bad.status == JobStatus.FAILED
    assert "foreign key" in bad.message
    assert SalesHistory.objects.count() == 1
