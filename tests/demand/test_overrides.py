from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

from demand import selectors, services
from demand.choices import ExceptionFilter, OverrideKind, ReasonCode
from demand.models import (
    ConsensusDemand,
    DemandOverride,
    DemandPlanSnapshot,
    SeriesFit,
    StatisticalForecast,
)
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.locking import EditConflict

pytestmark = pytest.mark.django_db


def save(cycle, user, **kwargs):
    kwargs.setdefault("month", cycle.month)
    kwargs.setdefault("reason", ReasonCode.PROMOTION)
    kwargs.setdefault("comment", "Spring promotion")
    kwargs.setdefault("expected_version", None)
    return services.override_save(cycle=cycle, user=user, **kwargs)


def consensus_total(cycle, month, **filters) -> float:
    return ConsensusDemand.objects.filter(cycle=cycle, month=month, **filters).aggregate(
        t=Sum("value")
    )["t"]


def stat_total(run, month, **filters) -> float:
    return StatisticalForecast.objects.filter(run=run, month=month, **filters).aggregate(
        t=Sum("value")
    )["t"]


def test_a_family_override_is_split_in_proportion_and_sums_exactly(published, cycle, planner):
    save(cycle, planner, family="Bikes", value=Decimal("1001"))
    parts = ConsensusDemand.objects.filter(cycle=cycle, month=cycle.month, product__family="Bikes")
    assert sum(p.value for p in parts) == 1001
    assert all(p.value == int(p.value) for p in parts)
    stat = stat_total(published, cycle.month, product__family="Bikes")
    for part in parts:
        # Each part is its share of the statistical forecast, rounded to a whole unit.
        assert abs(part.value - 1001 * part.statistical / stat) < 1
    # Other months and families keep the statistical forecast.
    lamps = ConsensusDemand.objects.filter(cycle=cycle, product__family="Lamps")
    assert all(r.override_delta == 0 for r in lamps)


def test_a_percent_override_scales_the_statistical_total(published, cycle, planner):
    save(cycle, planner, family="Lamps", value=Decimal("-10"), kind=OverrideKind.PERCENT)
    stat = stat_total(published, cycle.month, product__family="Lamps")
    assert consensus_total(cycle, cycle.month, product__family="Lamps") == round(stat * 0.9)


def test_a_sku_override_wins_over_its_family_and_the_family_total_holds(
    published, cycle, planner, company
):
    bike = company["products"][0]
    save(cycle, planner, product=bike, value=Decimal("300"))
    save(cycle, planner, family="Bikes", value=Decimal("900"))
    assert consensus_total(cycle, cycle.month, product=bike) == 300
    assert consensus_total(cycle, cycle.month, product__family="Bikes") == 900


def test_two_planners_editing_the_same_cell_the_second_is_refused(
    published, cycle, planner, make_user
):
    other = make_user(Role.DEMAND_PLANNER, username="sam", first_name="Sam")
    first = save(cycle, planner, family="Bikes", value=Decimal("800"))
    assert first.version == 1
    # Sam loaded the page before Dana saved: he saw no override.
    with pytest.raises(EditConflict) as refused:
        save(cycle, other, family="Bikes", value=Decimal("500"), expected_version=None)
    assert "Dana Planner" in str(refused.value)
    assert "800" in str(refused.value)
    assert DemandOverride.objects.get().value == Decimal("800")
    assert consensus_total(cycle, cycle.month, product__family="Bikes") == 800
    # Having seen Dana's value, Sam may replace it on purpose.
    second = save(cycle, other, family="Bikes", value=Decimal("500"), expected_version=1)
    assert second.version == 2
    with pytest.raises(EditConflict):
        save(cycle, planner, family="Bikes", value=Decimal("700"), expected_version=1)
    history = selectors.override_history(cycle=cycle, selection=selectors.Selection("Bikes"))
    assert [(h.old, h.new, h.user) for h in history] == [
        ("800", "500", other),
        ("", "800", planner),
    ]


def test_clearing_an_override_restores_the_statistical_forecast(published, cycle, planner):
    saved = save(cycle, planner, family="Bikes", value=Decimal("5"))
    save(cycle, planner, family="Bikes", value=None, expected_version=saved.version)
    assert not DemandOverride.objects.exists()
    stat = stat_total(published, cycle.month, product__family="Bikes")
    assert consensus_total(cycle, cycle.month, product__family="Bikes") == pytest.approx(stat)
    latest = selectors.override_history(cycle=cycle, selection=selectors.Selection("Bikes"))[0]
    assert (latest.old, latest.new, latest.reason) == ("5", "", "Promotion")


