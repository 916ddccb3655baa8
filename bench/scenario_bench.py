"""Benchmark a what-if scenario end to end on the 10,000 SKU-location demo scale.

    python bench/scenario_bench.py [--skus N] [--months N] [--database NAME] [--reuse]
    python bench/scenario_bench.py --celery        # the run on a real worker (REDIS_URL)

Seeds the company of `projection_bench.py --e2e` into a PostgreSQL database of its own
(default sop_scenario_bench, created and migrated; never the development database),
publishes its supply plan, and submits the supply review as a supply planner, which
computes the base scenario. Then times one scenario from creation to its published result:
demand +10 % for one family, -20 % capacity on the busiest work centre and ten more days
of lead time from one supplier -> `scenario_create` -> `scenario_run_start` -> the run
(in-process by default; with --celery on a Celery worker of its own) -> published. Then a
supplier disruption the same way: one supplier unavailable for three months, as the
primary of the items bought from it and as an alternate source (a fifth of the
SKU-locations have alternates), so the plan reroutes to the other alternates.

Prints each phase, the total against the 20 s goal, and a sha256 of the published supply
run's rows, the cycle's consensus demand and the base scenario's result, taken before and
after the scenario: the exit status is non-zero unless they are identical and the goal met.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import phase_timer
from bench.projection_bench import WORK_CENTRES, _setup_django, make_inputs, seed_company

GOAL_SECONDS = 20.0
DATABASE = "sop_scenario_bench"
REPO = Path(__file__).resolve().parents[1]
SCENARIO = "Bench what-if"
FAMILY = "Family 3"
RESOURCE = WORK_CENTRES[0]
SUPPLIER = "S03"
DISRUPTED = "S05"
WORKER_READY_SECONDS = 120


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000, help="SKU-locations")
    parser.add_argument("--months", type=int, default=18, help="horizon in months")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database of the bench")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the company an earlier run left, if any"
    )
    parser.add_argument("--celery", action="store_true", help="run on a Celery worker (REDIS_URL)")
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL")
    if args.celery and not redis_url:
        raise SystemExit("--celery needs REDIS_URL (a Redis the worker and the bench share)")
    _setup_django(args.database)

    cycle = _reusable_cycle(args.skus) if args.reuse else None
    if cycle is None:
        cycle = _prepare(args)
    else:
        print(f"reusing cycle {cycle} of {args.database} (seed and base not timed)")
    before = plan_digests(cycle)

    worker = None
    if args.celery:
        worker = _start_worker(redis_url)
    try:
        timed_runs = [
            time_scenario(cycle, SCENARIO, bench_deltas(cycle)),
            time_scenario(cycle, "Bench supplier disruption", disruption_deltas(cycle)),
        ]
    finally:
        if worker is not None:
            _stop_worker(worker)
    after = plan_digests(cycle)
    status = 0
    for run, total, phases in timed_runs:
        status |= report(run, total, phases, before, after, on_worker=worker is not None)
    return status


# --- set-up (not timed) -------------------------------------------------------------------


def _reusable_cycle(skus: int):
    """The cycle an earlier run left in the reconciliation with its base computed, or None."""
    from reconciliation.models import ScenarioRun
    from sop.choices import Stage
    from sop.models import Cycle, Product

    cycle = Cycle.objects.filter(stage=Stage.RECONCILIATION).first()
    if cycle is None or Product.objects.count() != skus:
        return None
    if not ScenarioRun.objects.filter(cycle=cycle, scenario__is_base=True, is_published=True):
        return None
    return cycle


def _prepare(args: argparse.Namespace):
    """Seed the company, publish its supply plan, submit it: the base scenario runs."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from reconciliation.models import ScenarioLine, ScenarioRun
    from sop import services as sop_services
    from sop.choices import Role, Stage
    from sop.runs import run_wait
    from supply import services as supply_services

    started = time.perf_counter()
    # The seed truncates the runs; their plan lines have no constraint to cascade through.
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {connection.ops.quote_name(ScenarioLine._meta.db_table)}")
    cycle = seed_company(make_inputs(args.skus, args.months, args.seed), seed=args.seed)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeded = time.perf_counter() - started
    t0 = time.perf_counter()
    supply = supply_services.supply_run_start(cycle=cycle, user=None)
    supply = run_wait(supply, timeout=600)
    supply_seconds = time.perf_counter() - t0
    planner, _ = User.objects.get_or_create(username="bench-supply")
    planner.groups.add(Group.objects.get(name=str(Role.SUPPLY_PLANNER)))
    planner = User.objects.get(pk=planner.pk)  # forget cached permissions
    t0 = time.perf_counter()
    sop_services.cycle_advance(cycle=cycle, target=Stage.RECONCILIATION, user=planner)
    base = ScenarioRun.objects.get(cycle=cycle, scenario__is_base=True)
    base_seconds = time.perf_counter() - t0
    print(
        f"seeded {args.skus:,} SKU-locations x {args.months} months into "
        f"{connection.settings_dict['NAME']} in {seeded:.1f} s; supply run {supply.pk} "
        f"{supply.status} in {supply_seconds:.1f} s; supply review submitted, base scenario "
        f"{base.status} in {base_seconds:.1f} s (none of this is timed below)"
    )
    cycle.refresh_from_db()
    return cycle


