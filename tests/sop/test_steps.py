"""The contract between the core and the planning steps (sop.steps)."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from demand.models import ForecastRun
from reconciliation.models import ScenarioRun
from sop import services, steps
from sop.choices import Role, Stage
from supply.models import SupplyRun

PLANNING_APPS = {"demand", "supply", "reconciliation", "executive"}
SOP = Path(__file__).resolve().parents[2] / "sop"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_core_imports_no_planning_app_outside_its_management_commands():
    offenders = {
        str(path.relative_to(SOP)): sorted(_imported_roots(path) & PLANNING_APPS)
        for path in SOP.rglob("*.py")
        if "management" not in path.parts
    }
    assert {path: apps for path, apps in offenders.items() if apps} == {}


def test_each_app_registers_one_step_in_the_order_of_the_stages():
    registered = steps.steps()
    assert [s.name for s in registered] == ["demand", "supply", "reconciliation", "executive"]
    assert [s.stage for s in registered] == [
        Stage.DEMAND_REVIEW,
        Stage.SUPPLY_REVIEW,
        Stage.RECONCILIATION,
        Stage.EXECUTIVE_REVIEW,
    ]


def test_the_steps_declare_their_run_models():
    assert {s.name: tuple(r.kind.run_model for r in s.runs) for s in steps.steps()} == {
        "demand": (ForecastRun,),
        "supply": (SupplyRun,),
        "reconciliation": (ScenarioRun,),
        "executive": (),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("without_data_checks")
def test_a_stage_move_calls_leave_then_enter_in_its_transaction_and_after_enter_on_commit(
    make_user,
):
    calls: list[str] = []
    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=make_user(Role.ADMIN))

    def record(name):
        def hook(transition):
            calls.append(f"{name} {transition.from_stage}->{transition.to_stage}")

        return hook

    demand = steps.step("demand")
    steps.register_step(
        dataclasses.replace(
            demand,
            on_enter=record("enter"),
            on_leave=record("leave"),
            after_enter=record("after"),
        )
    )
    try:
        services.cycle_advance(cycle=cycle, target=Stage.DEMAND_REVIEW, user=make_user(Role.ADMIN))
        assert calls == ["enter draft->demand_review", "after draft->demand_review"]
        calls.clear()
        services.cycle_advance(
            cycle=cycle, target=Stage.SUPPLY_REVIEW, user=make_user(Role.DEMAND_PLANNER)
        )
    finally:
        steps.register_step(demand)
    assert calls == ["leave demand_review->supply_review"]


@pytest.mark.django_db
@pytest.mark.usefixtures("without_data_checks")
def test_a_hook_that_refuses_rolls_the_stage_move_back(make_user):
    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=make_user(Role.ADMIN))

    def refuse(transition):
        raise services.TransitionRefused("Nothing to carry over.")

    demand = steps.step("demand")
    steps.register_step(dataclasses.replace(demand, on_enter=refuse))
    try:
        with pytest.raises(services.TransitionRefused, match="carry over"):
            services.cycle_advance(
                cycle=cycle, target=Stage.DEMAND_REVIEW, user=make_user(Role.ADMIN)
            )
    finally:
        steps.register_step(demand)
    cycle.refresh_from_db()
    assert cycle.stage == Stage.DRAFT
    assert not cycle.transitions.exists()
