"""The supply step's demo builder: the cycle's first supply plan."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from demand.models import ConsensusDemand
from sop.models import Cycle
from supply.models import SupplyRun
from supply.services.runs import supply_run_start


def supply_demo_build(*, cycle: Cycle, user: AbstractBaseUser | None = None) -> SupplyRun | None:
    """Post-seed step of the demo: the cycle's first supply plan, once it has consensus.

    Started as the system. Without Redis the forecast published the consensus before this
    step and the plan completes before it returns; with Redis the forecast may still be on
    the workers, and the supply planner starts the run from the page. Seeding again keeps
    the runs that exist.
    """
    if SupplyRun.objects.filter(cycle=cycle).exists():
        return None
    if not ConsensusDemand.objects.filter(cycle=cycle).exists():
        return None
    return supply_run_start(cycle=cycle, user=None)
