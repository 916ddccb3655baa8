"""Signal receivers of the executive app; each hands over to a service."""

from __future__ import annotations

from sop.choices import Stage


def on_cycle_transition(sender, instance, created, **kwargs) -> None:
    """Freeze the plan when a cycle is approved, whichever path approved it.

    A receiver because the transition is written by the core's cycle_advance; it runs in
    the same transaction before the stage is saved, so a refusal here (no current
    recommended scenario) rolls the approval back.
    """
    if created and instance.to_stage == Stage.APPROVED:
        from executive import services

        services.plan_freeze(transition=instance)
