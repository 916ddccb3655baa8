from __future__ import annotations

import math

import pytest

from demand import selectors
from demand.models import StatisticalForecast

pytestmark = pytest.mark.django_db


def test_a_series_grid_shows_its_own_interval(published, company):
    bike, north = company["products"][0], company["locations"][0]
    grid = selectors.review_grid(
        cycle=published.cycle,
        selection=selectors.Selection(family="Bikes", product=bike, location=north),
    )
    row = StatisticalForecast.objects.get(
        run=published, product=bike, location=north, month=published.cycle.month
    )
    month = published.cycle.month
    assert grid.statistical[month] == pytest.approx(row.value)
    assert grid.bounds["hi80"][month] == pytest.approx(row.hi80)
    assert grid.bounds["lo95"][month] == pytest.approx(row.lo95)


def test_a_family_interval_adds_its_series_errors_as_independent(published):
    month = published.cycle.month
    grid = selectors.review_grid(
        cycle=published.cycle, selection=selectors.Selection(family="Bikes")
    )
    rows = StatisticalForecast.objects.filter(run=published, product__family="Bikes", month=month)
    total = sum(r.value for r in rows)
    half = math.sqrt(sum((r.hi80 - r.value) ** 2 for r in rows))
    assert grid.statistical[month] == pytest.approx(total)
    assert grid.bounds["hi80"][month] == pytest.approx(total + half)
    # Narrower than adding up the bounds, which assumes every series misses together.
    assert grid.bounds["hi80"][month] < sum(r.hi80 for r in rows)
    assert len(grid.history_months) == 24
    assert len(grid.horizon_months) == published.cycle.horizon_months
