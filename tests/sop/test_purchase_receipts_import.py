from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop.choices import JobStatus
from sop.models import PurchaseReceipt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = (
    "order_ref,supplier_code,sku,location_code,order_date,promised_date,promised_quantity,"
    "receipt_date,received_quantity\n"
)


def load(*entities: str) -> None:
    for entity in entities:
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors)


def run(tmp_path: Path, content: str):
    path = tmp_path / "purchase_receipts.csv"
    path.write_text(HEADER + content)
    return imports.import_file(entity="purchase_receipts", path=path)


@pytest.fixture
def masters():
    load("suppliers", "products", "locations")


def test_the_sample_loads_partial_deliveries_and_an_open_line(masters):
    job = imports.import_file(entity="purchase_receipts", path=SAMPLES / "purchase_receipts.csv")
    assert (job.status, job.rows_inserted) == (JobStatus.SUCCEEDED, 6)
    split = PurchaseReceipt.objects.filter(order_ref="PO-4402").order_by("receipt_date")
    assert [r.received_quantity for r in split] == [Decimal("120"), Decimal("80")]
    assert split[0].supplier.code == "SUP-ACME"
    open_line = PurchaseReceipt.objects.get(order_ref="PO-4501")
    assert (open_line.receipt_date, open_line.received_quantity) == (None, Decimal("0"))


def test_reimporting_the_sample_changes_nothing_even_the_open_line(masters):
    load("purchase_receipts")
    again = imports.import_file(entity="purchase_receipts", path=SAMPLES / "purchase_receipts.csv")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 6)
    assert PurchaseReceipt.objects.count() == 6


@pytest.mark.postgres
def test_reimporting_through_copy_matches_the_open_line(masters, settings):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    load("purchase_receipts")
    again = imports.import_file(entity="purchase_receipts", path=SAMPLES / "purchase_receipts.csv")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 6)


def test_a_bad_file_loads_nothing_and_names_row_and_column(masters, tmp_path):
    job = run(
        tmp_path,
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-01,500\n"
        "PO-2,SUP-NOPE,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-01,500\n"
        "PO-3,SUP-ACME,GAD-999,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-01,500\n"
        "PO-4,SUP-ACME,GAD-010,WH-EAST,2026-08-03,2026-09-02,500,2026-09-01,500\n"
        "PO-5,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-08-01,500\n"
        "PO-6,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,-5,2026-09-01,500\n"
        "PO-7,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-01,-1\n"
        "PO-8,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-07-02,500,,\n"
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-01,10\n",
    )
    assert job.status == JobStatus.FAILED
    assert PurchaseReceipt.objects.count() == 0
    found = {(e["row"], e["column"]): e["reason"] for e in job.errors}
    assert found[(3, "supplier_code")] == "unknown supplier"
    assert found[(4, "sku")] == "unknown SKU"
    assert found[(5, "location_code")] == "unknown location"
    assert found[(6, "receipt_date")] == "the receipt date is before the order date"
    assert (7, "promised_quantity") in found
    assert (8, "received_quantity") in found
    assert found[(9, "promised_date")] == "the promised date is before the order date"
    assert found[(10, "order_ref, sku, location_code, receipt_date")].endswith("same as row 2")
    assert len(found) == 8


def test_two_open_rows_of_one_line_are_a_duplicate(masters, tmp_path):
    job = run(
        tmp_path,
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,,\n"
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,,\n",
    )
    assert job.status == JobStatus.FAILED
    assert [e["row"] for e in job.errors] == [3]


def test_a_later_receipt_of_an_open_line_is_a_new_row(masters, tmp_path):
    run(tmp_path, "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,,\n")
    job = run(
        tmp_path,
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,,\n"
        "PO-1,SUP-ACME,GAD-010,WH-NORTH,2026-08-03,2026-09-02,500,2026-09-04,500\n",
    )
    assert (job.rows_inserted, job.rows_unchanged) == (1, 1)
    assert PurchaseReceipt.objects.get(receipt_date=dt.date(2026, 9, 4)).received_quantity == 500
