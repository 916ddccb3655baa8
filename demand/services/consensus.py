"""The consensus plan: the published forecast with the planners' overrides applied."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from django.db import transaction

from demand import consensus
from demand.models import ConsensusDemand, DemandOverride, ForecastRun, StatisticalForecast
from demand.services._common import PlanReadOnly, bulk_insert
from demand.services.streams import consensus_stream_base
from sop.choices import Stage
from sop.models import Cycle


def consensus_rebuild(
    *, cycle: Cycle, family: str | None = None, month: dt.date | None = None
) -> int:
    """Recompute the consensus of the cycle (or one family, or a month of it) from forecast
    and overrides.

    Overrides of a month only move that month (`demand.consensus.consensus_values`), so a
    cell save rebuilds its family's month: 1/horizon of the family's rows.
    """
    if Cycle.objects.filter(pk=cycle.pk, stage=Stage.APPROVED).exists():
        raise PlanReadOnly(f"{cycle} is approved: its consensus demand is frozen.")
    run = ForecastRun.objects.filter(cycle=cycle, is_published=True).first()
    stat_qs = StatisticalForecast.objects.filter(run=run)
    ov_qs = DemandOverride.objects.filter(cycle=cycle)
    old_qs = ConsensusDemand.objects.filter(cycle=cycle)
    if family is not None:
        stat_qs = stat_qs.filter(product__family=family)
        ov_qs = ov_qs.filter(family=family)
        old_qs = old_qs.filter(product__family=family)
    if month is not None:
        stat_qs = stat_qs.filter(month=month)
        ov_qs = ov_qs.filter(month=month)
        old_qs = old_qs.filter(month=month)
    stat = pd.DataFrame(
        list(stat_qs.values_list("product_id", "location_id", "product__family", "month", "value")),
        columns=consensus.STAT_COLUMNS,
    )
    overrides = pd.DataFrame(
        list(
            ov_qs.values_list(
                "level", "family", "product_id", "location_id", "month", "kind", "value"
            )
        ),
        columns=consensus.OVERRIDE_COLUMNS,
    )
    statistical = stat["statistical"].to_numpy(float)
    # The planner's chosen stream (or mix) replaces the base; overrides apply on top of it.
    base = consensus_stream_base(cycle=cycle, stat=stat, family=family, month=month)
    value = consensus.consensus_values(stat.assign(statistical=base), overrides)
    with transaction.atomic():
        if family is None and month is None:
            old_qs.delete()
        else:
            # A join in a DELETE is not portable; select the ids first.
            ConsensusDemand.objects.filter(
                pk__in=list(old_qs.values_list("pk", flat=True))
            ).delete()
        bulk_insert(
            ConsensusDemand,
            [
                "cycle_id",
                "product_id",
                "location_id",
                "month",
                "statistical",
                "override_delta",
                "value",
            ],
            zip(
                [cycle.pk] * len(stat),
                stat["product"].tolist(),
                stat["location"].tolist(),
                stat["month"].tolist(),
                statistical.tolist(),
                (value - base).tolist(),
                value.tolist(),
                strict=True,
            ),
        )
    return len(stat)
