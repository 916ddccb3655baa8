"""The cycle's stage machine: which moves exist, who may make them, what they need.

The gates come from the planning steps (`sop.steps`), e.g. the demand step refuses to
leave demand review until the cycle's forecast run has succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sop.choices import Role, Stage
from sop.steps import steps_in


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


def gate_failures(cycle, stage: str) -> list[str]:
    """What still keeps `cycle` in `stage`: one sentence per failing step gate."""
    return [msg for step in steps_in(stage) if (msg := step.gate(cycle))]


def is_forward(move: Move) -> bool:
    """A move on through the stages, as opposed to a send-back."""
    return STAGE_ORDER.index(move.target) > STAGE_ORDER.index(move.source)


def find_move(source: str, target: str) -> Move | None:
    return next((m for m in MOVES if m.source == source and m.target == target), None)


def moves_from(source: str) -> list[Move]:
    return [m for m in MOVES if m.source == source]
