"""Benchmark history cleansing and the events layer on the demo company, whose generator
knows the true baseline and the true lift of every promotion.

    python bench/events_bench.py demo [--skus 200] [--locations 3] [--months 48] [--seed 0]
        [--series N] [--origins 12] [--horizon 3] [--jobs 1]

Rolling origin over the last `--origins` months of history: at each origin the engine
forecasts the next `--horizon` months from the history before it, on the raw history
(today's engine) or cleansed (`demand.forecasting.history_marks` + `cleanse`, the past
events recorded before the origin marked), with or without the events layer of the
recorded events in the forecast months (marketing's guessed lift, `demand.events`). The
consensus (no overrides here) is scored by WAPE on SKU-months (locations summed) inside the
history: promoted SKU-months (a promotion ran) apart from the others.

Goal: on promoted SKU-months, cleansing + events cut WAPE by at least 25% relative to the
raw engine; on the other SKU-months WAPE is no worse. Then the lift the product measures
for each past promotion (actual against the cleansed baseline on the full history) is
compared with the generator's true lift, as marketing's guess is: mean absolute error in
points. Everything is ORM-free: the same functions the forecast run and the lift page call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demand.events import (
    EVENT_COLUMNS,
    events_layer,
    history_event_mask,
    measured_lift,
)
from demand.forecasting import cleanse, forecast_series, history_marks, wape
from sop.demo import DemoCompany, demo_company
from sop.months import month_numbers

SEASON = 12
REDUCTION_GOAL = 0.25


def _event_frame(company: DemoCompany) -> pd.DataFrame:
    """The recorded events as `demand.events` reads them: products are SKU positions."""
    ev = company.events
    sku_pos = {code: i for i, code in enumerate(company.truth.skus)}
    first = int(month_numbers(pd.Series(company.truth.months[:1]))[0])
    return pd.DataFrame(
        {
            "event": ev["code"],
            "scope": ev["scope"],
            "family": ev["family"],
            "product": [sku_pos.get(s, -1) for s in ev["sku"]],
            "locations": [()] * len(ev),
            "start": month_numbers(ev["start_month"]) - first,
            "end": month_numbers(ev["end_month"]) - first,
            "effect_kind": ev["effect_kind"],
            "effect_value": ev["effect_value"].astype(float),
            "dip_months": ev["dip_months"].astype(int),
            "dip_percent": ev["dip_percent"].astype(float),
        },
        columns=EVENT_COLUMNS,
    )


def _series_forecasts(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Raw and cleansed forecasts of one series from each origin: two (origins x h) arrays."""
    y, event_mask, origins, horizon = args
    raw = np.zeros((len(origins), horizon))
    clean = np.zeros((len(origins), horizon))
    for i, o in enumerate(origins):
        raw[i] = forecast_series(y[:o], horizon=horizon, season_length=SEASON).point
        marks = history_marks(y[:o], event_mask[:o], SEASON)
        clean[i] = forecast_series(y[:o], horizon=horizon, season_length=SEASON, marked=marks).point
    return raw, clean


