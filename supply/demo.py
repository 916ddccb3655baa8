"""The supply step's demo builders: a past cycle's supply review, the cycle's first plan."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from demand.models import ConsensusDemand
from sop.choices import Role, Stage
from sop.models import Cycle
from sop.services import cycle_advance
from sop.tasks import run_now
from supply.models import SupplyRun
from supply.services.runs import SUPPLY_RUN, supply_run_start


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


def supply_demo_past(*, cycle: Cycle, users: dict[str, AbstractBaseUser]) -> None:
    """A past cycle's supply review in the demo: plan on its consensus, then submit."""
    if not SupplyRun.objects.filter(cycle=cycle, is_published=True).exists():
        run = supply_run_start(cycle=cycle, user=None)
        run_now(SUPPLY_RUN.name, run.pk)  # a run the queue already claimed is left alone
    cycle_advance(
        cycle=cycle,
        target=Stage.RECONCILIATION,
        user=users[Role.SUPPLY_PLANNER],
        comment="Demo: supply plan submitted.",
    )
