"""The forecast's cumulative error quantiles as the demand run stores them for supply."""

from __future__ import annotations

import numpy as np
import pytest

from demand.forecasting import SeriesForecast
from demand.uncertainty import (
    STORED_LEVELS,
    error_quantile_grid,
    significant_up,
    stored_error_quantiles,
)


def forecast(uncertainty: str = "backtest") -> SeriesForecast:
    point = np.array([100.0, 100.0])
    cum = np.cumsum(point)
    fc = SeriesForecast(point, {}, {}, "ses", "smooth", uncertainty=uncertainty)
    fc.cum_quantiles = {q: cum + 1000 * (q - 0.5) + 0.123456 for q in (0.2, *STORED_LEVELS)}
    return fc


def test_only_levels_a_service_target_can_use_are_stored_as_errors():
    stored = stored_error_quantiles(forecast())
    assert list(stored) == ["0.5", "0.8", "0.9", "0.95", "0.975", "0.98", "0.99"]
    # Quantile minus cumulative point, rounded up to three significant digits.
    assert stored["0.95"] == [451.0, 451.0]
    assert stored["0.5"] == [0.124, 0.124]


def test_a_series_too_short_to_backtest_stores_no_quantiles():
    assert stored_error_quantiles(forecast("normal")) == {}


def test_rounding_keeps_three_significant_digits_exactly_and_never_rounds_down():
    values = significant_up(np.array([12345.0, 0.012345, -987.65, 0.0, 99.96, 450.0, 3.7655]))
    assert values.tolist() == [12400.0, 0.0124, -987.0, 0.0, 100.0, 450.0, 3.77]


def test_a_stored_safety_stock_still_covers_the_whole_units_it_was_set_for():
    # A 95% quantile of 5 units over a forecast of 1.2355: 3.7645 must not come back as
    # 3.76, which leaves 4.9955 and misses a demand of exactly 5.
    fc = SeriesForecast(np.array([1.2355]), {}, {}, "comb", "intermittent")
    fc.cum_quantiles = dict.fromkeys(STORED_LEVELS, np.array([5.0]))
    stored = stored_error_quantiles(fc)
    assert 1.2355 + stored["0.95"][0] >= 5


def test_rows_without_quantiles_read_back_as_nan():
    levels, grid = error_quantile_grid([stored_error_quantiles(forecast()), {}])
    assert levels == STORED_LEVELS
    assert grid.shape == (2, len(STORED_LEVELS), 2)
    assert grid[0, STORED_LEVELS.index(0.99)] == pytest.approx([491.0, 491.0])
    assert np.isnan(grid[1]).all()
