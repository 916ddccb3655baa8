"""The events calendar: recording, changing, cancelling and deleting events, and its list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from sop import events, selectors
from sop import services as sop_services
from sop.choices import Role
from sop.locking import EditConflict
from sop.models import AuditEvent, Event, SalesHistory
from tests.factories import LocationFactory, ProductFactory

CYCLE = dt.date(2027, 1, 1)
FIRST_HISTORY = dt.date(2025, 1, 1)


@pytest.fixture
def calendar(db, without_data_checks):
    """A bike and a lamp sold at two DCs since Jan 2025; the Jan 2027 cycle plans 6 months
    (its last month Jun 2027)."""
    bike = ProductFactory(sku="BIKE", family="Bikes")
    lamp = ProductFactory(sku="LAMP", family="Lamps")
    north, south = LocationFactory(code="NORTH"), LocationFactory(code="SOUTH")
    SalesHistory.objects.bulk_create(
        SalesHistory(product=p, location=north, month=m, quantity=10)
        for p in (bike, lamp)
        for m in (FIRST_HISTORY, dt.date(2026, 12, 1))
    )
    sop_services.cycle_open(month=CYCLE, horizon_months=6)
    return {"bike": bike, "lamp": lamp, "north": north, "south": south}


def _fields(**over) -> dict:
    return {
        "code": "PROMO-1",
        "name": "Spring bikes",
        "kind": "promotion",
        "scope": "family",
        "family": "Bikes",
        "start_month": dt.date(2027, 3, 1),
        "end_month": dt.date(2027, 4, 1),
        "effect_value": Decimal("30"),
        **over,
    }


def test_a_marketing_user_records_an_event_with_its_locations_and_it_is_audited(
    calendar, make_user
):
    user = make_user(Role.MARKETING)
    event = events.event_create(user=user, locations=[calendar["north"]], **_fields(owner=user))
    assert event.version == 1
    assert [loc.code for loc in event.locations.all()] == ["NORTH"]
    audit = AuditEvent.objects.get(action="masterdata.create", object_type="event")
    assert audit.object_id == "PROMO-1"
    assert audit.new["family"] == "Bikes"
    assert audit.new["locations"] == "NORTH"


def test_a_supply_planner_cannot_record_an_event(calendar, make_user):
    with pytest.raises(PermissionDenied, match="Marketing"):
        events.event_create(user=make_user(Role.SUPPLY_PLANNER), **_fields())
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"end_month": dt.date(2027, 7, 1)}, "end_month", "after the last month of the latest"),
        ({"start_month": dt.date(2024, 12, 1)}, "start_month", "before the first month of sales"),
        ({"effect_value": Decimal("-100.5")}, "effect_value", "more than all of the demand"),
        ({"family": "Boats"}, "family", "No product is in the family Boats"),
        ({"scope": "product", "family": ""}, "product", "A product event names its product"),
        (
            {"start_month": dt.date(2027, 4, 1), "end_month": dt.date(2027, 3, 1)},
            "end_month",
            "cannot end before it starts",
        ),
    ],
)
def test_an_event_that_cannot_mean_anything_is_refused_naming_the_field(
    calendar, make_user, over, field, message
):
    with pytest.raises(ValidationError) as refused:
        events.event_create(user=make_user(Role.DEMAND_PLANNER), **_fields(**over))
    assert message in " ".join(refused.value.message_dict[field])
    assert not Event.objects.exists()


def test_the_horizon_bound_is_the_last_month_of_the_latest_cycle(calendar, make_user):
    # Jan 2027 + 6 months: Jun 2027 is the last month an event may touch.
    event = events.event_create(
        user=make_user(Role.MARKETING), **_fields(end_month=dt.date(2027, 6, 1))
    )
    assert event.end_month == dt.date(2027, 6, 1)


def test_a_units_effect_below_minus_100_is_allowed(calendar, make_user):
    # Units are not a share of the baseline: -150 units a month is a real delisting.
    event = events.event_create(
        user=make_user(Role.MARKETING), **_fields(effect_kind="units", effect_value=-150)
    )
    assert event.effect_value == -150


def test_an_edit_from_a_stale_version_is_refused_and_keeps_the_other_change(calendar, make_user):
    marketing, planner = make_user(Role.MARKETING), make_user(Role.DEMAND_PLANNER)
    event = events.event_create(user=marketing, **_fields())
    events.event_update(event=event, version=1, user=planner, effect_value=Decimal("40"))
    with pytest.raises(EditConflict, match="The event PROMO-1 was changed by"):
        events.event_update(event=event, version=1, user=marketing, effect_value=Decimal("20"))
    event.refresh_from_db()
    assert (event.effect_value, event.version) == (Decimal("40"), 2)
    change = AuditEvent.objects.get(action="masterdata.change")
    assert (change.old["effect_value"], change.new["effect_value"]) == ("30.000", "40.000")


def test_cancelling_keeps_the_event_and_takes_it_off_the_marks(calendar, make_user):
    user = make_user(Role.DEMAND_PLANNER)
    event = events.event_create(user=user, **_fields())
    months = [dt.date(2027, 3, 1)]
    target = [("Bikes", None, None)]
    assert list(selectors.event_marks(months=months, targets=target)[0]) == months
    events.event_cancel(event=event, version=1, user=user)
    event.refresh_from_db()
    assert event.status == "cancelled"
    assert selectors.event_marks(months=months, targets=target) == [{}]


def test_deleting_from_a_stale_version_is_refused(calendar, make_user):
    user = make_user(Role.ADMIN)
    event = events.event_create(user=user, **_fields())
    events.event_update(event=event, version=1, user=user, name="Spring bikes 2027")
    with pytest.raises(EditConflict):
        events.event_delete(event=event, version=1, user=user)
    events.event_delete(event=event, version=2, user=user)
    assert not Event.objects.exists()
    assert AuditEvent.objects.filter(action="masterdata.delete", object_id="PROMO-1").exists()


def test_marks_follow_scope_locations_and_the_dip(calendar, make_user):
    user = make_user(Role.MARKETING)
    bike, lamp = calendar["bike"], calendar["lamp"]
    north, south = calendar["north"], calendar["south"]
    events.event_create(
        user=user,
        locations=[north],
        **_fields(
            scope="product",
            family="",
            product=bike,
            end_month=dt.date(2027, 3, 1),
            dip_months=1,
            dip_percent=-20,
        ),
    )
    months = [dt.date(2027, m, 1) for m in (2, 3, 4, 5)]
    marks = selectors.event_marks(
        months=months,
        targets=[
            ("Bikes", bike.pk, north.pk),
            ("Bikes", bike.pk, south.pk),  # not a location of the event
            ("Lamps", lamp.pk, north.pk),  # another family
            ("Bikes", None, None),  # the family: a product of it is promoted
            ("", None, None),  # the company
        ],
    )
    assert sorted(marks[0]) == [dt.date(2027, 3, 1), dt.date(2027, 4, 1)]
    (promo,) = marks[0][dt.date(2027, 3, 1)]
    (dip,) = marks[0][dt.date(2027, 4, 1)]
    assert (promo.dip, dip.dip) == (False, True)
    assert promo.effect == "+30.0 % of the baseline, then -20.0 % for 1 month"
    assert promo.tooltip == (
        "Spring bikes (PROMO-1, proposed): +30.0 % of the baseline, then -20.0 % for 1 month"
    )
    assert marks[1] == {} and marks[2] == {}
    assert sorted(marks[3]) == sorted(marks[4]) == [dt.date(2027, 3, 1), dt.date(2027, 4, 1)]


def test_the_list_filters_by_what_an_event_affects(calendar, make_user):
    user = make_user(Role.MARKETING)
    events.event_create(user=user, **_fields())
    events.event_create(
        user=user, locations=[calendar["south"]], **_fields(code="ALL-1", scope="all", family="")
    )
    events.event_create(
        user=user,
        **_fields(
            code="LAMP-1",
            family="Lamps",
            start_month=dt.date(2027, 5, 1),
            end_month=dt.date(2027, 5, 1),
        ),
    )
    events.event_create(
        user=user,
        **_fields(code="PAST-1", start_month=dt.date(2025, 6, 1), end_month=dt.date(2025, 6, 1)),
    )

    def codes(**query) -> list[str]:
        filters = selectors.EventFilters.from_query(query)
        return [e.code for e in selectors.event_list(filters=filters)]

    assert codes(family="Lamps") == ["ALL-1", "LAMP-1"]
    # Planned events first, soonest first; then the past ones.
    assert codes(product=str(calendar["bike"].pk)) == ["ALL-1", "PROMO-1", "PAST-1"]
    assert codes(location=str(calendar["north"].pk)) == ["PROMO-1", "LAMP-1", "PAST-1"]
    assert codes(month_from="2027-04", month_to="2027-05") == ["ALL-1", "PROMO-1", "LAMP-1"]
    assert codes(when="past") == ["PAST-1"]
    assert codes(when="planned", kind="promotion", status="proposed", owner="") == [
        "ALL-1",
        "PROMO-1",
        "LAMP-1",
    ]
    events.event_create(
        user=user,
        **_fields(code="PAST-2", start_month=dt.date(2025, 9, 1), end_month=dt.date(2025, 9, 1)),
    )
    assert codes(when="past") == ["PAST-2", "PAST-1"]  # the latest first


def test_the_events_page_records_an_event_and_lists_it(calendar, client_for):
    client = client_for(Role.MARKETING)
    response = client.post(
        reverse("sop:event_create"),
        {
            "code": "PROMO-9",
            "name": "Summer lamps",
            "kind": "promotion",
            "status": "confirmed",
            "scope": "family",
            "family": "Lamps",
            "locations": [calendar["south"].pk],
            "start_month": "2027-05",
            "end_month": "2027-06",
            "effect_kind": "percent",
            "effect_value": "25",
            "dip_months": "1",
            "dip_percent": "-10",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("sop:event_list")).content.decode()
    assert "Summer lamps" in page
    assert "+25.0 % of the baseline, then -10.0 % for 1 month" in page
    assert "May 2027 \N{EN DASH} Jun 2027" in page


def test_the_form_names_the_field_of_a_month_outside_the_horizon(calendar, client_for):
    client = client_for(Role.DEMAND_PLANNER)
    response = client.post(
        reverse("sop:event_create"),
        {
            "code": "PROMO-9",
            "name": "Late",
            "kind": "promotion",
            "status": "proposed",
            "scope": "all",
            "start_month": "2027-06",
            "end_month": "2027-08",
            "effect_kind": "percent",
            "effect_value": "10",
            "dip_months": "0",
            "dip_percent": "0",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["end_month"] == [
        "Aug 2027 is after the last month of the latest cycle's horizon (Jun 2027)."
    ]
    assert not Event.objects.exists()


def test_saving_the_form_over_someone_elses_change_is_refused_with_409(calendar, client_for):
    event = events.event_create(user=None, **_fields())
    events.event_update(event=event, version=1, user=None, name="Spring bikes 2027")
    client = client_for(Role.MARKETING)
    form = {
        "code": "PROMO-1",
        "name": "Mine",
        "kind": "promotion",
        "status": "proposed",
        "scope": "family",
        "family": "Bikes",
        "start_month": "2027-03",
        "end_month": "2027-04",
        "effect_kind": "percent",
        "effect_value": "30",
        "dip_months": "0",
        "dip_percent": "0",
        "version": "1",
    }
    response = client.post(reverse("sop:event_edit", args=[event.pk]), form)
    assert response.status_code == 409
    assert "The event PROMO-1 was changed" in response.context["refusal"]
    assert response.context["form"]["name"].value() == "Mine"
    event.refresh_from_db()
    assert event.name == "Spring bikes 2027"


def test_an_event_can_be_cancelled_after_its_months_left_the_calendars_bounds(calendar, make_user):
    user = make_user(Role.MARKETING)
    event = events.event_create(
        user=user, **_fields(start_month=FIRST_HISTORY, end_month=FIRST_HISTORY)
    )
    SalesHistory.objects.filter(month=FIRST_HISTORY).delete()  # old history purged
    with pytest.raises(ValidationError, match="before the first month of sales history"):
        events.event_update(event=event, version=1, user=user, name="Renamed")
    events.event_cancel(event=event, version=1, user=user)
    event.refresh_from_db()
    assert event.status == "cancelled"
