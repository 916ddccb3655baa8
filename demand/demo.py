"""The demand step's demo builders: a past cycle's demand review, the open cycle's first run."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.contrib.auth.models import AbstractBaseUser

from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.models import DemandOverride, ForecastRun
from demand.services.runs import FORECAST_RUN, forecast_run_start
from sop.choices import Role, Stage
from sop.models import Cycle, Product
from sop.services import add_months, cycle_advance
from sop.tasks import run_now

# Demo overrides of past cycles: up to this many percent, on their first months.
_DEMO_OVERRIDE_PCT = 15
_DEMO_OVERRIDE_MONTHS = 3
_DEMO_OVERRIDE_FAMILIES = 2


def demand_demo_past(*, cycle: Cycle, users: dict[str, AbstractBaseUser]) -> None:
    """A past cycle's demand review in the demo: a planner's overrides, the forecast, submit.

    The forecast is the real engine's on the history before the cycle's month (no look-ahead);
    submitting freezes the demand plan, as a planner's submission does.
    """
    # Seeded by the month: the same company gets the same overrides.
    rng = np.random.default_rng(cycle.month.toordinal())
    families = sorted(set(Product.objects.filter(active=True).values_list("family", flat=True)))
    picked = rng.choice(families, size=min(_DEMO_OVERRIDE_FAMILIES, len(families)), replace=False)
    # A planner's typical adjustment: a few percent on the next months.
    DemandOverride.objects.bulk_create(
        DemandOverride(
            cycle=cycle,
            level=OverrideLevel.FAMILY,
            family=family,
            month=add_months(cycle.month, h),
            kind=OverrideKind.PERCENT,
            value=Decimal(int(change)),
            reason=ReasonCode.MARKET_INTELLIGENCE,
            comment="Demo: planner's view",
            author=users[Role.DEMAND_PLANNER],
        )
        for family, change in zip(
            picked,
            rng.integers(-_DEMO_OVERRIDE_PCT, _DEMO_OVERRIDE_PCT + 1, len(picked)),
            strict=True,
        )
        for h in range(_DEMO_OVERRIDE_MONTHS)
        if not DemandOverride.objects.filter(cycle=cycle, family=family).exists()
    )
    if not ForecastRun.objects.filter(cycle=cycle, is_published=True).exists():
        # Finished here whether or not the queue already ran it (a claimed run is left
        # alone); its publish builds the consensus with the overrides.
        run = forecast_run_start(cycle=cycle, user=None)
        run_now(FORECAST_RUN.name, run.pk)
    cycle_advance(
        cycle=cycle,
        target=Stage.SUPPLY_REVIEW,
        user=users[Role.DEMAND_PLANNER],
        comment="Demo: demand plan submitted.",
    )


def demand_demo_build(*, cycle: Cycle, user: AbstractBaseUser | None = None) -> ForecastRun:
    """Post-seed step of the demo: the open cycle's first forecast run.

    The run is started as the system (the demo admin is not a planner); without Redis it
    completes before this returns, with Redis the workers pick it up. Seeding again keeps
    the runs that exist.
    """
    existing = ForecastRun.objects.filter(cycle=cycle).first()
    return existing or forecast_run_start(cycle=cycle, user=None)
