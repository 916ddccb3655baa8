"""Signal receivers of the demand app; each hands over to a service."""

from __future__ import annotations

from demand import services
from sop.choices import Stage


def on_cycle_transition(sender, instance, created, **kwargs) -> None:
    """Carry overrides over when the demand review starts; freeze the plan when it ends.

    A receiver because the transition is written by the core's cycle_advance; it runs in
    the same transaction, so these writes and the stage change commit together.
    """
    if not created:
        return
    if instance.to_stage == Stage.DEMAND_REVIEW:
        services.overrides_carry_over(cycle=instance.cycle)
    elif instance.from_stage == Stage.DEMAND_REVIEW:
        services.demand_plan_freeze(cycle=instance.cycle)
