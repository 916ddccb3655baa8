"""Fixtures of the executive tests: the reconciliation's tiny plan, taken to the review."""

from __future__ import annotations

import pytest

from reconciliation import services as recon_services
from sop import services as sop_services
from sop.choices import Role, Stage
from tests.reconciliation import conftest as recon_fixtures

company = recon_fixtures.company
cycle = recon_fixtures.cycle
published = recon_fixtures.published
supply_planner = recon_fixtures.supply_planner
finance = recon_fixtures.finance
reconciling = recon_fixtures.reconciling


@pytest.fixture
def executive(make_user):
    return make_user(Role.EXECUTIVE, first_name="Eve", last_name="Executive")


@pytest.fixture
def recommended(reconciling, finance, django_capture_on_commit_callbacks):
    """The base plan computed and recommended; the cycle still in the reconciliation."""
    base = recon_services.scenario_base(cycle=reconciling)
    with django_capture_on_commit_callbacks(execute=True):
        recon_services.scenario_run_start(scenario=base, user=finance)
    return recon_services.scenario_recommend(scenario=base, user=finance)


@pytest.fixture
def in_review(recommended, reconciling, finance):
    """The cycle submitted to the executive review with its base plan recommended."""
    sop_services.cycle_advance(cycle=reconciling, target=Stage.EXECUTIVE_REVIEW, user=finance)
    reconciling.refresh_from_db()
    return reconciling


@pytest.fixture
def approved(in_review, executive, django_capture_on_commit_callbacks):
    """The cycle approved by the executive: its plan is frozen."""
    from executive import services

    with django_capture_on_commit_callbacks(execute=True):
        services.plan_decide(cycle=in_review, user=executive, approve=True, comment="Go")
    in_review.refresh_from_db()
    return in_review
