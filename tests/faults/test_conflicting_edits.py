"""Two planners save the same cell from the same version at the same moment: one wins.

Live threads, each with its own client and database connection, meet at a barrier and post
at once; the loser gets the 409 with the value it typed, and the history holds one change.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from demand.choices import ReasonCode
from demand.models import DemandOverride
from sop.choices import Role, Stage
from sop.models import AuditEvent, Cycle
from sop.services import add_months
from supply import services as supply_services
from supply.models import PlannedSupplyEdit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post_together(url: str, clients_and_data: list[tuple[Client, dict]]) -> list:
    """POST from every client at once; returns the responses in the same order."""
    barrier = threading.Barrier(len(clients_and_data))
    responses: list = [None] * len(clients_and_data)
    errors: list[BaseException] = []

    def post(index: int, client: Client, data: dict) -> None:
        try:
            barrier.wait(timeout=30)
            responses[index] = client.post(url, data, HTTP_HX_REQUEST="true")
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [
        threading.Thread(target=post, args=(i, client, data))
        for i, (client, data) in enumerate(clients_and_data)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return responses


def signed_in(make_user, role: str, username: str) -> Client:
    client = Client()
    client.force_login(make_user(role, username=username, first_name=username.title()))
    return client


def test_two_planners_overriding_one_cell_at_once_get_one_200_and_one_409(published, make_user):
    cycle = published.cycle
    month = cycle.month.isoformat()
    typed = {"dana": "1200", "sam": "900"}
    base = {"family": "Bikes", "month": month, "reason": ReasonCode.PROMOTION, "version": ""}
    clients = {name: signed_in(make_user, Role.DEMAND_PLANNER, name) for name in typed}

    responses = post_together(
        f"/demand/cycles/{cycle.pk}/overrides/",
        [
            (clients[name], {**base, "value": value, "comment": f"{name}'s figure"})
            for name, value in typed.items()
        ],
    )

    codes = {name: r.status_code for name, r in zip(typed, responses, strict=True)}
    assert sorted(codes.values()) == [200, 409]
    winner = next(name for name, code in codes.items() if code == 200)
    loser = next(name for name, code in codes.items() if code == 409)
    refused = responses[list(typed).index(loser)].content.decode()
    assert f"changed by {winner.title()}" in refused
    assert f'value="{typed[loser]}"' in refused  # what the loser typed is still in the cell
    assert DemandOverride.objects.get().value == Decimal(typed[winner])
    change = AuditEvent.objects.get(object_type="demand_override")
    assert (change.user.username, change.new["value"]) == (winner, typed[winner])


def test_two_planners_fixing_one_planned_supply_cell_at_once_get_one_200_and_one_409(
    published, company, make_user
):
    cycle = published.cycle
    supply_services.supply_run_start(cycle=cycle, user=None)  # eager: published in-process
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    typed = {"sue": "80", "max": "95"}
    base = {
        "product": company["products"][0].pk,
        "location": company["locations"][0].pk,
        "month": add_months(cycle.month, 1).isoformat(),
        "reason": "campaign",
        "version": "",
    }
    clients = {name: signed_in(make_user, Role.SUPPLY_PLANNER, name) for name in typed}

    responses = post_together(
        f"/supply/cycles/{cycle.pk}/planned/",
        [
            (clients[name], {**base, "quantity": value, "comment": f"{name}'s figure"})
            for name, value in typed.items()
        ],
    )

    codes = {name: r.status_code for name, r in zip(typed, responses, strict=True)}
    assert sorted(codes.values()) == [200, 409]
    winner = next(name for name, code in codes.items() if code == 200)
    loser = next(name for name, code in codes.items() if code == 409)
    refused = responses[list(typed).index(loser)].content.decode()
    assert "changed" in refused or "fixed by someone else" in refused
    assert f'value="{typed[loser]}"' in refused
    assert PlannedSupplyEdit.objects.get().quantity == Decimal(typed[winner])
    changes = AuditEvent.objects.filter(action="supply.planned_supply")
    assert changes.count() == 1
    assert changes.get().user.username == winner
