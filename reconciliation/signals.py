"""Signal receivers of the reconciliation; each hands over to a service."""

from __future__ import annotations

from django.db import transaction

from sop.choices import Stage


def on_cycle_transition(sender, instance, created, **kwargs) -> None:
    """Compute the base scenario as soon as the cycle enters the reconciliation.

    After commit, so that the run sees the stage change; a cycle without a published
    supply plan simply has no base figures until someone runs it.
    """
    if created and instance.to_stage == Stage.RECONCILIATION:
        from reconciliation import services

        cycle = instance.cycle
        transaction.on_commit(lambda: services.scenario_start_base(cycle=cycle))
