"""The small company of the full-cycle browser test, and the ERP extract its admin imports.

One warehouse (DC) and one assembly line (LINE, 1 hour a unit) that makes BIKE-1, BIKE-2
and LAMP-1; LAMP-2 is bought from LEAF. Two years of flat sales (BIKE-1 about 70 a month,
BIKE-2 40, LAMP-1 40, LAMP-2 30) load the line about 150 h a month against 150 h of
capacity, so the demand planner's promotion on BIKE-1 and finance's +10 % on bikes both
ask more than the line can make: the capacity binds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np

from sop import services as sop_services
from sop.choices import MakeOrBuy
from sop.models import Capacity, InventorySnapshot, Routing, SalesHistory
from tests.factories import LocationFactory, ProductFactory, ResourceFactory, SupplierFactory

CYCLE_MONTH = dt.date(2026, 11, 1)
HORIZON = 6
HISTORY_MONTHS = 24
MONTHS = [sop_services.add_months(CYCLE_MONTH, h) for h in range(HORIZON)]
LINE_HOURS = 150
# sku: (family, monthly sales level, stock on hand, ABC class)
SKUS = {
    "BIKE-1": ("Bikes", 70, 20, "A"),
    "BIKE-2": ("Bikes", 40, 10, "B"),
    "LAMP-1": ("Lamps", 40, 10, "B"),
    "LAMP-2": ("Lamps", 30, 60, "C"),
}
PRICES = {"Bikes": (Decimal("200"), Decimal("120")), "Lamps": (Decimal("50"), Decimal("30"))}


def company_build() -> dict:
    """The master data, sales history, stock and capacity; the budget comes by import."""
    rng = np.random.default_rng(11)
    dc = LocationFactory(code="DC")
    line = ResourceFactory(code="LINE", name="Assembly line")
    supplier = SupplierFactory(
        code="LEAF", lead_time_days_mean=Decimal("30"), lead_time_days_std=Decimal("0")
    )
    products = {}
    for sku, (family, _, _, abc) in SKUS.items():
        price, cost = PRICES[family]
        bought = sku == "LAMP-2"
        products[sku] = ProductFactory(
            sku=sku,
            name=f"{family[:-1]} {sku[-1]}",
            family=family,
            abc_class=abc,
            unit_price=price,
            unit_cost=cost,
            lead_time_days=0,
            make_or_buy=MakeOrBuy.BUY if bought else MakeOrBuy.MAKE,
            supplier=supplier if bought else None,
            lot_size=Decimal("10") if bought else Decimal("0"),
        )
        if not bought:
            Routing.objects.create(
                product=products[sku], resource=line, hours_per_unit=Decimal("1")
            )
    SalesHistory.objects.bulk_create(
        SalesHistory(
            product=products[sku],
            location=dc,
            month=sop_services.add_months(CYCLE_MONTH, k - HISTORY_MONTHS),
            quantity=Decimal(max(0, round(level + rng.normal(0, level * 0.05)))),
        )
        for sku, (_, level, _, _) in SKUS.items()
        for k in range(HISTORY_MONTHS)
    )
    InventorySnapshot.objects.bulk_create(
        InventorySnapshot(product=products[sku], location=dc, date=CYCLE_MONTH, on_hand=stock)
        for sku, (_, _, stock, _) in SKUS.items()
    )
    Capacity.objects.bulk_create(Capacity(resource=line, month=m, hours=LINE_HOURS) for m in MONTHS)
    return {"dc": dc, "line": line, "supplier": supplier, **products}


def budget_csv(path: Path) -> Path:
    """The finance budget extract for the horizon, in the import format (docs/samples)."""
    lines = ["family,month,revenue,volume"]
    for month in MONTHS:
        lines.append(f"Bikes,{month:%Y-%m},22000.00,110")
        lines.append(f"Lamps,{month:%Y-%m},3500.00,70")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
