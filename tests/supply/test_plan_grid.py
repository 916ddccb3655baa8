"""The supply grid: the published plan's SKU-locations as rows, on hand-set figures."""

from __future__ import annotations

import pytest

from sop.choices import JobStatus, Role
from supply import selectors
from supply.choices import ExceptionFilter, GridLayer, GridSort
from supply.models import InventoryProjection, PlannedSupplyEdit, SupplyRun
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db

# Per SKU at DC and month: demand, planned, on hand, lost (unmet), cut (shortage).
PLAN = {
    "BIKE": [(60, 70, 40, 0, 0), (60, 70, 50, 0, 10), (60, 70, 60, 0, 0)],
    "LAMP": [(50, 0, 0, 50, 0), (50, 0, 0, 50, 0), (50, 0, 0, 50, 0)],
    "TEA": [(40, 0, 60, 0, 0), (40, 40, 60, 0, 0), (40, 40, 60, 0, 0)],
}


@pytest.fixture
def run(cycle, company):
    """A published run with the hand-set projection above (BIKE and LAMP run on LINE)."""
    run = SupplyRun.objects.create(cycle=cycle, status=JobStatus.SUCCEEDED, is_published=True)
    InventoryProjection.objects.bulk_create(
        InventoryProjection(
            run=run,
            product=company[sku],
            location=company["dc"],
            month=month,
            demand=d,
            receipts=0,
            planned_unconstrained=p,
            planned=p,
            shortage=cut,
            on_hand=oh,
            unmet=lost,
            weeks_of_cover=0,
            excess_quantity=0,
        )
        for sku, months in PLAN.items()
        for month, (d, p, oh, lost, cut) in zip(MONTHS, months, strict=True)
    )
    return run


def skus(grid: selectors.PlanGrid) -> list[str]:
    return [r.sku for r in grid.rows]


def test_the_supply_grid_has_a_row_per_sku_location_with_its_horizon_figures(run):
    grid = selectors.plan_grid(run=run)
    # Ranked as the SKU list: LAMP loses 150 units at 10.00 of revenue, BIKE is cut 10.
    assert skus(grid) == ["LAMP", "BIKE", "TEA"]
    lamp, bike, tea = grid.rows
    assert (bike.demand, bike.unmet, bike.shortage) == (180, 0, 10)
    assert (lamp.demand, lamp.unmet) == (150, 150)
    assert tea.values == [0, 40, 40]  # the planned layer by default
    assert (grid.count, grid.months) == (3, MONTHS)


def test_the_supply_grid_shows_the_layer_asked_for(run):
    grid = selectors.plan_grid(run=run, layer=GridLayer.ON_HAND, sort=GridSort.VOLUME)
    assert [r.values for r in grid.rows] == [[40, 50, 60], [0, 0, 0], [60, 60, 60]]
    demand = selectors.plan_grid(run=run, layer=GridLayer.DEMAND, sort=GridSort.VOLUME)
    assert demand.rows[0].values == [60, 60, 60]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (GridSort.VOLUME, ["BIKE", "LAMP", "TEA"]),  # demand 180, 150, 120
        (GridSort.SHORTAGE, ["LAMP", "BIKE", "TEA"]),  # lost + cut 150, 10, 0
    ],
)
def test_the_supply_grid_sorts_the_largest_first(run, sort, expected):
    assert skus(selectors.plan_grid(run=run, sort=sort)) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"abc": "A"}, ["BIKE"]),
        ({"exception": ExceptionFilter.SHORTAGE}, ["BIKE"]),
        ({"exception": ExceptionFilter.STOCKOUT}, ["LAMP"]),
        ({"family": "Drinks"}, ["TEA"]),
        ("line", ["BIKE", "LAMP"]),  # the SKUs routed through the assembly line
    ],
)
def test_the_supply_grid_filters_by_family_resource_abc_and_exception(
    run, company, filters, expected
):
    if filters == "line":
        filters = {"resource": str(company["line"].pk)}
    grid = selectors.plan_grid(run=run, sort=GridSort.VOLUME, filters=selectors.Filters(**filters))
    assert skus(grid) == expected


def test_the_supply_grid_pages(run, monkeypatch):
    monkeypatch.setattr(selectors, "GRID_PAGE_ROWS", 2)
    second = selectors.plan_grid(run=run, sort=GridSort.VOLUME, page=2)
    assert (skus(second), second.count, second.pages) == (["TEA"], 3, 2)


# --- the pages ---------------------------------------------------------------------------


def post_grid_cell(client, cycle, company, **data):
    data.setdefault("product", company["BIKE"].pk)
    data.setdefault("location", company["dc"].pk)
    data.setdefault("month", MONTHS[1].isoformat())
    data.setdefault("quantity", "80")
    data.setdefault("reason", "campaign")
    data.setdefault("comment", "December campaign")
    data.setdefault("version", "")
    return client.post(f"/supply/cycles/{cycle.pk}/grid/", data, HTTP_HX_REQUEST="true")


def test_an_anonymous_visitor_is_sent_to_sign_in_from_the_supply_grid(client, run):
    response = client.get(f"/supply/grid/?cycle={run.cycle.pk}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_supply_planner_gets_planned_supply_inputs(client_for, run):
    page = client_for(Role.SUPPLY_PLANNER).get(f"/supply/grid/?cycle={run.cycle.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="grid-input"') == 3 * 3
    assert "data-grid" in html


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.DEMAND_PLANNER])
def test_other_roles_read_the_supply_grid(client_for, run, role):
    page = client_for(role).get(f"/supply/grid/?cycle={run.cycle.pk}&layer=on_hand")
    html = page.content.decode()
    assert page.status_code == 200
    assert "grid-input" not in html
    assert "Projected on hand in units" in html


def test_a_supply_planner_fixes_a_cell_and_gets_the_recomputed_row(
    client_for, published, cycle, company, django_capture_on_commit_callbacks
):
    # The recompute goes after the commit (to background threads where they run).
    with django_capture_on_commit_callbacks(execute=True):
        response = post_grid_cell(client_for(Role.SUPPLY_PLANNER), cycle, company)
    html = response.content.decode()
    assert response.status_code == 200
    assert "BIKE @ DC Dec 2026 fixed" in html
    assert 'value="80"' in html
    edit = PlannedSupplyEdit.objects.get()
    assert (edit.product.sku, edit.month, edit.quantity) == ("BIKE", MONTHS[1], 80)
    row = InventoryProjection.objects.get(
        run__cycle=cycle, run__is_published=True, product=company["BIKE"], month=MONTHS[1]
    )
    assert (row.planned, row.firm) == (80, True)


def test_a_stale_supply_cell_is_refused_with_409(client_for, published, cycle, company):
    client = client_for(Role.SUPPLY_PLANNER)
    assert post_grid_cell(client, cycle, company).status_code == 200
    response = post_grid_cell(client, cycle, company, quantity="90", version="")
    assert response.status_code == 409
    assert 'value="90"' in response.content.decode()
    assert PlannedSupplyEdit.objects.get().quantity == 80


def test_an_executive_cannot_fix_a_supply_cell(client_for, published, cycle, company):
    response = post_grid_cell(client_for(Role.EXECUTIVE), cycle, company)
    assert response.status_code == 403
    assert not PlannedSupplyEdit.objects.exists()
