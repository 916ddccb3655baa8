"""Backtest safety stock: does the order-up-to level deliver the target cycle service?

    python bench/service_bench.py [PATH] [--kind m3|intermittent] [--limit N] [--jobs N]
                                  [--holdout]

Each series is forecast from the end of its `train` rows (`demand.forecasting`), its error
quantiles go through the form a forecast run stores (`demand.uncertainty`) and its safety
stock and order-up-to level through the functions the supply plan uses
(`supply.projection.safety_stock` and `order_up_to_level`): lead time 0, 1, 2 months plus
the one-month review period (exposure k = 1, 2, 3), no lead-time variability, targets 90,
95 and 98 %. A replenishment cycle is covered when the demand of the first k scored
months stays within S = cumulative forecast + SS. Printed per target and k, and pooled
over k: the achieved cycle service, the fill rate (1 - shortfall / demand) and the mean SS
in months of demand (SS over the mean monthly forecast of the k months, over the series
that have one), for our policy and for the textbook normal formula with the one-step
backtest sigma and sqrt(k) (the same function without quantiles). Then the normal
formula's z is scaled (bisection on a multiplier) until it reaches our achieved service:
our mean SS should not be more than what it then needs.

The scored months are the `test` rows; with `--holdout` the last 12 `train` rows are
scored instead and the series are forecast from the train rows before them. Nothing is
fitted on scored rows. The kind (m3: within 2 points of each target; intermittent, like
car parts: within 3) is read from the file unless given: intermittent when at least 30 %
of the train months are zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_series
from bench.forecast_bench import DEFAULT_M3, HORIZON, SEASON, run_method
from demand.forecasting import forecast_series
from demand.uncertainty import error_quantile_grid, stored_error_quantiles
from supply.projection import order_up_to_level, safety_stock

TARGETS = (0.90, 0.95, 0.98)
EXPOSURES = (1, 2, 3)  # lead time 0, 1, 2 months + the review month
REVIEW_MONTHS = 1
HOLDOUT_MONTHS = 12
TOLERANCE_POINTS = {"m3": 2.0, "intermittent": 3.0}
INTERMITTENT_ZERO_SHARE = 0.3


@dataclass(frozen=True)
class Forecasts:
    """What safety stock needs of each series' forecast, n rows."""

    point: np.ndarray  # n x HORIZON
    sigma: np.ndarray  # n, one-step backtest error std
    levels: tuple[float, ...]
    quantiles: np.ndarray  # n x levels x HORIZON, NaN rows: normal formula

    def rows(self, keep: np.ndarray) -> Forecasts:
        """The forecasts of the series where the boolean `keep` is set."""
        return replace(
            self, point=self.point[keep], sigma=self.sigma[keep], quantiles=self.quantiles[keep]
        )


@dataclass(frozen=True)
class Score:
    """One policy's figures on a set of (series, exposure) cycles."""

    service: float  # %
    fill_rate: float  # %
    ss_months: float


def _forecast(y: np.ndarray) -> tuple[np.ndarray, float, dict]:
    fc = forecast_series(y, horizon=HORIZON, season_length=SEASON)
    return fc.point, fc.residual_std, stored_error_quantiles(fc)


def forecast_all(train: list[np.ndarray], jobs: int) -> tuple[Forecasts, float]:
    """Forecast every series in `jobs` processes; returns them and the wall seconds."""
    results, seconds = run_method(_forecast, train, jobs)
    levels, quantiles = error_quantile_grid([r[2] for r in results])
    return (
        Forecasts(
            point=np.array([r[0] for r in results]),
            sigma=np.nan_to_num(np.array([r[1] for r in results])),
            levels=levels,
            quantiles=quantiles,
        ),
        seconds,
    )


def detect_kind(train: list[np.ndarray]) -> str:
    """Intermittent when at least 30 % of the train months are zero, else m3."""
    values = np.concatenate(train) if train else np.zeros(0)
    zero_share = float(np.mean(values == 0)) if values.size else 0.0
    return "intermittent" if zero_share >= INTERMITTENT_ZERO_SHARE else "m3"


