"""Time a planner's cell save on the demo, server side: an override and a planned-supply cell.

    python bench/cell_save_bench.py [--demo PATH] [--saves N] [--profile override|planned]

Works on a copy of the embedded demo's SQLite file (`manage.py demo` builds var/sop.sqlite3;
the copy is migrated, the demo itself is never written). Each save is the full POST the grid
sends (Django's test client: middleware, the service, the re-rendered grid partial), as the
demo's web process runs it: work sent to the background (`sop.background`) runs on its
threads, outside the timed request. Prints, per kind of cell, the median and 95th
percentile over N saves against the 300 ms goal; `--profile` prints the cProfile of one
kind's saves instead. The override saves a SKU's month in the open cycle's demand review;
then the cycle is submitted to the supply review (as the demand planner) and the planned
supply of a SKU-location's month is saved. Exit status non-zero when a goal is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 300.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=ROOT / "var" / "sop.sqlite3")
    parser.add_argument("--saves", type=int, default=20, help="saves to time per kind of cell")
    parser.add_argument("--profile", choices=["override", "planned"], default="")
    args = parser.parse_args(argv)
    if not args.demo.exists():
        raise SystemExit(f"No demo at {args.demo}: run `python3 manage.py demo` first.")
    with tempfile.TemporaryDirectory(prefix="cell-save-bench-") as tmp:
        copy = Path(tmp) / "demo.sqlite3"
        shutil.copyfile(args.demo, copy)
        _setup_django(copy)
        from django.test.utils import override_settings, setup_test_environment

        setup_test_environment()
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        with override_settings(
            STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                      "staticfiles": static},
            WHITENOISE_USE_FINDERS=True,
        ):  # fmt: skip
            results = run(args.saves, args.profile)
        _drain_background()
    for label, times in results.items():
        report(label, times)
    return 0 if all(_p95(t) <= GOAL_MS for t in results.values()) else 1


def _setup_django(path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from sop import background

    call_command("migrate", verbosity=0)
    # As in the demo's web process: tasks go to its background threads.
    background.enable()


def _drain_background() -> None:
    """Wait for the background work the saves started (the copy is deleted next)."""
    from sop import background

    background.drain()


def run(saves: int, profile: str) -> dict[str, list[float]]:
    from django.contrib.auth.models import User
    from django.test import Client

    from sop.choices import Stage
    from sop.models import Cycle
    from sop.services import cycle_advance

    cycle = Cycle.objects.exclude(stage=Stage.APPROVED).order_by("-month").first()
    if cycle is None or cycle.stage != Stage.DEMAND_REVIEW:
        raise SystemExit("The demo's open cycle is not in the demand review: rebuild the demo.")
    users = {u.username: u for u in User.objects.all()}
    results = {}
    demand = Client()
    demand.force_login(users["demand"])
    results["override"] = _time_saves(saves, _override_post(demand, cycle), profile == "override")
    cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=users["demand"])
    cycle.refresh_from_db()
    _wait_supply_run(cycle)
    supply = Client()
    supply.force_login(users["supply"])
    later: list[float] = []
    results["planned supply"] = _time_saves(
        saves, _planned_post(supply, cycle), profile == "planned", later
    )
    print(
        f"planned supply: the background recompute was done {statistics.median(later):.0f} ms "
        f"(median, p95 {_p95(later):.0f} ms) after the save answered"
    )
    return results


def _busiest_series(cycle):
    """The SKU-location with the most demand in the cycle's horizon (the biggest group)."""
    from django.db.models import Sum

    from demand.models import ConsensusDemand

    return (
        ConsensusDemand.objects.filter(cycle=cycle)
        .values("product", "location")
        .annotate(total=Sum("value"))
        .order_by("-total")
        .first()
    )


def _override_post(client, cycle) -> Callable[[int], int]:
    from django.urls import reverse

    from demand.models import DemandOverride
    from sop.models import Product

    product = Product.objects.get(pk=_busiest_series(cycle)["product"])
    url = reverse("demand:override_save", args=[cycle.pk])
    month = f"{cycle.month:%Y-%m-%d}"

    def post(i: int) -> int:
        current = DemandOverride.objects.filter(
            cycle=cycle, product=product, location=None, month=cycle.month
        ).first()
        return client.post(
            url,
            {
                "family": product.family,
                "sku": product.pk,
                "month": month,
                "value": "+5%" if i % 2 else "-5%",
                "version": current.version if current else "",
                "reason": "promotion",
                "comment": "Bench",
            },
        ).status_code

    return post


def _planned_post(client, cycle) -> Callable[[int], int]:
    from django.urls import reverse

    from supply.models import InventoryProjection, PlannedSupplyEdit, SupplyRun

    series = _busiest_series(cycle)
    run = SupplyRun.objects.get(cycle=cycle, is_published=True)
    planned = InventoryProjection.objects.get(
        run=run, product=series["product"], location=series["location"], month=cycle.month
    ).planned
    url = reverse("supply:planned_save", args=[cycle.pk])
    month = f"{cycle.month:%Y-%m-%d}"

    def post(i: int) -> int:
        current = PlannedSupplyEdit.objects.filter(
            cycle=cycle, product=series["product"], location=series["location"], month=cycle.month
        ).first()
        return client.post(
            url,
            {
                "product": series["product"],
                "sku": series["product"],
                "location": series["location"],
                "month": month,
                "quantity": f"{round(planned) + i % 2}",
                "version": current.version if current else "",
                "reason": "capacity",
                "comment": "Bench",
            },
        ).status_code

    return post


def _wait_supply_run(cycle) -> None:
    from sop.runs import run_wait
    from supply.models import SupplyRun

    run = SupplyRun.objects.filter(cycle=cycle).order_by("-pk").first()
    if run is not None:
        run_wait(run, timeout=300, label="supply run")


def _time_saves(
    saves: int, post: Callable[[int], int], profile: bool, later: list[float] | None = None
) -> list[float]:
    """Server time of each save; `later` gets the time until its background work is done.

    Each save waits for the previous one's background recompute, as a planner's next cell
    comes seconds later; with `later` None there is none to wait for.
    """
    post(0)  # warm: templates compiled, plotly imported
    _wait_recomputed()
    profiler = cProfile.Profile() if profile else None
    times = []
    for i in range(1, saves + 1):
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        status = post(i)
        times.append(1000 * (time.perf_counter() - started))
        if profiler:
            profiler.disable()
        if status != 200:
            raise SystemExit(f"save {i} answered {status}")
        if later is not None:
            later.append(1000 * _wait_recomputed())
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"/work/wt|sop|demand|supply", 40)
        stats.sort_stats("tottime").print_stats(15)
    return times


def _wait_recomputed(timeout: float = 120) -> float:
    """Seconds until no SKU waits for a background recompute (`supply.models.PlanRecompute`)."""
    from supply.models import PlanRecompute

    started = time.perf_counter()
    while PlanRecompute.objects.exists():
        if time.perf_counter() - started > timeout:
            raise SystemExit("The background recompute did not finish.")
        time.sleep(0.02)
    return time.perf_counter() - started


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def report(label: str, times: list[float]) -> None:
    verdict = "ok" if _p95(times) <= GOAL_MS else f"over the {GOAL_MS:.0f} ms goal"
    print(
        f"{label} cell save: median {statistics.median(times):.0f} ms, "
        f"p95 {_p95(times):.0f} ms, max {max(times):.0f} ms over {len(times)} saves ({verdict})"
    )


if __name__ == "__main__":
    sys.exit(main())
