"""The reconciliation's declaration to the core (see `sop.steps`)."""

from __future__ import annotations

from typing import Any

from reconciliation import demo, selectors, services, views
from sop.choices import Stage
from sop.models import Cycle, CycleTransition
from sop.steps import Checklist, Step, StepRun


def _on_open(cycle: Cycle) -> dict[str, Any]:
    return {
        "carried_decisions": services.decisions_carry_over(cycle=cycle),
        "carried_risks": services.risks_carry_over(cycle=cycle),
    }


def _after_enter(transition: CycleTransition) -> None:
    # After commit, so that the run sees the stage change; a cycle without a published
    # supply plan simply has no base figures until someone runs it.
    services.scenario_start_base(cycle=transition.cycle)


STEP = Step(
    name="reconciliation",
    stage=Stage.RECONCILIATION,
    gate=selectors.reconciliation_gate,
    checklist=(
        # What opening the cycle carried over is listed with the draft.
        Checklist(
            Stage.DRAFT,
            ("Assumptions and risks carried over",),
            selectors.decisions_carried_checklist,
        ),
        Checklist(
            Stage.RECONCILIATION,
            ("Scenario recommended and current", "Decision log"),
            selectors.reconciliation_checklist,
        ),
    ),
    answers=selectors.send_back_answers,
    on_open=_on_open,
    after_enter=_after_enter,
    demo_past=demo.reconciliation_demo_past,
    runs=(StepRun(services.SCENARIO_RUN, views.RUN_PANEL),),
)
