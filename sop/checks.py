"""The checks a stage move must pass beside the gates: data checks and send-backs.

A gate (`Step.gate`) is the planning work of a stage; nobody can skip it. A data check is
a checklist line marked `data_check` (`sop.steps.Check`): while it is to do, the move out
of its stage is refused too, but an admin may override it with a comment. A send-back
(a move back with a comment, e.g. the executive's) stays open on the stage it reopened
until the stage is submitted again, and that resubmit must answer it: with a change the
stage's steps report (`Step.answers`) or with a comment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from sop import workflow
from sop.choices import Stage
from sop.formatting import format_moment
from sop.models import Cycle, CycleTransition, SalesHistory
from sop.months import add_months
from sop.roles import display_name
from sop.steps import Check, Checklist, steps, steps_in

STAGE_INDEX = {stage: index for index, stage in enumerate(workflow.STAGE_ORDER)}
OVERRIDE_PERMISSION = "sop.override_data_check"


def _checks_sales(cycle: Cycle) -> list[Check]:
    latest = SalesHistory.objects.aggregate(latest=Max("month"))["latest"]
    wanted = add_months(cycle.month, -1)
    label = "Sales history imported"
    if latest is None:
        return [Check(label, "todo", "No sales history imported yet.", data_check=True)]
    if latest >= wanted:
        return [Check(label, "done", f"Through {latest:%b %Y}.", data_check=True)]
    return [
        Check(
            label,
            "todo",
            f"Only through {latest:%b %Y}; {wanted:%b %Y} is missing.",
            data_check=True,
        )
    ]


SALES_CHECKLIST = Checklist(Stage.DRAFT, ("Sales history imported",), _checks_sales)


def checklists() -> list[Checklist]:
    """The core's checklists and the steps', in the order of their stages."""
    return [SALES_CHECKLIST, *(c for step in steps() for c in step.checklist)]


def data_check_failures(cycle: Cycle, stage: str) -> list[Check]:
    """The data checks of `stage` that are still to do: they keep the cycle in it."""
    return [
        check
        for checklist in checklists()
        if checklist.stage == stage
        for check in checklist.build(cycle)
        if check.data_check and check.state == "todo"
    ]


def check_sentence(check: Check) -> str:
    return f"{check.label}: {check.detail}" if check.detail else f"{check.label}: to do."


@dataclass(frozen=True)
class SendBack:
    """A move back with a comment, and what the stage it reopened did about it.

    `answer` is the resubmit that answered it (None while it is open); `changes` what the
    stage's steps changed since the send-back (until the resubmit, once answered).
    """

    transition: CycleTransition
    answer: CycleTransition | None
    changes: list[str]

    @property
    def is_open(self) -> bool:
        return self.answer is None


def send_back_last(cycle: Cycle, history: list[CycleTransition] | None = None) -> SendBack | None:
    """The cycle's latest send-back, open or answered; None if it was never sent back.

    `history`: the cycle's transitions in order, if the caller has read them already.
    """
    if history is None:
        history = list(cycle.transitions.select_related("user").order_by("at", "id"))
    back = next(
        (
            i
            for i in range(len(history) - 1, -1, -1)
            if STAGE_INDEX[history[i].to_stage] < STAGE_INDEX[history[i].from_stage]
            and history[i].comment
        ),
        None,
    )
    if back is None:
        return None
    sent = history[back]
    answer = next(
        (t for t in history[back + 1 :] if t.from_stage == sent.to_stage),
        None,
    )
    until = answer.at if answer is not None else None
    return SendBack(sent, answer, changes_since(cycle, sent.to_stage, sent.at, until))


def send_back_open(cycle: Cycle, history: list[CycleTransition] | None = None) -> SendBack | None:
    """The send-back that reopened the cycle's current stage, while not yet resubmitted."""
    last = send_back_last(cycle, history)
    if last is None or not last.is_open or last.transition.to_stage != cycle.stage:
        return None
    return last


def changes_since(
    cycle: Cycle, stage: str, since: dt.datetime, until: dt.datetime | None = None
) -> list[str]:
    """What the steps of `stage` report as changed to the plan between `since` and `until`."""
    return [line for step in steps_in(stage) for line in step.answers(cycle, since, until)]


def send_back_refusal(send_back: SendBack) -> str:
    sent = send_back.transition
    return (
        f"The plan was sent back by {display_name(sent.user)} on {format_moment(sent.at)}: "
        f"\u201c{sent.comment}\u201d. Nothing in it has changed since: change the plan, or "
        "say in the comment how you answered it, before submitting it again."
    )


def cycle_open_blocker(month: dt.date) -> str | None:
    """Why the cycle of `month` cannot be opened now, or None.

    A later cycle opens once the newest one has left draft: a draft is where a cycle's data
    is checked, and a second draft would plan from a month whose own plan has not started.
    Months before the newest (filling in a past cycle) are not held back.
    """
    newest = Cycle.objects.order_by("-month").first()
    if newest is None or month <= newest.month or newest.stage != Stage.DRAFT:
        return None
    return (
        f"Start the demand review of {newest} before opening the {month:%B %Y} cycle: "
        f"{newest.month:%B} is still in draft."
    )
