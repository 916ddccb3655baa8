"""The reconciliation tests reuse the supply tests' hand-checked company and its plan."""

from __future__ import annotations

import pytest

from sop.choices import Role, Stage
from sop.models import Cycle
from tests.supply import conftest as supply_fixtures

company = supply_fixtures.company
cycle = supply_fixtures.cycle
published = supply_fixtures.published
supply_planner = supply_fixtures.supply_planner


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE, first_name="Fay", last_name="Finance")


@pytest.fixture
def reconciling(published, django_capture_on_commit_callbacks):
    """The cycle moved to the reconciliation with its supply plan published."""
    Cycle.objects.filter(pk=published.cycle_id).update(stage=Stage.RECONCILIATION)
    return Cycle.objects.get(pk=published.cycle_id)
