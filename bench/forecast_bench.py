"""Benchmark the demand forecasting engine against the M4 benchmarks on M3 monthly data.

    python bench/forecast_bench.py [PATH] [--kind m3|intermittent] [--limit N] [--jobs N]
        [--holdout]
    python bench/forecast_bench.py --scale 10000 [--workers 2] [--db-url URL] [--redis-url URL]

The default data is the 714 M3 monthly series in `shared/data/m3_monthly_dev.csv`. Models
see only the `train` rows; the `test` rows (18 months) are used to score and nothing else.
With `--holdout` the last 18 train months are scored instead and the test rows are not
read at all: use that to compare engine changes without looking at the test period.
It also scores the engine's quantiles: coverage of the 80% and 95% intervals (pooled over
the horizon and for h=1, 1-6, 13-18), MSIS against a naive interval, and the coverage of
the cumulative quantiles safety stock reads (months 1..k, k=1-3), each against its goal.
An intermittent file (no `category` column, or mostly zeros, such as the car parts) is
scored by `bench/intermittent_bench.py` instead; `--kind` overrides the detection.

With `--scale N` it forecasts a demo company of about N series end to end instead: seeded
into a PostgreSQL database of its own (dropped and created each time, never the dev or test
databases), read, forecast and written back by real Celery workers, then published. The
goal is N = 10,000 in under 10 minutes on two cores; the seed is timed apart from it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import seasonal_decompose

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SeriesData, create_database, database_name, load_series
from bench.intermittent_bench import is_intermittent_file, run_intermittent
from demand.forecasting import forecast_series, is_seasonal, mase_scale, smape

if TYPE_CHECKING:
    from demand.models import ForecastRun
    from sop.models import Cycle

DEFAULT_M3 = Path(__file__).resolve().parents[2] / "shared/data/m3_monthly_dev.csv"
HORIZON = 18
SEASON = 12

REPO = Path(__file__).resolve().parents[1]
SCALE_DB = "postgres://postgres@127.0.0.1:5432/sop_bench_forecast"
# A Redis database no one else uses (the test runner has 15): its queue holds only ours.
SCALE_REDIS = "redis://127.0.0.1:6379/14"
SCALE_LOCATIONS = 3
SCALE_MONTHS = 48
SCALE_GOAL_SECONDS = 600.0
PROGRESS_SECONDS = 10.0


def naive2(y: np.ndarray, h: int = HORIZON, m: int = SEASON) -> np.ndarray:
    """M4's Naive2: naive on the multiplicatively deseasonalised series if seasonal."""
    if not is_seasonal(y, m):
        return np.full(h, y[-1])
    season = seasonal_decompose(y, model="multiplicative", period=m).seasonal
    last_cycle = season[-m:]
    return y[-1] / season[-1] * np.resize(last_cycle, h)


def seasonal_naive(y: np.ndarray, h: int = HORIZON, m: int = SEASON) -> np.ndarray:
    """Repeat the last observed season."""
    return np.resize(y[-m:], h)


def plain_theta(y: np.ndarray, h: int = HORIZON, m: int = SEASON) -> np.ndarray:
    """statsmodels' ThetaModel with its defaults."""
    return np.asarray(ThetaModel(y, period=m).fit().forecast(h), float)


def engine(y: np.ndarray, h: int = HORIZON, m: int = SEASON) -> np.ndarray:
    """Point forecast of the engine under test."""
    return forecast_series(y, horizon=h, season_length=m).point


def _run_chunk(method: Callable[..., np.ndarray], series: list[np.ndarray]) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [method(y) for y in series]


def run_method(
    method: Callable[..., np.ndarray], series: list[np.ndarray], jobs: int = 1
) -> tuple[list[np.ndarray], float]:
    """Forecast every series; returns the forecasts and the wall time in seconds."""
    start = time.perf_counter()
    if jobs <= 1:
        out = _run_chunk(method, series)
    else:
        chunks = [series[i::jobs] for i in range(jobs)]
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_run_chunk, [method] * jobs, chunks))
        # Undo the round-robin split so forecasts line up with the series again.
        out = [np.empty(0)] * len(series)
        for i, part in enumerate(parts):
            out[i::jobs] = part
    return out, time.perf_counter() - start


def score(data: SeriesData, forecasts: list[np.ndarray]) -> tuple[float, float]:
    """Mean sMAPE (%) and mean MASE (seasonal, m=12) over the series."""
    smapes, mases = [], []
    for y, future, f in zip(data.train, data.future, forecasts, strict=True):
        smapes.append(smape(future, f[: len(future)]))
        mases.append(np.mean(np.abs(future - f[: len(future)])) / mase_scale(y, SEASON))
    return float(np.mean(smapes)), float(np.mean(mases))


