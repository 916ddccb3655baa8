"""Accuracy of past plans against actuals, vectorised over groups. ORM-free.

The definitions are the engine's (`demand.forecasting.mape/wape/bias/mase`), computed
with group sums so a table of thousands of SKUs takes one pass instead of a Python loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demand.constants import SEASON_LENGTH

METHODS = ("naive", "statistical", "consensus")
METRICS = ("mape", "wape", "bias", "mase")


def seasonal_naive_scale(history: pd.DataFrame, m: int = SEASON_LENGTH) -> pd.Series:
    """In-sample MAE of the seasonal naive per row of a wide (group x month) history.

    The columns must be consecutive calendar months (the caller reindexes to the
    calendar): lags are taken by position. Lag m when a row has more than m months, else
    lag 1 (as `forecasting.mase_scale`); months before a group's first sale are not
    counted, an empty month after it counts as zero.
    """
    values = history.to_numpy(float)
    started = np.cumsum(np.nan_to_num(values) > 0, axis=1) > 0
    values = np.where(started, np.nan_to_num(values), np.nan)
    counts = (~np.isnan(values)).sum(axis=1)
    out = np.full(len(values), np.nan)
    for lag in (m, 1):
        use = counts > m if lag == m else (counts <= m) & (counts > 1)
        if values.shape[1] <= lag or not use.any():
            continue
        diffs = np.abs(values[use, lag:] - values[use, :-lag])
        valid = ~np.isnan(diffs)
        n = valid.sum(axis=1)
        out[use] = np.where(n > 0, np.nansum(diffs, axis=1) / np.maximum(n, 1), np.nan)
    return pd.Series(out, index=history.index)


def accuracy_by(
    frame: pd.DataFrame, keys: list[str], scale: pd.Series | None = None
) -> pd.DataFrame:
    """MAPE, WAPE, bias (percent) and MASE of each method per group of `keys`.

    `frame` has one row per evaluated (plan, month) at the finest grain with columns
    `keys`, `plan`, `month`, `actual` and the METHODS; it is first summed to the group's
    grain so a family is judged on its total, not on the sum of its SKUs' errors.
    `scale` (indexed like the groups) is the MASE denominator.
    """
    columns = [f"{method}_{metric}" for method in METHODS for metric in METRICS]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "months"])
    grain = frame.groupby([*keys, "plan", "month"], sort=False)[["actual", *METHODS]].sum()
    a = grain["actual"].to_numpy(float)
    nonzero = a != 0
    parts = {"volume": np.abs(a), "n": np.ones_like(a), "n_nonzero": nonzero.astype(float)}
    for method in METHODS:
        f = grain[method].to_numpy(float)
        err = np.abs(a - f)
        parts[f"{method}_abs"] = err
        parts[f"{method}_signed"] = f - a
        parts[f"{method}_ape"] = np.divide(err, np.abs(a), out=np.zeros_like(a), where=nonzero)
    sums = pd.DataFrame(parts, index=grain.index).groupby(level=list(range(len(keys)))).sum()
    if len(keys) == 1:
        sums.index = sums.index.get_level_values(0)
    volume = sums["volume"].where(sums["volume"] > 0)
    out = pd.DataFrame(index=sums.index)
    scale_aligned = (
        scale.reindex(sums.index) if scale is not None else pd.Series(np.nan, index=sums.index)
    )
    for method in METHODS:
        out[f"{method}_mape"] = (
            100 * sums[f"{method}_ape"] / sums["n_nonzero"].where(sums["n_nonzero"] > 0)
        )
        out[f"{method}_wape"] = 100 * sums[f"{method}_abs"] / volume
        out[f"{method}_bias"] = 100 * sums[f"{method}_signed"] / volume
        out[f"{method}_mase"] = (sums[f"{method}_abs"] / sums["n"]) / scale_aligned.where(
            scale_aligned > 0
        )
    out["months"] = sums["n"].astype(int)
    return out


def wape_by_method(frame: pd.DataFrame, methods: list[str]) -> dict[str, float | None]:
    """WAPE (%) of each method column of `frame` against its `actual`, row by row.

    Judged at the grain of the rows (a series' month), so errors of two SKUs do not cancel
    out as they would on a family total: sum of absolute errors over the sum of actuals.
    None without any demand.
    """
    actual = frame["actual"].to_numpy(float)
    volume = np.abs(actual).sum()
    if not volume > 0:
        return dict.fromkeys(methods)
    return {
        method: float(100 * np.abs(actual - frame[method].to_numpy(float)).sum() / volume)
        for method in methods
    }
