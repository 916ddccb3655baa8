"""The company total and the family grid (its SKU-locations as rows), on hand-set figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from demand import selectors
from demand.choices import ExceptionFilter, GridLayer, GridSort, OverrideLevel, ReasonCode
from demand.models import (
    DemandOverride,
    DemandPlanSnapshot,
    ForecastRun,
    SeriesFit,
    StatisticalForecast,
)
from demand.services.consensus import consensus_rebuild
from sop.choices import JobStatus, Role, Stage
from sop.models import Cycle, SalesHistory
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOV, DEC, JAN = dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)
OCT = dt.date(2026, 10, 1)

# Statistical forecast per series for Nov, Dec, Jan.
STATISTICAL = {
    ("K1", "N"): (100, 100, 100),
    ("K1", "S"): (10, 10, 10),
    ("K2", "N"): (50, 60, 70),
    ("P1", "N"): (1000, 1000, 1000),
}
# Last cycle's frozen plan (consensus) for Oct, Nov, Dec, and what was sold in Oct.
LAST_PLAN = {("K1", "N"): (90, 80, 80), ("K1", "S"): (5, 10, 20), ("K2", "N"): (40, None, None)}
SOLD_OCT = {("K1", "N"): 100, ("K1", "S"): 10, ("K2", "N"): 40}


@pytest.fixture
def plan(make_user):
    """Kits (K1 class A at N and S, K2 class C at N) and Pots (P1 at N), a 3-month cycle.

    K1 @ N has an override of 120 in November: its consensus is 120, 100, 100.
    """
    planner = make_user(Role.DEMAND_PLANNER)
    loc = {"N": LocationFactory(code="N"), "S": LocationFactory(code="S")}
    prod = {
        "K1": ProductFactory(sku="K1", family="Kits", abc_class="A"),
        "K2": ProductFactory(sku="K2", family="Kits", abc_class="C"),
        "P1": ProductFactory(sku="P1", family="Pots", abc_class="B"),
    }
    previous = Cycle.objects.create(month=OCT, stage=Stage.APPROVED, horizon_months=3)
    cycle = Cycle.objects.create(month=NOV, stage=Stage.DEMAND_REVIEW, horizon_months=3)
    run = ForecastRun.objects.create(cycle=cycle, status=JobStatus.SUCCEEDED, is_published=True)
    patterns = {("K1", "S"): "intermittent"}
    for (sku, code), values in STATISTICAL.items():
        p, lo = prod[sku], loc[code]
        SeriesFit.objects.create(
            run=run,
            product=p,
            location=lo,
            model="ses",
            pattern=patterns.get((sku, code), "smooth"),
        )
        for month, v in zip((NOV, DEC, JAN), values, strict=True):
            StatisticalForecast.objects.create(
                run=run, product=p, location=lo, month=month, value=v,
                lo80=v, hi80=v, lo95=v, hi95=v,
            )  # fmt: skip
    for (sku, code), values in LAST_PLAN.items():
        for month, v in zip((OCT, NOV, DEC), values, strict=True):
            if v is not None:
                DemandPlanSnapshot.objects.create(
                    cycle=previous, product=prod[sku], location=loc[code], month=month,
                    naive=v, statistical=v, consensus=v,
                )  # fmt: skip
    for (sku, code), qty in SOLD_OCT.items():
        SalesHistory.objects.create(
            product=prod[sku], location=loc[code], month=OCT, quantity=Decimal(qty)
        )
    DemandOverride.objects.create(
        cycle=cycle, level=OverrideLevel.PRODUCT, family="Kits", product=prod["K1"],
        location=loc["N"], month=NOV, kind="absolute", value=Decimal(120),
        reason=ReasonCode.PROMOTION, comment="Fair", author=planner,
    )  # fmt: skip
    consensus_rebuild(cycle=cycle)
    return {"cycle": cycle, "products": prod, "locations": loc, "planner": planner}


def keys(grid: selectors.SeriesGrid) -> list[str]:
    return [f"{r.sku}@{r.location}" for r in grid.rows]


def test_the_company_total_is_the_sum_of_the_families(plan):
    cycle = plan["cycle"]
    total = selectors.review_grid(cycle=cycle, selection=selectors.Selection(family=""))
    # Consensus in November: Kits 120 + 10 + 50, Pots 1000.
    assert total.consensus[NOV] == 1180
    assert total.statistical[NOV] == 1160  # the override's +20 is not statistical
    assert total.consensus[JAN] == 100 + 10 + 70 + 1000
    # Last cycle's plan for December: 80 + 20 (Pots had none).
    assert total.last_plan[DEC] == 100
    assert total.actuals[OCT] == 150
    assert total.overrides == {}
    kits = selectors.review_grid(cycle=cycle, selection=selectors.Selection(family="Kits"))
    pots = selectors.review_grid(cycle=cycle, selection=selectors.Selection(family="Pots"))
    for month in (NOV, DEC, JAN):
        assert total.consensus[month] == kits.consensus[month] + pots.consensus[month]


def test_the_total_accuracy_has_one_level(plan):
    summary = selectors.accuracy_summary(
        cycle=plan["cycle"], selection=selectors.Selection(family="")
    )
    assert [level["label"] for level in summary] == ["Total"]
    # October: planned 90 + 5 + 40 = 135 against 150 sold: WAPE 15 / 150 = 10 %.
    assert summary[0]["methods"]["consensus"]["wape"] == pytest.approx(10.0)


def test_the_family_grid_has_one_row_per_series_with_its_figures(plan):
    grid = selectors.series_grid(cycle=plan["cycle"], family="Kits")
    assert keys(grid) == ["K1@N", "K2@N", "K1@S"]  # by consensus volume 320, 180, 30
    k1n, k2n, k1s = grid.rows
    assert k1n.values == [120, 100, 100]
    assert (k1n.volume, k2n.volume, k1s.volume) == (320, 180, 30)
    # Error: October's plan vs sales: |100 - 90| / 100, |10 - 5| / 10, |40 - 40| / 40.
    assert (k1n.error, k1s.error, k2n.error) == (pytest.approx(10), pytest.approx(50), 0)
    # Change on Nov + Dec: K1 @ N 220 vs 160 (+37.5 %), K1 @ S 20 vs 30; K2 had no plan.
    assert k1n.change == pytest.approx(37.5)
    assert k1s.change == pytest.approx(-100 / 3)
    assert k2n.change is None
    assert (k1n.abc, k1s.pattern, grid.count, grid.pages) == ("A", "intermittent", 3, 1)


def test_the_statistical_layer_shows_and_sorts_by_the_statistical_forecast(plan):
    grid = selectors.series_grid(cycle=plan["cycle"], family="Kits", layer=GridLayer.STATISTICAL)
    assert grid.rows[0].values == [100, 100, 100]
    assert [r.volume for r in grid.rows] == [300, 180, 30]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (GridSort.ERROR, ["K1@S", "K1@N", "K2@N"]),  # 50 %, 10 %, 0 %
        (GridSort.CHANGE, ["K1@N", "K1@S", "K2@N"]),  # +37.5, -33.3 (by size), none last
    ],
)
def test_the_family_grid_sorts_the_largest_first(plan, sort, expected):
    assert keys(selectors.series_grid(cycle=plan["cycle"], family="Kits", sort=sort)) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (selectors.Filters(abc="A"), ["K1@N", "K1@S"]),
        (selectors.Filters(pattern="intermittent"), ["K1@S"]),
        # K1 over Nov + Dec: 240 now vs 190 last cycle, +26 % > 20 %; K2 had no plan.
        (selectors.Filters(exception=ExceptionFilter.LARGE_CHANGE), ["K1@N", "K1@S"]),
        (selectors.Filters(abc="B"), []),
    ],
)
def test_the_family_grid_filters(plan, filters, expected):
    grid = selectors.series_grid(cycle=plan["cycle"], family="Kits", filters=filters)
    assert keys(grid) == expected


def test_the_family_grid_pages(plan, monkeypatch):
    monkeypatch.setattr(selectors, "GRID_PAGE_ROWS", 2)
    first = selectors.series_grid(cycle=plan["cycle"], family="Kits")
    second = selectors.series_grid(cycle=plan["cycle"], family="Kits", page=2)
    assert (keys(first), keys(second)) == (["K1@N", "K2@N"], ["K1@S"])
    assert (second.count, second.pages, second.page) == (3, 2, 2)


def test_the_override_layer_carries_the_series_overrides(plan):
    grid = selectors.series_grid(cycle=plan["cycle"], family="Kits", layer=GridLayer.OVERRIDE)
    k1n = grid.rows[0]
    assert k1n.overrides[NOV].display_value == "120"
    assert k1n.values == [120, 100, 100]  # the consensus, shown beside the inputs
    assert all(not r.overrides for r in grid.rows[1:])


# --- the pages ---------------------------------------------------------------------------


def post_grid_cell(client, plan, sku="K2", code="N", month=DEC, **data):
    data.setdefault("reason", ReasonCode.PROMOTION)
    data.setdefault("comment", "Trade fair")
    data.setdefault("version", "")
    data.update(
        sku=plan["products"][sku].pk, location=plan["locations"][code].pk, month=month.isoformat()
    )
    cycle = plan["cycle"]
    return client.post(f"/demand/cycles/{cycle.pk}/grid/", data, HTTP_HX_REQUEST="true")


def test_an_anonymous_visitor_is_sent_to_sign_in_from_the_grid(client, plan):
    response = client.get(f"/demand/grid/?cycle={plan['cycle'].pk}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_planner_gets_an_input_per_series_and_month_in_the_override_layer(client_for, plan):
    page = client_for(Role.DEMAND_PLANNER).get(
        f"/demand/grid/?cycle={plan['cycle'].pk}&family=Kits&layer=override"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert '<table class="grid demand-grid series-grid" data-grid hx-target="closest tr"' in html
    assert html.count('class="grid-input"') == 3 * 3  # three series, three months
    assert 'value="120"' in html  # K1 @ N's November override


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.FINANCE, Role.SUPPLY_PLANNER])
def test_other_roles_read_the_grid_without_inputs(client_for, plan, role):
    page = client_for(role).get(
        f"/demand/grid/?cycle={plan['cycle'].pk}&family=Kits&layer=override"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "grid-input" not in html
    assert ">120</span>" in html  # the override, read-only


def test_the_consensus_layer_has_no_inputs_even_for_a_planner(client_for, plan):
    page = client_for(Role.DEMAND_PLANNER).get(
        f"/demand/grid/?cycle={plan['cycle'].pk}&family=Kits"
    )
    html = page.content.decode()
    assert "grid-input" not in html
    assert "37.5 %" in html  # K1 @ N's change vs last cycle's plan


def test_a_planner_saves_a_grid_cell_and_gets_its_row_back(client_for, plan):
    client = client_for(Role.DEMAND_PLANNER)
    response = post_grid_cell(client, plan, value="75")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Saved K2 @ N Dec 2026" in html
    assert 'value="75"' in html and 'data-series="' in html
    override = DemandOverride.objects.get(product=plan["products"]["K2"])
    assert (override.location.code, override.month, override.value) == ("N", DEC, 75)
    grid = selectors.series_grid(cycle=plan["cycle"], family="Kits", sort=GridSort.VOLUME)
    k2n = next(r for r in grid.rows if r.sku == "K2")
    assert k2n.values == [50, 75, 70]  # its consensus now, the rest of the family as before
    assert grid.rows[0].values == [120, 100, 100]


def test_a_stale_grid_cell_is_refused_with_409_and_keeps_the_typed_value(client_for, plan):
    client = client_for(Role.DEMAND_PLANNER)
    # K1 @ N November has version 1; a page showing no override there is stale.
    response = post_grid_cell(client, plan, sku="K1", month=NOV, value="130", version="")
    html = response.content.decode()
    assert response.status_code == 409
    assert 'value="130"' in html and "refused" in html
    assert DemandOverride.objects.get(product=plan["products"]["K1"]).value == 120


def test_a_grid_cell_without_a_reason_is_refused_with_400(client_for, plan):
    response = post_grid_cell(client_for(Role.DEMAND_PLANNER), plan, value="75", reason="")
    assert response.status_code == 400
    assert "Choose a reason code." in response.content.decode()
    assert not DemandOverride.objects.filter(product=plan["products"]["K2"]).exists()


def test_an_executive_cannot_save_a_grid_cell(client_for, plan):
    response = post_grid_cell(client_for(Role.EXECUTIVE), plan, value="75")
    assert response.status_code == 403
    assert not DemandOverride.objects.filter(product=plan["products"]["K2"]).exists()


def test_the_review_shows_the_company_total_read_only(client_for, plan):
    page = client_for(Role.DEMAND_PLANNER).get(f"/demand/?cycle={plan['cycle'].pk}&total=1")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h2>Company total</h2>" in html
    assert "1,180" in html  # November's consensus: 120 + 10 + 50 + 1000
    assert "override-input" not in html  # the total is the families' sum: no input
    assert 'aria-current="page">Company total' in html
