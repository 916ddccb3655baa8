"""Supplier OTIF and actual lead times, computed by hand on a handful of order lines."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from supply.performance import (
    RECEIPT_COLUMNS,
    Tolerance,
    lead_times,
    order_lines,
    receipts_with_month,
    service,
)

AS_OF = dt.date(2026, 10, 1)
# order_ref, product, location, supplier, ordered, promised, quantity, received on, received
ROWS = [
    ("A", 1, 1, "S1", "2026-08-01", "2026-09-01", 100, "2026-08-30", 60),  # two parts, on time
    ("A", 1, 1, "S1", "2026-08-01", "2026-09-01", 100, "2026-09-01", 40),
    ("B", 1, 1, "S1", "2026-08-01", "2026-09-10", 100, "2026-09-13", 100),  # 3 days late
    ("C", 2, 1, "S1", "2026-08-15", "2026-09-20", 100, "2026-09-20", 95),  # 5 short
    ("D", 2, 1, "S1", "2026-08-20", "2026-09-25", 50, None, 0),  # due, never came
    ("G", 1, 2, "S1", "2026-08-01", "2026-08-31", 100, "2026-08-28", 50),  # Aug line,
    ("G", 1, 2, "S1", "2026-08-01", "2026-08-31", 100, "2026-09-02", 50),  # rest in Sep
    ("E", 3, 1, "S2", "2026-09-01", "2026-10-15", 10, None, 0),  # open, not due
    ("F", 3, 1, "S2", "2026-09-01", "2026-10-20", 10, "2026-09-28", 10),  # early, in full
    ("H", 4, 1, "S3", "2026-09-01", "2026-09-29", 20, None, 0),  # 2 days overdue
]


def receipts() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=RECEIPT_COLUMNS)
    for column in ("order_date", "promised_date", "receipt_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def by_line(tolerance: Tolerance) -> dict[str, dict]:
    lines = order_lines(receipts(), as_of=AS_OF, tolerance=tolerance)
    return {row["order_ref"]: row for row in lines.to_dict("records")}


def by_group(frame: pd.DataFrame, *keys: str) -> dict:
    rows = frame.to_dict("records")
    if len(keys) == 1:
        return {row[keys[0]]: row for row in rows}
    return {tuple(row[k] for k in keys): row for row in rows}


def test_each_line_is_on_time_in_full_or_neither_without_tolerance():
    lines = by_line(Tolerance())
    outcome = {ref: (r["on_time"], r["in_full"], r["otif"]) for ref, r in lines.items()}
    assert outcome == {
        "A": (True, True, True),
        "B": (False, True, False),
        "C": (True, False, False),
        "D": (False, False, False),
        "G": (False, True, False),
        "F": (True, True, True),
        "H": (False, False, False),
    }
    assert {ref: r["days_late"] for ref, r in lines.items()} == {
        "A": 0, "B": 3, "C": 0, "D": 6, "G": 2, "F": 0, "H": 2,
    }  # fmt: skip
    assert {ref: r["quantity_short"] for ref, r in lines.items()} == {
        "A": 0, "B": 0, "C": 5, "D": 50, "G": 0, "F": 0, "H": 20,
    }  # fmt: skip


def test_a_line_counts_in_the_month_of_its_promise_even_when_received_in_another():
    lines = by_line(Tolerance())
    assert lines["G"]["month"] == pd.Timestamp("2026-08-01")
    assert lines["G"]["received"] == 100
    assert lines["F"]["month"] == pd.Timestamp("2026-10-01")


def test_supplier_month_percentages():
    lines = order_lines(receipts(), as_of=AS_OF, tolerance=Tolerance())
    months = by_group(service(lines, ["supplier", "month"]), "supplier", "month")
    sep = months[("S1", pd.Timestamp("2026-09-01"))]
    # A on time and in full, B late, C short, D neither: 4 lines.
    assert (sep["lines"], sep["on_time_pct"], sep["in_full_pct"], sep["otif_pct"]) == (
        4, 50.0, 50.0, 25.0,
    )  # fmt: skip
    aug = months[("S1", pd.Timestamp("2026-08-01"))]
    assert (aug["lines"], aug["on_time_pct"], aug["in_full_pct"], aug["otif_pct"]) == (
        1, 0.0, 100.0, 0.0,
    )  # fmt: skip
    assert months[("S2", pd.Timestamp("2026-10-01"))]["otif_pct"] == 100.0
    assert ("S2", pd.Timestamp("2026-10-01")) in months and len(months) == 4


def test_tolerances_forgive_three_days_and_five_percent_but_not_a_missing_delivery():
    lines = by_line(Tolerance(on_time_days=3, in_full_percent=5))
    assert lines["B"]["on_time"] and lines["C"]["in_full"] and lines["G"]["otif"]
    assert not lines["D"]["on_time"] and not lines["D"]["in_full"]
    # Days late stay measured against the promise, tolerance or not.
    assert lines["B"]["days_late"] == 3
    sep = by_group(service(pd.DataFrame(lines.values()), ["supplier"]), "supplier")
    # S1: A, B, C, G met, D missed.
    assert sep["S1"]["otif_pct"] == 80.0


def test_an_overdue_line_is_measured_only_once_its_tolerance_has_run_out():
    assert "H" in by_line(Tolerance(on_time_days=1))  # 29 Sep + 1 day is before 1 Oct
    assert "H" not in by_line(Tolerance(on_time_days=2))  # 1 Oct: still on time today
    assert "E" not in by_line(Tolerance())


def test_one_day_over_the_tolerance_is_late():
    lines = by_line(Tolerance(on_time_days=2))
    assert not lines["B"]["on_time"] and lines["G"]["on_time"]


def test_lead_time_is_weighted_by_the_quantity_received():
    found = by_group(lead_times(receipts(), ["supplier"]), "supplier")
    # S1 receipts (days from order, units): 27x50, 29x60, 31x40, 32x50, 36x95, 43x100.
    pairs = [(27, 50), (29, 60), (31, 40), (32, 50), (36, 95), (43, 100)]
    mean = 13650 / 395
    std = math.sqrt(sum(w * (d - mean) ** 2 for d, w in pairs) / 395)
    assert found["S1"]["lead_time_mean"] == pytest.approx(34.5569620)
    assert found["S1"]["lead_time_mean"] == pytest.approx(mean)
    assert found["S1"]["lead_time_std"] == pytest.approx(std)
    assert found["S1"]["lead_time_std"] == pytest.approx(5.7075, abs=1e-4)
    # Cumulative units 50, 110, 150, 200, 295, 395: 90 % (355.5) is reached at 43 days.
    assert found["S1"]["lead_time_p90"] == 43
    # S2: one receipt of 27 days; S3 has received nothing.
    assert (found["S2"]["lead_time_mean"], found["S2"]["lead_time_std"]) == (27, 0)
    assert "S3" not in found


def test_lead_time_p90_is_reached_exactly_on_a_boundary():
    frame = receipts().iloc[[2, 3]]  # 43 days x 100, 36 days x 95
    frame = frame.assign(received_quantity=[10, 90])
    found = lead_times(frame, ["supplier"]).iloc[0]
    # 90 of 100 units came in 36 days: exactly 90 %.
    assert found["lead_time_p90"] == 36


def test_lead_times_per_month_of_the_promise():
    found = by_group(
        lead_times(receipts_with_month(receipts()), ["supplier", "month"]), "supplier", "month"
    )
    sep = found[("S1", pd.Timestamp("2026-09-01"))]
    assert sep["lead_time_mean"] == pytest.approx(10700 / 295)
    assert found[("S1", pd.Timestamp("2026-08-01"))]["lead_time_mean"] == pytest.approx(29.5)


def test_no_receipts_measure_nothing():
    empty = receipts().iloc[:0]
    assert order_lines(empty, as_of=AS_OF, tolerance=Tolerance()).empty
    assert service(order_lines(empty, as_of=AS_OF, tolerance=Tolerance()), ["supplier"]).empty
    assert lead_times(empty, ["supplier"]).empty
