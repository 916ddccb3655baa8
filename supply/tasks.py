"""Celery tasks of the supply app: thin, they take ids and call a service."""

from __future__ import annotations

from sop.celery import app
from supply.services.edits import supply_recompute_pending


@app.task(name="supply.recompute")
def supply_recompute_task(cycle_id: int, product_ids: list[int], resource_ids: list[int]) -> int:
    """Recompute the published plan after a planner's edit (`supply_recompute_later`)."""
    return supply_recompute_pending(
        cycle_id=cycle_id, product_ids=product_ids, resource_ids=resource_ids
    )
