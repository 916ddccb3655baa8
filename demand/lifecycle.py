"""New and ending products in the statistical forecast: ORM-free, applied after the engine.

A product with less history than the engine needs (`MIN_HISTORY_MONTHS`, the engine's own
minimum) takes its like product's forecast at the same location, times its factor and its
launch ramp; where the like product is not sold at that location, its forecast summed over
its locations stands in. From its end-of-life month on a product is forecast to zero. The
bounds are treated as the point: a positive factor scales every quantile of demand exactly,
and a month after the end of life has none.

Months are month numbers (`sop.months.month_index`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demand.forecasting import _MIN_POINTS

# Below this many months since its first sale a series gets the engine's flat "new item"
# mean; that is when the like product's forecast says more.
MIN_HISTORY_MONTHS = _MIN_POINTS


@dataclass(frozen=True)
class Lifecycle:
    """What the forecast needs to know of one product's lifecycle."""

    like: int | None = None  # the like product's id
    factor: float = 1.0
    ramp_months: int = 0  # 0: full volume from the launch month
    launch: int | None = None  # month number of the launch, None: unknown
    end_of_life: int | None = None  # month number from which the forecast is zero


def ramp_shares(months: np.ndarray, *, launch: int | None, ramp_months: int) -> np.ndarray:
    """The share of full volume in each month: nothing before the launch month, then a
    linear climb reaching full volume in the ramp's last month (3 months: 1/3, 2/3, 1)."""
    months = np.asarray(months)
    if launch is None:
        return np.ones(len(months))
    since = months - launch
    if ramp_months <= 0:
        return (since >= 0).astype(float)
    return np.clip((since + 1) / ramp_months, 0.0, 1.0)


def history_months(matrix: np.ndarray) -> np.ndarray:
    """Months from each series' first sale to the end of its history (0: never sold)."""
    sold = matrix > 0
    first = np.where(sold.any(axis=1), sold.argmax(axis=1), matrix.shape[1])
    return matrix.shape[1] - first


def lifecycle_apply(
    *,
    keys: list[tuple[int, int]],
    point: np.ndarray,
    bounds: list[np.ndarray],
    months: np.ndarray,
    history: np.ndarray,
    lifecycles: dict[int, Lifecycle],
) -> tuple[np.ndarray, list[np.ndarray], list[str], list[int | None]]:
    """The forecast with like products and ends of life applied; per series a reason ("" where
    nothing changed) and the like product's series it was taken from (its first, for a
    total). `point` and each of `bounds` are series x months; `months` the horizon's month
    numbers; `history` the months of history of each series."""
    point = point.copy()
    bounds = [b.copy() for b in bounds]
    reasons = [""] * len(keys)
    sources: list[int | None] = [None] * len(keys)
    row_of = {key: i for i, key in enumerate(keys)}
    rows_of_product: dict[int, list[int]] = {}
    for i, (product, _) in enumerate(keys):
        rows_of_product.setdefault(product, []).append(i)
    # Every series is read from the engine's output, before any like is applied: a like
    # product that is itself new lends what the engine made of it.
    source_point, source_bounds = point.copy(), [b.copy() for b in bounds]
    for i, (product, location) in enumerate(keys):
        life = lifecycles.get(product)
        if life is None:
            continue
        if life.like is not None and history[i] < MIN_HISTORY_MONTHS:
            same = row_of.get((life.like, location))
            rows = [same] if same is not None else rows_of_product.get(life.like, [])
            if rows:
                share = life.factor * ramp_shares(
                    months, launch=life.launch, ramp_months=life.ramp_months
                )
                point[i] = source_point[rows].sum(axis=0) * share
                for b, source in zip(bounds, source_bounds, strict=True):
                    b[i] = source[rows].sum(axis=0) * share
                reasons[i] = "like" if same is not None else "like total"
                sources[i] = rows[0]
        if life.end_of_life is not None:
            ended = months >= life.end_of_life
            if ended.any():
                point[i, ended] = 0.0
                for b in bounds:
                    b[i, ended] = 0.0
                reasons[i] = ", ".join(filter(None, [reasons[i], "end of life"]))
    return point, bounds, reasons, sources