# --- the byte-identical check -------------------------------------------------------------


def _digest(queryset, order: Sequence[str]) -> tuple[str, int]:
    """sha256 of every field of every row, in a fixed order, with each value's type."""
    fields = [f.attname for f in queryset.model._meta.concrete_fields]
    digest = hashlib.sha256()
    count = 0
    rows = queryset.order_by(*order).values_list(*fields)
    for row in rows.iterator(chunk_size=20_000):
        # repr keeps the type: 1.0, Decimal('1.000') and datetime.date(...) all differ.
        digest.update(repr(row).encode())
        digest.update(b"\n")
        count += 1
    return digest.hexdigest(), count


def plan_digests(cycle) -> dict[str, tuple[str, int]]:
    """Digests of the base plan's published numbers: what no scenario may change."""
    from demand.models import ConsensusDemand
    from reconciliation.models import (
        ScenarioFamilyMonth,
        ScenarioLine,
        ScenarioResourceMonth,
        ScenarioRun,
    )
    from supply.models import CapacityLoad, InventoryProjection, StockTarget, SupplyRun

    run = SupplyRun.objects.get(cycle=cycle, is_published=True)
    base = ScenarioRun.objects.get(cycle=cycle, scenario__is_base=True, is_published=True)
    natural = ["product_id", "location_id", "month"]
    return {
        "supply run: InventoryProjection": _digest(
            InventoryProjection.objects.filter(run=run), natural
        ),
        "supply run: StockTarget": _digest(
            StockTarget.objects.filter(run=run), ["product_id", "location_id"]
        ),
        "supply run: CapacityLoad": _digest(
            CapacityLoad.objects.filter(run=run), ["resource_id", "month"]
        ),
        "cycle: ConsensusDemand": _digest(ConsensusDemand.objects.filter(cycle=cycle), natural),
        "base scenario: ScenarioRun": _digest(ScenarioRun.objects.filter(pk=base.pk), ["id"]),
        "base scenario: ScenarioLine": _digest(ScenarioLine.objects.filter(run=base), natural),
        "base scenario: ScenarioFamilyMonth": _digest(
            ScenarioFamilyMonth.objects.filter(run=base), ["family", "month"]
        ),
        "base scenario: ScenarioResourceMonth": _digest(
            ScenarioResourceMonth.objects.filter(run=base), ["resource_id", "month"]
        ),
    }


# --- the timed scenario --------------------------------------------------------------------


def bench_deltas(cycle) -> list[dict]:
    """Demand +10 % on one family, -20 % on one work centre, +10 days from one supplier."""
    from sop.services import add_months

    start = cycle.month.isoformat()
    end = add_months(cycle.month, cycle.horizon_months - 1).isoformat()
    return [
        {"kind": "demand", "family": FAMILY, "percent": 10, "start": start, "end": end},
        {"kind": "capacity", "resource": RESOURCE, "percent": -20, "start": start, "end": end},
        {"kind": "lead_time", "supplier": SUPPLIER, "days": 10},
    ]


def disruption_deltas(cycle) -> list[dict]:
    """One supplier unavailable from the cycle's second month to its fourth."""
    from sop.services import add_months

    start = add_months(cycle.month, 1).isoformat()
    end = add_months(cycle.month, 3).isoformat()
    return [{"kind": "source", "supplier": DISRUPTED, "start": start, "end": end}]


