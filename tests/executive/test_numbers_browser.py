"""Numbers that read the same everywhere, in a real browser at 1280 x 720: the comparison
page and the executive pack show money with its currency and units as units, colour only
material differences and say what the colours mean, and their charts stay readable.

The company is the supply tests' (every product at 10 EUR, cost 6 EUR; 450 units of demand
over three months, all of it made by the base plan). "Bikes +10%" asks 18 more bikes the
line cannot make: 18 units go unmet, 180 EUR of revenue is lost, the fill rate falls from
450 / 450 = 100.0 % to 450 / 468 = 96.2 % (-3.8 pts), while revenue stays 4,500 EUR and the
margin 1,800 / 4,500 = 40.0 %. "Tea +1%" asks 1.2 more bought units: +12 EUR of revenue,
below the 0.5 % of revenue (22.50 EUR) that earns a colour.
"""

# The browser fixtures are imported by name and then requested as arguments; the company,
# its plan and the finance user come from this folder's conftest.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from reconciliation import services
from sop import services as sop_services
from sop.choices import Stage
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in  # noqa: F401
from tests.supply.conftest import MONTHS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPAN = {"start": MONTHS[0].isoformat(), "end": MONTHS[-1].isoformat()}


def _scenarios(cycle, user):
    """The base plan, Bikes +10% and Tea +1%, computed (Celery runs eagerly here)."""
    base = services.scenario_base(cycle=cycle)
    services.scenario_run_start(scenario=base, user=None)
    made = {}
    for name, family, percent in (("Bikes +10%", "Bikes", 10), ("Tea +1%", "Drinks", 1)):
        delta = {"kind": "demand", "family": family, "percent": percent, **SPAN}
        made[name] = services.scenario_create(cycle=cycle, name=name, user=user, deltas=[delta])
        services.scenario_run_start(scenario=made[name], user=user)
    return base, made


def _row(page, key):
    return page.locator(f"#kpis tr[data-kpi={key}] td")


def test_the_comparison_shows_units_and_currency_and_colours_only_material_differences(
    live_server, chromium_page, sign_in, reconciling, finance
):
    base, made = _scenarios(reconciling, finance)
    page = chromium_page
    page.set_viewport_size({"width": 1280, "height": 720})
    sign_in(page, finance)
    ids = "&".join(f"s={s.pk}" for s in (base, made["Bikes +10%"], made["Tea +1%"]))
    page.goto(f"{live_server.url}/reconciliation/compare/?cycle={reconciling.pk}&{ids}")
    page.wait_for_selector("#capacity-chart .main-svg")

    revenue = _row(page, "revenue")
    assert revenue.nth(0).inner_text() == "4,500 EUR"
    assert revenue.nth(1).inner_text() == "4,500 EUR"  # equal: no difference line
    tea = revenue.nth(2)
    assert tea.inner_text().split("\n") == ["4,512 EUR", "+12 EUR (0.3 %)"]
    assert tea.get_attribute("class") == "num "  # +12 EUR is below 22.50 EUR: no colour

    unmet = _row(page, "unmet_units").nth(1)
    assert unmet.inner_text().split("\n") == ["18 units", "+18 units"]
    assert "bad" in unmet.get_attribute("class")
    lost = _row(page, "unmet_revenue").nth(1)
    assert lost.inner_text().split("\n") == ["180 EUR", "+180 EUR"]
    assert "bad" in lost.get_attribute("class")
    fill = _row(page, "fill_rate")
    assert fill.nth(0).inner_text() == "100.0 %"
    assert fill.nth(1).inner_text().split("\n") == ["96.2 %", "-3.8 pts"]
    assert "bad" in fill.nth(1).get_attribute("class")
    assert _row(page, "margin_pct").nth(1).inner_text() == "40.0 %"

    legend = page.inner_text("#legend")
    assert "Green: better for the business, red: worse, by at least 0.5 % of revenue" in legend
    assert "0.5 % of demand for unmet demand (units)" in legend

    # Month labels whole and inside the chart; the first and last month drawn.
    for chart in ("revenue", "inventory"):
        ticks = page.locator(f"#{chart}-chart .xtick text")
        assert ticks.all_text_contents() == ["Nov 2026", "Dec 2026", "Jan 2027"]
        frame = page.locator(f"#{chart}-chart .main-svg").first.bounding_box()
        for box in (ticks.nth(i).bounding_box() for i in range(3)):
            assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
            assert box["y"] + box["height"] <= frame["y"] + frame["height"]
        points = page.locator(f"#{chart}-chart .scatterlayer .trace").first.locator(".point")
        plot = page.locator(f"#{chart}-chart .nsewdrag").first.bounding_box()
        first, last = points.first.bounding_box(), points.last.bounding_box()
        assert (
            first["x"] > plot["x"] + 10
            and last["x"] + last["width"] < plot["x"] + plot["width"] - 10
        )

    # Each capacity mark sits on its own bar, no wider than it; the legend names the marks.
    assert "Capacity available (red mark on each bar)" in page.text_content(
        "#capacity-chart .legend"
    )
    bars = page.locator("#capacity-chart .barlayer .point")
    marks = page.locator("#capacity-chart .scatterlayer .point")
    assert bars.count() == marks.count() == 3
    for i in range(3):
        bar, mark = bars.nth(i).bounding_box(), marks.nth(i).bounding_box()
        assert (
            bar["x"] - 1 <= mark["x"] and mark["x"] + mark["width"] <= bar["x"] + bar["width"] + 1
        )

    page.screenshot(path=str(ARTIFACTS / "numbers_compare.png"), full_page=True)


