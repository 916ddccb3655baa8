"""The supply review's declaration to the core (see `sop.steps`)."""

from __future__ import annotations

from sop.choices import Stage
from sop.steps import Checklist, Step, StepRun
from supply import demo, selectors, services, views

STEP = Step(
    name="supply",
    stage=Stage.SUPPLY_REVIEW,
    gate=selectors.supply_gate,
    checklist=(
        Checklist(
            Stage.SUPPLY_REVIEW,
            (
                "Supply plan run on the current consensus",
                "Capacity entered for every routed resource",
                "Supply edits",
            ),
            selectors.supply_checklist,
        ),
    ),
    demo=demo.supply_demo_build,
    demo_past=demo.supply_demo_past,
    runs=(StepRun(services.SUPPLY_RUN, views.RUN_PANEL),),
)
