"""Benchmark the engine on intermittent demand (car parts) against the classic methods.

    python bench/forecast_bench.py /work/shared/data/carparts_dev.csv [--kind intermittent]
        [--limit N] [--jobs N] [--holdout]

Any long-form file `series_id, month, value, split` works. Models see only the `train`
rows; the horizon is the number of `test` months, which are used to score and nothing
else. With `--holdout` that many last train months are scored instead and the test rows
are not read at all.

The references are implemented here, independently of `demand.intermittent`, with their
textbook definitions: SES(0.1) starting at the first month; Croston and SBA (alpha 0.1,
size and interval starting at the first sale and the first interval counted from the
start of the history); TSB (alpha_d = alpha_p = 0.1, probability starting at the first
month's occurrence, size at the first sale); ADIDA (SES(0.1) on sums over the mean
inter-demand interval rounded, per month); IMAPA (mean of the SES(0.1) forecasts over
aggregation levels 1 to that interval).

Scores: MASE with the in-sample naive-1 MAE as scale and RMSSE (M5: root of the mean
squared error over the mean squared in-sample naive-1 difference), each a mean over the
series whose scale is not zero; bias is the total of forecast minus actual over the
total actual. Quantiles: the scaled pinball loss of the engine's quantiles per horizon
against flat empirical quantiles of the last 24 train months.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import SeriesData, load_series
from demand.forecasting import forecast_series

ALPHA = 0.1
BIAS_GOAL = 0.05
PINBALL_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.98)
EMPIRICAL_MONTHS = 24


def is_intermittent_file(path: Path) -> bool:
    """A file without M3's `category` column, or whose values are mostly zero."""
    df = pd.read_csv(path)
    return "category" not in df.columns or float((df["value"] == 0).mean()) > 0.5


# --- reference methods (flat monthly rates) ---------------------------------------------


def ref_ses(y: np.ndarray) -> float:
    level = y[0]
    for v in y[1:]:
        level += ALPHA * (v - level)
    return float(level)