def test_the_executive_pack_says_its_currency_units_and_colours_on_screen_and_in_print(
    live_server, chromium_page, sign_in, reconciling, finance, executive
):
    _, made = _scenarios(reconciling, finance)
    services.scenario_recommend(scenario=made["Bikes +10%"], user=finance)
    sop_services.cycle_advance(cycle=reconciling, target=Stage.EXECUTIVE_REVIEW, user=finance)
    page = chromium_page
    page.set_viewport_size({"width": 1280, "height": 720})
    sign_in(page, executive)
    for path in ("/executive/", "/executive/print/"):
        page.goto(f"{live_server.url}{path}?cycle={reconciling.pk}")
        page.wait_for_selector("#capacity-chart .main-svg")
        tiles = dict(
            zip(
                page.locator(".kpi dt").all_inner_texts(),
                [t.split("\n")[0] for t in page.locator(".kpi dd").all_inner_texts()],
                strict=True,
            )
        )
        assert tiles["Revenue"] == "4.50 k EUR"
        assert tiles["Unmet demand (units)"] == "18 units"
        assert tiles["Unmet demand (revenue)"] == "180 EUR"
        assert tiles["Margin %"] == "40.0 %"
        rows = {
            cells[0]: cells[1:]
            for cells in (
                r.split("\t") for r in page.locator("#vs-base + table tbody tr").all_inner_texts()
            )
        }
        assert rows["Unmet demand (units)"] == ["0 units", "18 units", "+18 units"]
        assert rows["Fill rate"] == ["100.0 %", "96.2 %", "-3.8 pts"]
        assert rows["Margin %"] == ["40.0 %", "40.0 %", "\N{PLUS-MINUS SIGN}0.0 pts"]
        unchanged = page.locator("#vs-base + table tr:has-text('Margin %') td").last
        assert unchanged.get_attribute("class") == "num "
        changed = page.locator("#vs-base + table tr:has-text('Fill rate') td").last
        assert changed.get_attribute("class") == "num bad"
        assert "Green: better for the business" in page.inner_text(".legend")
        assert page.locator("#revenue-chart .xtick text").all_text_contents() == [
            "Nov 2026",
            "Dec 2026",
            "Jan 2027",
        ]
        assert "Capacity (100 %)" in page.text_content("#capacity-chart .legend")
        name = "numbers_pack_print" if "print" in path else "numbers_pack"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
