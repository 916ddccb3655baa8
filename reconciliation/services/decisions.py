"""The decisions log: entries, and the assumptions carried into the next cycle.

Risks have their own register (`reconciliation.services.risks`); the log's free-text risks
were moved there (migration 0003), and approved cycles keep theirs as they were.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from reconciliation.models import DecisionLogEntry, Scenario
from reconciliation.services._common import ScenarioReadOnly
from sop.choices import Stage
from sop.models import Cycle
from sop.roles import require, who
from sop.services import audit_record


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

    Idempotent: an entry already carried into this cycle is not copied twice. Links to
    scenarios are dropped (scenarios are per cycle) but their names are kept in the text's
    `scenario_name`. Returns how many entries were copied.
    """
    previous = Cycle.objects.filter(month__lt=cycle.month).order_by("-month").first()
    if previous is None:
        return 0
    done = set(
        DecisionLogEntry.objects.filter(cycle=cycle, carried_from__isnull=False).values_list(
            "carried_from_id", flat=True
        )
    )
    entries = [
        DecisionLogEntry(
            cycle=cycle,
            kind=entry.kind,
            text=entry.text,
            scenario_name=entry.scenario_name,
            author=entry.author,
            carried_from=entry,
        )
        for entry in DecisionLogEntry.objects.filter(cycle=previous, kind__in=CARRIED_KINDS)
        .exclude(pk__in=done)
        .order_by("created_at", "id")
    ]
    DecisionLogEntry.objects.bulk_create(entries)
    return len(entries)
