"""The forecast's uncertainty in the form supply planning stores and reads it.

Safety stock needs, per series, the quantiles of the cumulative forecast error over the
next h months: the quantile of cumulative demand minus the cumulative point forecast
(`SeriesForecast.cum_quantiles`). Only the levels a service target can use (0.5 and up)
are kept, rounded up to three significant digits: a tenth of a percent is far below what the
quantiles can tell, and 7 levels x 18 months take about 800 bytes of JSON a series
(80 MB for 100,000 series; a supply chunk of 2,000 parses them in about 0.1 s).
ORM-free: the demand run writes these, the supply run and the service bench read them
back through `error_quantile_grid`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from demand.forecasting import QUANTILE_LEVELS, SeriesForecast

STORED_LEVELS: tuple[float, ...] = tuple(q for q in QUANTILE_LEVELS if q >= 0.5)
SIGNIFICANT_DIGITS = 3
NORMAL = "normal"


def significant_up(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Values rounded up to `digits` significant digits.

    Up, never to the nearest: demand comes in whole units, so a quantile is often exactly
    the demand it must cover, and a safety stock rounded down by a hair (4.9945 for 5)
    misses it. On the car parts that cost about 3 points of cycle service.
    """
    x = np.asarray(values, dtype=float)
    magnitude = np.floor(np.log10(np.abs(x), out=np.zeros_like(x), where=x != 0))
    decimals = digits - 1 - magnitude
    # Scale by an exact power of ten on the side that keeps it exact: 12345 -> 12400.0,
    # not the 12400.000000000002 that multiplying by 0.01 gives; the tolerance keeps a
    # value already at three digits (450.0) from a float-noise step up.
    up = 10.0 ** np.maximum(decimals, 0)
    down = 10.0 ** np.maximum(-decimals, 0)
    return np.ceil(x * up / down - 1e-9) * down / up


def stored_error_quantiles(forecast: SeriesForecast) -> dict[str, list[float]]:
    """{level: cumulative error over months 1..h}; empty unless the engine measured it.

    A series too short to backtest gets normal quantiles around a guessed std: supply
    uses its normal formula for those instead, and says so.
    """
    if forecast.uncertainty == NORMAL or not forecast.cum_quantiles:
        return {}
    cumulative = np.cumsum(forecast.point)
    return {
        str(q): _compact(significant_up(forecast.cum_quantiles[q] - cumulative))
        for q in STORED_LEVELS
    }


def _compact(values: np.ndarray) -> list[float | int]:
    # Whole numbers as ints: JSON then spells 1230, not 1230.0.
    return [int(v) if v.is_integer() else v for v in values.tolist()]


def error_quantile_grid(
    stored: Sequence[Mapping[str, Sequence[float]]],
) -> tuple[tuple[float, ...], np.ndarray]:
    """The stored levels and an n x levels x months array of the stored rows.

    A row without quantiles (or of other levels or length than the longest) is NaN: the
    supply engine gives it the normal formula.
    """
    keys = [str(q) for q in STORED_LEVELS]
    months = max((len(row.get(keys[0], ())) for row in stored), default=0)
    grid = np.full((len(stored), len(keys), months), np.nan)
    for i, row in enumerate(stored):
        values = [row.get(key, ()) for key in keys]
        if months and all(len(v) == months for v in values):
            grid[i] = values
    return STORED_LEVELS, grid
