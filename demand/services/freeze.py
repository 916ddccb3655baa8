"""The frozen demand plan: the snapshot accuracy is measured on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.db import transaction

from demand.constants import SEASON_LENGTH
from demand.models import ConsensusDemand, DemandPlanSnapshot
from demand.services._common import bulk_insert, history_matrix
from demand.services.streams import stream_plan_freeze
from sop.models import Cycle
from sop.months import month_index, month_numbers


def demand_plan_freeze(*, cycle: Cycle) -> int:
    """Snapshot the cycle's consensus with its statistical and seasonal naive forecasts.

    Called when the demand plan is submitted; accuracy is later measured on these rows.
    Every input stream is kept beside it (`stream_plan_freeze`).
    """
    rows = list(
        ConsensusDemand.objects.filter(cycle=cycle).values_list(
            "product_id", "location_id", "month", "statistical", "events", "value"
        )
    )
    plan = pd.DataFrame(
        rows, columns=["product", "location", "month", "statistical", "events", "consensus"]
    )
    origin = month_index(cycle.month)
    if not plan.empty:
        keys, matrix, first = history_matrix(
            product_ids=plan["product"].unique().tolist(), before=cycle.month
        )
        last_season = _last_season(matrix, first, origin)
        lookup = pd.DataFrame(
            last_season, index=pd.MultiIndex.from_tuples(keys, names=["product", "location"])
        )
        position = (month_numbers(plan["month"]) - origin) % SEASON_LENGTH
        row = lookup.index.get_indexer(pd.MultiIndex.from_frame(plan[["product", "location"]]))
        values = lookup.to_numpy()
        plan["naive"] = np.where(row >= 0, values[np.maximum(row, 0), position], 0.0)
    with transaction.atomic():
        DemandPlanSnapshot.objects.filter(cycle=cycle).delete()
        bulk_insert(
            DemandPlanSnapshot,
            [
                "cycle_id",
                "product_id",
                "location_id",
                "month",
                "naive",
                "statistical",
                "events",
                "consensus",
            ],
            (
                (
                    cycle.pk,
                    r.product,
                    r.location,
                    r.month,
                    r.naive,
                    r.statistical,
                    r.events,
                    r.consensus,
                )
                for r in plan.itertuples()
            ),
        )
        stream_plan_freeze(cycle=cycle)
    return len(plan)


def _last_season(matrix: np.ndarray, first: int, origin: int) -> np.ndarray:
    """The last SEASON_LENGTH months before `origin` of each series (zeros before history)."""
    out = np.zeros((len(matrix), SEASON_LENGTH))
    start = origin - SEASON_LENGTH - first
    take = matrix[:, max(start, 0) :]
    out[:, SEASON_LENGTH - take.shape[1] :] = take
    return out
