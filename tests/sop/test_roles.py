from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from sop.choices import Role
from sop.roles import require

pytestmark = pytest.mark.django_db


def test_a_refusal_names_the_roles_that_may_do_it(make_user):
    finance = make_user(Role.FINANCE)
    with pytest.raises(PermissionDenied, match=r"^Only Supply planner can change capacity\.$"):
        require(finance, "supply.change_capacityadjustment", "change capacity")
    demand = make_user(Role.DEMAND_PLANNER)
    with pytest.raises(PermissionDenied, match=r"^Only Supply planner or Finance can run"):
        require(demand, "reconciliation.change_scenario", "run scenarios")


def test_a_holder_and_the_system_itself_pass(make_user):
    require(make_user(Role.SUPPLY_PLANNER), "supply.change_capacityadjustment", "change capacity")
    require(None, "supply.change_capacityadjustment", "change capacity")


def test_a_refused_write_answers_403_with_the_services_reason(client_for):
    response = client_for(Role.DEMAND_PLANNER).post("/cycles/open/")
    assert response.status_code == 403
    assert "Only Admin can open a planning cycle." in response.content.decode()
