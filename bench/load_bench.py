"""Load test: 50 signed-in users on the demo company, served by gunicorn on PostgreSQL.

    python bench/load_bench.py [--users 50] [--duration 60] [--warmup 10] [--think 5]
                               [--workers N] [--reuse] [--db-url URL] [--redis-url URL]

It seeds the default demo company (`manage.py seed_demo`, tasks run in-process so the
first forecast and supply plan are published) into a PostgreSQL database of its own,
dropped and created each time (never `DATABASE_URL`'s; with `--reuse` the existing one is
kept and only the bench users are made again). It collects the static files into
var/load-bench/ (each run), starts gunicorn (`sop.wsgi`, DEBUG off, 2 x cores + 1 sync
workers) on a free loopback port and 2 Celery workers on the bench's own Redis database,
signs the users in through the login form and runs a weighted mix per role for
`--duration` seconds after an unrecorded `--warmup`:

    demand planners  demand review (family, SKU), its run panel, override writes
    supply planners  supply review (page, SKU), capacity drill and run panel partials,
                     the ABC/XYZ page
    finance          reconciliation, supply review, executive page
    executives       executive page, reconciliation, cycle home
    admins           cycle home, demand and supply review

The 50 users are 20 demand planners, 12 supply planners, 8 finance, 6 executives and 4
admins (the same shares for another --users; every role from six users up). Each waits
`--think` seconds on average (uniform 0.5x-1.5x) between requests, as a person reading the
page would: the figures depend on it, so quote them with it. `--think 0` saturates the
server (its throughput); `--users 6 --think 2` gives each page's latency with little
queueing. It also prints the CPU gunicorn spent per request, which a busy machine changes
less than the latencies.

A demand planner overrides a SKU of its own, sending the version its page showed (as the
page does), so a 409 conflict is rare: it is counted apart as a business outcome, not an
error. The reconciliation and executive pages show what the demo's cycle (in demand review)
has to show there.

It prints per page: requests, req/s, p50/p95/p99 latency as the users saw it, errors, 409s
and p50/p95 of the time a gunicorn worker spent on it (from its access log: the rest of
the latency is waiting for a free worker), then whether the goals are met (p95 under
500 ms for reads and 800 ms for writes, no errors). The exit code is 1 when any request
failed (a status other than the expected, or no answer). Every process it started is
stopped on the way out, also on Ctrl+C. Logs of gunicorn (with its access log), the
workers and the seed are kept in var/load-bench/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import create_database, database_name

REPO = Path(__file__).resolve().parents[1]
LOAD_DB = "postgres://postgres@127.0.0.1:5432/sop_load"
# A Redis database no one else uses (tests 15, forecast bench 14): its queue is ours.
LOAD_REDIS = "redis://127.0.0.1:6379/13"
LOGS = REPO / "var" / "load-bench"
ACCESS_LOG = LOGS / "access.log"
PASSWORD = "demo-pass-2026"
READ_GOAL_MS = 500.0
WRITE_GOAL_MS = 800.0
REQUEST_TIMEOUT = 30.0
# How the users split over the roles, as shares of --users (the rest are demand planners).
ROLE_SHARES = {"supply": 0.24, "finance": 0.16, "exec": 0.12, "admin": 0.08}
TAG_HEADER = "X-Bench-Page"
HX_VALS = re.compile(r"""hx-vals='\{"month": "([\d-]+)", "version": "(\d*)"\}'""")
CSRF_HEADER = re.compile(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- set-up ------------------------------------------------------------------------------


def _bench_env(db_url: str, redis_url: str | None) -> dict[str, str]:
    """The environment of every process the bench starts: its database, production-like."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="sop.settings",
        DEBUG="0",
        SECRET_KEY=f"load-bench-{os.urandom(16).hex()}",
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(LOGS / "static"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _manage(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("a") as out:
        code = subprocess.call(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if code:
        raise RuntimeError(f"manage.py {' '.join(args)} exited with {code}; see {log}")


def seed(db_url: str) -> None:
    """Drop, create, migrate and seed the bench database with the default demo company."""
    create_database(db_url, fresh=True)
    # No Redis: the seed's forecast and supply runs complete in-process before it returns.
    env = _bench_env(db_url, None)
    log = LOGS / "seed.log"
    log.write_text("")
    started = time.perf_counter()
    _manage(["migrate", "--no-input"], env, log, timeout=600)
    _manage(["seed_demo", "--out", str(LOGS / "extracts")], env, log, timeout=1800)
    seconds = time.perf_counter() - started
    print(f"database {database_name(db_url)}: created and seeded in {seconds:.0f} s")


def collectstatic(env: dict[str, str]) -> None:
    """Build the hashed static files whitenoise serves with DEBUG off.

    Every run: a manifest missing a file added since would fail the pages that use it.
    """
    _manage(["collectstatic", "--no-input"], env, LOGS / "collectstatic.log", timeout=300)


@dataclass
class Targets:
    """What the users request: ids read from the bench database once, before the run."""

    cycle: int
    forecast_run: int
    supply_run: int
    families: list[str]
    skus: list[int]  # active SKUs with a forecast, one per demand planner first
    sku_locations: list[tuple[int, int]]
    drills: list[tuple[int, str]]  # (resource, month) of the supply plan
    users: dict[str, list[str]]  # role -> usernames


def prepare(n_users: int) -> Targets:
    """Make the bench users (password hashed once) and read the ids the mix needs."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    from demand.models import ConsensusDemand, ForecastRun
    from sop.choices import Role
    from sop.models import Capacity
    from sop.selectors import cycle_current
    from supply.models import SupplyRun

    groups = {
        "demand": Role.DEMAND_PLANNER,
        "supply": Role.SUPPLY_PLANNER,
        "finance": Role.FINANCE,
        "exec": Role.EXECUTIVE,
        "admin": Role.ADMIN,
    }
    cycle = cycle_current()
    if cycle is None:
        raise SystemExit("the bench database has no cycle: run without --reuse to seed it")
    # Every role has a user from six users up, so a small run still visits every page.
    least = 1 if n_users > len(ROLE_SHARES) else 0
    counts = {role: max(least, math.floor(n_users * s)) for role, s in ROLE_SHARES.items()}
    counts["demand"] = n_users - sum(counts.values())
    password = make_password(PASSWORD)
    users: dict[str, list[str]] = {}
    for role, count in counts.items():
        group = Group.objects.get(name=str(groups[role]))
        names = [f"load-{role}-{i:02d}" for i in range(1, count + 1)]
        for name in names:
            user, _ = User.objects.update_or_create(
                username=name,
                defaults={"password": password, "is_active": True, "is_staff": role == "admin"},
            )
            user.groups.set([group])
        users[role] = names
    consensus = ConsensusDemand.objects.filter(cycle=cycle, product__active=True)
    skus = sorted(set(consensus.values_list("product", flat=True)))
    random.Random(7).shuffle(skus)
    sku_locations = sorted(set(consensus.values_list("product", "location")))
    supply_run = SupplyRun.objects.filter(cycle=cycle, is_published=True).first()
    forecast_run = ForecastRun.objects.filter(cycle=cycle).order_by("-pk").first()
    drills = [
        (resource, month.isoformat())
        for resource, month in Capacity.objects.filter(
            month__gte=cycle.month, month__lt=cycle.month + dt.timedelta(days=365)
        ).values_list("resource", "month")
    ]
    families = sorted(set(consensus.values_list("product__family", flat=True)))
    if len(skus) < counts["demand"]:
        print(f"note: {len(skus)} SKUs for {counts['demand']} demand planners: some share one")
    if not drills or supply_run is None or forecast_run is None:
        raise SystemExit("the demo has no published supply plan or forecast: seed it again")
    return Targets(
        cycle=cycle.pk,
        forecast_run=forecast_run.pk,
        supply_run=supply_run.pk,
        families=families,
        skus=skus,
        sku_locations=sku_locations,
        drills=drills,
        users=users,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        # A session of its own: the whole group (gunicorn's workers too) is stopped at once.
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    ACCESS_LOG.unlink(missing_ok=True)
    command = [sys.executable, "-m", "gunicorn", "sop.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "60", "--graceful-timeout", "5"]
    # No control socket: its default path is shared by every gunicorn of this user.
    command += ["--no-control-socket"]
    # The page of each recorded request and the microseconds the worker spent on it.
    command += ["--access-logfile", str(ACCESS_LOG)]
    command += ["--access-logformat", f"%({{{TAG_HEADER.lower()}}}i)s|%(D)s"]
    return _spawn(command, env, LOGS / "gunicorn.log")


def start_celery(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    """`count` single-process workers (the solo pool: one process each, nothing forked)."""
    procs = []
    for i in range(1, count + 1):
        command = [sys.executable, "-m", "celery", "-A", "sop", "worker", "--pool", "solo"]
        command += ["-n", f"load-bench-{os.getpid()}-{i}@%h", "--loglevel", "WARNING"]
        command += ["--without-gossip", "--without-mingle"]
        procs.append(_spawn(command, env, LOGS / f"celery-{i}.log"))
    return procs


def wait_ready(port: int, procs: Sequence[subprocess.Popen], timeout: float = 120) -> None:
    """Until gunicorn answers the login page; refuses to wait on a process that died."""
    started = time.perf_counter()
    while True:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[2]} exited with {proc.returncode}; see {LOGS}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {LOGS}")
        time.sleep(0.5)


def stop(procs: Sequence[subprocess.Popen]) -> None:
    """SIGTERM each process group, then SIGKILL what is still there after 15 s."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Gunicorn's workers may outlive their master by a moment: kill the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- the users ---------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    location: str = ""


class Browser:
    """One signed-in user: its cookies, over one HTTP/1.1 connection per request.

    Gunicorn's sync workers close the connection after each response anyway, so a fresh
    connection per request is what a browser gets from them too.
    """

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self, method: str, path: str, form: dict | None = None, htmx: bool = False, tag: str = ""
    ) -> Answer:
        headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "sop-load-bench"}
        if tag:
            # Gunicorn's access log writes it next to the time the worker took.
            headers[TAG_HEADER] = tag
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if htmx:
            headers["HX-Request"] = "true"
        body = None
        if method == "POST":
            body = urlencode(form or {})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if self.csrf:
                headers["X-CSRFToken"] = self.csrf
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            answer = Answer(response.status, text, response.getheader("Location", ""))
        finally:
            conn.close()
        token = CSRF_HEADER.search(answer.body)
        if token:
            self.csrf = token.group(1)
        return answer

    def sign_in(self, username: str) -> None:
        page = self.request("GET", "/login/")
        token = CSRF_INPUT.search(page.body)
        if page.status != 200 or token is None:
            raise RuntimeError(f"login page: {page.status}")
        answer = self.request(
            "POST",
            "/login/",
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"signing in {username}: {answer.status}")
        # The CSRF token rotates at sign-in: the next page carries the new one.
        self.csrf = self.cookies.get("csrftoken", "")


@dataclass
class Stats:
    """Latencies and outcomes per page, filled by every user thread."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, error: str | None, conflict: bool) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if conflict:
                self.conflicts[page] += 1
            if error:
                self.errors[page] += 1
                if len(self.samples[page]) < 3:
                    self.samples[page].append(error)


WRITES = {"POST demand override"}
# What an action gives back: page label, the answer, seconds, the statuses that are right.
Outcome = tuple[str, Answer, float, tuple[int, ...]]


class User:
    """A person of one role working through the pages of its role, with think time."""

    def __init__(
        self, role: str, username: str, port: int, targets: Targets, index: int, think: float
    ):
        self.role = role
        self.think = think
        self.username = username
        self.browser = Browser(port)
        self.t = targets
        self.rng = random.Random(f"{username}")
        # Each demand planner overrides a SKU of its own: conflicts stay rare.
        self.sku = targets.skus[index % len(targets.skus)] if targets.skus else None
        self.versions: dict[str, str] = {}
        self.recording = False
        self.mix: list[tuple[Callable[[], Outcome], float]] = {
            "demand": [
                (self.demand_family, 3),
                (self.demand_sku, 4),
                (self.demand_override, 2),
                (self.demand_run_panel, 1),
            ],
            "supply": [
                (self.supply_review, 3),
                (self.supply_sku, 3),
                (self.supply_drill, 2),
                (self.supply_run_panel, 1),
                (self.supply_classification, 0.5),
            ],
            "finance": [
                (self.reconciliation, 3),
                (self.supply_review, 1),
                (self.executive, 1),
            ],
            "exec": [(self.executive, 3), (self.reconciliation, 1), (self.home, 1)],
            "admin": [(self.home, 2), (self.demand_family, 1), (self.supply_review, 1)],
        }[role]

    def _send(
        self, page: str, method: str, url: str, form: dict | None = None, htmx: bool = False
    ) -> tuple[Answer, float]:
        """The answer and its seconds; no answer at all is status 0 with the reason."""
        tag = page if self.recording else ""
        started = time.perf_counter()
        try:
            answer = self.browser.request(method, url, form, htmx=htmx, tag=tag)
        except (OSError, http.client.HTTPException) as exc:
            answer = Answer(0, f"no answer: {type(exc).__name__}: {exc}")
        return answer, time.perf_counter() - started

    def _get(self, page: str, path: str, query: dict | None = None, htmx: bool = False) -> Outcome:
        url = f"{path}?{urlencode(query)}" if query else path
        answer, seconds = self._send(page, "GET", url, htmx=htmx)
        return page, answer, seconds, (200,)

    # Demand planners.
    def demand_family(self) -> Outcome:
        family = self.rng.choice(self.t.families)
        return self._get("GET demand review", "/demand/", {"cycle": self.t.cycle, "family": family})

    def demand_sku(self) -> Outcome:
        query = {"cycle": self.t.cycle, "sku": self.sku or self.rng.choice(self.t.skus)}
        result = self._get("GET demand review (SKU)", "/demand/", query)
        if self.role == "demand":
            self.versions = dict(HX_VALS.findall(result[1].body))
        return result

    def demand_override(self) -> Outcome:
        if not self.versions:
            # The page first, as a planner has it open before typing.
            return self.demand_sku()
        month = self.rng.choice(sorted(self.versions))
        form = {
            "family": "",
            "sku": self.sku,
            "month": month,
            "version": self.versions[month],
            "value": str(self.rng.randint(50, 5000)),
            "reason": "market_intelligence",
            "comment": "load bench",
        }
        page = "POST demand override"
        answer, seconds = self._send(
            page, "POST", f"/demand/cycles/{self.t.cycle}/overrides/", form, htmx=True
        )
        # The partial carries the versions now stored, after a save or a conflict alike.
        self.versions = dict(HX_VALS.findall(answer.body)) or self.versions
        return page, answer, seconds, (200, 409)

    def demand_run_panel(self) -> Outcome:
        return self._get(
            "GET demand run panel (htmx)", f"/demand/runs/{self.t.forecast_run}/", htmx=True
        )

    # Supply planners.
    def supply_review(self) -> Outcome:
        return self._get("GET supply review", "/supply/", {"cycle": self.t.cycle})

    def supply_sku(self) -> Outcome:
        sku, location = self.rng.choice(self.t.sku_locations)
        query = {"cycle": self.t.cycle, "sku": sku, "location": location}
        return self._get("GET supply review (SKU)", "/supply/", query)

    def supply_drill(self) -> Outcome:
        resource, month = self.rng.choice(self.t.drills)
        return self._get(
            "GET supply drill (htmx)",
            f"/supply/runs/{self.t.supply_run}/drill/",
            {"resource": resource, "month": month},
            htmx=True,
        )

    def supply_run_panel(self) -> Outcome:
        return self._get(
            "GET supply run panel (htmx)", f"/supply/runs/{self.t.supply_run}/", htmx=True
        )

    def supply_classification(self) -> Outcome:
        return self._get("GET supply ABC/XYZ", "/supply/classification/", {"cycle": self.t.cycle})

    # Finance, executives, admins.
    def reconciliation(self) -> Outcome:
        return self._get("GET reconciliation", "/reconciliation/", {"cycle": self.t.cycle})

    def executive(self) -> Outcome:
        return self._get("GET executive", "/executive/")

    def home(self) -> Outcome:
        return self._get("GET cycle home", "/")

    def step(self) -> tuple[str, float, str | None, bool]:
        actions, weights = zip(*self.mix, strict=True)
        page, answer, seconds, expected = self.rng.choices(actions, weights)[0]()
        error = None
        if answer.status not in expected:
            error = f"{answer.status} {answer.location or answer.body[:160]!r}"
        return page, seconds, error, answer.status == 409

    def run(self, start: float, record_from: float, until: float, stats: Stats, stop) -> None:
        """Work until `until`; requests started before `record_from` are the warm-up."""
        time.sleep(max(0.0, start - time.perf_counter()))
        while not stop.is_set():
            began = time.perf_counter()
            if began >= until:
                return
            self.recording = began >= record_from
            page, seconds, error, conflict = self.step()
            if self.recording:
                stats.add(page, seconds, error, conflict)
            pause = self.think * self.rng.uniform(0.5, 1.5)
            if pause:
                stop.wait(pause)


def sign_in_all(users: list[User], parallel: int = 8) -> float:
    """Every user through the login form, a few at a time (each login hashes a password)."""
    started = time.perf_counter()
    pending = list(users)
    failures: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                user = pending.pop()
            try:
                user.browser.sign_in(user.username)
            except (RuntimeError, OSError, http.client.HTTPException) as exc:
                with lock:
                    failures.append(f"{user.username}: {exc}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if failures or pending:
        raise RuntimeError(f"sign-in failed: {failures[:3]} ({len(pending)} never tried)")
    return time.perf_counter() - started


# --- the run -----------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def server_times() -> dict[str, list[float]]:
    """Seconds each recorded request spent in a gunicorn worker, by page (no queueing)."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in ACCESS_LOG.read_text().splitlines():
        page, _, micros = line.rpartition("|")
        if page and page != "-" and micros.isdigit():
            times[page].append(int(micros) / 1e6)
    return times


def _verdict(values: list[float], goal_ms: float) -> str:
    if not values:
        return "none measured"
    return "met" if _pct(values, 95) < goal_ms else "MISSED"


def report(stats: Stats, elapsed: float, server: dict[str, list[float]]) -> int:
    """Print the table and the goals; returns the error count.

    The latencies are the users' (queueing included); `in worker` is gunicorn's own time.
    """
    header = f"{'page':<30}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(f"\n{'':<88}{'in a worker':>18}")
    print(f"{header}{'errors':>8}{'409s':>6}{'p50 ms':>9}{'p95 ms':>9}  goal")
    reads: list[float] = []
    writes: list[float] = []
    misses: list[str] = []
    for page in sorted(stats.latencies, key=lambda p: (p in WRITES, p)):
        values = stats.latencies[page]
        write = page in WRITES
        (writes if write else reads).extend(values)
        goal = WRITE_GOAL_MS if write else READ_GOAL_MS
        p95 = _pct(values, 95)
        met = p95 < goal
        if not met:
            misses.append(page)
        worked = server.get(page)
        in_worker = f"{_pct(worked, 50):>9.0f}{_pct(worked, 95):>9.0f}" if worked else " " * 18
        print(
            f"{page:<30}{len(values):>9}{len(values) / elapsed:>8.1f}{_pct(values, 50):>9.0f}"
            f"{p95:>9.0f}{_pct(values, 99):>9.0f}{stats.errors[page]:>8}"
            f"{stats.conflicts[page]:>6}{in_worker}  p95<{goal:.0f} {'met' if met else 'MISSED'}"
        )
    total = reads + writes
    errors = sum(stats.errors.values())
    for label, values in (("all reads", reads), ("all writes", writes), ("overall", total)):
        if values:
            print(
                f"{label:<30}{len(values):>9}{len(values) / elapsed:>8.1f}"
                f"{_pct(values, 50):>9.0f}{_pct(values, 95):>9.0f}{_pct(values, 99):>9.0f}"
            )
    for page, samples in stats.samples.items():
        for sample in samples:
            print(f"error on {page}: {sample}")
    print(
        f"\ngoals: reads p95 < {READ_GOAL_MS:.0f} ms: {_verdict(reads, READ_GOAL_MS)}; "
        f"writes p95 < {WRITE_GOAL_MS:.0f} ms: {_verdict(writes, WRITE_GOAL_MS)}; "
        f"no errors: {'met' if errors == 0 else f'MISSED ({errors})'}"
        + (f"; pages over their goal: {', '.join(misses)}" if misses else "")
    )
    return errors


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of every live process in a process group, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command may hold spaces: the fields after it start after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class Window:
    """The recorded window: what the users measured and the CPU spent meanwhile."""

    stats: Stats
    server_cpu: float  # seconds, gunicorn's processes
    client_cpu: float  # seconds, this process (the users)


def run_load(users: list[User], warmup: float, duration: float, server_pgid: int) -> Window:
    """Every user in a thread of its own; only requests started in the window are kept."""
    stats = Stats()
    stop_event = threading.Event()
    now = time.perf_counter()
    record_from = now + warmup
    until = record_from + duration
    threads = []
    for user in users:
        # Staggered over one think time: people do not click in step.
        start = now + user.rng.uniform(0, max(user.think, 0.2))
        thread = threading.Thread(
            target=user.run, args=(start, record_from, until, stats, stop_event), daemon=True
        )
        threads.append(thread)
        thread.start()
    try:
        time.sleep(max(0.0, record_from - time.perf_counter()))
        server, client = group_cpu_seconds(server_pgid), time.process_time()
        time.sleep(max(0.0, until - time.perf_counter()))
        server = group_cpu_seconds(server_pgid) - server
        client = time.process_time() - client
        # Bounded: a request in flight at the end gets at most the request timeout.
        for thread in threads:
            thread.join(timeout=max(0.1, until + REQUEST_TIMEOUT + 5 - time.perf_counter()))
    finally:
        stop_event.set()
    return Window(stats, server, client)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent signed-in users")
    parser.add_argument("--duration", type=float, default=60.0, help="recorded seconds")
    parser.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="unrecorded seconds first (each gunicorn worker's first pages import the app)",
    )
    parser.add_argument(
        "--think", type=float, default=5.0, help="mean seconds a user waits between requests"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn sync workers (default 2 x cores + 1)",
    )
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the seeded database of an earlier run"
    )
    parser.add_argument(
        "--db-url",
        default=LOAD_DB,
        help="PostgreSQL database to drop, create and seed; its name must contain 'load'",
    )
    parser.add_argument("--redis-url", default=LOAD_REDIS, help="the workers' broker")
    return parser


