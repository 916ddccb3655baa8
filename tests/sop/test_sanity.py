"""The one sanity rule of a typed plan value (sop.sanity), hand-computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q

from demand.models import DemandOverride
from sop.sanity import NeedsConfirmation, column_limit, history_peak, sanity_check, sanity_limit
from tests.factories import LocationFactory, ProductFactory, SalesHistoryFactory

CYCLE = dt.date(2026, 11, 1)
FIELD = DemandOverride._meta.get_field("value")  # max_digits 14, decimal_places 3


def check(value, peak, confirmed=False):
    return sanity_check(
        value=Decimal(value),
        field=FIELD,
        peak=None if peak is None else Decimal(peak),
        what="The override of X in Nov 2026",
        confirmed=confirmed,
    )


@pytest.fixture
def series(db):
    """Two SKUs of a family at two warehouses; one huge month older than 24 months."""
    north, south = LocationFactory(code="N"), LocationFactory(code="S")
    a = ProductFactory(sku="A", family="F")
    b = ProductFactory(sku="B", family="F")
    rows = [
        (a, north, dt.date(2026, 10, 1), 200),
        (a, south, dt.date(2026, 10, 1), 100),
        (b, north, dt.date(2026, 10, 1), 50),
        (a, north, dt.date(2025, 3, 1), 280),
        (a, north, dt.date(2024, 11, 1), 260),  # the first of the 24 months
        (a, north, dt.date(2024, 10, 1), 5000),  # 25 months before: not counted
        (a, north, dt.date(2026, 11, 1), 9000),  # the cycle's own month: not history
    ]
    for product, location, month, qty in rows:
        SalesHistoryFactory(product=product, location=location, month=month, quantity=qty)
    return {"a": a, "b": b, "north": north}


def test_the_peak_is_the_highest_month_of_the_24_before_the_cycle(series):
    a, b, north = series["a"], series["b"], series["north"]
    # SKU A at N: 200 (Oct 2026), 280 (Mar 2025), 260 (Nov 2024); 5000 and 9000 are outside.
    assert history_peak(scope=Q(product=a, location=north), before=CYCLE) == 280
    # SKU A over its locations: Oct 2026 is 200 + 100 = 300.
    assert history_peak(scope=Q(product=a), before=CYCLE) == 300
    # Family F: Oct 2026 is 200 + 100 + 50 = 350.
    assert history_peak(scope=Q(product__family="F"), before=CYCLE) == 350
    # No sales at all: no peak (only the hard cap applies).
    assert history_peak(scope=Q(product=b, location__code="S"), before=CYCLE) is None


def test_a_value_up_to_ten_times_the_peak_saves_without_asking(settings):
    settings.SOP_SANITY_FACTOR = 10
    settings.SOP_SANITY_HARD_CAP = 10_000_000
    # Peak 300: the limit is 3,000.
    assert sanity_limit(Decimal(300)) == 3000
    assert check("3000", 300) is False
    with pytest.raises(
        NeedsConfirmation, match=r"3,001 is more than 10x the highest month .*\(300\)"
    ):
        check("3001", 300)
    # Confirmed, it saves and says it is outside history (the exception list's flag).
    assert check("3001", 300, confirmed=True) is True


def test_the_hard_cap_applies_below_the_history_limit_and_without_history(settings):
    settings.SOP_SANITY_FACTOR = 10
    settings.SOP_SANITY_HARD_CAP = 2000
    # Peak 300 allows 3,000 but the cap is 2,000.
    assert sanity_limit(Decimal(300)) == 2000
    with pytest.raises(NeedsConfirmation, match="the limit of 2,000 a month"):
        check("2500", 300)
    # A launch without history: the cap only.
    assert check("2000", None) is False
    with pytest.raises(NeedsConfirmation):
        check("2001", None)


def test_the_issues_examples_need_a_confirmation_for_a_sku_selling_about_300(settings):
    settings.SOP_SANITY_FACTOR = 10
    settings.SOP_SANITY_HARD_CAP = 10_000_000
    with pytest.raises(NeedsConfirmation):
        check("1e6", 300)
    # 99,999,999,999 fits the column (below 10^11) but is far outside: ask.
    with pytest.raises(NeedsConfirmation):
        check("99999999999", 300)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "cannot be negative"),
        ("NaN", "is not a number"),
        ("Infinity", "is not a number"),
        ("100000000000", "beyond what the plan can hold"),  # 10^(14-3)
    ],
)
def test_an_impossible_value_is_refused_even_when_confirmed(value, message):
    with pytest.raises(ValidationError, match=message) as refused:
        check(value, 300, confirmed=True)
    assert not isinstance(refused.value, NeedsConfirmation)


def test_the_column_limit_reads_the_field():
    assert column_limit(FIELD) == Decimal(10) ** 11
