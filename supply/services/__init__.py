"""Writes of the supply app, one module per concern; the public names are re-exported here.

`inputs` (loading the engine's grids), `results` (computing a chunk's plan and writing its
rows), `runs` (supply runs), `edits` (planned supply and capacity edits, the fast
recompute). The demo builder is `supply.demo`.

A run loads its grids with one query per input, calls `supply.projection.plan_supply` once
per chunk of resource-connected SKUs (see `supply.chunks`) and writes the results in bulk;
publishing flips the cycle's published run in one transaction. An edit of planned supply
or capacity recomputes, inside the request, only the group of SKUs linked to what changed
and rewrites that group's rows of the published run.
"""

from __future__ import annotations

from supply.services.edits import capacity_adjustment_save, planned_supply_save, supply_recompute
from supply.services.inputs import supply_plan_inputs, supply_policy
from supply.services.runs import (
    KEPT,
    RUNNABLE_STAGES,
    SUPPLY_RUN,
    SUPPLY_RUN_KIND,
    PlanReadOnly,
    supply_run_start,
)

__all__ = [
    "KEPT",
    "RUNNABLE_STAGES",
    "SUPPLY_RUN",
    "SUPPLY_RUN_KIND",
    "PlanReadOnly",
    "capacity_adjustment_save",
    "planned_supply_save",
    "supply_plan_inputs",
    "supply_policy",
    "supply_recompute",
    "supply_run_start",
]
