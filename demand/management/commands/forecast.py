"""Start a forecast run for a cycle from the command line, optionally waiting for it."""

from __future__ import annotations

import datetime as dt
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demand import services
from demand.constants import CHUNK_SERIES
from sop.models import Cycle
from sop.runs import run_wait
from sop.selectors import cycle_current


class Command(BaseCommand):
    help = "Run the statistical forecast of a cycle (on the Celery workers when REDIS_URL is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", help="YYYY-MM (default: the current cycle)")
        parser.add_argument("--chunk-series", type=int, default=CHUNK_SERIES)
        parser.add_argument(
            "--wait", type=float, default=0, help="seconds to wait for the run to finish"
        )

    def handle(self, *args, cycle, chunk_series, wait, **options) -> None:
        if cycle:
            month = dt.date.fromisoformat(f"{cycle}-01")
            target = Cycle.objects.filter(month=month).first()
        else:
            target = cycle_current()
        if target is None:
            raise CommandError("No such cycle.")
        started = time.perf_counter()
        try:
            run = services.forecast_run_start(cycle=target, user=None, chunk_series=chunk_series)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Forecast run {run.pk} of {target} started.")
        if wait:
            run = run_wait(run, timeout=wait)
            self.stdout.write(
                f"Run {run.pk} {run.status}: {run.series_count} series in {run.chunks_total} "
                f"chunks, {time.perf_counter() - started:.1f} s."
            )
            if run.error:
                raise CommandError(run.error)
