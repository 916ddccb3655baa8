"""Celery tasks of the demand app: thin wrappers that take ids and call services."""

from __future__ import annotations

import traceback

from celery import chord, shared_task

from demand import services


@shared_task
def forecast_run_execute(run_id: int, chunk_series: int) -> None:
    """Split the run into chunks and fan them out; the last step publishes."""
    try:
        chunks = services.forecast_run_plan(run_id=run_id, chunk_series=chunk_series)
    except Exception:
        services.forecast_run_fail(run_id=run_id, error=traceback.format_exc())
        raise
    if chunks:
        # A chord: every worker takes chunks from the queue; publish runs once after all.
        chord(
            forecast_chunk.si(run_id, index, product_ids)
            for index, product_ids in enumerate(chunks)
        )(forecast_run_finish.si(run_id))


# acks_late + reject_on_worker_lost (settings): a chunk whose worker dies is redelivered.
@shared_task
def forecast_chunk(run_id: int, chunk: int, product_ids: list[int]) -> bool:
    try:
        return services.forecast_chunk_process(run_id=run_id, chunk=chunk, product_ids=product_ids)
    except Exception:
        # Record the failure on the run instead of raising: a raised error would stop
        # the chord's callback, and the page reads the run row, not the queue.
        services.forecast_run_fail(
            run_id=run_id, error=f"Chunk {chunk} failed:\n{traceback.format_exc()}"
        )
        return False


@shared_task
def forecast_run_finish(run_id: int) -> None:
    services.forecast_run_publish(run_id=run_id)


@shared_task
def forecast_runs_fail_stale() -> int:
    return services.forecast_runs_fail_stale()
