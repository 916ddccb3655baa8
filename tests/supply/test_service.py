"""Customer OTIF by hand: late, short, open overdue, not yet due, tolerances."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from supply.service import customer_otif_lines, customer_otif_summary

D = dt.date
AS_OF = D(2026, 11, 10)


def lines(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[
            "location",
            "requested_date",
            "requested_quantity",
            "shipped_date",
            "shipped_quantity",
        ],
    )


# Five lines of October at WH1: one on time and in full, one a day late, one 10 short,
# one still open (overdue: a miss), one shipped early and in full.
OCTOBER = lines(
    ("WH1", D(2026, 10, 5), 100, D(2026, 10, 5), 100),
    ("WH1", D(2026, 10, 6), 50, D(2026, 10, 7), 50),
    ("WH1", D(2026, 10, 7), 100, D(2026, 10, 7), 90),
    ("WH1", D(2026, 10, 20), 10, None, None),
    ("WH1", D(2026, 10, 30), 40, D(2026, 10, 28), 40),
)


def judge(frame, days=0, percent=0.0, as_of=AS_OF):
    return customer_otif_lines(frame, as_of=as_of, tolerance_days=days, tolerance_percent=percent)


def test_late_short_and_open_overdue_lines_are_misses():
    judged = judge(OCTOBER)
    assert judged["on_time"].tolist() == [True, False, True, False, True]
    assert judged["in_full"].tolist() == [True, True, False, False, True]
    summary = customer_otif_summary(judged, ["month", "location"]).iloc[0]
    assert summary["month"] == D(2026, 10, 1)
    assert (summary["lines_due"], summary["on_time"], summary["in_full"]) == (5, 3, 3)
    # On time and in full: the first and the last, 2 of 5.
    assert (summary["otif"], summary["otif_pct"]) == (2, 40.0)
    assert summary["on_time_pct"] == 60.0


def test_a_day_of_tolerance_forgives_the_late_line_and_ten_percent_the_short_one():
    summary = customer_otif_summary(judge(OCTOBER, days=1, percent=10), ["month"]).iloc[0]
    assert (summary["lines_due"], summary["otif"], summary["otif_pct"]) == (5, 4, 80.0)
    # 9.9 % short is still a miss at 9 % tolerance.
    assert customer_otif_summary(judge(OCTOBER, days=1, percent=9), ["month"]).iloc[0]["otif"] == 3


def test_lines_not_yet_due_are_left_out_until_their_window_closes():
    frame = lines(
        ("WH1", D(2026, 11, 9), 10, None, None),  # due yesterday: an open miss
        ("WH1", D(2026, 11, 10), 10, None, None),  # due today: not judged yet
        ("WH1", D(2026, 11, 20), 10, D(2026, 11, 8), 10),  # shipped early, due later
    )
    judged = judge(frame)
    assert len(judged) == 1 and not judged["otif"].iloc[0]
    # With two days of tolerance yesterday's line still has time.
    assert judge(frame, days=2).empty


def test_lines_count_in_the_month_they_were_requested_for():
    frame = lines(
        ("WH1", D(2026, 9, 30), 10, D(2026, 10, 2), 10),
        ("WH2", D(2026, 10, 1), 10, D(2026, 10, 1), 10),
    )
    summary = customer_otif_summary(judge(frame), ["month", "location"])
    assert summary[["month", "location", "lines_due", "otif"]].values.tolist() == [
        [D(2026, 9, 1), "WH1", 1, 0],
        [D(2026, 10, 1), "WH2", 1, 1],
    ]


def test_no_line_due_gives_an_empty_summary():
    summary = customer_otif_summary(judge(OCTOBER, as_of=D(2026, 10, 1)), ["month"])
    assert summary.empty
    assert "otif_pct" in summary.columns


def test_a_line_shipped_with_nothing_is_not_in_full():
    frame = lines(("WH1", D(2026, 10, 5), 5, D(2026, 10, 5), 0))
    assert not judge(frame)["in_full"].iloc[0]
