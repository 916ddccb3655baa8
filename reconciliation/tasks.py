"""Celery tasks of the reconciliation: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from reconciliation import services


# One task per run: the recompute itself takes well under a second at 10,000
# SKU-locations, so chunking would only add queue round trips.
@shared_task
def scenario_run_execute(run_id: int) -> None:
    services.scenario_run_execute(run_id=run_id)


@shared_task
def scenario_runs_fail_stale() -> int:
    return services.scenario_runs_fail_stale()
