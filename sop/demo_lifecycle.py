"""The demo's new and ending products: a successor launched from its predecessor's sales.

The demo company's top A item is being replaced: it reaches its end of life six months
into the open cycle's horizon, and a new version, not sold yet, launches next month, forecast
at 80% of the old one's forecast and reaching full volume over three months. Set after
the past cycles are approved, so their frozen plans stay as they were.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum

from sop.models import Product, Routing, SalesHistory
from sop.services import add_months

DEMO_LIKE_FACTOR = Decimal("0.8")
DEMO_RAMP_MONTHS = 3
DEMO_LAUNCH_IN = 1  # months after the cycle's
DEMO_END_OF_LIFE_IN = 6  # months after the cycle's


def demo_lifecycle_build(*, month: dt.date) -> dict[str, str]:
    """Name the successor and the end of life for the cycle of `month`; returns their SKUs."""
    since = add_months(month, -12)
    top = (
        SalesHistory.objects.filter(month__gte=since, month__lt=month, product__active=True)
        .values("product")
        .annotate(revenue=Sum(F("quantity") * F("product__unit_price")))
        .order_by("-revenue", "product")
        .first()
    )
    if top is None:
        return {}
    old = Product.objects.get(pk=top["product"])
    with transaction.atomic():
        old.end_of_life_month = add_months(month, DEMO_END_OF_LIFE_IN)
        old.save(update_fields=["end_of_life_month"])
        new, _ = Product.objects.update_or_create(
            sku=f"{old.sku}-N"[:40],
            defaults={
                "name": f"{old.name} (new version)"[:200],
                "family": old.family,
                "category": old.category,
                "uom": old.uom,
                "unit_cost": old.unit_cost,
                "unit_price": old.unit_price,
                "lead_time_days": old.lead_time_days,
                "moq": old.moq,
                "lot_size": old.lot_size,
                "make_or_buy": old.make_or_buy,
                "supplier": old.supplier,
                "abc_class": old.abc_class,
                "like_product": old,
                "like_factor": DEMO_LIKE_FACTOR,
                "launch_ramp_months": DEMO_RAMP_MONTHS,
                "launch_month": add_months(month, DEMO_LAUNCH_IN),
            },
        )
        # Made on the same lines as the product it replaces.
        for routing in Routing.objects.filter(product=old):
            Routing.objects.update_or_create(
                product=new,
                resource=routing.resource,
                defaults={"hours_per_unit": routing.hours_per_unit},
            )
    return {"new": new.sku, "like": old.sku, "ending": old.sku}
