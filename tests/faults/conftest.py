"""Private, throwaway Redis and PostgreSQL servers and Celery workers for the fault tests.

The shared servers other test runs use are never stopped: every test here that kills or
restarts a service starts its own copy on a free port. Without the server binaries the tests
are skipped, and under CI=true that is an error instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sop.celery import app

# The demand tests' company and cycle (in demand review, where both runs are allowed).
from tests.demand.conftest import company, cycle, planner, published  # noqa: F401
from tests.demand.test_workers import many_series  # noqa: F401

REDIS_SERVER = shutil.which("redis-server")
PG_BIN_DIRS = ["/usr/local/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]
ROOT = Path(__file__).resolve().parents[2]
# The worker imports Django, pandas and statsmodels; give it time on a loaded machine.
WORKER_TIMEOUT = 120

_WORKER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
django.setup()
from sop.celery import app
app.worker_main(["worker", "-c", sys.argv[1], "-l", "INFO", "-P", "prefork",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def _drop_broker_pools() -> None:
    # Celery caches its connection and producer pools for the old URL. Not app.close(): that
    # also drops the app from the active ones, so @shared_task modules imported later would
    # not register on it.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker(url: str):
    """The project's Celery app publishing to `url` instead of running tasks eagerly."""
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    _drop_broker_pools()
    app.conf.update(broker_url=url, task_always_eager=False)
    try:
        yield
    finally:
        app.conf.update(saved)
        _drop_broker_pools()


@pytest.fixture(autouse=True)
def _project_celery_app():
    # @shared_task tasks resolve against the current Celery app, and a test elsewhere that
    # builds a Celery(broker=...) to send with makes that one current (and not eager).
    app.set_current()


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the fault tests: {what}")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str = "condition", poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _port_open(self.port), 10, "redis-server to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        _missing("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pg_bin(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    return shutil.which(name)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb'd as the postgres OS user) on a free port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.pg_ctl = _pg_bin("pg_ctl")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._as_owner(
            _pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    def _ctl(self, *args: str) -> None:
        # -l: the server's output goes to a file, not to pipes pg_ctl's caller waits on.
        log = str(self.base / "log")
        self._as_owner(self.pg_ctl, "-D", str(self.data), "-l", log, "-w", "-t", "60", *args)

    def start(self) -> None:
        self._ctl("-o", self._options(), "start")

    def restart(self) -> None:
        """Stop fast (open transactions are rolled back, clients cut off) and start again."""
        self._ctl("-m", "fast", "-o", self._options(), "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._ctl("-m", "immediate", "stop")

    def _options(self) -> str:
        return f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (_pg_bin("initdb") and _pg_bin("pg_ctl")):
        _missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        _missing("running as root without runuser: initdb cannot run")
    base = Path(tempfile.mkdtemp(prefix="sop-fault-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    server = PrivatePostgres(base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_database_url() -> str:
    """The URL of the test database this process uses, for a subprocess to share it."""
    from django.db import connection

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    """A Celery worker subprocess (main process and prefork pool) on a private Redis."""

    def __init__(self, *, redis_url: str, log: Path, concurrency: int = 2) -> None:
        env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=test_database_url())
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(concurrency)],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool, as an OOM kill or a lost host."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log_file.close()

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path):
    """Start Celery workers on a private Redis; all are killed at the end of the test."""
    workers: list[Worker] = []

    def _start(redis_url: str, concurrency: int = 2) -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        worker = Worker(redis_url=redis_url, log=log, concurrency=concurrency)
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        worker.kill()
