"""Time the executive sign-off page on the default demo data, server side.

    python bench/executive_bench.py [--database NAME] [--requests N] [--fresh]

Seeds the default demo company (`manage.py seed_demo`: 200 SKUs at 3 locations, past
approved cycles, the first forecast and supply runs) into a PostgreSQL database of its own
(default sop_executive_bench, created and migrated; never the development database), then
walks the open cycle through the stages as each role would: the demand and supply plans
submitted, the base scenario computed and recommended, the plan submitted to the executive
review. Each run ends by approving that plan, so the next one empties the database and
seeds again (about two minutes); --fresh does so regardless.

Times N GETs of the sign-off page with Django's test client as the executive (the full
request: middleware, queries, pandas, plotly JSON, template) and prints the median and
95th percentile against the 500 ms goal with the query count; then approves the plan
(timing the freeze), times the page of the approved cycle, and checks that the ERP
export hashes to the approval's checksum. Exit status non-zero when a goal is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.projection_bench import _setup_django

DATABASE = "sop_executive_bench"
GOAL_MS = 500.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database of the bench")
    parser.add_argument("--requests", type=int, default=20, help="GETs to time per page")
    parser.add_argument("--fresh", action="store_true", help="drop what an earlier run left")
    args = parser.parse_args(argv)
    _setup_django(args.database)

    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()  # the test client's host, without touching the database
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": static},
        WHITENOISE_USE_FINDERS=True,
    ):  # fmt: skip
        cycle = _prepare(fresh=args.fresh)
        review = time_page(cycle, args.requests)
        report("in executive review", review)
        freeze_ms, checksum_ok = approve(cycle)
        print(f"approval (freeze + checksum): {freeze_ms:.0f} ms; export matches: {checksum_ok}")
        approved = time_page(cycle, args.requests)
        report("approved (frozen plan)", approved)
    ok = checksum_ok and all(stats["p95"] <= GOAL_MS for stats in (review, approved))
    return 0 if ok else 1


def _prepare(*, fresh: bool):
    """The demo company with its open cycle in executive review (seeded when missing)."""
    from django.core.management import call_command

    from sop.choices import Stage
    from sop.models import Cycle

    if fresh:
        call_command("flush", interactive=False, verbosity=0)
    cycle = Cycle.objects.exclude(stage=Stage.APPROVED).order_by("-month").first()
    if cycle is None:
        if Cycle.objects.exists():
            # An earlier run approved it: start again from an empty database.
            call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        call_command("seed_demo", verbosity=0)
        print(f"seeded the default demo in {time.perf_counter() - started:.1f} s")
        cycle = Cycle.objects.exclude(stage=Stage.APPROVED).order_by("-month").first()
    walk_to_review(cycle)
    cycle.refresh_from_db()
    print(f"{cycle}: {cycle.get_stage_display()}, {_size(cycle)}")
    return cycle


def walk_to_review(cycle) -> None:
    """Submit each stage as its owner, computing and recommending the base scenario."""
    from django.contrib.auth.models import User

    from reconciliation import services as recon
    from sop.choices import Stage
    from sop.services import cycle_advance

    users = {u.username: u for u in User.objects.all()}
    if cycle.stage == Stage.DEMAND_REVIEW:
        cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=users["demand"])
    if cycle.stage == Stage.SUPPLY_REVIEW:
        # The base scenario starts on commit and runs in-process (no broker in the bench).
        cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=users["supply"])
    if cycle.stage == Stage.RECONCILIATION:
        base = recon.scenario_base(cycle=cycle)
        if not base.runs.filter(is_published=True).exists():
            recon.scenario_run_start(scenario=base, user=users["finance"])
        if not base.recommended:
            recon.scenario_recommend(scenario=base, user=users["finance"])
        cycle_advance(cycle=cycle, target=Stage.EXECUTIVE_REVIEW, user=users["finance"])


def _size(cycle) -> str:
    from demand.models import ConsensusDemand

    series = ConsensusDemand.objects.filter(cycle=cycle).values("product", "location").distinct()
    return f"{series.count()} SKU-locations x {cycle.horizon_months} months"


def time_page(cycle, requests: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(User.objects.get(username="exec"))
    url = f"{reverse('executive:signoff')}?cycle={cycle.pk}"
    client.get(url)  # warm: templates compiled, plotly imported
    times, queries = [], set()
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(1000 * (time.perf_counter() - started))
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        queries.add(len(captured))
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "queries": sorted(queries),
        "n": requests,
    }


def report(label: str, stats: dict) -> None:
    verdict = "ok" if stats["p95"] <= GOAL_MS else f"over the {GOAL_MS:.0f} ms goal"
    print(
        f"sign-off page, {label}: median {stats['median']:.0f} ms, p95 {stats['p95']:.0f} ms, "
        f"max {stats['max']:.0f} ms over {stats['n']} GETs; "
        f"{', '.join(map(str, stats['queries']))} queries ({verdict})"
    )


def approve(cycle) -> tuple[float, bool]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from executive import services

    started = time.perf_counter()
    services.plan_decide(
        cycle=cycle, user=User.objects.get(username="exec"), approve=True, comment="Bench"
    )
    elapsed = 1000 * (time.perf_counter() - started)
    cycle.refresh_from_db()
    approval = cycle.approval
    client = Client()
    client.force_login(User.objects.get(username="exec"))
    body = client.get(reverse("executive:approved_export", args=[approval.pk, "csv"])).content
    print(f"frozen: {approval.line_count} plan lines; export {len(body):,} bytes")
    return elapsed, hashlib.sha256(body).hexdigest() == approval.checksum


if __name__ == "__main__":
    sys.exit(main())
