"""The risk register: owner, due date, probability x impact, status; carried when open."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from reconciliation import selectors, services
from reconciliation.models import Risk
from sop.choices import Role, Stage
from sop.locking import EditConflict
from sop.models import AuditEvent, Cycle

pytestmark = pytest.mark.django_db


def add(cycle, user, title, probability, impact, **kwargs) -> Risk:
    return services.risk_save(
        cycle=cycle,
        user=user,
        title=title,
        probability=probability,
        impact=Decimal(impact),
        **kwargs,
    )


@pytest.fixture
def register(reconciling, finance, supply_planner):
    """Exposures: port 20 % x 50,000 = 10,000; rain 90 % x 5,000 = 4,500;
    supplier 50 % x 30,000 = 15,000; recall 100 % x 1,000,000 but closed."""
    return {
        "port": add(reconciling, finance, "Port strike", 20, "50000", owner=supply_planner),
        "rain": add(reconciling, finance, "Wet summer", 90, "5000", status="mitigating"),
        "supplier": add(reconciling, finance, "LEAF insolvent", 50, "30000"),
        "recall": add(reconciling, finance, "Recall", 100, "1000000", status="closed"),
    }


def test_risks_are_ranked_by_probability_times_impact(register, reconciling):
    rows = selectors.risks(cycle=reconciling)
    assert [(r.title, r.exposure) for r in rows] == [
        ("Recall", Decimal("1000000")),
        ("LEAF insolvent", Decimal("15000")),
        ("Port strike", Decimal("10000")),
        ("Wet summer", Decimal("4500")),
    ]
    top = selectors.risks(cycle=reconciling, open_only=True, limit=2)
    assert [r.title for r in top] == ["LEAF insolvent", "Port strike"]


def test_the_pack_lists_the_open_risks_by_exposure(register, reconciling, client_for):
    Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.EXECUTIVE_REVIEW)
    response = client_for(Role.EXECUTIVE).get(
        reverse("executive:signoff"), {"cycle": reconciling.pk}
    )
    pack = response.context["pack"]
    assert [r.title for r in pack.register] == ["LEAF insolvent", "Port strike", "Wet summer"]
    body = response.content.decode()
    table = body[body.index('id="register"') : body.index("</table>", body.index('id="register"'))]
    assert table.index("LEAF insolvent") < table.index("Port strike") < table.index("Wet summer")
    assert "15,000" in table and "10,000" in table and "4,500" in table
    assert "Recall" not in table


def test_a_change_is_audited_old_to_new_and_locked_on_its_version(register, reconciling, finance):
    port = register["port"]
    changed = services.risk_save(
        cycle=reconciling,
        user=finance,
        risk=port,
        version=1,
        title="Port strike",
        probability=60,
        impact=Decimal("50000"),
        status="mitigating",
        note="Second port booked",
    )
    assert changed.version == 2
    event = AuditEvent.objects.get(action="risk.change", object_id=str(port.pk))
    assert (event.old["probability"], event.new["probability"]) == (20, 60)
    assert (event.old["status"], event.new["status"]) == ("open", "mitigating")
    assert event.old["owner"] == "supply" and event.new["owner"] is None
    assert AuditEvent.objects.filter(action="risk.add").count() == 4
    with pytest.raises(EditConflict):
        services.risk_save(
            cycle=reconciling, user=finance, risk=port, version=1, title="Port strike",
            probability=10, impact=Decimal("1"),
        )  # fmt: skip
    assert Risk.objects.get(pk=port.pk).probability == 60


def test_only_planning_roles_edit_the_register_and_never_on_an_approved_cycle(
    reconciling, make_user, finance
):
    with pytest.raises(PermissionDenied):
        add(reconciling, make_user(Role.ADMIN), "Port strike", 20, "50000")
    with pytest.raises(ValidationError, match="percentage"):
        add(reconciling, finance, "Port strike", 120, "50000")
    Cycle.objects.filter(pk=reconciling.pk).update(stage=Stage.APPROVED)
    with pytest.raises(services.ScenarioReadOnly):
        add(reconciling, finance, "Port strike", 20, "50000")
    assert not Risk.objects.exists()


def test_risks_not_closed_carry_into_the_next_cycle_once(register, reconciling):
    december = Cycle.objects.create(month=dt.date(2026, 12, 1), horizon_months=3)
    assert services.risks_carry_over(cycle=december) == 3
    assert services.risks_carry_over(cycle=december) == 0
    carried = {r.title: r for r in Risk.objects.filter(cycle=december)}
    assert set(carried) == {"Port strike", "Wet summer", "LEAF insolvent"}
    assert carried["Wet summer"].status == "mitigating"
    assert carried["Port strike"].owner.username == "supply"
    assert carried["Port strike"].carried_from == register["port"]


def test_a_planner_adds_and_changes_a_risk_on_the_reconciliation_page(
    reconciling, client_for, supply_planner
):
    client = client_for(Role.FINANCE)
    page = client.get("/reconciliation/", {"cycle": reconciling.pk}).content.decode()
    assert 'id="risk-form"' in page
    response = client.post(
        reverse("reconciliation:risk_add", args=[reconciling.pk]),
        {
            "risk-title": "Port strike",
            "risk-owner": supply_planner.pk,
            "risk-due": "2026-11-20",
            "risk-probability": "20",
            "risk-impact": "50000",
            "risk-status": "open",
            "risk-note": "",
        },
    )
    assert response.status_code == 302
    risk = Risk.objects.get()
    assert (risk.owner, risk.due, risk.probability, risk.impact) == (
        supply_planner, dt.date(2026, 11, 20), 20, Decimal("50000")
    )  # fmt: skip
    response = client.post(
        reverse("reconciliation:risk_change", args=[reconciling.pk, risk.pk]),
        {
            f"risk{risk.pk}-title": "Port strike",
            f"risk{risk.pk}-probability": "150",
            f"risk{risk.pk}-impact": "50000",
            f"risk{risk.pk}-status": "closed",
            f"risk{risk.pk}-version": "1",
        },
    )
    assert response.status_code == 400  # 150 % is refused, the input kept
    assert 'value="150"' in response.content.decode()
    risk.refresh_from_db()
    assert risk.status == "open"
    body = client.get("/reconciliation/", {"cycle": reconciling.pk}).content.decode()
    assert "10,000" in body[body.index('id="risks"') :]  # 20 % of 50,000
    assert client_for(Role.ADMIN).post(
        reverse("reconciliation:risk_add", args=[reconciling.pk]),
        {"risk-title": "x", "risk-probability": "1", "risk-impact": "1", "risk-status": "open"},
    ).status_code == 403  # fmt: skip