def run_m3(path: Path, limit: int | None, jobs: int, holdout: bool) -> dict[str, dict]:
    """Score the engine and the benchmarks on the M3 file and print the table."""
    data = load_series(path, limit, holdout, horizon=HORIZON)
    methods = {
        "engine": engine,
        "naive2": naive2,
        "theta (statsmodels)": plain_theta,
        "seasonal naive": seasonal_naive,
    }
    results: dict[str, dict] = {}
    for name, method in methods.items():
        forecasts, seconds = run_method(method, data.train, jobs if name == "engine" else 1)
        s, m = score(data, forecasts)
        results[name] = {"smape": s, "mase": m, "seconds": seconds}
    base = results["naive2"]
    for r in results.values():
        r["owa"] = 0.5 * (r["smape"] / base["smape"] + r["mase"] / base["mase"])

    scored = "last 18 train months (holdout)" if holdout else "test rows"
    print(f"{len(data.ids)} series from {path.name}, h={HORIZON}, scored on {scored}")
    print(f"{'method':<22}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}")
    for name, r in results.items():
        print(f"{name:<22}{r['smape']:>8.3f}{r['mase']:>8.3f}{r['owa']:>8.3f}")
    eng = results["engine"]
    rate = len(data.ids) / eng["seconds"]
    print(
        f"engine: {eng['seconds']:.1f} s wall, {rate:.1f} series/s with {jobs} job(s), "
        f"{rate / jobs:.1f} series/s per core"
    )
    theta = results["theta (statsmodels)"]
    print(
        f"targets: sMAPE <= 0.97 x theta ({0.97 * theta['smape']:.3f}): "
        f"{'met' if eng['smape'] <= 0.97 * theta['smape'] else 'MISSED'}; "
        f"OWA <= 0.82: {'met' if eng['owa'] <= 0.82 else 'MISSED'}; "
        f">= 20 series/s per core: {'met' if rate / jobs >= 20 else 'MISSED'}"
    )
    report_intervals(data, jobs)
    return results


# --- prediction intervals and cumulative quantiles --------------------------------------

INTERVAL_LEVELS = (80, 95)
# Horizon buckets (first and last step, 1-based) the interval coverage is also read in.
COVERAGE_BUCKETS = {"h=1": (1, 1), "h=1-6": (1, 6), "h=13-18": (13, 18)}
POOLED_TOLERANCE = 3.0
BUCKET_TOLERANCE = 5.0
# Cumulative demand over months 1..k, quantile levels safety stock is set at.
CUM_MONTHS = (1, 2, 3)
CUM_TAUS = (0.90, 0.95, 0.98)
CUM_TOLERANCE = 2.0
MSIS_ALPHA = 0.05


def engine_bands(y: np.ndarray, h: int = HORIZON, m: int = SEASON) -> np.ndarray:
    """The engine's 80% and 95% bounds and cumulative quantiles, one row each.

    Rows: lo80, hi80, lo95, hi95, then cum_quantiles[tau] for each of CUM_TAUS.
    """
    fc = forecast_series(y, horizon=h, season_length=m, levels=INTERVAL_LEVELS)
    bounds = [b for lv in INTERVAL_LEVELS for b in (fc.lower[lv], fc.upper[lv])]
    return np.array([*bounds, *(fc.cum_quantiles[tau] for tau in CUM_TAUS)])


def naive_bounds(y: np.ndarray, h: int = HORIZON, level: float = 95) -> np.ndarray:
    """M4's naive interval: last value +- z * (in-sample one-step naive RMSE) * sqrt(h)."""
    sigma = np.sqrt(np.mean(np.diff(y) ** 2))
    half = norm.ppf(0.5 + level / 200) * sigma * np.sqrt(np.arange(1, h + 1))
    return np.array([np.clip(y[-1] - half, 0, None), y[-1] + half])


