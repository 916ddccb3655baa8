"""Run the whole test suite: migration check, ruff, then pytest.

Uses PostgreSQL and Redis when they are reachable (from DATABASE_URL / REDIS_URL, or found
on 127.0.0.1) and says plainly what it skips when they or Chromium are missing. With CI set,
a missing service is an error instead of a skip: CI always tests against the real ones.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/sop"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"
CHROMIUM = "/usr/bin/chromium"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    if url:
        return None
    if not _port_open("127.0.0.1", 5432):
        return None
    try:
        import psycopg

        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ).close()
    except Exception:
        return None
    return LOCAL_POSTGRES


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "")
    candidate = url or LOCAL_REDIS
    try:
        import redis

        redis.Redis.from_url(candidate, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return candidate


class Command(BaseCommand):
    help = "Run the whole test suite (checks, ruff, pytest) against the real services found."

    def add_arguments(self, parser):
        parser.add_argument("pytest_args", nargs="*", help="extra arguments passed to pytest")
        parser.add_argument(
            "--no-lint", action="store_true", help="skip ruff and the migration check"
        )

    def handle(self, *args, pytest_args, no_lint, **options):
        in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
        env = dict(os.environ)
        notes: list[str] = []

        pg = _postgres_url()
        if pg:
            env["DATABASE_URL"] = pg
            notes.append(f"database: PostgreSQL ({pg.rsplit('@', 1)[-1]})")
        else:
            env.pop("DATABASE_URL", None)
            notes.append(
                "database: SQLite - SKIPPED the PostgreSQL-only tests (no server reachable)"
            )

        rd = _redis_url()
        if rd:
            env["SOP_TEST_REDIS_URL"] = rd
            notes.append("redis: real broker and Celery worker tests enabled")
        else:
            notes.append(
                "redis: not reachable - SKIPPED the Celery worker tests (tasks run in-process)"
            )
        # The suite's own tasks run eagerly unless a test starts a worker on purpose.
        env.pop("REDIS_URL", None)

        has_browser = os.path.exists(CHROMIUM) and _importable("playwright")
        if has_browser:
            env["SOP_TEST_CHROMIUM"] = CHROMIUM
            notes.append("browser: Playwright with Debian Chromium")
        else:
            notes.append(
                f"browser: no {CHROMIUM} - SKIPPED the browser tests (apt-get install chromium)"
            )

        for note in notes:
            self.stdout.write(f"[test] {note}")
        if in_ci and not (pg and rd and has_browser):
            raise CommandError(
                "CI must test against PostgreSQL, Redis and Chromium; see the lines above."
            )

        if not no_lint:
            self._run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], env)
            ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or "ruff"
            self._run([ruff, "check", "."], env)
            self._run([ruff, "format", "--check", "."], env)

        code = subprocess.call(
            [sys.executable, "-m", "pytest", *pytest_args], cwd=settings.BASE_DIR, env=env
        )
        if code:
            raise CommandError(f"pytest failed (exit {code}).", returncode=code)

    def _run(self, cmd: list[str], env: dict) -> None:
        self.stdout.write(
            f"[test] $ {' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}"
        )
        if subprocess.call(cmd, cwd=settings.BASE_DIR, env=env):
            raise CommandError(f"{os.path.basename(cmd[0])} {cmd[1]} failed.")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
