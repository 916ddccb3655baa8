"""Benchmark the demand forecasting engine against the M4 benchmarks on M3 monthly data.

    python bench/forecast_bench.py [PATH] [--limit N] [--jobs N] [--holdout]

The default data is the 714 M3 monthly series in `shared/data/m3_monthly_dev.csv`. Models
see only the `train` rows; the `test` rows (18 months) are used to score and nothing else.
With `--holdout` the last 18 train months are scored instead and the test rows are not
read at all: use that to compare engine changes without looking at the test period.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import seasonal_decompose

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demand.forecasting import forecast_series, is_seasonal, mase_scale, smape

DEFAULT_M3 = Path(__file__).resolve().parents[2] / "shared/data/m3_monthly_dev.csv"
HORIZON = 18
SEASON = 12


@dataclass
class M3Data:
    """Train histories and scored future values of each series, in file order."""

    ids: list[str]
    train: list[np.ndarray]
    future: list[np.ndarray]


def load_m3(path: Path, limit: int | None = None, holdout: bool = False) -> M3Data:
    """Read the long-form M3 file; with `holdout` the future is the last train months."""
    df = pd.read_csv(path, parse_dates=["month"])
    ids = list(dict.fromkeys(df["series_id"]))[:limit]
    df = df[df["series_id"].isin(ids)].sort_values(["series_id", "month"])
    groups = {sid: g for sid, g in df.groupby("series_id", sort=False)}
    data = M3Data([], [], [])
    for sid in ids:
        g = groups[sid]
        train = g.loc[g["split"] == "train", "value"].to_numpy(float)
        if holdout:
            train, future = train[:-HORIZON], train[-HORIZON:]
        else:
            future = g.loc[g["split"] == "test", "value"].to_numpy(float)
        data.ids.append(sid)
        data.train.append(train)
        data.future.append(future)
    return data


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


def score(data: M3Data, forecasts: list[np.ndarray]) -> tuple[float, float]:
    """Mean sMAPE (%) and mean MASE (seasonal, m=12) over the series."""
    smapes, mases = [], []
    for y, future, f in zip(data.train, data.future, forecasts, strict=True):
        smapes.append(smape(future, f[: len(future)]))
        mases.append(np.mean(np.abs(future - f[: len(future)])) / mase_scale(y, SEASON))
    return float(np.mean(smapes)), float(np.mean(mases))


def run_m3(path: Path, limit: int | None, jobs: int, holdout: bool) -> dict[str, dict]:
    """Score the engine and the benchmarks on the M3 file and print the table."""
    data = load_m3(path, limit, holdout)
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
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_M3, help="M3 long CSV")
    parser.add_argument("--limit", type=int, default=None, help="only the first N series")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the engine")
    parser.add_argument(
        "--holdout", action="store_true", help="score on the last 18 train months instead"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_m3(args.path, args.limit, max(1, args.jobs), args.holdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
