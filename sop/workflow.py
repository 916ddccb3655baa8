"""The cycle's stage machine: which moves exist, who may make them, what they need.

Later apps register gate checks for their stage (`register_gate`), e.g. the demand app
refuses to leave demand review until the cycle's forecast run has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sop.choices import Role, Stage


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    permission: str  # "app_label.codename"
    owners: tuple[str, ...]  # the groups that own the move, for display and notification
    verb: str
    comment_required: bool = False


MOVES: tuple[Move, ...] = (
    Move(Stage.DRAFT, Stage.DEMAND_REVIEW, "sop.start_cycle", (Role.ADMIN,), "Start demand review"),
    Move(
        Stage.DEMAND_REVIEW,
        Stage.SUPPLY_REVIEW,
        "sop.submit_demand_review",
        (Role.DEMAND_PLANNER,),
        "Submit demand plan",
    ),
    Move(
        Stage.SUPPLY_REVIEW,
        Stage.RECONCILIATION,
        "sop.submit_supply_review",
        (Role.SUPPLY_PLANNER,),
        "Submit supply plan",
    ),
    Move(
        Stage.RECONCILIATION,
        Stage.EXECUTIVE_REVIEW,
        "sop.submit_reconciliation",
        (Role.FINANCE, Role.SUPPLY_PLANNER),
        "Submit to executive review",
    ),
    Move(
        Stage.EXECUTIVE_REVIEW,
        Stage.APPROVED,
        "sop.approve_plan",
        (Role.EXECUTIVE,),
        "Approve plan",
    ),
    Move(
        Stage.EXECUTIVE_REVIEW,
        Stage.RECONCILIATION,
        "sop.approve_plan",
        (Role.EXECUTIVE,),
        "Send back to reconciliation",
        comment_required=True,
    ),
)

STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)

# The group that works in each stage (the owner of the move out of it).
STAGE_OWNERS: dict[str, tuple[str, ...]] = {
    Stage.DRAFT: (Role.ADMIN,),
    Stage.DEMAND_REVIEW: (Role.DEMAND_PLANNER,),
    Stage.SUPPLY_REVIEW: (Role.SUPPLY_PLANNER,),
    Stage.RECONCILIATION: (Role.FINANCE, Role.SUPPLY_PLANNER),
    Stage.EXECUTIVE_REVIEW: (Role.EXECUTIVE,),
    Stage.APPROVED: (),
}

GateCheck = Callable[["object"], "str | None"]
_GATES: dict[str, list[GateCheck]] = {}


def register_gate(stage: str) -> Callable[[GateCheck], GateCheck]:
    """Register a check that must pass before a cycle may leave `stage`.

    The check takes the cycle and returns None when satisfied, or a sentence saying
    what is still missing.
    """

    def decorator(check: GateCheck) -> GateCheck:
        _GATES.setdefault(stage, []).append(check)
        return check

    return decorator


def unregister_gate(stage: str, check: GateCheck) -> None:
    _GATES.get(stage, []).remove(check)


def gate_failures(cycle, stage: str) -> list[str]:
    return [msg for check in _GATES.get(stage, []) if (msg := check(cycle))]


def find_move(source: str, target: str) -> Move | None:
    return next((m for m in MOVES if m.source == source and m.target == target), None)


def moves_from(source: str) -> list[Move]:
    return [m for m in MOVES if m.source == source]
