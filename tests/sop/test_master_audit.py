"""Every master-data change, through the admin or an import, is an audit event old -> new."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from sop import imports, selectors
from sop.choices import Role
from sop.models import AuditEvent, Capacity, Product
from tests.factories import ProductFactory, ResourceFactory, SupplierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def form_data(obj, **changes) -> dict:
    """The admin change form as a person would submit it: every field, some changed."""
    data = {k: "" if v is None else v for k, v in model_to_dict(obj).items() if k != "id"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def test_a_unit_price_changed_in_the_admin_is_an_audit_event_with_old_and_new(
    admin_client, admin_user
):
    product = ProductFactory(sku="P-100", unit_price=Decimal("10.00"))

    response = admin_client.post(
        reverse("admin:sop_product_change", args=[product.pk]),
        form_data(product, unit_price="12.50"),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="masterdata.change")
    assert (event.object_type, event.object_id, event.user) == ("product", "P-100", admin_user)
    assert event.old == {"unit_price": "10.0000"}
    assert event.new == {"unit_price": "12.5000"}
    assert event.reason == "in the admin"
    assert selectors.audit_changes(event.old, event.new) == ["unit_price: 10.0000 → 12.5000"]


def test_saving_an_unchanged_row_in_the_admin_records_nothing(admin_client):
    product = ProductFactory()
    response = admin_client.post(
        reverse("admin:sop_product_change", args=[product.pk]), form_data(product)
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action__startswith="masterdata.").exists()


def test_a_product_created_in_the_admin_is_audited_with_its_values_and_supplier_code(
    admin_client,
):
    supplier = SupplierFactory(code="LEAF")
    template = ProductFactory.build(sku="NEW-1", supplier=supplier)

    response = admin_client.post(reverse("admin:sop_product_add"), form_data(template))

    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="masterdata.create")
    assert event.object_id == "NEW-1"
    assert event.old is None
    assert event.new["sku"] == "NEW-1"
    assert event.new["unit_price"] == "10.0000"
    assert event.new["supplier"] == "LEAF"


def test_a_row_deleted_in_the_admin_is_audited_with_what_it_held(admin_client):
    line = ResourceFactory(code="LINE")
    capacity = Capacity.objects.create(resource=line, month="2026-11-01", hours=150)

    response = admin_client.post(
        reverse("admin:sop_capacity_delete", args=[capacity.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="masterdata.delete")
    assert (event.object_type, event.object_id) == ("capacity", "LINE/2026-11-01")
    assert event.old == {"resource": "LINE", "month": "2026-11-01", "hours": "150.00"}
    assert event.new is None


def test_deleting_selected_rows_in_the_admin_audits_each(admin_client):
    products = [ProductFactory(sku=f"DEL-{i}") for i in range(3)]

    response = admin_client.post(
        reverse("admin:sop_product_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [p.pk for p in products],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Product.objects.exists()
    assert sorted(
        AuditEvent.objects.filter(action="masterdata.delete").values_list("object_id", flat=True)
    ) == ["DEL-0", "DEL-1", "DEL-2"]


def test_a_product_import_is_one_event_with_counts_and_old_to_new_of_changed_rows(
    admin_user, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    ProductFactory(sku="P-1", name="Bike", family="Bikes", unit_price=Decimal("200"))
    ProductFactory(sku="P-2", name="Lamp", family="Lamps", unit_price=Decimal("50"))
    extract = Path(tmp_path / "products.csv")
    extract.write_text(
        "sku,name,family,unit_cost,unit_price\n"
        "P-1,Bike,Bikes,6.00,210\n"  # price changed
        "P-2,Lamp,Lamps,6.00,50\n"  # unchanged
        "P-3,Bell,Bikes,1.00,4.5\n"  # new
    )

    job = imports.import_file(entity="products", path=extract, user=admin_user)

    assert job.rows_inserted == 1 and job.rows_updated == 1, job.message
    event = AuditEvent.objects.get(action="import.load")
    assert event.user == admin_user
    assert event.old == {"P-1 unit_price": "200.0000"}
    assert event.new["P-1 unit_price"] == "210.0000"
    assert (event.new["inserted"], event.new["updated"]) == (1, 1)
    assert not any(key.startswith(("P-2 ", "P-3 ")) for key in event.new)
    assert "P-1 unit_price: 200.0000 → 210.0000" in selectors.audit_changes(event.old, event.new)


def test_a_routing_import_names_the_row_by_sku_and_resource(admin_user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    bike = ProductFactory(sku="P-1")
    line = ResourceFactory(code="LINE")
    bike.routings.create(resource=line, hours_per_unit=Decimal("1"))
    extract = Path(tmp_path / "routings.csv")
    extract.write_text("sku,resource_code,hours_per_unit\nP-1,LINE,1.5\n")

    imports.import_file(entity="routings", path=extract, user=admin_user)

    event = AuditEvent.objects.get(action="import.load")
    assert event.old == {"P-1/LINE hours_per_unit": "1.00000"}
    assert event.new["P-1/LINE hours_per_unit"] == "1.50000"


def test_a_fact_import_carries_the_counts_only(admin_user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    line = ResourceFactory(code="LINE")
    Capacity.objects.create(resource=line, month="2026-11-01", hours=150)
    extract = Path(tmp_path / "capacity.csv")
    extract.write_text("resource_code,month,hours\nLINE,2026-11,160\n")

    job = imports.import_file(entity="capacity", path=extract, user=admin_user)

    assert job.rows_updated == 1, job.message
    event = AuditEvent.objects.get(action="import.load")
    assert event.old is None
    assert event.new["updated"] == 1
    assert set(event.new) == {
        "entity",
        "file_name",
        "checksum",
        "profile",
        "rows_read",
        "inserted",
        "updated",
    }
