"""What the reconciliation services share: the stage rule and who is recorded as the author."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from reconciliation.models import Scenario
from sop.choices import Stage
from sop.models import Cycle

EDITABLE_STAGES = (Stage.RECONCILIATION,)


class ScenarioReadOnly(ValidationError):
    """The cycle's scenarios cannot change now (wrong stage, or the base plan)."""


def editable(scenario_or_cycle: Scenario | Cycle) -> Cycle:
    """The cycle of the scenario (or the cycle itself), refused outside the reconciliation."""
    cycle = getattr(scenario_or_cycle, "cycle", scenario_or_cycle)
    if cycle.stage not in EDITABLE_STAGES:
        raise ScenarioReadOnly(
            f"{cycle} is in {cycle.get_stage_display().lower()}: scenarios change only during "
            "the reconciliation."
        )
    return cycle
