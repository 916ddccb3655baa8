"""The demand step's demo builder: past cycles with frozen plans, then the first run."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.constants import PAST_CYCLES
from demand.models import DemandOverride, ForecastRun
from demand.services.freeze import demand_plan_freeze
from demand.services.runs import FORECAST_RUN, forecast_run_start
from sop.choices import Stage
from sop.models import Cycle, Product, SalesHistory
from sop.runs import run_begin, run_chunk
from sop.services import add_months

logger = logging.getLogger(__name__)


# The demo builds past cycles in-process only up to this many series (the default demo
# has about 600; each past cycle costs one engine pass over all of them).
DEMO_HISTORY_MAX_SERIES = 2000
# Demo overrides of past cycles: up to this many percent, on their first months.
_DEMO_OVERRIDE_PCT = 15
_DEMO_OVERRIDE_MONTHS = 3


def demand_history_build(
    *,
    before: dt.date,
    cycles: int = PAST_CYCLES,
    overrides_per_cycle: int = 2,
    seed: int = 0,
) -> list[Cycle]:
    """Create the approved cycles of the months before `before`, with frozen plans.

    Each past cycle is forecast by the real engine from history cut at its own month (no
    look-ahead), gets a few family overrides like a planner's, and is frozen, so accuracy
    and forecast value added have numbers from the first start. Existing cycles are kept.
    """
    rng = np.random.default_rng(seed)
    families = sorted(set(Product.objects.filter(active=True).values_list("family", flat=True)))
    built = []
    for k in range(cycles, 0, -1):
        month = add_months(before.replace(day=1), -k)
        if Cycle.objects.filter(month=month).exists():
            continue
        with transaction.atomic():  # a past cycle exists whole or not at all
            cycle = Cycle.objects.create(month=month, stage=Stage.DEMAND_REVIEW)
            picked = (
                rng.choice(families, size=min(overrides_per_cycle, len(families)), replace=False)
                if families
                else []
            )
            # A planner's typical adjustment: a few percent on the next months.
            DemandOverride.objects.bulk_create(
                DemandOverride(
                    cycle=cycle,
                    level=OverrideLevel.FAMILY,
                    family=family,
                    month=add_months(month, h),
                    kind=OverrideKind.PERCENT,
                    value=Decimal(int(change)),
                    reason=ReasonCode.MARKET_INTELLIGENCE,
                    comment="Demo: planner's view",
                )
                for family, change in zip(
                    picked,
                    rng.integers(-_DEMO_OVERRIDE_PCT, _DEMO_OVERRIDE_PCT + 1, len(picked)),
                    strict=True,
                )
                for h in range(_DEMO_OVERRIDE_MONTHS)
            )
            run = ForecastRun.objects.create(cycle=cycle, heartbeat_at=timezone.now())
            # In this process: the last chunk publishes, which builds the consensus with
            # the overrides.
            for i, product_ids in enumerate(run_begin(FORECAST_RUN.name, run.pk)):
                run_chunk(FORECAST_RUN.name, run.pk, i, product_ids)
            demand_plan_freeze(cycle=cycle)
            Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.APPROVED)
        built.append(cycle)
    return built


def demand_demo_build(*, cycle: Cycle, user: AbstractBaseUser | None = None) -> ForecastRun:
    """Post-seed step of the demo: past cycles with frozen plans, then the first run.

    The run is started as the system (the demo admin is not a planner); without Redis it
    completes before this returns, with Redis the workers pick it up. Seeding again keeps
    the cycles and runs that exist. Past cycles are forecast in this process, so a company
    far larger than the default demo (a benchmark's) gets none rather than a long wait.
    """
    series = (
        SalesHistory.objects.filter(month__lt=cycle.month, product__active=True)
        .values("product", "location")
        .distinct()
        .count()
    )
    if series <= DEMO_HISTORY_MAX_SERIES:
        demand_history_build(before=cycle.month)
    else:
        logger.info(
            "Demo: %s series is more than %s; no past cycles built",
            series,
            DEMO_HISTORY_MAX_SERIES,
        )
    existing = ForecastRun.objects.filter(cycle=cycle).first()
    return existing or forecast_run_start(cycle=cycle, user=None)
