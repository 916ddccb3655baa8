"""What the benches share: their PostgreSQL database, timing the real code's phases, and
reading the long-form series files the forecast benches score."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# The horizon of a file with no test rows (scored on held-out train months only).
DEFAULT_HORIZON = 12


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


@dataclass
class SeriesData:
    """Train histories and scored future values of each series, in file order."""

    ids: list[str]
    train: list[np.ndarray]
    future: list[np.ndarray]
    horizon: int


def load_series(
    path: Path, limit: int | None = None, holdout: bool = False, horizon: int | None = None
) -> SeriesData:
    """Read a long-form file `series_id, month, value, split` (train or test).

    The horizon is `horizon`, else the most test months of a series. With `holdout` the
    future is that many last train months and the test rows are not read.
    """
    df = pd.read_csv(path, parse_dates=["month"])
    ids = list(dict.fromkeys(df["series_id"]))[:limit]
    df = df[df["series_id"].isin(ids)].sort_values(["series_id", "month"])
    if horizon is None:
        test_months = int((df["split"] == "test").groupby(df["series_id"]).sum().max())
        horizon = test_months or DEFAULT_HORIZON
    groups = {sid: g for sid, g in df.groupby("series_id", sort=False)}
    data = SeriesData([], [], [], horizon)
    for sid in ids:
        g = groups[sid]
        train = g.loc[g["split"] == "train", "value"].to_numpy(float)
        if holdout:
            train, future = train[:-horizon], train[-horizon:]
        else:
            future = g.loc[g["split"] == "test", "value"].to_numpy(float)
        data.ids.append(str(sid))
        data.train.append(train)
        data.future.append(future)
    return data
