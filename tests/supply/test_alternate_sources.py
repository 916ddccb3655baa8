"""Alternate sources through a supply run: the split by source, its cost, the chunks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sop.models import Capacity, Product, ProductSource
from supply import services
from supply.models import InventoryProjection, SourceSplit, SupplyRun
from tests.factories import SupplierFactory
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db


def plan_of(run, product, field: str) -> list[float]:
    return list(
        InventoryProjection.objects.filter(run=run, product=product)
        .order_by("month")
        .values_list(field, flat=True)
    )


def run_plan(cycle, user, capture) -> SupplyRun:
    with capture(execute=True):
        run = services.supply_run_start(cycle=cycle, user=user, chunk_rows=1)
    run.refresh_from_db()
    return run


@pytest.fixture
def tight(cycle, company):
    """The line has 80 h a month: BIKE (A) takes 30/60/60, LAMP (C) is cut to 50/20/20."""
    Capacity.objects.filter(resource=company["line"]).update(hours=80)
    Product.objects.filter(pk=company["LAMP"].pk).update(unit_cost=Decimal("10"))
    return cycle


def test_the_lamp_short_of_the_line_is_bought_from_its_alternate_up_to_its_capacity(
    tight, company, supply_planner, django_capture_on_commit_callbacks
):
    lamp = company["LAMP"]
    source = ProductSource.objects.create(
        product=lamp,
        location=company["dc"],
        supplier=SupplierFactory(code="BACKUP"),
        priority=1,
        unit_cost=Decimal("12"),
        lead_time_days=0,
        monthly_capacity=Decimal("20"),
    )
    run = run_plan(tight, supply_planner, django_capture_on_commit_callbacks)
    # The line gives 50, 20, 20; the alternate 20 of the 30 missing in months 1 and 2.
    assert plan_of(run, lamp, "planned") == [50, 40, 40]
    assert plan_of(run, lamp, "shortage") == [0, 10, 10]
    assert plan_of(run, lamp, "unmet") == [0, 10, 10]
    splits = SourceSplit.objects.filter(run=run).order_by("month")
    # 20 x (12 - 10) = 40 a month more than from the line.
    assert [(s.source_id, s.quantity, s.extra_cost) for s in splits] == [
        (source.pk, 20, 40),
        (source.pk, 20, 40),
    ]


def test_an_inactive_source_is_not_planned_with(
    tight, company, supply_planner, django_capture_on_commit_callbacks
):
    ProductSource.objects.create(
        product=company["LAMP"],
        location=company["dc"],
        supplier=SupplierFactory(code="BACKUP"),
        unit_cost=Decimal("12"),
        monthly_capacity=Decimal("20"),
        active=False,
    )
    run = run_plan(tight, supply_planner, django_capture_on_commit_callbacks)
    assert plan_of(run, company["LAMP"], "shortage") == [0, 30, 30]
    assert not SourceSplit.objects.filter(run=run).exists()


def test_a_source_shared_with_tea_puts_it_in_the_line_s_chunk(
    cycle, company, supply_planner, django_capture_on_commit_callbacks
):
    backup = SupplierFactory(code="BACKUP")
    for sku in ("LAMP", "TEA"):
        ProductSource.objects.create(
            product=company[sku],
            location=company["dc"],
            supplier=backup,
            unit_cost=Decimal("1"),
            monthly_capacity=Decimal("5"),
        )
    run = run_plan(cycle, supply_planner, django_capture_on_commit_callbacks)
    # Without the shared source TEA is a chunk of its own (two chunks).
    assert run.chunks_total == 1


def test_the_sku_card_shows_the_split_by_source_and_its_extra_cost(
    tight, company, supply_planner, client, django_capture_on_commit_callbacks
):
    ProductSource.objects.create(
        product=company["LAMP"],
        location=company["dc"],
        supplier=SupplierFactory(code="BACKUP"),
        unit_cost=Decimal("12"),
        monthly_capacity=Decimal("20"),
    )
    run_plan(tight, supply_planner, django_capture_on_commit_callbacks)
    client.force_login(supply_planner)
    lamp, dc = company["LAMP"], company["dc"]
    body = client.get(f"/supply/?cycle={tight.pk}&sku={lamp.pk}&location={dc.pk}").content.decode()
    card = body[body.index('id="sku-card"') :]
    summary = card[card.index('id="source-summary"') :]
    assert "<strong>40 units</strong>" in summary and "<strong>80 EUR</strong>" in summary
    primary = card[card.index("from Primary source") :].split("</tr>")[0]
    # The line gives 50, 20, 20; BACKUP 20 in December and January at 2 EUR more a unit.
    assert [c.split(">")[-1] for c in primary.split("</td>")[:-1]] == ["50", "20", "20"]
    backup = card[card.index("from Supplier BACKUP") :].split("</tr>")[0]
    assert [c.split(">")[-1] for c in backup.split("</td>")[:-1]] == ["", "20", "20"]
    assert "Shortage (every source)" in card


def test_a_top_priority_source_without_capacity_is_a_plan_warning(
    cycle, company, supply_planner, client, published
):
    ProductSource.objects.create(
        product=company["LAMP"],
        location=company["dc"],
        supplier=SupplierFactory(code="EMPTY"),
        priority=1,
        unit_cost=Decimal("1"),
        monthly_capacity=Decimal("0"),
    )
    client.force_login(supply_planner)
    body = client.get(f"/supply/?cycle={cycle.pk}").content.decode()
    warning = body[body.index('id="odd-sources"') :].split("</div>")[0]
    assert "LAMP @ DC: its first alternate source, supplier EMPTY, has no capacity" in warning


def test_the_odd_source_is_a_checklist_warning_not_a_gate(cycle, company, published):
    from supply.selectors import supply_checklist, supply_gate

    ProductSource.objects.create(
        product=company["TEA"],
        location=company["dc"],
        supplier=SupplierFactory(code="EMPTY"),
        unit_cost=Decimal("1"),
        monthly_capacity=Decimal("0"),
    )
    lines = {check.label: check for check in supply_checklist(cycle)}
    odd = lines["Alternate sources with capacity at their top priority"]
    assert (odd.state, odd.data_check) == ("todo", False)
    assert "TEA @ DC: its first alternate source, supplier EMPTY, has no capacity" in odd.detail
    assert supply_gate(cycle) is None


def test_a_capacity_edit_recomputes_the_split_by_source(
    tight, company, supply_planner, django_capture_on_commit_callbacks
):
    source = ProductSource.objects.create(
        product=company["LAMP"],
        location=company["dc"],
        supplier=SupplierFactory(code="BACKUP"),
        unit_cost=Decimal("12"),
        monthly_capacity=Decimal("20"),
    )
    run = run_plan(tight, supply_planner, django_capture_on_commit_callbacks)
    # 30 more hours in December: the line makes all of LAMP's 50 there, BACKUP none.
    with django_capture_on_commit_callbacks(execute=True):
        services.capacity_adjustment_save(
            cycle=tight,
            user=supply_planner,
            resource=company["line"],
            month=MONTHS[1],
            delta_hours=Decimal("30"),
            reason="overtime",
            comment="Saturday shift",
            expected_version=None,
        )
    assert plan_of(run, company["LAMP"], "planned") == [50, 50, 40]
    splits = SourceSplit.objects.filter(run=run).order_by("month")
    assert [(s.month, s.source_id, s.quantity) for s in splits] == [(MONTHS[2], source.pk, 20)]
