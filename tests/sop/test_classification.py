from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sop import imports, services
from sop.classification import classify_abc_xyz
from sop.models import Product
from tests.factories import LocationFactory, ProductFactory

MONTHS = pd.date_range("2026-01-01", periods=12, freq="MS")


def frame(rows: dict[str, tuple[list[float], float]]) -> pd.DataFrame:
    """Sales per product: monthly quantities and a unit price."""
    parts = []
    for product, (quantities, price) in rows.items():
        q = np.asarray(quantities, dtype=float)
        parts.append(
            pd.DataFrame({"product": product, "month": MONTHS, "quantity": q, "revenue": q * price})
        )
    return pd.concat(parts, ignore_index=True)


def test_abc_follows_the_pareto_of_revenue():
    # Revenue: BIG 7,200 (72%), MID 1,800 (18%, crosses 80% -> still the B band), LOW 600,
    # TINY 400: cumulative shares before each product 0, .72, .90, .96.
    sales = frame(
        {
            "BIG": ([60] * 12, 10.0),
            "MID": ([15] * 12, 10.0),
            "LOW": ([5] * 12, 10.0),
            "TINY": ([1] * 12, 400 / 12),
        }
    )
    result = classify_abc_xyz(
        sales, products=pd.Index(["BIG", "MID", "LOW", "TINY"]), months=MONTHS
    )
    assert result["abc"].to_dict() == {"BIG": "A", "MID": "A", "LOW": "B", "TINY": "C"}


def test_xyz_grades_how_steady_demand_is():
    steady = [100] * 12
    wobbly = [50, 150] * 6  # cv = 0.5 -> X at the boundary
    seasonal = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 200, 200]  # cv ~ 1.6 -> Z
    lumpy = [0, 0, 90, 0, 0, 0, 0, 80, 0, 0, 0, 0]
    moderate = [20, 180] * 6  # mean 100, std 80: cv = 0.8 -> Y
    sales = frame(
        {
            "S": (steady, 1),
            "W": (wobbly, 1),
            "Q": (seasonal, 1),
            "L": (lumpy, 1),
            "M": (moderate, 1),
        }
    )
    result = classify_abc_xyz(sales, products=pd.Index(["S", "W", "Q", "L", "M"]), months=MONTHS)
    assert result.loc["S", "xyz"] == "X"
    assert result.loc["W", "xyz"] == "X"
    assert result.loc["M", "xyz"] == "Y"
    assert result.loc["Q", "xyz"] == "Z"
    assert result.loc["L", "xyz"] == "Z"


def test_a_product_without_sales_is_c_and_z():
    sales = frame({"SOLD": ([10] * 12, 5.0)})
    result = classify_abc_xyz(sales, products=pd.Index(["SOLD", "NEW"]), months=MONTHS)
    assert result.loc["NEW", "abc"] == "C"
    assert result.loc["NEW", "xyz"] == "Z"
    assert result.loc["SOLD", "abc"] == "A"


def test_sales_outside_the_window_do_not_count():
    sales = frame({"A1": ([10] * 12, 1.0), "B1": ([1] * 12, 1.0)})
    old = pd.DataFrame(
        {"product": "B1", "month": pd.Timestamp("2025-06-01"), "quantity": 1e6, "revenue": 1e6},
        index=[0],
    )
    result = classify_abc_xyz(
        pd.concat([sales, old], ignore_index=True), products=pd.Index(["A1", "B1"]), months=MONTHS
    )
    assert result.loc["A1", "abc"] == "A"


@pytest.mark.django_db
def test_importing_sales_history_classifies_products_from_its_last_twelve_months(tmp_path):
    LocationFactory(code="WH1")
    ProductFactory(sku="BIG", unit_price=Decimal("10"))
    ProductFactory(sku="SMALL", unit_price=Decimal("10"), abc_class="A", xyz_class="X")
    lines = ["sku,location_code,month,quantity"]
    months = pd.date_range("2025-09-01", periods=14, freq="MS")
    for i, month in enumerate(months):
        lines.append(f"BIG,WH1,{month:%Y-%m},100")
        # SMALL sold a lot before the window: only the last twelve months count.
        lines.append(f"SMALL,WH1,{month:%Y-%m},{5000 if i < 2 else (1 if i % 2 else 9)}")
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    job = imports.import_file(entity="sales_history", path=path)
    assert job.status == "succeeded", job.message
    classes = dict(Product.objects.values_list("sku", "abc_class"))
    steadiness = dict(Product.objects.values_list("sku", "xyz_class"))
    assert classes == {"BIG": "A", "SMALL": "C"}
    # SMALL alternates 1 and 9: mean 5, std 4, cv 0.8.
    assert steadiness == {"BIG": "X", "SMALL": "Y"}


@pytest.mark.django_db
def test_classification_waits_for_sales_history():
    ProductFactory(sku="NEW", abc_class="B")
    assert services.products_classify() == 0
    assert Product.objects.get(sku="NEW").abc_class == "B"