def _demand_intervals(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nz = np.flatnonzero(y > 0)
    return nz, np.diff(nz, prepend=-1).astype(float)


def ref_croston(y: np.ndarray, sba: bool = False) -> float:
    nz, gaps = _demand_intervals(y)
    if len(nz) == 0:
        return 0.0
    rate = ref_ses(y[nz]) / ref_ses(gaps)
    return rate * (1 - ALPHA / 2) if sba else rate


def ref_sba(y: np.ndarray) -> float:
    return ref_croston(y, sba=True)


def ref_tsb(y: np.ndarray) -> float:
    nz, _ = _demand_intervals(y)
    if len(nz) == 0:
        return 0.0
    prob, size = float(y[0] > 0), y[nz[0]]
    for v in y[1:]:
        prob += ALPHA * ((v > 0) - prob)
        if v > 0:
            size += ALPHA * (v - size)
    return float(prob * size)


def _aggregation_level(y: np.ndarray) -> int:
    _, gaps = _demand_intervals(y)
    return max(1, round(float(gaps.mean()))) if len(gaps) else 1


def ref_adida(y: np.ndarray, k: int | None = None) -> float:
    if not (y > 0).any():
        return 0.0
    k = min(len(y), k or _aggregation_level(y))
    n = len(y) - len(y) % k
    return ref_ses(y[len(y) - n :].reshape(-1, k).sum(axis=1)) / k


def ref_imapa(y: np.ndarray) -> float:
    if not (y > 0).any():
        return 0.0
    top = min(len(y), _aggregation_level(y))
    return float(np.mean([ref_adida(y, k) for k in range(1, top + 1)]))


REFERENCES = {
    "ses(0.1)": ref_ses,
    "croston": ref_croston,
    "sba": ref_sba,
    "tsb": ref_tsb,
    "adida": ref_adida,
    "imapa": ref_imapa,
}


# --- scores -----------------------------------------------------------------------------


def scales(train: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """In-sample naive-1 MAE (MASE) and mean squared difference (RMSSE) of each series."""
    mae = np.array([np.mean(np.abs(np.diff(y))) if len(y) > 1 else 0.0 for y in train])
    mse = np.array([np.mean(np.diff(y) ** 2) if len(y) > 1 else 0.0 for y in train])
    return mae, mse


def point_scores(data: SeriesData, forecasts: list[np.ndarray]) -> dict[str, float]:
    mae_scale, mse_scale = scales(data.train)
    err = [f[: len(a)] - a for f, a in zip(forecasts, data.future, strict=True)]
    abs_err = np.array([np.mean(np.abs(e)) for e in err])
    sq_err = np.array([np.mean(e**2) for e in err])
    ok_mae, ok_mse = mae_scale > 0, mse_scale > 0
    total = sum(float(a.sum()) for a in data.future)
    return {
        "mase": float(np.mean(abs_err[ok_mae] / mae_scale[ok_mae])),
        "rmsse": float(np.mean(np.sqrt(sq_err[ok_mse] / mse_scale[ok_mse]))),
        "bias": sum(float(e.sum()) for e in err) / total if total > 0 else float("nan"),
    }


def pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> float:
    diff = actual - quantile
    return float(np.mean(np.maximum(level * diff, (level - 1) * diff)))


def pinball_scores(data: SeriesData, quantiles: list[dict[float, np.ndarray]]) -> np.ndarray:
    """Mean scaled pinball loss per level over the series with a non-zero scale."""
    mae_scale, _ = scales(data.train)
    ok = np.flatnonzero(mae_scale > 0)
    out = np.zeros(len(PINBALL_LEVELS))
    for j, q in enumerate(PINBALL_LEVELS):
        losses = [
            pinball(data.future[i], quantiles[i][q][: len(data.future[i])], q) / mae_scale[i]
            for i in ok
        ]
        out[j] = np.mean(losses)
    return out


def engine_forecast(y: np.ndarray, h: int) -> np.ndarray:
    """The engine's point forecast, then its quantiles at PINBALL_LEVELS, one row each."""
    fc = forecast_series(y, horizon=h)
    return np.vstack([fc.point, *(fc.quantiles[q] for q in PINBALL_LEVELS)])


def empirical_quantiles(y: np.ndarray, horizon: int) -> dict[float, np.ndarray]:
    tail = y[-EMPIRICAL_MONTHS:]
    return {q: np.full(horizon, np.quantile(tail, q)) for q in PINBALL_LEVELS}


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run_intermittent(path: Path, limit: int | None, jobs: int, holdout: bool) -> dict:
    """Score the engine, the references and the quantiles on the file; print the table."""
    from bench.forecast_bench import run_method  # it dispatches here: import late

    data = load_series(path, limit, holdout)
    h = data.horizon
    points: dict[str, list[np.ndarray]] = {}
    engine_out, seconds = run_method(
        functools.partial(engine_forecast, h=h), data.train, max(1, jobs)
    )
    points["engine"] = [rows[0] for rows in engine_out]
    for name, rate in REFERENCES.items():
        points[name] = [np.full(h, rate(y)) for y in data.train]
    results = {name: point_scores(data, f) for name, f in points.items()}

    mae_scale, mse_scale = scales(data.train)
    scored = f"last {h} train months (holdout)" if holdout else "test rows"
    print(f"{len(data.ids)} series from {path.name}, h={h}, scored on {scored}")
    print(
        f"MASE skips {int((mae_scale <= 0).sum())} series with a zero naive-1 scale, "
        f"RMSSE {int((mse_scale <= 0).sum())}"
    )
    print(f"{'method':<12}{'MASE':>8}{'RMSSE':>8}{'bias %':>9}")
    for name, r in results.items():
        print(f"{name:<12}{r['mase']:>8.4f}{r['rmsse']:>8.4f}{100 * r['bias']:>+9.1f}")
    rate = len(data.ids) / seconds
    print(f"engine: {seconds:.1f} s wall, {rate:.1f} series/s with {jobs} job(s)")

    eng = results["engine"]
    best_mase = min(REFERENCES, key=lambda k: results[k]["mase"])
    best_rmsse = min(REFERENCES, key=lambda k: results[k]["rmsse"])
    goals = {
        f"MASE <= best reference ({best_mase} {results[best_mase]['mase']:.4f})": (
            eng["mase"] <= results[best_mase]["mase"]
        ),
        f"RMSSE <= best reference ({best_rmsse} {results[best_rmsse]['rmsse']:.4f})": (
            eng["rmsse"] <= results[best_rmsse]["rmsse"]
        ),
        f"|bias| <= {100 * BIAS_GOAL:.0f}%": abs(eng["bias"]) <= BIAS_GOAL,
    }
    print("point goals: " + "; ".join(f"{k}: {_verdict(v)}" for k, v in goals.items()))

    engine_q = [dict(zip(PINBALL_LEVELS, rows[1:], strict=True)) for rows in engine_out]
    empirical_q = [empirical_quantiles(y, h) for y in data.train]
    loss = {
        "engine": pinball_scores(data, engine_q),
        f"empirical {EMPIRICAL_MONTHS}m": pinball_scores(data, empirical_q),
    }
    print("scaled pinball loss, per-horizon marginal quantiles")
    print(f"{'quantiles':<14}" + "".join(f"{q:>8}" for q in PINBALL_LEVELS) + f"{'mean':>8}")
    for name, row in loss.items():
        print(f"{name:<14}" + "".join(f"{v:>8.4f}" for v in row) + f"{row.mean():>8.4f}")
    lower = loss["engine"].mean() < loss[f"empirical {EMPIRICAL_MONTHS}m"].mean()
    print(f"quantile goal: engine pinball < empirical: {_verdict(lower)}")
    results["pinball"] = {k: float(v.mean()) for k, v in loss.items()}
    return results