def msis(insample: np.ndarray, future: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """M4's mean scaled interval score (alpha MSIS_ALPHA), seasonal naive MAE scale."""
    below = (lower - future) * (future < lower)
    above = (future - upper) * (future > upper)
    score = np.mean(upper - lower + 2 / MSIS_ALPHA * (below + above))
    return float(score / mase_scale(insample, SEASON))


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_intervals(data: SeriesData, jobs: int) -> bool:
    """Print interval coverage, MSIS and cumulative coverage; True if every goal is met."""
    bands, seconds = run_method(engine_bands, data.train, jobs)
    future = np.array(data.future)
    horizon = future.shape[1]
    print(f"engine quantiles: {seconds:.1f} s wall with {jobs} job(s)")
    intervals_ok = cumulative_ok = True
    for i, lv in enumerate(INTERVAL_LEVELS):
        lower = np.array([b[2 * i, :horizon] for b in bands])
        upper = np.array([b[2 * i + 1, :horizon] for b in bands])
        inside = 100 * ((future >= lower) & (future <= upper))
        pooled = inside.mean()
        hit = abs(pooled - lv) <= POOLED_TOLERANCE
        parts = [f"h=1-{horizon} {pooled:5.1f} ({_met(hit)}, +-{POOLED_TOLERANCE:g})"]
        for name, (first, last) in COVERAGE_BUCKETS.items():
            cover = inside[:, first - 1 : last].mean()
            in_bucket = abs(cover - lv) <= BUCKET_TOLERANCE
            hit &= in_bucket
            parts.append(f"{name} {cover:5.1f} ({_met(in_bucket)})")
        intervals_ok &= hit
        print(f"coverage of the {lv}% interval: " + ", ".join(parts))
    engine_msis = np.mean(
        [
            msis(y, f, b[2, :horizon], b[3, :horizon])
            for y, f, b in zip(data.train, data.future, bands, strict=True)
        ]
    )
    naive_msis = np.mean(
        [
            msis(y, f, *naive_bounds(y, horizon))
            for y, f in zip(data.train, data.future, strict=True)
        ]
    )
    print(f"MSIS (95%, M4 scaling): engine {engine_msis:.3f}, naive {naive_msis:.3f}")
    actual = np.cumsum(future, axis=1)
    first_cum_row = 2 * len(INTERVAL_LEVELS)
    print(f"cumulative coverage, months 1..k (goal: within {CUM_TOLERANCE:g} points of tau)")
    print(f"{'tau':<8}" + "".join(f"{f'k={k}':>14}" for k in CUM_MONTHS))
    for j, tau in enumerate(CUM_TAUS):
        quantile = np.array([b[first_cum_row + j] for b in bands])
        cells = []
        for k in CUM_MONTHS:
            cover = 100 * np.mean(actual[:, k - 1] <= quantile[:, k - 1])
            hit = abs(cover - 100 * tau) <= CUM_TOLERANCE
            cumulative_ok &= hit
            cells.append(f"{cover:6.1f} {_met(hit):>7}")
        print(f"{tau:<8.2f}" + "".join(f"{c:>14}" for c in cells))
    print(f"interval coverage goals: {_met(intervals_ok)}")
    print(
        f"cumulative coverage within {CUM_TOLERANCE:g} points at every k and tau: "
        f"{_met(cumulative_ok)} (bench/service_bench.py measures the safety stock made of it)"
    )
    return intervals_ok and cumulative_ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_M3, help="M3 long CSV")
    parser.add_argument(
        "--kind",
        choices=("m3", "intermittent"),
        default=None,
        help="benchmark to run (default: detected from the file)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N series")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the engine")
    parser.add_argument(
        "--holdout", action="store_true", help="score on the last 18 train months instead"
    )
    scale = parser.add_argument_group("end-to-end scale run (--scale)")
    scale.add_argument(
        "--scale", type=int, default=None, metavar="N", help="forecast about N demo series"
    )
    scale.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    scale.add_argument(
        "--db-url",
        default=SCALE_DB,
        help="PostgreSQL database to drop, create and seed; its name must contain 'bench'",
    )
    scale.add_argument(
        "--redis-url", default=SCALE_REDIS, help="broker; its default queue is purged"
    )
    scale.add_argument("--chunk-series", type=int, default=None, help="series per chunk task")
    scale.add_argument(
        "--timeout", type=float, default=3600.0, help="give up on the run after S seconds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.scale is not None:
        return run_scale(
            args.scale,
            workers=max(1, args.workers),
            db_url=args.db_url,
            redis_url=args.redis_url,
            chunk_series=args.chunk_series,
            timeout=args.timeout,
        )
    kind = args.kind or ("intermittent" if is_intermittent_file(args.path) else "m3")
    if kind == "intermittent":
        run_intermittent(args.path, args.limit, max(1, args.jobs), args.holdout)
    else:
        run_m3(args.path, args.limit, max(1, args.jobs), args.holdout)
    return 0


# --- end-to-end scale run ---------------------------------------------------------------


def run_scale(
    n: int,
    *,
    workers: int,
    db_url: str,
    redis_url: str,
    chunk_series: int | None,
    timeout: float,
) -> int:
    """Seed about `n` series, forecast them on Celery workers and print the figures."""
    print(f"load average at start: {_loadavg()} on {os.cpu_count()} cores")
    _scale_setup(db_url, redis_url)
    from django.conf import settings

    from demand.constants import CHUNK_SERIES

    chunk_series = chunk_series or CHUNK_SERIES
    with tempfile.TemporaryDirectory(prefix="sop-forecast-bench-") as tmp:
        settings.MEDIA_ROOT = Path(tmp) / "media"
        cycle = _seed(n, Path(tmp))
        procs = []
        try:
            procs = _start_workers(workers)
            # Worker start-up (imports) is not forecasting: count CPU from here.
            cpu_before = [_cpu_seconds(p.pid) for p in procs]
            run, wall = _run_forecast(cycle, chunk_series, procs, timeout)
            cpu = [
                None if a is None or b is None else b - a
                for a, b in zip(cpu_before, (_cpu_seconds(p.pid) for p in procs), strict=True)
            ]
        finally:
            _stop_workers(procs)
        ok = _report(run, wall, workers, cpu)
        if run.is_published:
            _profile_chunk(run, chunk_series)
    print(f"load average at end: {_loadavg()}")
    return 0 if ok else 1


def _scale_setup(db_url: str, redis_url: str) -> None:
    """Point Django and Celery at the bench's own database and broker, then set Django up."""
    name = database_name(db_url)
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    os.environ["DJANGO_SETTINGS_MODULE"] = "sop.settings"
    os.environ["DATABASE_URL"] = db_url
    os.environ["REDIS_URL"] = redis_url
    create_database(db_url, fresh=True)
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seconds = time.perf_counter() - started
    print(f"database {name}: dropped, created and migrated in {seconds:.1f} s")


def _seed(n: int, tmp: Path) -> Cycle:
    """Load a demo company of at least `n` forecast series and open its cycle."""
    from django.core.management import call_command
    from django.utils import timezone

    from sop.models import Cycle, SalesHistory

    today = timezone.localdate()
    skus = _skus_for(n, today)
    started = time.perf_counter()
    call_command(
        "seed_demo",
        skus=skus,
        locations=SCALE_LOCATIONS,
        months=SCALE_MONTHS,
        today=today,
        out=tmp / "extracts",
        data_only=True,
        stdout=io.StringIO(),
    )
    cycle = Cycle.objects.get()
    rows = SalesHistory.objects.filter(month__lt=cycle.month).count()
    print(
        f"seed: {skus} SKUs x {SCALE_LOCATIONS} locations, {SCALE_MONTHS} months, "
        f"{rows:,} sales rows in {time.perf_counter() - started:.1f} s (not part of the goal)"
    )
    return cycle


def _skus_for(n: int, today: dt.date) -> int:
    """SKUs whose active ones make at least `n` series; discontinued SKUs are not forecast."""
    from sop.demo import generate_company

    skus = math.ceil(n / SCALE_LOCATIONS)
    while True:
        products = generate_company(
            skus=skus, locations=SCALE_LOCATIONS, months=SCALE_MONTHS, today=today
        )["products"]
        series = int(products["active"].sum()) * SCALE_LOCATIONS
        if series >= n:
            return skus
        skus += math.ceil((n - series) / SCALE_LOCATIONS)


def _start_workers(count: int) -> list[subprocess.Popen]:
    """Start `count` single-process Celery workers and wait until each answers a ping.

    The solo pool runs tasks in the worker process itself: one process per worker, so
    stopping it by its PID leaves no pool children behind.
    """
    from django.conf import settings

    from sop.celery import app

    # A run left in the queue by an interrupted bench would only steal worker time.
    app.control.purge()
    tag = f"forecast-bench-{os.getpid()}"
    names = [f"{tag}-{i}@{os.uname().nodename}" for i in range(1, count + 1)]
    logs = Path(settings.VAR_DIR) / "forecast-bench"
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for i, name in enumerate(names, 1):
        command = [sys.executable, "-m", "celery", "-A", "sop", "worker", "--pool", "solo"]
        command += ["-n", name, "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        with (logs / f"worker-{i}.log").open("w") as log:
            procs.append(
                subprocess.Popen(
                    command, cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT
                )
            )
    started = time.perf_counter()
    waiting = set(names)
    while waiting:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode}; logs in {logs}")
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"workers {sorted(waiting)} did not answer within 120 s")
        for reply in app.control.ping(destination=sorted(waiting), timeout=1.0):
            waiting -= set(reply)
    print(f"{count} Celery worker(s) ready in {time.perf_counter() - started:.1f} s")
    return procs


