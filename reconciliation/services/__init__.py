"""Writes of the reconciliation, one module per concern; the public names are re-exported here.

`scenarios` (scenarios and their deltas), `runs` (scenario runs), `decisions` (the
decisions log), `risks` (the risk register); `_common` holds what they share. What a run
reads (`compute_scenario`, `plan_basis`) and the deltas as sentences (`deltas_describe`)
are in `reconciliation.selectors`.
"""

from __future__ import annotations

from reconciliation.services._common import EDITABLE_STAGES, ScenarioReadOnly
from reconciliation.services.decisions import CARRIED_KINDS, decision_add, decisions_carry_over
from reconciliation.services.risks import risk_save, risks_carry_over
from reconciliation.services.runs import (
    KEPT,
    SCENARIO_RUN,
    SCENARIO_RUN_KIND,
    scenario_base_run_start,
    scenario_run_start,
    scenario_start_base,
)
from reconciliation.services.scenarios import (
    BASE_NAME,
    scenario_base,
    scenario_copy,
    scenario_create,
    scenario_delete,
    scenario_delta_add,
    scenario_delta_remove,
    scenario_recommend,
    scenario_rename,
)

__all__ = [
    "BASE_NAME",
    "CARRIED_KINDS",
    "EDITABLE_STAGES",
    "KEPT",
    "SCENARIO_RUN",
    "SCENARIO_RUN_KIND",
    "ScenarioReadOnly",
    "decision_add",
    "decisions_carry_over",
    "risk_save",
    "risks_carry_over",
    "scenario_base",
    "scenario_base_run_start",
    "scenario_copy",
    "scenario_create",
    "scenario_delete",
    "scenario_delta_add",
    "scenario_delta_remove",
    "scenario_recommend",
    "scenario_rename",
    "scenario_run_start",
    "scenario_start_base",
]
