from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop.choices import JobStatus
from sop.models import ProductSource

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = (
    "sku,location_code,supplier_code,resource_code,priority,unit_cost,lead_time_days,"
    "monthly_capacity,active\n"
)


def load(*entities: str):
    for entity in entities:
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors)
    return job


def run(tmp_path: Path, content: str):
    path = tmp_path / "product_sources.csv"
    path.write_text(HEADER + content)
    return imports.import_file(entity="product_sources", path=path)


@pytest.fixture
def masters():
    load("suppliers", "products", "locations", "resources")


def test_the_sample_loads_supplier_and_resource_sources(masters):
    job = load("product_sources")
    assert job.rows_inserted == 4
    widget = ProductSource.objects.filter(product__sku="WID-100").order_by("priority")
    assert [(s.source_code, s.priority) for s in widget] == [("LINE-B", 1), ("SUP-ACME", 2)]
    nord = ProductSource.objects.get(product__sku="GAD-010")
    assert (nord.unit_cost, nord.lead_time_days, nord.monthly_capacity) == (
        Decimal("23.5"),
        45,
        Decimal("400"),
    )


def test_reimporting_the_sample_changes_nothing(masters):
    load("product_sources")
    again = load("product_sources")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 4)


@pytest.mark.postgres
def test_reimporting_through_copy_matches_the_rows_with_an_empty_source_column(masters, settings):
    settings.SOP_IMPORT_COPY_THRESHOLD = 1
    load("product_sources")
    again = load("product_sources")
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 4)


def test_a_bad_file_loads_nothing_and_names_row_and_column(masters, tmp_path):
    job = run(
        tmp_path,
        "GAD-010,WH-NORTH,SUP-NORD,,1,23.5,45,400,true\n"
        "GAD-010,WH-NORTH,SUP-NOPE,,2,23.5,45,400,true\n"
        "GAD-999,WH-NORTH,SUP-NORD,,1,23.5,45,400,true\n"
        "GAD-020,WH-EAST,SUP-NORD,,1,23.5,45,400,true\n"
        "GAD-020,WH-NORTH,,LINE-Z,1,23.5,45,400,true\n"
        "GAD-020,WH-NORTH,SUP-NORD,LINE-A,1,23.5,45,400,true\n"
        "WID-100,WH-NORTH,,,1,23.5,45,400,true\n"
        "WID-200,WH-NORTH,SUP-NORD,,1,23.5,45,350,true\n"
        "WID-200,DC-SOUTH,,LINE-B,0,-1,45,-5,true\n",
    )
    assert job.status == JobStatus.FAILED
    assert ProductSource.objects.count() == 0
    found = {(e["row"], e["column"]): e["reason"] for e in job.errors}
    assert found[(3, "supplier_code")] == "unknown supplier"
    assert found[(4, "sku")] == "unknown SKU"
    assert found[(5, "location_code")] == "unknown location"
    assert found[(6, "resource_code")] == "unknown resource"
    assert found[(7, "resource_code")] == "give a supplier_code or a resource_code, not both"
    assert found[(8, "supplier_code")] == "give a supplier_code or a resource_code"
    assert found[(9, "monthly_capacity")].startswith("differs from the first row naming")
    assert {(10, "priority"), (10, "unit_cost"), (10, "monthly_capacity")} <= set(found)
