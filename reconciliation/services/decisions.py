"""The decisions log: entries, and the assumptions carried into the next cycle.

Risks have their own register (`reconciliation.services.risks`); the log's free-text risks
were moved there (migration 0003), and approved cycles keep theirs as they were.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from reconciliation.models import DecisionLogEntry, Scenario
from reconciliation.services._common import ScenarioReadOnly
from sop.choices import Stage
from sop.models import Cycle
from sop.roles import require, who
from sop.services import audit_record, carry_forward


def decision_add(
    *,
    cycle: Cycle,
    text: str,
    user: AbstractBaseUser | None,
    kind: str = DecisionLogEntry.Kind.DECISION,
    scenario: Scenario | None = None,
) -> DecisionLogEntry:
    require(user, "reconciliation.add_decisionlogentry", "write to the decisions log")
    text = (text or "").strip()
    if not text:
        raise ValidationError("Write the assumption or decision.")
    if kind not in DecisionLogEntry.Kind.values:
        raise ValidationError(f"Unknown entry kind {kind!r}.")
    if kind == DecisionLogEntry.Kind.RISK:
        raise ValidationError("Risks go in the risk register, with an owner and an impact.")
    if scenario is not None and scenario.cycle_id != cycle.pk:
        raise ValidationError("The scenario belongs to another cycle.")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if cycle.stage == Stage.APPROVED:
            raise ScenarioReadOnly(f"{cycle} is approved: its log is closed.")
        entry = DecisionLogEntry.objects.create(
            cycle=cycle,
            kind=kind,
            text=text,
            scenario=scenario,
            scenario_name=scenario.name if scenario else "",
            author=who(user),
        )
        audit_record(
            user=user,
            action="decision.add",
            object_type="decision",
            object_id=entry.pk,
            cycle=cycle,
            new={"kind": kind, "text": text, "scenario": entry.scenario_name},
        )
    return entry


# Assumptions hold until someone retires them; decisions belong to their cycle. Risks are
# carried by the register (`risks_carry_over`).
CARRIED_KINDS = (DecisionLogEntry.Kind.ASSUMPTION,)


def decisions_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's assumptions into a newly opened cycle.

    Links to scenarios are dropped (scenarios are per cycle) but their names are kept in
    the entry's `scenario_name`.
    """
    return carry_forward(
        DecisionLogEntry,
        cycle=cycle,
        fields=("kind", "text", "scenario_name", "author_id"),
        keep=Q(kind__in=CARRIED_KINDS),
        order=("created_at", "id"),
    )
