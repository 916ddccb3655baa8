"""The reconciliation's demo builder: a past cycle's reconciliation."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from reconciliation import services
from sop.choices import Role, Stage
from sop.models import Cycle
from sop.services import cycle_advance
from sop.tasks import run_now


def reconciliation_demo_past(*, cycle: Cycle, users: dict[str, AbstractBaseUser]) -> None:
    """A past cycle's reconciliation in the demo: recommend the base plan, then submit.

    Entering the stage computed the base scenario (the step's `after_enter`); it is run
    again only if that did not publish.
    """
    finance = users[Role.FINANCE]
    base = services.scenario_base(cycle=cycle)
    if not base.runs.filter(is_published=True).exists():
        run = services.scenario_run_start(scenario=base, user=finance)
        run_now(services.SCENARIO_RUN.name, run.pk)  # a run the queue claimed is left alone
    if not base.recommended:
        services.scenario_recommend(scenario=base, user=finance)
    cycle_advance(
        cycle=cycle,
        target=Stage.EXECUTIVE_REVIEW,
        user=finance,
        comment="Demo: the base plan, recommended.",
    )
