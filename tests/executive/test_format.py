"""How the pack writes its numbers (no database)."""

from __future__ import annotations

import pytest

from executive.templatetags.executive_format import kpi, kpi_change


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (43_012_345.0, "money", "43.0 M"),
        (-3_200_000.0, "money", "-3.2 M"),
        (710_800.0, "money", "710.8 k"),
        (0.954, "fraction", "95.4 %"),
        (39.84, "pct", "39.8 %"),
        (363_387.4, "units", "363,387"),
        (5.74, "number", "5.7"),
        (None, "money", "—"),
    ],
)
def test_kpis_read_as_people_write_them(value, fmt, text):
    assert kpi(value, fmt) == text


def test_changes_carry_their_sign_and_points_for_rates():
    assert kpi_change(0.017, "fraction") == "+1.7 pts"
    assert kpi_change(-8.4, "pct") == "\N{MINUS SIGN}8.4 pts"
    assert kpi_change(1_500_000.0, "money") == "+1.5 M"
    assert kpi_change(None, "money") == "—"
