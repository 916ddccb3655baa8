"""The events calendar's rows: the table refuses an event that cannot mean anything."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from sop.models import Event
from tests.factories import ProductFactory

MARCH, APRIL = dt.date(2027, 3, 1), dt.date(2027, 4, 1)


def _event(**fields) -> Event:
    defaults = dict(
        code="E1",
        name="Spring promotion",
        kind="promotion",
        scope="family",
        family="Bikes",
        start_month=MARCH,
        end_month=APRIL,
        effect_value=30,
    )
    return Event.objects.create(**(defaults | fields))


@pytest.mark.django_db
def test_an_event_lists_its_months_without_the_dip():
    event = _event(dip_months=1, dip_percent=-20)
    assert event.months == [MARCH, APRIL]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"scope": "product"},  # a product event without a product
        {"scope": "all"},  # an event for all products that names a family
        {"effect_value": -101},  # more than all of demand taken away
        {"end_month": dt.date(2027, 1, 1)},  # ends before it starts
        {"start_month": dt.date(2027, 3, 15)},  # not a month
        {"dip_percent": 5},  # a dip that adds demand
        {"dip_percent": -101},
    ],
)
def test_the_table_refuses_an_event_that_cannot_mean_anything(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        _event(**fields)


@pytest.mark.django_db
def test_a_unit_effect_may_be_below_minus_100_and_a_product_event_names_its_product():
    product = ProductFactory()
    event = _event(
        scope="product", family="", product=product, effect_kind="units", effect_value=-250
    )
    assert event.product == product