def test_an_override_needs_a_reason_and_a_comment(published, cycle, planner):
    with pytest.raises(ValidationError, match="reason"):
        save(cycle, planner, family="Bikes", value=Decimal("5"), reason="")
    with pytest.raises(ValidationError, match="comment"):
        save(cycle, planner, family="Bikes", value=Decimal("5"), comment="  ")
    assert not DemandOverride.objects.exists()


def test_only_a_demand_planner_overrides(published, cycle, make_user):
    for role in (Role.SUPPLY_PLANNER, Role.FINANCE, Role.EXECUTIVE, Role.ADMIN):
        with pytest.raises(PermissionDenied):
            save(cycle, make_user(role), family="Bikes", value=Decimal("5"))
    assert not DemandOverride.objects.exists()


def test_submitting_freezes_the_plan_and_makes_it_read_only(published, cycle, planner):
    save(cycle, planner, family="Bikes", value=Decimal("1000"))
    sop_services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=planner)
    snapshot = DemandPlanSnapshot.objects.filter(cycle=cycle)
    assert snapshot.count() == ConsensusDemand.objects.filter(cycle=cycle).count()
    assert (
        snapshot.filter(month=cycle.month, product__family="Bikes").aggregate(t=Sum("consensus"))[
            "t"
        ]
        == 1000
    )
    with pytest.raises(services.PlanReadOnly):
        save(cycle, planner, family="Bikes", value=Decimal("5"), expected_version=1)
    with pytest.raises(services.PlanReadOnly):
        services.forecast_run_start(cycle=cycle, user=planner)


def test_the_demand_review_cannot_be_submitted_before_the_forecast_succeeded(cycle, planner):
    with pytest.raises(sop_services.TransitionRefused, match="forecast"):
        sop_services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=planner)
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DEMAND_REVIEW


def test_an_override_outside_the_horizon_is_refused(published, cycle, planner):
    with pytest.raises(ValidationError, match="horizon"):
        save(
            cycle,
            planner,
            family="Bikes",
            value=Decimal("5"),
            month=sop_services.add_months(cycle.month, cycle.horizon_months),
        )


def test_the_filters_find_skus_by_class_pattern_and_large_change(
    published, cycle, planner, company
):
    def skus(**filters):
        tree = selectors.review_tree(cycle=cycle, filters=selectors.Filters(**filters))
        return sorted(s["sku"] for node in tree for s in node["skus"])

    assert skus() == ["BIKE-1", "BIKE-2", "LAMP-1", "LAMP-2"]
    assert skus(abc="C") == ["LAMP-1", "LAMP-2"]
    pattern = SeriesFit.objects.filter(run=published, product=company["products"][1]).first()
    assert "BIKE-2" in skus(pattern=pattern.pattern)
    # Last cycle's plan: the October cycle frozen with this cycle's numbers, then BIKE-1
    # is doubled now: only it changed by more than the threshold.
    october = sop_services.cycle_open(month=sop_services.add_months(cycle.month, -1))
    DemandPlanSnapshot.objects.bulk_create(
        DemandPlanSnapshot(
            cycle=october,
            product_id=c.product_id,
            location_id=c.location_id,
            month=c.month,
            naive=c.value,
            statistical=c.value,
            consensus=c.value,
        )
        for c in ConsensusDemand.objects.filter(cycle=cycle)
    )
    bike = company["products"][0]
    for month in ConsensusDemand.objects.filter(cycle=cycle).dates("month", "month"):
        save(
            cycle,
            planner,
            product=bike,
            month=month,
            value=Decimal("100"),
            kind=OverrideKind.PERCENT,
        )
    assert skus(exception=ExceptionFilter.LARGE_CHANGE) == ["BIKE-1"]


def test_starting_the_next_review_carries_over_overrides_still_in_its_horizon(
    published, cycle, planner, make_user, without_data_checks
):
    save(cycle, planner, family="Bikes", value=Decimal("900"))  # November: now history
    december = sop_services.add_months(cycle.month, 1)
    save(
        cycle,
        planner,
        family="Lamps",
        month=december,
        value=Decimal("15"),
        kind=OverrideKind.PERCENT,
    )
    admin = make_user(Role.ADMIN)
    nxt = sop_services.cycle_open(month=december, user=admin)
    sop_services.cycle_advance(cycle=nxt, target=Stage.DEMAND_REVIEW, user=admin)
    carried = DemandOverride.objects.get(cycle=nxt)
    assert (carried.family, carried.month, carried.kind, carried.value) == (
        "Lamps",
        december,
        OverrideKind.PERCENT,
        Decimal("15"),
    )
    assert carried.author == planner and carried.version == 1
    assert carried.comment == "From Nov 2026: Spring promotion"
    (history,) = selectors.override_history(cycle=nxt, selection=selectors.Selection("Lamps"))
    assert (history.user, history.new, history.comment) == (planner, "+15%", carried.comment)
