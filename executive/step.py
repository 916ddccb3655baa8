"""The executive review's declaration to the core (see `sop.steps`)."""

from __future__ import annotations

from executive import demo, selectors, services
from sop.choices import Stage
from sop.models import CycleTransition
from sop.steps import Checklist, Step


def _on_leave(transition: CycleTransition) -> None:
    # Whichever path approved it (plan_decide or the cycle page), an approved plan is
    # frozen in the approval's transaction; a send-back freezes nothing.
    if transition.to_stage == Stage.APPROVED:
        services.plan_freeze(transition=transition)


STEP = Step(
    name="executive",
    stage=Stage.EXECUTIVE_REVIEW,
    checklist=(
        Checklist(Stage.EXECUTIVE_REVIEW, ("Plan approved",), selectors.approval_checklist),
    ),
    on_leave=_on_leave,
    demo_past=demo.executive_demo_past,
)
