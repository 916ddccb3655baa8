"""Input streams: split down like overrides, chosen as the consensus base, measured by FVA."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.urls import reverse

from demand import accuracy, roundtrip, selectors, services
from demand.choices import GridLayer, OverrideKind, OverrideLevel, ReasonCode
from demand.consensus import OVERRIDE_COLUMNS, STAT_COLUMNS
from demand.models import (
    ConsensusDemand,
    DemandPlanSnapshot,
    InputStream,
    StreamEntry,
    StreamPlanSnapshot,
)
from demand.streams import consensus_base, stream_series
from sop.choices import Role, Stage
from sop.locking import EditConflict
from sop.models import Cycle, SalesHistory
from tests.factories import LocationFactory, ProductFactory

M1, M2 = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def _stat() -> pd.DataFrame:
    # Family F: SKU 1 at two locations and SKU 2 at one, two months.
    rows = [
        (1, 10, "F", M1, 30.0),
        (1, 20, "F", M1, 10.0),
        (2, 10, "F", M1, 60.0),
        (1, 10, "F", M2, 30.0),
        (1, 20, "F", M2, 10.0),
        (2, 10, "F", M2, 60.0),
    ]
    return pd.DataFrame(rows, columns=STAT_COLUMNS)


def _entries(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=OVERRIDE_COLUMNS)


FAMILY_200 = (OverrideLevel.FAMILY, "F", None, None, M1, OverrideKind.ABSOLUTE, Decimal(200))
SKU2_50 = (OverrideLevel.PRODUCT, "F", 2, None, M1, OverrideKind.ABSOLUTE, Decimal(50))


def test_a_family_figure_is_split_by_the_statistical_forecast_and_covers_its_month_only():
    values, covered = stream_series(_stat(), _entries(FAMILY_200))
    # 200 over 30 : 10 : 60 -> 60, 20, 120; December has no figure: statistical, uncovered.
    assert values.tolist() == [60, 20, 120, 30, 10, 60]
    assert covered.tolist() == [True, True, True, False, False, False]


def test_a_sku_figure_wins_over_its_familys_and_the_rest_is_split_over_the_others():
    values, covered = stream_series(_stat(), _entries(FAMILY_200, SKU2_50))
    # SKU 2 keeps 50; 150 left over 30 : 10 -> 112.5, 37.5 -> 113, 37 (tie to the first).
    assert values[:3].tolist() == [113, 37, 50]
    assert covered[:3].all()


def test_the_planners_choice_replaces_the_base_and_a_sku_choice_wins_over_the_family():
    stat = _stat()
    sales = np.array([60.0, 20, 120, 33, 11, 66])
    marketing = np.array([40.0, 10, 90, 30, 10, 60])
    choices = pd.DataFrame(
        [
            (OverrideLevel.FAMILY, "F", None, {"sales": 100}),
            (OverrideLevel.PRODUCT, "F", 2, {"statistical": 50, "marketing": 50}),
        ],
        columns=["level", "family", "product", "weights"],
    )
    base = consensus_base(stat, {"sales": sales, "marketing": marketing}, choices)
    # SKU 1 takes sales; SKU 2 half statistical (60) half marketing (90 / 60).
    assert base.tolist() == [60, 20, 75, 33, 11, 60]


def test_a_chosen_stream_without_figures_reads_as_the_statistical_forecast():
    choices = pd.DataFrame(
        [(OverrideLevel.FAMILY, "F", None, {"sales": 100})],
        columns=["level", "family", "product", "weights"],
    )
    assert consensus_base(_stat(), {}, choices).tolist() == [30, 10, 60, 30, 10, 60]


def test_wape_is_judged_per_row_so_errors_of_two_series_do_not_cancel():
    frame = pd.DataFrame(
        {"actual": [100.0, 50.0], "statistical": [90.0, 70.0], "sales": [110.0, 40.0]}
    )
    # Statistical: (10 + 20) / 150 = 20 %; sales: (10 + 10) / 150 = 13.33 % (the totals
    # 160 and 150 would have made sales look perfect).
    wape = accuracy.wape_by_method(frame, ["statistical", "sales"])
    assert wape["statistical"] == pytest.approx(20.0)
    assert wape["sales"] == pytest.approx(13.3333, abs=1e-3)


# --- services ---------------------------------------------------------------------------


@pytest.fixture
def sales_user(make_user):
    return make_user(Role.SALES, username="sam")


@pytest.fixture
def marketing_user(make_user):
    return make_user(Role.MARKETING, username="mia")


def _stream(code: str) -> InputStream:
    return InputStream.objects.get(code=code)


def _enter(cycle, user, code="sales", **kwargs):
    kwargs.setdefault("month", cycle.month)
    kwargs.setdefault("comment", "Customer order book")
    kwargs.setdefault("expected_version", None)
    return services.stream_entry_save(cycle=cycle, stream=_stream(code), user=user, **kwargs)


def _bikes_total(cycle, field="value") -> float:
    return ConsensusDemand.objects.filter(
        cycle=cycle, month=cycle.month, product__family="Bikes"
    ).aggregate(t=Sum(field))["t"]


@pytest.mark.django_db
def test_sales_and_marketing_streams_exist_after_migrating():
    assert list(InputStream.objects.values_list("code", "role")) == [
        ("sales", Role.SALES),
        ("marketing", Role.MARKETING),
    ]


@pytest.mark.django_db
def test_choosing_the_sales_stream_makes_it_the_familys_consensus_and_overrides_stay_on_top(
    published, cycle, planner, sales_user
):
    _enter(cycle, sales_user, family="Bikes", value=Decimal(1000))
    statistical = _bikes_total(cycle, "statistical")
    # Entered but not chosen: the consensus is still the statistical forecast.
    assert _bikes_total(cycle) == pytest.approx(statistical)
    services.consensus_source_save(
        cycle=cycle,
        user=planner,
        weights={"sales": 100},
        reason=ReasonCode.MARKET_INTELLIGENCE,
        comment="Sales knows the order book",
        family="Bikes",
        expected_version=None,
    )
    assert _bikes_total(cycle) == pytest.approx(1000)
    # The statistical column still holds the engine's forecast, for the accuracy of each.
    assert _bikes_total(cycle, "statistical") == pytest.approx(statistical)
    services.override_save(
        cycle=cycle,
        user=planner,
        family="Bikes",
        month=cycle.month,
        value=Decimal(10),
        kind=OverrideKind.PERCENT,
        reason=ReasonCode.PROMOTION,
        comment="Promotion on top",
        expected_version=None,
    )
    # +10 % of the base the planner chose, not of the statistical forecast.
    assert _bikes_total(cycle) == pytest.approx(1100)


@pytest.mark.django_db
def test_a_weighted_mix_blends_the_sources(published, cycle, planner, sales_user):
    _enter(cycle, sales_user, family="Bikes", value=Decimal(1000))
    statistical = _bikes_total(cycle, "statistical")
    services.consensus_source_save(
        cycle=cycle,
        user=planner,
        weights={"statistical": 75, "sales": 25},
        reason=ReasonCode.MARKET_INTELLIGENCE,
        comment="Sales is optimistic",
        family="Bikes",
        expected_version=None,
    )
    assert _bikes_total(cycle) == pytest.approx(0.75 * statistical + 250)


@pytest.mark.django_db
def test_weights_must_add_up_to_100_and_name_known_streams(published, cycle, planner):
    def choose(weights):
        services.consensus_source_save(
            cycle=cycle,
            user=planner,
            weights=weights,
            reason=ReasonCode.OTHER,
            comment="Mix",
            family="Bikes",
            expected_version=None,
        )

    with pytest.raises(ValidationError, match="add up to 90%"):
        choose({"statistical": 40, "sales": 50})
    with pytest.raises(ValidationError, match="Unknown input stream finance"):
        choose({"finance": 100})


@pytest.mark.django_db
def test_only_the_demand_planner_chooses_the_source(published, cycle, sales_user):
    with pytest.raises(PermissionDenied):
        services.consensus_source_save(
            cycle=cycle,
            user=sales_user,
            weights={"sales": 100},
            reason=ReasonCode.OTHER,
            comment="Mine",
            family="Bikes",
            expected_version=None,
        )


@pytest.mark.django_db
def test_each_role_writes_only_its_own_stream(
    published, cycle, sales_user, marketing_user, planner
):
    with pytest.raises(PermissionDenied, match="Only Sales"):
        _enter(cycle, marketing_user, "sales", family="Bikes", value=Decimal(5))
    with pytest.raises(PermissionDenied):
        _enter(cycle, planner, "marketing", family="Bikes", value=Decimal(5))
    assert _enter(cycle, marketing_user, "marketing", family="Bikes", value=Decimal(5))
    assert StreamEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_stream_entry_is_refused(published, cycle, sales_user):
    first = _enter(cycle, sales_user, family="Bikes", value=Decimal(500))
    _enter(cycle, sales_user, family="Bikes", value=Decimal(600), expected_version=first.version)
    with pytest.raises(EditConflict):
        _enter(cycle, sales_user, family="Bikes", value=Decimal(700), expected_version=1)
    assert StreamEntry.objects.get().value == Decimal(600)


@pytest.mark.django_db
def test_the_frozen_plan_keeps_every_stream_split_to_the_series(
    published, cycle, sales_user, marketing_user, company
):
    bike = company["products"][0]
    _enter(cycle, sales_user, family="Bikes", value=Decimal(1000))
    _enter(
        cycle,
        marketing_user,
        "marketing",
        product=bike,
        value=Decimal(-20),
        kind=OverrideKind.PERCENT,
    )
    services.demand_plan_freeze(cycle=cycle)
    frozen = StreamPlanSnapshot.objects.filter(cycle=cycle, month=cycle.month)
    assert frozen.filter(stream__code="sales").aggregate(t=Sum("value"))["t"] == 1000
    assert frozen.filter(stream__code="sales").count() == 4  # two SKUs at two locations
    stat_bike = ConsensusDemand.objects.filter(
        cycle=cycle, month=cycle.month, product=bike
    ).aggregate(t=Sum("statistical"))["t"]
    marketing = frozen.filter(stream__code="marketing")
    assert marketing.count() == 2
    assert marketing.aggregate(t=Sum("value"))["t"] == round(stat_bike * 0.8)


# --- forecast value added ---------------------------------------------------------------


@pytest.mark.django_db
def test_forecast_value_added_per_stream_over_approved_cycles():
    product, location = ProductFactory(sku="A-1", family="A"), LocationFactory(code="DC")
    other = ProductFactory(sku="A-2", family="A")
    sales, marketing = _stream("sales"), _stream("marketing")
    past = Cycle.objects.create(month=dt.date(2026, 9, 1), stage=Stage.APPROVED)
    # Not approved: its plan does not count.
    Cycle.objects.create(month=dt.date(2026, 10, 1), stage=Stage.SUPPLY_REVIEW)
    now = Cycle.objects.create(month=dt.date(2026, 11, 1), stage=Stage.DEMAND_REVIEW)
    rows = [
        # product, month, naive, statistical, consensus, sales, marketing, actual
        (product, dt.date(2026, 9, 1), 60, 90, 98, 100, None, 100),
        (product, dt.date(2026, 10, 1), 80, 70, 95, 110, 60, 100),
        (other, dt.date(2026, 9, 1), 40, 45, 50, None, 70, 50),
    ]
    for p, month, naive, stat, cons, s, m, actual in rows:
        DemandPlanSnapshot.objects.create(
            cycle=past,
            product=p,
            location=location,
            month=month,
            naive=naive,
            statistical=stat,
            consensus=cons,
        )
        for stream, value in ((sales, s), (marketing, m)):
            if value is not None:
                StreamPlanSnapshot.objects.create(
                    cycle=past,
                    stream=stream,
                    product=p,
                    location=location,
                    month=month,
                    value=value,
                )
        SalesHistory.objects.create(product=p, location=location, month=month, quantity=actual)
    fva = selectors.stream_fva(cycle=now)
    wape = {s.code: s.wape for s in fva.steps}
    # Actuals 250. Naive |40|+|20|+|10| = 70 -> 28 %; statistical 10+30+5 = 45 -> 18 %;
    # sales 0+10+5 (A-2 has no sales figure: its statistical 45) = 15 -> 6 %;
    # marketing 10 (statistical) + 40 + 20 = 70 -> 28 %; consensus 2+5+0 = 7 -> 2.8 %.
    assert [s.code for s in fva.steps] == [
        "naive",
        "statistical",
        "sales",
        "marketing",
        "consensus",
    ]
    assert wape == pytest.approx(
        {"naive": 28, "statistical": 18, "sales": 6, "marketing": 28, "consensus": 2.8}
    )
    fvas = {s.code: s.fva for s in fva.steps}
    assert fvas == pytest.approx(
        {"naive": None, "statistical": 10, "sales": 12, "marketing": -10, "consensus": 15.2}
    )
    assert fva.cycles == 1
    assert selectors.stream_fva_sentences(fva) == [
        "Sales input improved accuracy by 12.0 points over the last 1 cycle "
        "(WAPE against the statistical forecast).",
        "Marketing input worsened accuracy by 10.0 points over the last 1 cycle "
        "(WAPE against the statistical forecast).",
    ]


# --- upload -----------------------------------------------------------------------------


def _upload(client, cycle, data: bytes, code="sales"):
    upload = io.BytesIO(data)
    upload.name = "sales.xlsx"
    return client.post(
        reverse("demand:stream_workbook_preview", args=[cycle.pk, code]), {"workbook": upload}
    )


@pytest.mark.django_db
def test_a_stream_workbook_round_trips_a_family_figure(published, cycle, client, sales_user):
    from openpyxl import load_workbook

    client.force_login(sales_user)
    data = roundtrip.stream_workbook(cycle=cycle, family="Bikes", stream=_stream("sales"))
    book = load_workbook(io.BytesIO(data))
    sheet = book["Sales input"]
    assert [c.value for c in sheet[4]][:4] == ["Bikes", None, "Family Bikes", "Sales input"]
    sheet["E4"] = 900
    sheet.cell(row=4, column=4 + len(cycle.horizon) + 2).value = "Order book"
    buffer = io.BytesIO()
    book.save(buffer)
    preview = _upload(client, cycle, buffer.getvalue())
    assert preview.status_code == 200
    apply = client.post(
        reverse("demand:stream_workbook_apply", args=[cycle.pk, "sales"]),
        {"token": preview.context["token"]},
    )
    assert apply.status_code == 302
    entry = StreamEntry.objects.get()
    assert (entry.level, entry.family, entry.month, entry.value) == (
        OverrideLevel.FAMILY,
        "Bikes",
        cycle.month,
        Decimal(900),
    )


@pytest.mark.django_db
def test_a_stream_upload_with_an_unknown_sku_names_the_cell_and_loads_nothing(
    published, cycle, client, sales_user
):
    from openpyxl import load_workbook

    client.force_login(sales_user)
    data = roundtrip.stream_workbook(cycle=cycle, family="Bikes", stream=_stream("sales"))
    book = load_workbook(io.BytesIO(data))
    sheet = book["Sales input"]
    sheet["E4"] = 900  # a good cell: refused with the rest
    reason_col = 4 + len(cycle.horizon) + 1
    sheet.cell(row=4, column=reason_col + 1).value = "Order book"
    bad = sheet.max_row + 1
    sheet.append(["Bikes", "NOPE-9", "?", "Sales input", 50])
    sheet.cell(row=bad, column=reason_col + 1).value = "New customer"
    buffer = io.BytesIO()
    book.save(buffer)
    response = _upload(client, cycle, buffer.getvalue())
    assert response.status_code == 400
    text = response.content.decode()
    assert f"E{bad}" in text
    assert "Unknown SKU &#x27;NOPE-9&#x27;" in text or "Unknown SKU 'NOPE-9'" in text
    assert response.context["token"] == ""
    assert not StreamEntry.objects.exists()


@pytest.mark.django_db
def test_marketing_cannot_upload_the_sales_stream(published, cycle, client, marketing_user):
    client.force_login(marketing_user)
    data = roundtrip.stream_workbook(cycle=cycle, family="Bikes", stream=_stream("sales"))
    assert _upload(client, cycle, data).status_code == 403


# --- pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_planner_accepts_the_sales_stream_on_the_review_page(
    published, cycle, client, planner, sales_user
):
    _enter(cycle, sales_user, family="Bikes", value=Decimal(1000))
    client.force_login(planner)
    response = client.post(
        reverse("demand:source_save", args=[cycle.pk]),
        {
            "family": "Bikes",
            "source": "sales",
            "reason": "market_intelligence",
            "comment": "Order book",
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Sales 100%" in page
    assert "Sales input</th>" in page
    assert _bikes_total(cycle) == pytest.approx(1000)


@pytest.mark.django_db
def test_the_sales_user_enters_a_cell_in_the_stream_grid(
    published, cycle, client, sales_user, company
):
    client.force_login(sales_user)
    page = client.get(
        reverse("demand:grid"), {"cycle": cycle.pk, "family": "Bikes", "layer": "stream"}
    )
    assert page.context["editable"] and page.context["stream"].code == "sales"
    bike, north = company["products"][0], company["locations"][0]
    response = client.post(
        reverse("demand:grid_stream_save", args=[cycle.pk]),
        {
            "stream": "sales",
            "sku": bike.pk,
            "location": north.pk,
            "month": cycle.month.isoformat(),
            "value": "77",
            "comment": "Order",
        },
    )
    assert response.status_code == 200
    entry = StreamEntry.objects.get()
    assert (entry.product, entry.location, entry.value) == (bike, north, Decimal(77))


@pytest.mark.django_db
def test_the_stream_grid_shows_a_family_figure_split_down_to_its_rows(published, cycle, sales_user):
    """The sales user entered the family: each SKU-location row shows its part of it (split
    by the statistical forecast, whole units adding up to the figure), not the forecast."""
    _enter(cycle, sales_user, family="Bikes", value=Decimal(1000))
    grid = selectors.series_grid(
        cycle=cycle, family="Bikes", layer=GridLayer.STREAM, stream=_stream("sales")
    )
    first = grid.months.index(cycle.month)
    stat = {
        (p, loc): s
        for p, loc, s in ConsensusDemand.objects.filter(
            cycle=cycle, month=cycle.month, product__family="Bikes"
        ).values_list("product", "location", "statistical")
    }
    shown = {(r.product_id, r.location_id): r.values[first] for r in grid.rows}
    assert sum(shown.values()) == 1000
    total = sum(stat.values())
    for key, value in shown.items():
        assert abs(value - 1000 * stat[key] / total) < 1  # its share, rounded to a unit
    later = {(r.product_id, r.location_id): r.values[first + 1] for r in grid.rows}
    assert later == pytest.approx(  # no figure in the next month: the forecast
        {
            (p, loc): s
            for p, loc, s in ConsensusDemand.objects.filter(
                cycle=cycle, month=grid.months[first + 1], product__family="Bikes"
            ).values_list("product", "location", "statistical")
        }
    )


@pytest.mark.django_db
def test_the_default_streams_come_back_after_the_tables_are_emptied():
    """A flush (as a browser test's live server does) empties what the data migration made;
    the post-migrate hook that follows every migrate and flush makes them again."""
    from django.core.management.sql import emit_post_migrate_signal

    InputStream.objects.filter(entries__isnull=True).delete()
    assert not InputStream.objects.filter(code__in=["sales", "marketing"]).exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert dict(InputStream.objects.values_list("code", "role")) == {
        "sales": "Sales",
        "marketing": "Marketing",
    }
