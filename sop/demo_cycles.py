"""The demo's past cycles, approved through the same stage machine as a real cycle.

Each past month is opened (`cycle_open`), started, and then handed to the step that owns
its stage (`Step.demo_past`): the demand step forecasts and submits, the supply step plans
and submits, the reconciliation recommends the base scenario and submits, the executive
approves through `plan_decide`, which freezes the plan. So the demo's executive pack
compares with last month's approved plan, and accuracy has frozen plans from the start.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth.models import AbstractBaseUser

from sop import tasks
from sop.choices import Role, Stage
from sop.demo import PAST_CYCLES
from sop.models import Cycle, SalesHistory
from sop.services import add_months, cycle_advance, cycle_open
from sop.steps import steps

logger = logging.getLogger(__name__)

# Past cycles are planned in this process up to this many series (the default demo has
# about 600; each past cycle costs a forecast, a supply plan and a scenario over all).
DEMO_HISTORY_MAX_SERIES = 2000


def demo_past_cycles_build(
    *, before: dt.date, users: dict[str, AbstractBaseUser], cycles: int = PAST_CYCLES
) -> list[Cycle]:
    """Approve the cycles of the `cycles` months before `before`, oldest first.

    `users` maps each role to the demo user who acts in it. An approved cycle is kept; one
    a failed seed left half way is walked on from its stage. A company too big to plan in
    this process gets none (logged).
    """
    series = (
        SalesHistory.objects.filter(month__lt=before, product__active=True)
        .values("product", "location")
        .distinct()
        .count()
    )
    if series > DEMO_HISTORY_MAX_SERIES:
        logger.info(
            "Demo: %s series is more than %s; no past cycles", series, DEMO_HISTORY_MAX_SERIES
        )
        return []
    by_stage = {step.stage: step for step in steps() if step.demo_past is not None}
    built = []
    with tasks.in_process():
        for k in range(cycles, 0, -1):
            month = add_months(before.replace(day=1), -k)
            cycle = Cycle.objects.filter(month=month).first()
            if cycle is None:
                cycle = cycle_open(month=month, user=users[Role.ADMIN])
            elif cycle.stage == Stage.APPROVED:
                continue
            if cycle.stage == Stage.DRAFT:
                cycle_advance(
                    cycle=cycle,
                    target=Stage.DEMAND_REVIEW,
                    user=users[Role.ADMIN],
                    comment="Demo: a past cycle.",
                )
            while cycle.stage != Stage.APPROVED:
                stage = cycle.stage
                if stage not in by_stage:
                    raise RuntimeError(f"No step finishes the {stage} of a demo cycle.")
                by_stage[stage].demo_past(cycle=cycle, users=users)
                cycle.refresh_from_db()
                if cycle.stage == stage:
                    raise RuntimeError(f"The demo's {stage} step left {cycle} where it was.")
            built.append(cycle)
    return built
