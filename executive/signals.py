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


def on_cycle_delete(sender, instance, **kwargs) -> None:
    """An approved cycle being deleted whole may take its frozen rows with it.

    Django sends pre_delete inside the deletion's transaction and before it deletes the
    cycle's rows, so the database's guard learns of the deletion in time.
    """
    if instance.stage == Stage.APPROVED:
        from executive import services

        services.cycle_delete_release(cycle=instance)
