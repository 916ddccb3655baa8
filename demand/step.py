"""The demand review's declaration to the core (see `sop.steps`)."""

from __future__ import annotations

from demand import demo, selectors, services, views
from sop.choices import Stage
from sop.models import Cycle, CycleTransition
from sop.steps import Checklist, Step, StepRun


def _on_enter(transition: CycleTransition) -> None:
    # Carried when the review starts, not when the cycle opens, so that the copy holds the
    # previous cycle's plan as it was finally approved.
    services.overrides_carry_over(cycle=transition.cycle)


def _on_leave(transition: CycleTransition) -> None:
    services.demand_plan_freeze(cycle=transition.cycle)


def _on_calendar() -> None:
    # Confirmed events are a layer of the consensus: a plan under review takes a change of
    # the calendar at once (the history's cleansing waits for the next forecast run).
    for cycle in Cycle.objects.filter(stage=Stage.DEMAND_REVIEW):
        services.consensus_rebuild(cycle=cycle)


STEP = Step(
    name="demand",
    stage=Stage.DEMAND_REVIEW,
    gate=selectors.forecast_gate,
    checklist=(
        Checklist(
            Stage.DEMAND_REVIEW,
            ("Statistical forecast published", "Overrides reviewed", "Consensus demand built"),
            selectors.demand_checklist,
        ),
    ),
    on_enter=_on_enter,
    on_leave=_on_leave,
    on_calendar=_on_calendar,
    demo=demo.demand_demo_build,
    demo_past=demo.demand_demo_past,
    runs=(StepRun(services.FORECAST_RUN, views.RUN_PANEL),),
)
