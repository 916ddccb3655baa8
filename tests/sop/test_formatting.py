"""How every page, print and export writes a number or a date (no database)."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template

from sop.env import env_currency
from sop.formatting import (
    DASH,
    export_number,
    format_day,
    format_moment,
    format_month,
    format_number,
    unit_label,
    with_unit,
)
from sop.materiality import Materiality, legend, tone


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (43_012_345.0, "money", "43,012,345 EUR"),
        (-300.4, "money", "-300 EUR"),
        (0.954, "fraction", "95.4 %"),
        (39.84, "pct", "39.8 %"),
        (-14.2857, "pct", "-14.3 %"),
        (363_387.4, "units", "363,387 units"),
        (588.4, "hours", "588 h"),
        (12.0, "int", "12"),
        (5.74, "number", "5.7"),
        (0.8749, "ratio", "0.87"),
    ],
)
def test_a_figure_is_printed_in_full_with_its_unit(value, kind, text):
    assert format_number(value, kind) == text


def test_a_cell_under_a_header_that_says_the_unit_is_bare():
    assert format_number(1_092_722.4, "money", labelled=False) == "1,092,722"
    assert format_number(157.62070113442383, "units", labelled=False) == "158"
    assert format_number(0.981, "fraction", labelled=False) == "98.1 %"


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, "n/a"])
def test_a_missing_or_infinite_figure_is_one_dash(value):
    assert format_number(value, "money") == DASH == "\N{EM DASH}"
    assert format_number(value, "fraction", signed=True, compact=True) == DASH


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_092_722.0, "1.09 M EUR"),
        (42_300_000.0, "42.30 M EUR"),
        (-3_200_000.0, "-3.20 M EUR"),
        (710_800.0, "710.80 k EUR"),
        (999_999.0, "1.00 M EUR"),
        (2_500_000_000.0, "2.50 bn EUR"),
        (180.0, "180 EUR"),
    ],
)
def test_kpi_tiles_print_money_compactly_with_two_decimals_and_the_currency(value, text):
    assert format_number(value, "money", compact=True) == text


def test_compact_changes_money_only():
    assert format_number(363_387.4, "units", compact=True) == "363,387 units"
    assert format_number(0.954, "fraction", compact=True) == "95.4 %"


def test_differences_carry_the_sign_of_the_figure_as_printed():
    assert format_number(0.017, "fraction", signed=True) == "+1.7 pts"
    assert format_number(-8.4, "pct", signed=True) == "-8.4 pts"
    assert format_number(18.0, "units", signed=True) == "+18 units"
    assert format_number(-1_234_567.0, "money", signed=True) == "-1,234,567 EUR"
    assert format_number(1_500_000.0, "money", signed=True, compact=True) == "+1.50 M EUR"
    # Rounds to zero: neither plus nor minus, so it cannot read as a gain or a loss.
    assert format_number(0.0, "money", signed=True) == "\N{PLUS-MINUS SIGN}0 EUR"
    assert format_number(-0.04, "pct", signed=True) == "\N{PLUS-MINUS SIGN}0.0 pts"
    assert format_number(0.0004, "fraction", signed=True) == "\N{PLUS-MINUS SIGN}0.0 pts"
    assert format_number(-0.4, "money") == "0 EUR"


def test_the_currency_is_the_companys_setting(settings):
    settings.SOP_CURRENCY = "CHF"
    assert format_number(1_234.0, "money") == "1,234 CHF"
    assert format_number(2_340_000.0, "money", compact=True) == "2.34 M CHF"
    assert unit_label("money") == "CHF"
    assert with_unit("revenue", "money") == "revenue (CHF)"


def test_headers_say_the_unit_once():
    assert with_unit("revenue", "money") == "revenue (EUR)"
    assert with_unit("demand", "units") == "demand (units)"
    assert with_unit("available", "hours") == "available (h)"
    assert with_unit("margin_pct", "pct") == "margin_pct"
    assert with_unit("fill rate", "fraction") == "fill rate %"
    assert with_unit("weeks_of_cover", "number") == "weeks_of_cover"
    assert with_unit("Unmet (units)", "units") == "Unmet (units)"


@pytest.mark.parametrize(
    ("value", "kind", "number"),
    [
        (157.62070113442383, "units", 158),
        (1_092_722.3549, "money", Decimal("1092722.35")),
        (600.0, "money", Decimal("600.00")),
        (-0.001, "money", Decimal("0.00")),
        (0.98149, "fraction", Decimal("98.1")),
        (39.8449, "pct", Decimal("39.8")),
        (6.449, "number", Decimal("6.4")),
        (-0.3, "units", 0),
        (None, "money", None),
        (math.nan, "units", None),
    ],
)
def test_exports_round_by_the_rule_and_stay_numbers(value, kind, number):
    exported = export_number(value, kind)
    assert exported == number
    assert type(exported) is type(number)
    assert str(exported) == str(number)  # what a CSV cell says: 600.00, 0.00


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown number kind"):
        format_number(1.0, "percent")


def test_dates_have_one_style_per_grain(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert format_month(dt.date(2026, 11, 1)) == "Nov 2026"
    assert format_day(dt.date(2026, 12, 3)) == "3 Dec 2026"
    # 13:05 UTC is 14:05 in Paris in December.
    moment = dt.datetime(2026, 12, 3, 13, 5, tzinfo=dt.UTC)
    assert format_moment(moment) == "3 Dec 2026, 14:05"
    assert format_day(moment) == "3 Dec 2026"
    assert format_month(None) == format_moment(None) == ""


def test_templates_use_the_same_formatter():
    template = Template(
        "{% load sop_format %}{{ v|num:'money' }} | {{ v|kpi:'money' }} | {{ v|cell:'money' }} | "
        "{{ d|num_change:'fraction' }} | {{ d|kpi_change:'fraction' }} | {{ none|num:'pct' }} | "
        "{{ u|num:'units' }} | {{ 'money'|unit }} | {{ m|as_month }} | {{ m|as_day }}"
    )
    context = {"v": 1_234_567.0, "d": -0.05, "none": None, "u": 18.4, "m": dt.date(2026, 11, 1)}
    assert template.render(Context(context)) == (
        f"1,234,567 EUR | 1.23 M EUR | 1,234,567 | -5.0 pts | -5.0 pts | {DASH} | 18 units | "
        "EUR | Nov 2026 | 1 Nov 2026"
    )


@pytest.mark.parametrize("raw", ["EUR", "usd", " chf "])
def test_the_currency_setting_takes_an_iso_4217_code(monkeypatch, raw):
    monkeypatch.setenv("SOP_CURRENCY", raw)
    assert env_currency("SOP_CURRENCY", "EUR") == raw.strip().upper()


@pytest.mark.parametrize("raw", ["EURO", "€", "XYZ", "E"])
def test_a_currency_that_is_not_iso_4217_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("SOP_CURRENCY", raw)
    with pytest.raises(ImproperlyConfigured, match=r"SOP_CURRENCY=.* is not an ISO 4217"):
        env_currency("SOP_CURRENCY", "EUR")


def test_a_bad_currency_stops_start_up():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"DJANGO_SETTINGS_MODULE": "sop.settings", "SOP_CURRENCY": "EURO", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SOP_CURRENCY='EURO' is not an ISO 4217 currency code" in result.stderr


# --- materiality: which differences get a colour ---------------------------------------

REVENUE = Materiality(share=0.005, of="revenue")
POINTS = Materiality(amount=0.005)


def test_a_difference_below_its_threshold_gets_no_colour():
    reference = {"revenue": 16_307_233.0}
    # 0.5 % of 16,307,233 is 81,536.17: +66,201 is below, +154,275 above.
    assert tone(66_201.0, higher=True, materiality=REVENUE, reference=reference) == ""
    assert tone(154_275.0, higher=True, materiality=REVENUE, reference=reference) == "good"
    assert tone(-154_275.0, higher=True, materiality=REVENUE, reference=reference) == "bad"
    assert tone(4_947.0, higher=False, materiality=REVENUE, reference=reference) == ""
    assert tone(90_000.0, higher=False, materiality=REVENUE, reference=reference) == "bad"


def test_a_rate_that_prints_as_zero_points_is_never_coloured():
    assert tone(0.00004, higher=True, materiality=POINTS, reference={}) == ""
    assert tone(-0.0049, higher=True, materiality=POINTS, reference={}) == ""
    assert tone(0.005, higher=True, materiality=POINTS, reference={}) == "good"


def test_a_kpi_with_no_better_direction_or_no_reference_is_never_coloured():
    assert tone(1e9, higher=None, materiality=REVENUE, reference={"revenue": 1.0}) == ""
    assert tone(1e9, higher=True, materiality=REVENUE, reference={}) == ""


def test_a_materiality_is_an_amount_or_a_share_of_another_kpi():
    with pytest.raises(ValueError, match="an amount, or a share"):
        Materiality(amount=1, share=0.1, of="revenue")
    with pytest.raises(ValueError, match="an amount, or a share"):
        Materiality(share=0.1)


def test_the_legend_says_what_the_colours_mean_from_the_thresholds():
    kpis = [
        ("revenue", "Revenue", "money", True),
        ("margin_pct", "Margin %", "pct", True),
        ("fill_rate", "Fill rate", "fraction", True),
        ("inventory", "Inventory value", "money", None),
        ("overloads", "Overloaded resource-months", "int", False),
    ]
    thresholds = {
        "revenue": REVENUE,
        "margin_pct": Materiality(amount=0.5),
        "fill_rate": POINTS,
        "inventory": REVENUE,
        "overloads": Materiality(amount=1),
    }
    assert legend(kpis, thresholds) == (
        "Green: better for the business, red: worse, by at least 0.5 % of revenue for "
        "revenue; 0.5 pts for margin %, fill rate; 1 for overloaded resource-months. "
        "No colour: a smaller difference, or inventory value, where neither higher nor "
        "lower is better."
    )


def test_a_duration_reads_in_hours_and_minutes():
    import datetime as dt

    from sop.templatetags.sop_format import as_duration

    assert as_duration(dt.timedelta(minutes=30)) == "30 minutes"
    assert as_duration(dt.timedelta(hours=1)) == "1 hour"
    assert as_duration(dt.timedelta(hours=2, minutes=15)) == "2 hours 15 minutes"
    assert as_duration(dt.timedelta(seconds=40)) == "1 minute"
    assert as_duration(None) == ""