def time_scenario(cycle, name: str, deltas: list[dict]):
    """Create the scenario, run it, wait for its result; the run, seconds and phases."""
    from reconciliation import scenarios as engine
    from reconciliation import selectors, services
    from reconciliation.models import Scenario
    from reconciliation.services import runs as scenario_runs
    from sop import runs
    from sop.runs import run_wait

    # With --reuse, earlier benches' what-ifs are kept and this one takes the next number.
    scenario_name = f"{name} {Scenario.objects.filter(cycle=cycle).count()}"
    phases: dict[str, float] = {}
    timed = phase_timer(phases)
    # In-process only: a run executed by a Celery worker is not wrapped. Each function is
    # patched where it is looked up; the kind's publish is replaced in the kernel's registry.
    patches = [
        (services, "scenario_create", "create the scenario"),
        (scenario_runs, "plan_basis", "fingerprint the basis"),
        (selectors, "supply_plan_inputs", "read the plan from PostgreSQL"),
        (selectors, "plan_labels", "read the labels (family, supplier)"),
        (engine, "run_scenario", "compute (deltas, supply, money)"),
        (scenario_runs, "_write", "write (COPY)"),
    ]
    originals = [(module, attr, getattr(module, attr)) for module, attr, _ in patches]
    for module, attr, label in patches:
        setattr(module, attr, timed(label, getattr(module, attr)))
    kind = scenario_runs.SCENARIO_RUN
    runs.register(dataclasses.replace(kind, publish=timed("publish", kind.publish)))
    try:
        t0 = time.perf_counter()
        scenario = services.scenario_create(
            cycle=cycle, name=scenario_name, user=None, deltas=deltas
        )
        run = services.scenario_run_start(scenario=scenario, user=None)
        run = run_wait(run, timeout=600, poll_seconds=0.05)
        total = time.perf_counter() - t0
    finally:
        runs.register(kind)
        for module, attr, func in originals:
            setattr(module, attr, func)
    return run, total, phases


def report(run, total, phases, before, after, *, on_worker: bool) -> int:
    from reconciliation.models import ScenarioLine

    kpis = run.kpis or {}
    print(
        f"scenario run {run.pk}: {run.status}{' ' + run.error if run.error else ''}, "
        f"{run.sku_location_count:,} SKU-locations, "
        f"{ScenarioLine.objects.filter(run=run).count():,} plan rows"
    )
    for description in run_deltas(run):
        print(f"  delta: {description}")
    if on_worker:
        queued = (run.started_at - run.created_at).total_seconds()
        worked = (run.finished_at - run.started_at).total_seconds()
        print(f"  {'run row to worker pick-up':<36} {queued:8.2f} s")
        print(f"  {'on the worker (read to publish)':<36} {worked:8.2f} s")
    else:
        for name, seconds in phases.items():
            print(f"  {name:<36} {seconds:8.2f} s")
        other = total - sum(phases.values())
        print(f"  {'other (run row, queue, wait)':<36} {other:8.2f} s")
    within = total < GOAL_SECONDS
    verdict = "within" if within else "OVER"
    print(f"  {'end to end (create -> published)':<36} {total:8.2f} s  "
          f"({verdict} {GOAL_SECONDS:.0f} s goal)")  # fmt: skip
    if kpis:
        print(
            f"  revenue {kpis.get('revenue', 0):,.0f}, fill rate {kpis.get('fill_rate', 0):.3f}, "
            f"overloaded resource-months {kpis.get('overloaded_resource_months', 0):.0f}, "
            f"from alternate sources {kpis.get('alternate_units', 0):,.0f} units "
            f"(extra cost {kpis.get('alternate_extra_cost', 0):,.0f})"
        )
    identical = before == after
    for name, (digest, rows) in before.items():
        same = "same" if after[name] == (digest, rows) else f"CHANGED -> {after[name][0][:16]}"
        print(f"  {name:<38} {rows:>9,} rows  sha256 {digest[:16]}  {same}")
    print(f"base plan's published numbers identical: {'yes' if identical else 'no'}")
    ok = run.status == "succeeded" and within and identical
    return 0 if ok else 1


def run_deltas(run) -> list[str]:
    from reconciliation.selectors import deltas_describe

    return deltas_describe(run.deltas)


# --- a worker of the bench's own (--celery) ------------------------------------------------


def _start_worker(redis_url: str) -> subprocess.Popen:
    """One solo Celery worker on a queue no other worker reads, ready to take tasks."""
    from sop.celery import app

    queue = f"scenario-bench-{uuid.uuid4().hex[:8]}"
    app.conf.update(
        broker_url=redis_url,
        result_backend=redis_url,
        task_always_eager=False,
        task_default_queue=queue,
    )
    name = f"{queue}@{os.uname().nodename}"
    env = {**os.environ, "REDIS_URL": redis_url}
    command = [sys.executable, "-m", "celery", "-A", "sop", "worker", "--pool", "solo", "-Q"]
    command += [queue, "-n", name, "-l", "WARNING", "--without-gossip", "--without-mingle"]
    # Its banner would bury the figures; warnings and errors still reach stderr.
    worker = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    while not app.control.ping(destination=[name], timeout=1.0):
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {worker.returncode}")
        if time.perf_counter() - started > WORKER_READY_SECONDS:
            _stop_worker(worker)
            raise RuntimeError(f"the Celery worker did not answer in {WORKER_READY_SECONDS} s")
    print(f"Celery worker {name} ready in {time.perf_counter() - started:.1f} s")
    worker.queue = queue
    return worker


def _stop_worker(worker: subprocess.Popen) -> None:
    from sop.celery import app

    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(worker.queue)


if __name__ == "__main__":
    sys.exit(main())
