"""How every page writes a number (no database)."""

from __future__ import annotations

import math

import pytest
from django.template import Context, Template

from sop.formatting import DASH, format_number


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (43_012_345.0, "money", "43,012,345"),
        (-300.4, "money", "-300"),
        (0.954, "fraction", "95.4 %"),
        (39.84, "pct", "39.8 %"),
        (-14.2857, "pct", "-14.3 %"),
        (363_387.4, "units", "363,387"),
        (12.0, "int", "12"),
        (5.74, "number", "5.7"),
        (0.8749, "ratio", "0.87"),
    ],
)
def test_tables_print_figures_in_full_with_thousands_separators(value, kind, text):
    assert format_number(value, kind) == text


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_a_missing_or_infinite_figure_is_one_dash(value):
    assert format_number(value, "money") == DASH == "\N{EM DASH}"
    assert format_number(value, "fraction", signed=True, compact=True) == DASH


@pytest.mark.parametrize(
    ("value", "text"),
    [(43_012_345.0, "43.0 M"), (-3_200_000.0, "-3.2 M"), (710_800.0, "710.8 k"), (180.0, "180")],
)
def test_kpi_tiles_print_money_compactly(value, text):
    assert format_number(value, "money", compact=True) == text


def test_compact_changes_money_only():
    assert format_number(363_387.4, "units", compact=True) == "363,387"
    assert format_number(0.954, "fraction", compact=True) == "95.4 %"


def test_differences_carry_their_sign_and_rates_change_in_points():
    assert format_number(0.017, "fraction", signed=True) == "+1.7 pts"
    assert format_number(-8.4, "pct", signed=True) == "-8.4 pts"
    assert format_number(18.0, "units", signed=True) == "+18"
    assert format_number(-1_234_567.0, "money", signed=True) == "-1,234,567"
    assert format_number(1_500_000.0, "money", signed=True, compact=True) == "+1.5 M"
    assert format_number(0.0, "money", signed=True) == "\N{PLUS-MINUS SIGN}0"


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown number kind"):
        format_number(1.0, "percent")


def test_templates_use_the_same_formatter():
    template = Template(
        "{% load sop_format %}{{ v|num:'money' }} {{ v|kpi:'money' }} "
        "{{ d|num_change:'fraction' }} {{ d|kpi_change:'fraction' }} {{ none|num:'pct' }}"
    )
    text = template.render(Context({"v": 1_234_567.0, "d": -0.05, "none": None}))
    assert text == f"1,234,567 1.2 M -5.0 pts -5.0 pts {DASH}"
