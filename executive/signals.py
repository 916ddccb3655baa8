"""The executive app's one signal receiver: a database guard, not a workflow step."""

from __future__ import annotations

from sop.choices import Stage


def on_cycle_delete(sender, instance, **kwargs) -> None:
    """An approved cycle being deleted whole may take its frozen rows with it.

    Django sends pre_delete inside the deletion's transaction and before it deletes the
    cycle's rows, so the database's guard learns of the deletion in time.
    """
    if instance.stage == Stage.APPROVED:
        from executive import services

        services.cycle_delete_release(cycle=instance)
