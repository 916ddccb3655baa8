"""The customer order lines extract: loaded like the others, refused whole on a bad row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop.choices import JobStatus
from sop.models import CustomerOrderLine

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = (
    "order_ref,line,customer,sku,location_code,requested_date,requested_quantity,"
    "shipped_date,shipped_quantity\n"
)
GOOD = "SO-1,10,C1,A1,WH1,2026-09-08,100,2026-09-09,90\n"


def run(tmp_path: Path, content: str):
    path = tmp_path / "lines.csv"
    path.write_text(content)
    return imports.import_file(entity="customer_order_lines", path=path)


def reasons(job) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in job.errors]


@pytest.mark.parametrize("copy_threshold", [5000, 1])
def test_the_sample_loads_after_the_master_data(settings, copy_threshold):
    # Threshold 1: on PostgreSQL through COPY and merge, open lines' empty dates included.
    settings.SOP_IMPORT_COPY_THRESHOLD = copy_threshold
    for entity in ("suppliers", "products", "locations", "customer_order_lines"):
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors, job.message)
    assert CustomerOrderLine.objects.count() == 6
    short = CustomerOrderLine.objects.get(order_ref="SO-10002", line=10)
    assert (short.shipped_date, short.shipped_quantity) == (dt.date(2026, 9, 15), Decimal(270))
    still_open = CustomerOrderLine.objects.get(order_ref="SO-10004")
    assert (still_open.shipped_date, still_open.shipped_quantity) == (None, Decimal(0))


def test_a_line_is_keyed_by_order_and_line_and_reloading_updates_it(tmp_path, refs):
    first = run(
        tmp_path, HEADER + "SO-1,10,C1,A1,WH1,2026-09-08,100,,\n" + GOOD.replace(",10,", ",20,")
    )
    assert (first.status, first.rows_inserted) == (JobStatus.SUCCEEDED, 2)
    again = run(tmp_path, HEADER + GOOD)
    assert (again.status, again.rows_inserted, again.rows_updated) == (JobStatus.SUCCEEDED, 0, 1)
    line = CustomerOrderLine.objects.get(order_ref="SO-1", line=10)
    assert (line.shipped_date, line.shipped_quantity) == (dt.date(2026, 9, 9), Decimal(90))
    assert CustomerOrderLine.objects.count() == 2


def test_shipping_before_the_requested_date_is_fine(tmp_path, refs):
    job = run(tmp_path, HEADER + "SO-1,10,C1,A1,WH1,2026-09-08,100,2026-08-30,100\n")
    assert job.status == JobStatus.SUCCEEDED, job.errors


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("SO-1,10,C1,Z9,WH1,2026-09-08,100,,\n", (2, "sku", "unknown SKU")),
        ("SO-1,10,C1,A1,XX,2026-09-08,100,,\n", (2, "location_code", "unknown location")),
        ("SO-1,10,C1,A1,WH1,2026-09-08,-5,,\n", (2, "requested_quantity", "negative")),
        ("SO-1,10,C1,A1,WH1,2026-09-08,5,2026-09-08,-1\n", (2, "shipped_quantity", "negative")),
        (
            "SO-1,10,C1,A1,WH1,2026-09-08,5,,5\n",
            (2, "shipped_date", "a shipped quantity needs a shipped date"),
        ),
        ("SO-1,10,C1,A1,WH1,,5,,\n", (2, "requested_date", "required value is empty")),
        ("SO-1,0,C1,A1,WH1,2026-09-08,5,,\n", (2, "line", "line must be more than 0")),
        (GOOD + GOOD, (3, "order_ref, line", "duplicate")),
    ],
)
def test_a_bad_row_is_named_by_row_and_column_and_nothing_loads(tmp_path, refs, body, expected):
    job = run(tmp_path, HEADER + GOOD.replace(",10,", ",99,") + body)
    assert job.status == JobStatus.FAILED
    row, column, reason = expected
    found = [r for r in reasons(job) if r[0] == row + 1 and r[1] == column]
    assert found and reason in found[0][2], reasons(job)
    assert CustomerOrderLine.objects.count() == 0
