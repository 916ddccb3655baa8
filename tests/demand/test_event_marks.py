"""The events calendar on the demand review: tags on the grids' months, bands on the chart."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sop import events
from sop.choices import Role

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


@pytest.fixture
def promotion(published, company, make_user):
    """BIKE-1 promoted at NORTH in January (+40 %), one month of dip after it."""
    return events.event_create(
        user=make_user(Role.MARKETING),
        locations=[company["locations"][0]],
        code="PROMO-JAN",
        name="New year bikes",
        kind="promotion",
        scope="product",
        product=company["products"][0],
        start_month=JAN,
        end_month=JAN,
        effect_value=40,
        dip_months=1,
        dip_percent=-15,
    )


TOOLTIP = "New year bikes (PROMO-JAN, proposed): +40.0 % of the baseline, then -15.0 % for 1 month"


def test_the_review_chart_shades_the_event_months_with_the_event_on_hover(
    client_for, promotion, company
):
    bike = company["products"][0]
    response = client_for(Role.DEMAND_PLANNER).get(f"/demand/?family=Bikes&sku={bike.pk}")
    assert response.status_code == 200
    figure = json.loads(response.context["chart_json"])
    (trace,) = [t for t in figure["data"] if t.get("name") == "Events"]
    assert [x[:10] for x in trace["x"]] == ["2027-01-01", "2027-02-01"]
    assert trace["text"] == [
        TOOLTIP,
        "New year bikes (PROMO-JAN, proposed): dip after "
        "+40.0 % of the baseline, then -15.0 % for 1 month",
    ]
    bands = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert [(b["x0"], b["x1"]) for b in bands] == [
        # Halfway between the months: Dec 1 + 31 // 2 days, Jan 1 + 15, Feb 1 + 28 // 2.
        ("2026-12-16", "2027-01-16"),
        ("2027-01-16", "2027-02-15"),
    ]
    page = response.content.decode()
    assert f'title="{TOOLTIP}"' in page.replace("&#x27;", "'")


def test_a_family_without_events_has_no_events_row_or_trace(client_for, promotion):
    response = client_for(Role.DEMAND_PLANNER).get("/demand/?family=Lamps")
    figure = json.loads(response.context["chart_json"])
    assert [t for t in figure["data"] if t.get("name") == "Events"] == []
    assert 'class="events-row"' not in response.content.decode()


def test_the_family_grid_tags_the_months_of_the_rows_in_scope_only(
    client_for, promotion, published
):
    response = client_for(Role.DEMAND_PLANNER).get(
        f"/demand/grid/?cycle={published.cycle.pk}&family=Bikes&layer=override"
    )
    assert response.status_code == 200
    marked = {
        (r["row"].sku, r["row"].location, c["month"], m.tag)
        for r in response.context["rows"]
        for c in r["cells"]
        for m in c["events"]
    }
    assert marked == {("BIKE-1", "NORTH", JAN, "Promo"), ("BIKE-1", "NORTH", FEB, "Dip")}


def test_a_cancelled_event_leaves_no_mark(client_for, promotion, company):
    events.event_cancel(event=promotion, version=1, user=None)
    bike = company["products"][0]
    response = client_for(Role.DEMAND_PLANNER).get(f"/demand/?family=Bikes&sku={bike.pk}")
    figure = json.loads(response.context["chart_json"])
    assert [t for t in figure["data"] if t.get("name") == "Events"] == []
