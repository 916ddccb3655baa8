"""The admin says what is wrong in the user's words, and keeps the app's navigation."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sop.choices import Role
from sop.models import AuditEvent, Capacity, Event, Product, Routing
from tests.factories import LocationFactory, ProductFactory, ResourceFactory
from tests.sop.test_master_audit import admin_client, admin_user, form_data  # noqa: F401

pytestmark = pytest.mark.django_db


def nav_links(response) -> dict[str, str]:
    """The app navigation's links of a page, label -> href; {} when it has none."""
    nav = re.search(
        r'<nav aria-label="Main" class="app-nav">(.*?)</nav>', response.content.decode(), re.S
    )
    if nav is None:
        return {}
    return {
        label.strip(): href
        for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav[1])
    }


def errors_by_field(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {name: list(messages) for name, messages in form.errors.items()}


def test_a_negative_price_is_refused_next_to_its_field_in_plain_words(admin_client):  # noqa: F811
    product = ProductFactory(unit_price=Decimal("10"))

    response = admin_client.post(
        reverse("admin:sop_product_change", args=[product.pk]),
        form_data(product, unit_price="-1", lot_size="-5"),
    )

    assert response.status_code == 200
    assert errors_by_field(response) == {
        "unit_price": ["The unit price cannot be negative."],
        "lot_size": ["The lot size cannot be negative."],
    }
    page = response.content.decode()
    assert "Constraint" not in page and "product_amounts_non_negative" not in page
    product.refresh_from_db()
    assert product.unit_price == Decimal("10")


def test_zero_hours_per_unit_is_refused_in_plain_words(admin_client):  # noqa: F811
    routing = Routing.objects.create(
        product=ProductFactory(), resource=ResourceFactory(), hours_per_unit=Decimal("1")
    )

    response = admin_client.post(
        reverse("admin:sop_routing_change", args=[routing.pk]),
        form_data(routing, hours_per_unit="0"),
    )

    assert errors_by_field(response) == {
        "hours_per_unit": ["Hours per unit must be more than zero."]
    }


def test_a_capacity_month_that_is_not_a_first_day_is_refused_in_plain_words(admin_client):  # noqa: F811
    line = ResourceFactory()

    response = admin_client.post(
        reverse("admin:sop_capacity_add"),
        {"resource": line.pk, "month": "2026-11-15", "hours": "150"},
    )

    assert errors_by_field(response) == {
        "month": ["Enter the first day of a month, such as 2026-11-01."]
    }
    assert not Capacity.objects.exists()


def test_the_database_check_speaks_the_same_words_when_a_form_is_bypassed():
    product = ProductFactory.build(unit_cost=Decimal("-1"))
    with pytest.raises(ValidationError) as refused:
        product.validate_constraints()
    assert refused.value.messages == [
        "Unit cost, unit price, minimum order quantity and lot size cannot be negative."
    ]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:sop_product_changelist"),
        reverse("admin:sop_product_add"),
    ],
)
def test_the_admin_pages_keep_the_apps_navigation(admin_client, url):  # noqa: F811
    response = admin_client.get(url)

    assert response.status_code == 200
    header = re.search(r'<header id="header">.*?</header>', response.content.decode(), re.S)
    assert header is not None and 'class="app-nav"' in header[0]
    links = nav_links(response)
    assert links["Cycle home"] == reverse("sop:home")
    assert links["Demand review"] == reverse("demand:review")
    assert links["Executive review"] == reverse("executive:signoff")
    assert links["Master data"] == reverse("admin:index")


def test_the_admin_login_page_shows_no_navigation(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert b"app-nav" not in response.content


def test_the_apps_pages_and_the_admin_share_one_navigation(make_user, client):
    client.force_login(make_user(Role.ADMIN))
    home = nav_links(client.get(reverse("sop:home")))
    admin = nav_links(client.get(reverse("admin:index")))
    assert list(home) == list(admin)
    assert "Imports" in home and "Audit" in home


def test_locations_changed_on_an_event_in_the_admin_are_in_its_audit_event(admin_client):  # noqa: F811
    north, south = LocationFactory(code="NORTH"), LocationFactory(code="SOUTH")
    event = Event.objects.create(
        code="PROMO-1",
        name="Spring",
        kind="promotion",
        scope="all",
        start_month=date(2027, 3, 1),
        end_month=date(2027, 3, 1),
        effect_value=10,
    )
    event.locations.set([north])
    data = form_data(event, locations=[north.pk, south.pk])
    data.pop("version", None)

    response = admin_client.post(reverse("admin:sop_event_change", args=[event.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    audit = AuditEvent.objects.get(action="masterdata.change", object_type="event")
    assert (audit.old["locations"], audit.new["locations"]) == ("NORTH", "NORTH|SOUTH")
    # A page opened on version 1 must not overwrite the admin's change.
    assert (audit.old["version"], audit.new["version"]) == ("1", "2")


def test_the_product_lifecycle_is_edited_in_the_admin_and_refused_in_plain_words(
    admin_client,  # noqa: F811
):
    like = ProductFactory(sku="OLD")
    product = ProductFactory(sku="NEW")
    url = reverse("admin:sop_product_change", args=[product.pk])
    assert "Lifecycle" in admin_client.get(url).content.decode()

    refused = admin_client.post(
        url,
        form_data(
            product,
            like_product=str(product.pk),
            like_factor="0",
            launch_month="2027-03-01",
            end_of_life_month="2027-02-01",
        ),
    )
    assert refused.status_code == 200
    errors = errors_by_field(refused)
    assert errors["like_factor"] == ["The like factor must be above 0."]
    assert errors["__all__"] == [
        "A product cannot be its own like product.",
        "The end-of-life month cannot be before the launch month.",
    ]

    saved = admin_client.post(
        url,
        form_data(
            product,
            like_product=str(like.pk),
            like_factor="0.8",
            launch_ramp_months="3",
            launch_month="2027-03-01",
            end_of_life_month="2029-12-01",
        ),
    )
    assert saved.status_code == 302
    product.refresh_from_db()
    assert (product.like_product, product.like_factor) == (like, Decimal("0.8"))
