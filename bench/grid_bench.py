"""Time the multi-row grids (demand family grid, supply grid) on the demo, server side.

    SOP_NO_BOOTSTRAP=1 python bench/grid_bench.py [--requests N]

Reads the database the settings point at (the embedded demo's SQLite file unless
DATABASE_URL says otherwise; build it with `manage.py demo`); only GETs, nothing is
written. Times N requests of each layer and sort of the largest family's demand grid (as
the demand planner: the override layer has its inputs) and of the supply grid (as the
supply planner), with Django's test client in process: the full request, middleware,
queries, pandas and template. Prints the median wall and CPU time of each against the
500 ms goal; the first request of each page (cold caches) is reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_MS = 500.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from demand.choices import GridLayer, GridSort
    from demand.models import ConsensusDemand
    from sop.selectors import cycle_current
    from supply.choices import GridLayer as SupplyLayer
    from supply.choices import GridSort as SupplySort

    cycle = cycle_current()
    if cycle is None:
        print("No cycle: build the demo first (manage.py demo).")
        return 1
    family = (
        ConsensusDemand.objects.filter(cycle=cycle, month=cycle.month)
        .values("product__family")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    users = get_user_model().objects
    pages = [
        (
            "demand",
            f"demand grid {family['product__family']} ({family['n']} series) {layer}/{sort}",
            f"/demand/grid/?cycle={cycle.pk}&family={family['product__family']}"
            f"&layer={layer}&sort={sort}",
        )
        for layer in GridLayer.values
        for sort in GridSort.values
    ] + [
        (
            "supply",
            f"supply grid {layer}/{sort}",
            f"/supply/grid/?cycle={cycle.pk}&layer={layer}&sort={sort}",
        )
        for layer in SupplyLayer.values
        for sort in SupplySort.values
    ]
    print(f"{cycle} ({cycle.get_stage_display()}), load average {os.getloadavg()[0]:.1f}")
    missed = 0
    for username, label, url in pages:
        client = Client()
        client.force_login(users.get(username=username))
        times = []
        for _ in range(args.requests + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
            assert response.status_code == 200, (url, response.status_code)
        first, rest = times[0], times[1:]
        wall = statistics.median(t[0] for t in rest)
        cpu = statistics.median(t[1] for t in rest)
        missed += cpu > GOAL_MS
        print(
            f"{label:60} median {wall:6.0f} ms wall, {cpu:5.0f} ms CPU "
            f"(first {first[0]:.0f} ms), {len(response.content) // 1024} KB"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
