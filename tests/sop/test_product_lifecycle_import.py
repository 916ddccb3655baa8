"""The products extract's lifecycle columns: like product, factor, ramp, launch, end of life."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop.choices import JobStatus
from sop.models import Product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "sku,name,family,like_sku,like_factor,launch_ramp_months,launch_month,end_of_life_month\n"


def run(tmp_path: Path, content: str):
    path = tmp_path / "products.csv"
    path.write_text(content)
    return imports.import_file(entity="products", path=path)


def reasons(job) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in job.errors]


@pytest.fixture
def catalogue():
    for entity in ("suppliers", "products"):
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, job.errors


@pytest.mark.usefixtures("catalogue")
def test_the_lifecycle_sample_names_a_like_product_and_an_end_of_life():
    job = imports.import_file(entity="products", path=SAMPLES / "products_lifecycle.csv")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    new = Product.objects.get(sku="WID-150")
    assert new.like_product.sku == "WID-100"
    assert (new.like_factor, new.launch_ramp_months) == (Decimal("0.8"), 3)
    assert new.launch_month == dt.date(2026, 3, 1)
    assert Product.objects.get(sku="BOX-001").end_of_life_month == dt.date(2026, 9, 1)
    # The columns it leaves out keep their values.
    assert Product.objects.get(sku="BOX-001").unit_cost == Decimal("0.85")


@pytest.mark.usefixtures("catalogue")
def test_every_lifecycle_error_is_a_row_error_and_nothing_loads(tmp_path):
    job = run(
        tmp_path,
        HEADER
        + "WID-150,Widget 150,Widgets,WID-999,0.8,3,2026-03,\n"
        + "WID-200,Widget 200,Widgets,WID-200,,,,\n"
        + "WID-160,Widget 160,Widgets,WID-100,0,,,\n"
        + "WID-170,Widget 170,Widgets,WID-100,-0.5,,,\n"
        + "GAD-010,Gadget Mini,Gadgets,,,,2026-06,2026-05\n"
        + "GAD-020,Gadget Pro,Gadgets,GAD-010,1.1,2,2026-01,2026-12\n",
    )
    assert job.status == JobStatus.FAILED
    assert reasons(job) == [
        (2, "like_sku", "unknown like product"),
        (3, "like_sku", "a product cannot be its own like product"),
        (4, "like_factor", "like factor must be more than 0"),
        (5, "like_factor", "like factor must be more than 0"),
        (6, "end_of_life_month", "the end-of-life month is before the launch month"),
    ]
    assert not Product.objects.filter(sku__in=["WID-150", "WID-160", "WID-170"]).exists()
    assert Product.objects.get(sku="GAD-020").like_product is None
    assert Product.objects.get(sku="WID-200").like_product is None


@pytest.mark.usefixtures("catalogue")
def test_an_end_of_life_in_the_launch_month_is_allowed(tmp_path):
    job = run(tmp_path, HEADER + "GAD-010,Gadget Mini,Gadgets,,,,2026-06,2026-06\n")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert Product.objects.get(sku="GAD-010").end_of_life_month == dt.date(2026, 6, 1)


def test_the_database_refuses_a_product_that_is_its_own_like():
    from django.db import IntegrityError, transaction

    product = Product.objects.create(sku="A", name="A", family="F")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(like_product=product)
