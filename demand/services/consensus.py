"""The consensus plan: the published forecast, plus the planned events, with the planners'
overrides applied on top."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db import transaction

from demand import consensus, events
from demand.models import ConsensusDemand, DemandOverride, ForecastRun, StatisticalForecast
from demand.services._common import PlanReadOnly, bulk_insert, event_frame
from demand.services.streams import consensus_stream_base
from sop.choices import EffectKind, EventScope, EventStatus, Stage
from sop.models import Cycle
from sop.months import month_numbers


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
    layer = _events_layer(run, stat, whole=family is None)
    # The base is the statistical forecast with its events; the planner's chosen stream (or
    # mix) replaces it for its scope, and overrides apply on top: a +10% override is 10% over
    # the base.
    base = consensus_stream_base(
        cycle=cycle, stat=stat.assign(statistical=statistical + layer), family=family, month=month
    )
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
                "events",
                "override_delta",
                "value",
            ],
            zip(
                [cycle.pk] * len(stat),
                stat["product"].tolist(),
                stat["location"].tolist(),
                stat["month"].tolist(),
                statistical.tolist(),
                layer.tolist(),
                (value - base).tolist(),
                value.tolist(),
                strict=True,
            ),
        )
    return len(stat)


def _events_layer(run: ForecastRun | None, stat: pd.DataFrame, *, whole: bool) -> np.ndarray:
    """What the confirmed events add to each row of `stat` (`demand.events.events_layer`).

    Proposed events stay out of the plan until confirmed. A unit effect for every product
    is split over every product's forecast, so a rebuild of one family reads the whole
    run's months for those events.
    """
    planned = event_frame(statuses=[EventStatus.CONFIRMED])
    if stat.empty or planned.empty:
        return np.zeros(len(stat))
    numbered = stat.assign(month=month_numbers(stat["month"]))
    wide = (planned["effect_kind"] == EffectKind.UNITS) & (planned["scope"] == EventScope.ALL)
    layer = events.events_layer(numbered, planned[~wide])
    if wide.any():
        scope = numbered
        if not whole:
            rows = StatisticalForecast.objects.filter(run=run, month__in=set(stat["month"]))
            scope = pd.DataFrame(
                list(
                    rows.values_list(
                        "product_id", "location_id", "product__family", "month", "value"
                    )
                ),
                columns=consensus.STAT_COLUMNS,
            )
            scope["month"] = month_numbers(scope["month"])
        spread = pd.Series(
            events.events_layer(scope, planned[wide]),
            index=pd.MultiIndex.from_frame(scope[["product", "location", "month"]]),
        )
        layer += spread.reindex(
            pd.MultiIndex.from_frame(numbered[["product", "location", "month"]]), fill_value=0.0
        ).to_numpy()
    return np.maximum(layer, -stat["statistical"].to_numpy(float))
