from __future__ import annotations

import datetime as dt

import pytest

from sop import services
from sop.choices import Role, Stage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_data_checks")]


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_cycle_home_shows_the_stage_and_what_waits_on_a_demand_planner(client_for, make_user):
    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=make_user(Role.ADMIN))
    services.cycle_advance(cycle=cycle, target=Stage.DEMAND_REVIEW, user=make_user(Role.ADMIN))
    page = client_for(Role.DEMAND_PLANNER).get("/").content.decode()
    assert "Demand review" in page
    assert "Waiting on you" in page
    assert "Submit demand plan" in page


def test_a_planner_posting_an_approval_gets_403(client_for, make_user):
    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=make_user(Role.ADMIN))
    response = client_for(Role.DEMAND_PLANNER).post(
        f"/cycles/{cycle.pk}/advance/", {"target": Stage.DEMAND_REVIEW}
    )
    assert response.status_code == 403
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DRAFT
