"""A supply disruption scenario on the hand-checked company: rerouted, compared by source."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciliation import services
from reconciliation.models import Scenario, ScenarioRun
from sop.models import Product, ProductSource
from tests.factories import SupplierFactory
from tests.reconciliation.test_views import section
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup(company):
    """LAMP (cost 10) may also be bought from BACKUP: 20 a month at 12, no lead time."""
    Product.objects.filter(pk=company["LAMP"].pk).update(unit_cost=Decimal("10"))
    return ProductSource.objects.create(
        product=company["LAMP"],
        location=company["dc"],
        supplier=SupplierFactory(code="BACKUP"),
        unit_cost=Decimal("12"),
        monthly_capacity=Decimal("20"),
    )


@pytest.fixture
def base(backup, reconciling, django_capture_on_commit_callbacks):
    scenario = services.scenario_base(cycle=reconciling)
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=scenario, user=None)
    return scenario


def test_a_line_outage_added_on_the_page_reroutes_lamps_to_the_backup_supplier(
    client, finance, base, reconciling, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    what_if = services.scenario_create(cycle=reconciling, name="Line down", user=finance)
    response = client.post(
        f"/reconciliation/scenarios/{what_if.pk}/deltas/source/",
        {
            "source-version": what_if.version,
            "source-source": "resource:LINE",
            "source-start": MONTHS[1].isoformat(),
            "source-end": MONTHS[1].isoformat(),
        },
    )
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    what_if.refresh_from_db()
    assert what_if.deltas == [
        {"kind": "source", "resource": "LINE", "start": "2026-12-01", "end": "2026-12-01"}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=what_if, user=finance)
    run = ScenarioRun.objects.get(scenario=what_if, is_published=True)
    # December without the line: 20 BIKE pre-built into November, the rest cut (BIKE 40,
    # LAMP 50); January's 10 h overload cuts 10 LAMP. BACKUP gives LAMP 20 and 10.
    assert (run.kpis["alternate_units"], run.kpis["alternate_extra_cost"]) == (30, 60)
    assert run.sources[1] == {
        "kind": "supplier",
        "code": "BACKUP",
        "units": 30.0,
        "extra_cost": 60.0,
    }

    body = client.get("/reconciliation/compare/", {"s": [base.pk, what_if.pk]}).content.decode()
    kpis = section(body, 'id="kpis"', "</table>")
    assert "Supply from alternate sources (units)" in kpis
    sources = section(body, 'id="sources"', "</table>")
    backup_row = section(sources, "Supplier BACKUP", "</tr>")
    assert (
        "0 units" in backup_row and "30 units" in backup_row and "extra cost 60 EUR" in backup_row
    )
    described = section(body, 'id="described"', "</dl>")
    assert "Resource LINE unavailable, Dec 2026 to Dec 2026" in described


def test_without_any_alternate_in_use_the_comparison_has_no_source_table(
    client, finance, base, reconciling, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    copy = services.scenario_copy(
        scenario=Scenario.objects.get(pk=base.pk), name="Same", user=finance
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.scenario_run_start(scenario=copy, user=finance)
    body = client.get("/reconciliation/compare/", {"s": [base.pk, copy.pk]}).content.decode()
    assert 'id="kpis"' in body and 'id="sources"' not in body