def _stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _run_forecast(
    cycle: Cycle, chunk_series: int, procs: list[subprocess.Popen], timeout: float
) -> tuple[ForecastRun, float]:
    """Start the cycle's forecast run and follow its row until it finishes.

    Returns the run and the seconds from the start until its end was committed: the run's
    own `published_at` is stamped before the consensus rebuild in the same transaction.
    """
    from demand.services import forecast_run_start

    started = time.perf_counter()
    run = forecast_run_start(cycle=cycle, user=None, chunk_series=chunk_series)
    next_report = PROGRESS_SECONDS
    while True:
        time.sleep(0.2)
        run.refresh_from_db()
        elapsed = time.perf_counter() - started
        if run.is_finished:
            return run, elapsed
        if elapsed >= next_report:
            print(
                f"  {elapsed:5.0f} s  {run.status:<9} chunks {run.chunks_done}/{run.chunks_total}"
                f"  series {run.series_done:,}/{run.series_count:,}  load {_loadavg()}",
                flush=True,
            )
            next_report += PROGRESS_SECONDS
        if elapsed > timeout:
            raise TimeoutError(f"forecast run {run.pk} still {run.status} after {timeout:.0f} s")
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError(
                f"a worker died during forecast run {run.pk}; logs in var/forecast-bench/"
            )


