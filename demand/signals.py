"""Signal receivers of the demand app; each hands over to a service."""

from __future__ import annotations

from demand import services
from sop.choices import Stage


def freeze_plan_on_submit(sender, instance, created, **kwargs) -> None:
    """Freeze the demand plan when the demand review is submitted.

    A receiver because the transition is written by the core's cycle_advance; it runs in
    the same transaction, so the snapshot and the stage change commit together.
    """
    if created and instance.from_stage == Stage.DEMAND_REVIEW:
        services.demand_plan_freeze(cycle=instance.cycle)
