"""The forecast's series with the lifecycle of their products: new products take their like
product's series, which the chunk forecasts too (`demand.lifecycle` applies them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q

from demand.lifecycle import Lifecycle
from demand.services._common import history_matrix
from sop.models import Product
from sop.months import month_index


@dataclass
class LifecycleSeries:
    """The series a forecast chunk computes: its own, plus each new product's series at its
    like product's locations, plus the like products' series it reads (`written` says
    whose rows are kept)."""

    keys: list[tuple[int, int]]
    matrix: np.ndarray
    lifecycles: dict[int, Lifecycle] = field(default_factory=dict)
    written: set[int] = field(default_factory=set)


def _lifecycle_rows(product_ids: Sequence[int]) -> list[tuple]:
    return list(
        Product.objects.filter(pk__in=product_ids)
        .filter(
            Q(like_product__isnull=False)
            | Q(end_of_life_month__isnull=False)
            | Q(launch_month__isnull=False)
        )
        .values_list(
            "pk",
            "like_product_id",
            "like_factor",
            "launch_ramp_months",
            "launch_month",
            "end_of_life_month",
        )
    )


def _stacked(parts: list[tuple[list, np.ndarray]]) -> tuple[list[tuple[int, int]], np.ndarray]:
    """History matrices that all end the month before the cycle, aligned on their last
    column (the older one sets the width) and stacked."""
    width = max((m.shape[1] for _, m in parts), default=0)
    keys: list[tuple[int, int]] = []
    rows = []
    for part_keys, matrix in parts:
        if not part_keys:
            continue
        keys += part_keys
        rows.append(np.pad(matrix, ((0, 0), (width - matrix.shape[1], 0))))
    return keys, (np.vstack(rows) if rows else np.zeros((0, width)))


def lifecycle_series(*, product_ids: Sequence[int], before: dt.date) -> LifecycleSeries:
    """The chunk's series and the lifecycle of its products; two or three queries."""
    keys, matrix, _ = history_matrix(product_ids=product_ids, before=before)
    lifecycles: dict[int, Lifecycle] = {}
    launches: dict[int, dt.date | None] = {}
    for pk, like, factor, ramp, launch, end in _lifecycle_rows(product_ids):
        lifecycles[pk] = Lifecycle(
            like=like,
            factor=1.0 if factor is None else float(factor),
            ramp_months=ramp or 0,
            end_of_life=None if end is None else month_index(end),
        )
        launches[pk] = launch
    likes = {life.like for life in lifecycles.values() if life.like is not None}
    # A like product is read whether active or not: a successor is usually named after a
    # product that is being phased out.
    borrowed = sorted(likes - set(product_ids))
    like_keys, like_matrix, _ = (
        history_matrix(product_ids=borrowed, before=before, active_only=False)
        if borrowed
        else ([], np.zeros((0, 0)), 0)
    )
    keys, matrix = _stacked([(keys, matrix), (like_keys, like_matrix)])
    # A new product is forecast wherever its like product sells, history or not.
    present = set(keys)
    added = [
        (pk, location)
        for pk, life in lifecycles.items()
        if life.like is not None
        for like, location in keys
        if like == life.like and (pk, location) not in present
    ]
    if added:
        keys = keys + sorted(set(added))
        matrix = np.vstack([matrix, np.zeros((len(set(added)), matrix.shape[1]))])
    last = month_index(before) - 1
    for pk, life in list(lifecycles.items()):
        if life.like is None:
            continue
        launch = launches[pk]
        if launch is None:
            # Without a stated launch month the ramp starts at the first sale, or at the
            # cycle's first month for a product not sold yet.
            rows = [i for i, key in enumerate(keys) if key[0] == pk]
            sold = np.flatnonzero(matrix[rows].sum(axis=0) > 0) if rows else np.zeros(0)
            start = last - matrix.shape[1] + 1 + int(sold[0]) if len(sold) else last + 1
        else:
            start = month_index(launch)
        lifecycles[pk] = Lifecycle(
            like=life.like,
            factor=life.factor,
            ramp_months=life.ramp_months,
            launch=start,
            end_of_life=life.end_of_life,
        )
    return LifecycleSeries(
        keys=keys, matrix=matrix, lifecycles=lifecycles, written=set(product_ids)
    )


def lifecycle_products_without_history(*, excluded: Sequence[int]) -> list[int]:
    """Active products named after a like product that have no sales yet: the run
    forecasts them too."""
    return list(
        Product.objects.filter(active=True, like_product__isnull=False)
        .exclude(pk__in=list(excluded))
        .values_list("pk", flat=True)
    )