def cycle_arrays(
    fc: Forecasts, future: list[np.ndarray], target: float, k: int, *, normal: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Safety stock, order-up-to level, demand and mean forecast over k months per series.

    Series with fewer than k scored months are left out. `normal` drops the quantiles: the
    supply function's own fallback, the textbook formula.
    """
    keep = np.array([len(f) >= k for f in future])
    n = int(keep.sum())
    exposure = np.full(n, float(k))
    point = fc.point[keep]
    ss = safety_stock(
        service_level=np.full(n, target),
        exposure_months=exposure,
        mean_demand=point[:, :k].mean(axis=1),
        lead_time_std_months=np.zeros(n),
        demand_error_std=fc.sigma[keep],
        error_quantiles=None if normal else fc.quantiles[keep],
        error_quantile_levels=fc.levels,
    ).quantity
    up_to = order_up_to_level(demand=point, exposure_months=exposure, safety_stock=ss)
    demand = np.array([f[:k].sum() for f, kept in zip(future, keep, strict=True) if kept])
    return ss, up_to - ss, demand, point[:, :k].mean(axis=1)


def service(ss: np.ndarray, cum_forecast: np.ndarray, demand: np.ndarray) -> float:
    """Achieved cycle service (%): the share of cycles whose demand stayed within S."""
    return 100 * float(np.mean(demand <= cum_forecast + ss + 1e-9))


def score(ss: np.ndarray, cum_forecast: np.ndarray, demand: np.ndarray, mean: np.ndarray) -> Score:
    """Achieved cycle service, fill rate and mean SS in months of demand."""
    short = np.maximum(demand - cum_forecast - ss, 0.0)
    total = demand.sum()
    positive = mean > 0
    return Score(
        service=service(ss, cum_forecast, demand),
        fill_rate=100 * (1 - float(short.sum() / total)) if total > 0 else 100.0,
        ss_months=float(np.mean(ss[positive] / mean[positive])) if positive.any() else 0.0,
    )


def matching_multiplier(
    normal_ss: np.ndarray, cum_forecast: np.ndarray, demand: np.ndarray, target: float
) -> float:
    """Smallest multiplier of the normal formula's z whose service reaches `target` (%)."""
    low, high = 0.0, 1.0
    while service(high * normal_ss, cum_forecast, demand) < target and high < 1e3:
        high *= 2
    for _ in range(50):
        mid = (low + high) / 2
        if service(mid * normal_ss, cum_forecast, demand) >= target:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class Row:
    label: str
    target: float
    ours: Score
    normal: Score
    multiplier: float
    matched: Score

    @property
    def within(self) -> float:
        return abs(self.ours.service - 100 * self.target)


def evaluate(fc: Forecasts, future: list[np.ndarray]) -> list[Row]:
    """A row per target and exposure, then one per target pooled over the exposures."""
    rows = []
    for target in TARGETS:
        parts: dict[str, list[np.ndarray]] = {"ours": [], "normal": [], "cum": [], "d": [], "m": []}
        for k in EXPOSURES:
            ss, cum, demand, mean = cycle_arrays(fc, future, target, k)
            normal_ss = cycle_arrays(fc, future, target, k, normal=True)[0]
            rows.append(_row(f"{k}", target, ss, normal_ss, cum, demand, mean))
            for key, value in zip(parts, (ss, normal_ss, cum, demand, mean), strict=True):
                parts[key].append(value)
        pooled = {key: np.concatenate(value) for key, value in parts.items()}
        rows.append(
            _row(
                "1-3",
                target,
                pooled["ours"],
                pooled["normal"],
                pooled["cum"],
                pooled["d"],
                pooled["m"],
            )
        )
    return rows


def _row(label, target, ss, normal_ss, cum, demand, mean) -> Row:
    ours = score(ss, cum, demand, mean)
    multiplier = matching_multiplier(normal_ss, cum, demand, ours.service)
    return Row(
        label=label,
        target=target,
        ours=ours,
        normal=score(normal_ss, cum, demand, mean),
        multiplier=multiplier,
        matched=score(multiplier * normal_ss, cum, demand, mean),
    )


def report(rows: list[Row], *, kind: str) -> bool:
    """Print the table and the goals; True if every goal is met."""
    print(
        f"{'LT+RP':>5} {'target':>6} | {'ours: service':>13} {'fill':>6} {'SS mo':>6} | "
        f"{'normal: service':>15} {'fill':>6} {'SS mo':>6} | "
        f"{'normal at our service: z x':>26} {'SS mo':>6} {'ours<=it':>8}"
    )
    for r in rows:
        print(
            f"{r.label:>5} {100 * r.target:>5.0f}% | {r.ours.service:>12.1f}% "
            f"{r.ours.fill_rate:>5.1f}% {r.ours.ss_months:>6.2f} | "
            f"{r.normal.service:>14.1f}% {r.normal.fill_rate:>5.1f}% {r.normal.ss_months:>6.2f} | "
            f"{r.multiplier:>26.2f} {r.matched.ss_months:>6.2f} "
            f"{'met' if r.ours.ss_months <= r.matched.ss_months + 1e-9 else 'missed':>8}"
        )
    tolerance = TOLERANCE_POINTS[kind]
    pooled = [r for r in rows if r.label == "1-3"]
    service_pooled = all(r.within <= tolerance for r in pooled)
    service_each = all(r.within <= tolerance for r in rows)
    lean = all(r.ours.ss_months <= r.matched.ss_months + 1e-9 for r in pooled)
    targets = "/".join(f"{100 * t:.0f}" for t in TARGETS)
    print(
        f"goal: achieved service within {tolerance:.0f} points of {targets} % "
        f"(pooled over LT+RP 1-3): {'met' if service_pooled else 'missed'}; "
        f"at each LT+RP: {'met' if service_each else 'missed'}"
    )
    print(
        "goal: no more safety stock than the normal formula needs for the same service "
        f"(pooled): {'met' if lean else 'missed'}"
    )
    return service_pooled and lean


def run(path: Path, *, kind: str | None, limit: int | None, jobs: int, holdout: bool) -> bool:
    # The loader hands back the test rows too; with --holdout they are dropped unread.
    data = load_series(path, limit, horizon=HORIZON)
    train, future = data.train, data.future
    if holdout:
        train = [y[:-HOLDOUT_MONTHS] for y in data.train]
        future = [y[-HOLDOUT_MONTHS:] for y in data.train]
    kind = kind or detect_kind(train)
    started = time.perf_counter()
    fc, seconds = forecast_all(train, jobs)
    from_quantiles = int((~np.isnan(fc.quantiles).all(axis=(1, 2))).sum())
    scored = f"last {HOLDOUT_MONTHS} train months (holdout)" if holdout else "test rows"
    print(
        f"service bench {dt.date.today():%Y-%m-%d}: {path.name}, kind {kind}, "
        f"{len(train)} series ({from_quantiles} from quantiles, "
        f"{len(train) - from_quantiles} normal formula), scored on {scored}; "
        f"forecasts {seconds:.1f} s with {jobs} job(s)"
    )
    # A series that never sold in its train months has no demand to set a safety stock
    # from (the plan forecasts it at zero, with none): no method can meet a service target
    # there, so it is counted apart instead of diluting the figures of the rest.
    sold = np.array([bool((y > 0).any()) for y in train])
    if not sold.all():
        quiet = np.mean(
            [f[: max(EXPOSURES)].sum() == 0 for f, s in zip(future, sold, strict=True) if not s]
        )
        print(
            f"{int((~sold).sum())} series never sold in their train months: left out below "
            f"(no sales, no safety stock); {100 * quiet:.1f}% of them sold nothing in the "
            f"first {max(EXPOSURES)} scored months either"
        )
    kept = [f for f, s in zip(future, sold, strict=True) if s]
    ok = report(evaluate(fc.rows(sold), kept), kind=kind)
    print(f"total {time.perf_counter() - started:.1f} s")
    return ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path", nargs="?", type=Path, default=DEFAULT_M3, help="long CSV with a split column"
    )
    parser.add_argument("--kind", choices=sorted(TOLERANCE_POINTS), default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N series")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for forecasting")
    parser.add_argument(
        "--holdout",
        action="store_true",
        help=f"score the last {HOLDOUT_MONTHS} train months instead of the test rows",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ok = run(
        args.path, kind=args.kind, limit=args.limit, jobs=max(1, args.jobs), holdout=args.holdout
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