def _interrupted(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if "load" not in database_name(args.db_url):
        raise SystemExit(f"refusing to use {args.db_url}: the name must contain 'load'")
    if args.users < 1 or args.duration <= 0:
        raise SystemExit("--users and --duration must be positive")
    signal.signal(signal.SIGTERM, _interrupted)
    # Also when started in the background by a shell, which would have SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    LOGS.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} on {os.cpu_count()} cores")
    if not args.reuse:
        seed(args.db_url)
    env = _bench_env(args.db_url, args.redis_url)
    # This process reads the ids and makes the users in the bench database, like the server.
    os.environ.update(env)
    targets = prepare(args.users)
    collectstatic(env)

    from sop.celery import app

    # A task left by an interrupted run would only take the workers' time.
    app.control.purge()

    port = _free_port()
    procs: list[subprocess.Popen] = []
    try:
        procs.append(start_gunicorn(env, port, args.workers))
        procs.extend(start_celery(env, args.celery_workers))
        wait_ready(port, procs)
        print(
            f"gunicorn on 127.0.0.1:{port} with {args.workers} workers, "
            f"{args.celery_workers} Celery workers"
        )
        users = [
            User(role, name, port, targets, i, max(0.0, args.think))
            for role, names in targets.users.items()
            for i, name in enumerate(names)
        ]
        seconds = sign_in_all(users)
        roles = ", ".join(f"{len(n)} {r}" for r, n in targets.users.items())
        print(f"{len(users)} users signed in in {seconds:.1f} s ({roles})")
        print(
            f"running {args.warmup:.0f} s warm-up + {args.duration:.0f} s, "
            f"think time {args.think:.1f} s"
            + (f" (at most {len(users) / args.think:.0f} req/s offered)" if args.think else "")
            + " ..."
        )
        window = run_load(users, args.warmup, args.duration, procs[0].pid)
        for proc in procs:
            if proc.poll() is not None:
                print(f"{proc.args[2]} exited during the run ({proc.returncode}); see {LOGS}")
    finally:
        stop(procs)
    errors = report(window.stats, args.duration, server_times())
    count = sum(len(v) for v in window.stats.latencies.values())
    print(
        f"CPU in the window: gunicorn {window.server_cpu:.1f} s"
        f" ({1000 * window.server_cpu / max(count, 1):.0f} ms a request, PostgreSQL not"
        f" counted), the users (this process) {window.client_cpu:.2f} s"
    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted: every process the bench started is stopped")