def run(opts: argparse.Namespace) -> None:
    started = time.perf_counter()
    company = demo_company(
        skus=opts.skus,
        locations=opts.locations,
        months=opts.months,
        seed=opts.seed,
        today=dt.date(2026, 12, 1),
    )
    truth = company.truth
    n_sku, n_loc, n = truth.quantity.shape
    events = _event_frame(company)
    keys = [(s, loc) for s in range(n_sku) for loc in range(n_loc)]
    families = np.repeat(truth.families, n_loc)
    actual = truth.quantity.reshape(n_sku * n_loc, n).astype(float)
    mask = history_event_mask(keys, families, 0, n, events)
    rng = np.random.default_rng(opts.seed)
    order = rng.permutation(n_sku)
    picked_skus = np.sort(order[: max(1, (opts.series or n_sku * n_loc) // n_loc)])
    rows = np.array([s * n_loc + loc for s in picked_skus for loc in range(n_loc)])
    origins = list(range(n - opts.origins, n))
    h = opts.horizon
    tasks = [(actual[r], mask[r], origins, h) for r in rows]
    with ProcessPoolExecutor(opts.jobs) if opts.jobs > 1 else _Serial() as pool:
        results = list(pool.map(_series_forecasts, tasks, chunksize=8))
    fit_seconds = time.perf_counter() - started

    # Forecast frame: one row per series x origin x step inside the history.
    recs = []
    for r, (raw, clean) in zip(rows, results, strict=True):
        for i, o in enumerate(origins):
            for k in range(h):
                if o + k < n:
                    recs.append(
                        (keys[r][0], keys[r][1], families[r], o + k, raw[i, k], clean[i, k], o)
                    )
    fc = pd.DataFrame(
        recs, columns=["product", "location", "family", "month", "raw", "clean", "origin"]
    )
    # Events layer of each variant: the same recorded events over each baseline.
    for base in ("raw", "clean"):
        layer = np.zeros(len(fc))
        for _, part in fc.groupby("origin"):
            stat = part.rename(columns={base: "statistical"})
            layer[part.index] = events_layer(stat, events)
        fc[f"{base}_ev"] = fc[base] + layer
    fc["actual"] = actual[fc["product"] * n_loc + fc["location"], fc["month"]]
    sku_month = fc.groupby(["origin", "product", "month"]).sum(numeric_only=True).reset_index()
    promoted = truth.promo[sku_month["product"], sku_month["month"]]
    # The month after a promotion (its dip) counts with the others; "untouched" leaves it out.
    untouched = ~promoted & (truth.lift[sku_month["product"], sku_month["month"]] == 1)
    variants = {
        "raw": "today's engine on raw history",
        "raw_ev": "raw history + events layer",
        "clean": "cleansed history",
        "clean_ev": "cleansed history + events layer",
    }
    print(
        f"demo company {n_sku} SKUs x {n_loc} locations, {n} months; {len(rows)} series, "
        f"origins {opts.origins} x horizon {h}: {len(sku_month)} SKU-months "
        f"({int(promoted.sum())} promoted); fits {fit_seconds:.1f} s"
    )
    scores = {}
    print(f"{'WAPE %':<34}{'promoted':>10}{'other':>10}{'untouched':>10}")
    for key, label in variants.items():
        a = sku_month["actual"].to_numpy()
        f = sku_month[key].to_numpy()
        scores[key] = (wape(a[promoted], f[promoted]), wape(a[~promoted], f[~promoted]))
        print(
            f"{label:<34}{scores[key][0]:>10.2f}{scores[key][1]:>10.2f}"
            f"{wape(a[untouched], f[untouched]):>10.2f}"
        )
    base_p, base_o = scores["raw"]
    best_p, best_o = scores["clean_ev"]
    cut = 1 - best_p / base_p
    met_p = cut >= REDUCTION_GOAL
    met_o = best_o <= base_o
    print(
        f"goal promoted: cleansing + events cut WAPE {100 * cut:.1f}% "
        f"(goal >= {100 * REDUCTION_GOAL:.0f}%): {'met' if met_p else 'missed'}"
    )
    print(
        f"goal other: WAPE {best_o:.2f} vs {base_o:.2f} (goal no worse): "
        f"{'met' if met_o else 'missed'}"
    )

    # Measured lift on the full history against the generator's truth.
    past = events[events["end"] < n].reset_index(drop=True)
    marks = np.array([history_marks(actual[r], mask[r], SEASON) for r in range(len(keys))])
    baseline = np.array([cleanse(actual[r], marks[r], SEASON) for r in range(len(keys))])
    lifts = measured_lift(keys, families, 0, actual, baseline, past)
    true = np.array(
        [
            100 * (truth.lift[ev.product, ev.start : ev.end + 1].mean() - 1)
            for ev in past.itertuples()
        ]
    )
    measured_err = np.nanmean(np.abs(lifts["lift_pct"].to_numpy() - true))
    guess_err = np.nanmean(np.abs(lifts["planned_pct"].to_numpy() - true))
    # The month's own noise bounds what any measure can do: against the generator's
    # noise-free baseline the error left is that noise.
    ideal = measured_lift(keys, families, 0, actual, truth.baseline.reshape(actual.shape), past)
    floor = np.nanmean(np.abs(ideal["lift_pct"].to_numpy() - true))
    print(
        f"measured lift vs true lift over {len(past)} past promotions: MAE {measured_err:.1f} "
        f"points (marketing's planned lift vs true: {guess_err:.1f} points; measured on the "
        f"true noise-free baseline: {floor:.1f} points)"
    )
    print(f"total {time.perf_counter() - started:.1f} s")


class _Serial:
    """A stand-in for the process pool when one job is asked."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items, chunksize=1):
        return map(fn, items)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default="demo", choices=["demo"])
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--locations", type=int, default=3)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--series", type=int, default=0, help="about this many series (0: all)")
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
