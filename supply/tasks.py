"""Celery tasks of the supply app: thin wrappers that take ids and call services."""

from __future__ import annotations

import traceback

from celery import chord, shared_task

from supply import services


@shared_task
def supply_run_execute(run_id: int, chunk_rows: int) -> None:
    """Split the run into chunks of resource-linked SKUs and fan them out; then publish."""
    try:
        chunks = services.supply_run_plan(run_id=run_id, chunk_rows=chunk_rows)
    except Exception:
        services.supply_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    if chunks:
        chord(
            supply_chunk.si(run_id, index, chunk["products"], chunk["resources"])
            for index, chunk in enumerate(chunks)
        )(supply_run_finish.si(run_id))


# acks_late + reject_on_worker_lost (settings): a chunk whose worker dies is redelivered.
@shared_task
def supply_chunk(run_id: int, chunk: int, product_ids: list[int], resource_ids: list[int]) -> bool:
    try:
        return services.supply_chunk_process(
            run_id=run_id, chunk=chunk, product_ids=product_ids, resource_ids=resource_ids
        )
    except Exception:
        # Recorded on the run, not raised: a raised error would stop the chord's callback,
        # and the page reads the run row, not the queue.
        services.supply_run_fail(
            run_id=run_id, error=f"Chunk {chunk} failed:\n{traceback.format_exc()}"
        )
        return False


@shared_task
def supply_run_finish(run_id: int) -> None:
    services.supply_run_publish(run_id=run_id)


@shared_task
def supply_runs_fail_stale() -> int:
    return services.supply_runs_fail_stale()
