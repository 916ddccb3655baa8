"""The demand step's demo builders: a past cycle's demand review, the open cycle's first run.

Both also fill the sales and marketing input streams, with the biases their departments
are known for: sales optimistic (+12 %) but close to the order book, marketing noisy but
aware of its promotions (its figures follow the real spikes).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Sum

from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.models import ConsensusSource, DemandOverride, ForecastRun, InputStream, StreamEntry
from demand.services.runs import FORECAST_RUN, forecast_run_start
from sop.choices import Role, Stage
from sop.models import Cycle, Product, SalesHistory
from sop.services import add_months, cycle_advance
from sop.tasks import run_now

# Demo overrides of past cycles: up to this many percent, on their first months.
_DEMO_OVERRIDE_PCT = 15
_DEMO_OVERRIDE_MONTHS = 3
_DEMO_OVERRIDE_FAMILIES = 2
# The input streams: months of the horizon they cover, and their biases and noise.
_DEMO_STREAM_MONTHS = 6
_DEMO_SALES_BIAS = 0.12
_DEMO_SALES_NOISE = 0.06
_DEMO_MARKETING_NOISE = 0.25


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
    _demo_streams_past(cycle=cycle, users=users, rng=rng, families=families)
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
    if existing is None:
        _demo_streams_open(cycle=cycle)
    return existing or forecast_run_start(cycle=cycle, user=None)


def _demo_streams_past(
    *, cycle: Cycle, users: dict[str, AbstractBaseUser], rng, families: list[str]
) -> None:
    """A past cycle's sales and marketing inputs per family, and the planner's choices.

    Drawn around what was later sold (the demo knows it): sales +12 % with a little noise,
    marketing unbiased with a lot. The planner took sales for one family and a half-half
    mix of statistical and marketing for another.
    """
    if StreamEntry.objects.filter(cycle=cycle).exists():
        return
    months = [add_months(cycle.month, h) for h in range(_DEMO_STREAM_MONTHS)]
    actual = {
        (family, month): float(total)
        for family, month, total in SalesHistory.objects.filter(
            month__gte=months[0], month__lte=months[-1], product__active=True
        )
        .values("product__family", "month")
        .annotate(total=Sum("quantity"))
        .values_list("product__family", "month", "total")
    }
    keys = [(f, m) for f in families for m in months if (f, m) in actual]
    truth = np.array([actual[k] for k in keys])
    sales = truth * (1 + _DEMO_SALES_BIAS) * (1 + rng.normal(0, _DEMO_SALES_NOISE, len(keys)))
    marketing = truth * rng.lognormal(0, _DEMO_MARKETING_NOISE, len(keys))
    _family_entries(
        cycle,
        keys,
        {"sales": np.maximum(sales, 0), "marketing": np.maximum(marketing, 0)},
        OverrideKind.ABSOLUTE,
        authors={"sales": users.get(Role.SALES), "marketing": users.get(Role.MARKETING)},
    )
    picked = list(rng.choice(families, size=min(2, len(families)), replace=False))
    choices = [{"sales": 100}, {"statistical": 50, "marketing": 50}]
    ConsensusSource.objects.bulk_create(
        ConsensusSource(
            cycle=cycle,
            level=OverrideLevel.FAMILY,
            family=family,
            weights=weights,
            reason=ReasonCode.MARKET_INTELLIGENCE,
            comment="Demo: planner's choice of input",
            author=users[Role.DEMAND_PLANNER],
        )
        for family, weights in zip(picked, choices, strict=False)
    )


def _demo_streams_open(*, cycle: Cycle) -> None:
    """The open cycle's inputs, as changes of the statistical forecast it has yet to get:
    sales +12 % on every family, marketing a noisy few percent either way."""
    if StreamEntry.objects.filter(cycle=cycle).exists():
        return
    rng = np.random.default_rng(cycle.month.toordinal() + 1)
    families = sorted(set(Product.objects.filter(active=True).values_list("family", flat=True)))
    months = [add_months(cycle.month, h) for h in range(_DEMO_STREAM_MONTHS)]
    keys = [(f, m) for f in families for m in months]
    marketing = rng.normal(0, 100 * _DEMO_MARKETING_NOISE / 2, len(keys)).round()
    sales = np.full(len(keys), 100 * _DEMO_SALES_BIAS)
    _family_entries(cycle, keys, {"sales": sales, "marketing": marketing}, OverrideKind.PERCENT)


def _family_entries(
    cycle: Cycle, keys: list, values: dict[str, np.ndarray], kind: str, authors: dict | None = None
) -> None:
    """Each stream's figures for the (family, month) `keys`, whole units or percent."""
    streams = {s.code: s for s in InputStream.objects.filter(code__in=list(values))}
    StreamEntry.objects.bulk_create(
        StreamEntry(
            cycle=cycle,
            stream=streams[code],
            level=OverrideLevel.FAMILY,
            family=family,
            month=month,
            kind=kind,
            value=Decimal(int(value)),
            comment=f"Demo: {code} input",
            author=(authors or {}).get(code),
        )
        for code, figures in values.items()
        if code in streams
        for (family, month), value in zip(keys, figures, strict=True)
    )
