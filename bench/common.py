"""What the benches share: their PostgreSQL database, and timing the real code's phases."""

from __future__ import annotations

import time
from collections.abc import Callable


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def create_database(url: str, *, fresh: bool = False) -> None:
    """Create the database of a postgres:// URL if it is missing; `fresh`: drop it first."""
    import psycopg

    name = database_name(url)
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if fresh:
            # FORCE: processes of an interrupted earlier bench may still hold connections.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{name}"')


def phase_timer(phases: dict[str, float]) -> Callable[[str, Callable], Callable]:
    """`timed(name, func)`: func, adding the seconds of each call to phases[name].

    Benches time the real code path by wrapping its steps, not by copying them.
    """

    def timed(name: str, func: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    return timed