def _report(run: ForecastRun, wall: float, workers: int, cpu: list[float | None]) -> bool:
    """Print the run's figures; True when it was published within the goal."""
    from demand.models import ConsensusDemand, SeriesFit, StatisticalForecast
    from sop.choices import JobStatus

    if run.status != JobStatus.SUCCEEDED or not run.is_published:
        print(f"forecast run {run.pk} {run.status}: {run.error or 'not published'}")
        print(f"goal (< {SCALE_GOAL_SECONDS:.0f} s): MISSED")
        return False
    # The last chunk's bookkeeping is the run's last heartbeat; publishing does not touch it.
    plan = (run.started_at - run.created_at).total_seconds()
    chunks = (run.heartbeat_at - run.started_at).total_seconds()
    phases = {
        "queue + plan": plan,
        "chunks (read, forecast, write)": chunks,
        "publish (consensus rebuild)": wall - plan - chunks,
    }
    print(
        f"forecast run {run.pk}: {run.series_count:,} series in {run.chunks_total} chunks "
        f"on {workers} worker(s)"
    )
    print(f"wall time start -> published: {wall:.1f} s = {run.series_count / wall:.1f} series/s")
    for name, seconds in phases.items():
        print(f"  {name:<32}{seconds:>8.1f} s")
    if None not in cpu:
        used = sum(cpu)
        print(
            f"worker CPU: {used:.1f} s ({used / wall:.2f} cores busy on average), "
            f"{run.series_count / used:.1f} series per CPU second"
        )
    counts = {
        "StatisticalForecast": StatisticalForecast.objects.filter(run=run).count(),
        "SeriesFit": SeriesFit.objects.filter(run=run).count(),
        "ConsensusDemand": ConsensusDemand.objects.filter(cycle_id=run.cycle_id).count(),
    }
    print("rows written: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    ok = wall < SCALE_GOAL_SECONDS
    print(f"goal (< {SCALE_GOAL_SECONDS:.0f} s start -> published): {'met' if ok else 'MISSED'}")
    return ok


def _profile_chunk(run: ForecastRun, chunk_series: int) -> None:
    """Split one chunk's time into read, forecast and write, re-running it in this process.

    The run row only records the chunks as a whole; the write is rolled back.
    """
    from django.db import transaction

    from demand.services._common import history_matrix
    from demand.services.runs import _forecast_rows, _write_run_rows
    from sop.models import Product

    count = max(1, chunk_series // SCALE_LOCATIONS)
    product_ids = list(
        Product.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)[:count]
    )
    cycle = run.cycle
    started = time.perf_counter()
    keys, matrix, _ = history_matrix(product_ids=product_ids, before=cycle.month)
    read = time.perf_counter()
    rows = _forecast_rows(
        run_id=run.pk, keys=keys, matrix=matrix, start=cycle.month, horizon=cycle.horizon_months
    )
    forecast = time.perf_counter()
    with transaction.atomic():
        _write_run_rows(run.pk, product_ids, *rows)
        transaction.set_rollback(True)
    write = time.perf_counter()
    spans = {"read": read - started, "forecast": forecast - read, "write": write - forecast}
    total = write - started
    print(
        f"one chunk of {len(keys)} series re-run in the bench process (1 core): "
        + ", ".join(f"{k} {v:.2f} s ({100 * v / total:.0f}%)" for k, v in spans.items())
    )


if __name__ == "__main__":
    raise SystemExit(main())
