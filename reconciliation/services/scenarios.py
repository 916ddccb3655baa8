"""Scenarios and their deltas: create, copy, rename, delete, change deltas, recommend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from reconciliation import scenarios as engine
from reconciliation.models import Scenario, ScenarioLine, ScenarioRun
from reconciliation.services._common import ScenarioReadOnly, editable
from sop.locking import VersionedRow
from sop.models import Cycle
from sop.roles import require, who
from sop.runs import ACTIVE_STATUSES, RunInProgress
from sop.services import audit_of, audit_record

BASE_NAME = "Base plan"


def _row(scenario: Scenario) -> VersionedRow:
    return VersionedRow(
        rows=Scenario.objects.filter(pk=scenario.pk).select_related("cycle", "updated_by"),
        what="The scenario",
        show=lambda s: f"{s.name} (version {s.version})" if s is not None else "deleted",
        object_type="scenario",
        object_id=str(scenario.pk),
    )


def _locked(scenario: Scenario, version: int | None, *, base_refusal: str = "") -> Scenario:
    """The scenario row locked for update, refused when its version moved on or its cycle
    is past the reconciliation; with `base_refusal`, refused with it when it is the base."""
    row = _row(scenario)
    if version is None:  # the system's own edits name no version
        current = row.rows.select_for_update(of=("self",)).get()
    else:
        current = row.lock(seen=int(version))  # a deleted scenario is a conflict too
    editable(current)
    if base_refusal and current.is_base:
        raise ScenarioReadOnly(base_refusal)
    return current


def _bump(scenario: Scenario, user: AbstractBaseUser | None, fields: list[str]) -> None:
    values = {field: getattr(scenario, field) for field in fields}
    _row(scenario).update(scenario, {**values, "updated_by": who(user)})


def scenario_base(*, cycle: Cycle) -> Scenario:
    """The cycle's base scenario (no deltas), created on first use."""
    base = Scenario.objects.filter(cycle=cycle, is_base=True).first()
    if base is not None:
        return base
    try:
        with transaction.atomic():
            return Scenario.objects.create(
                cycle=cycle,
                name=BASE_NAME,
                is_base=True,
                description="The published supply plan, unchanged.",
            )
    except IntegrityError:
        return Scenario.objects.get(cycle=cycle, is_base=True)


def _check_name(cycle: Cycle, name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the scenario a name.")
    if len(name) > 120:
        raise ValidationError("A scenario name has at most 120 characters.")
    taken = Scenario.objects.filter(cycle=cycle, name__iexact=name).exclude(pk=exclude)
    if taken.exists():
        raise ValidationError(f"{cycle} already has a scenario named {name!r}.")
    return name


def scenario_create(
    *,
    cycle: Cycle,
    name: str,
    user: AbstractBaseUser | None,
    description: str = "",
    deltas: list[dict[str, Any]] | None = None,
) -> Scenario:
    """A new what-if scenario of the cycle; its deltas are validated before it is saved."""
    require(user, "reconciliation.add_scenario", "create scenarios")
    checked = engine.deltas_to_json(engine.deltas_from_json(deltas or []))
    return _scenario_new(cycle.pk, name, user, description=description.strip(), deltas=checked)


def scenario_copy(*, scenario: Scenario, name: str, user: AbstractBaseUser | None) -> Scenario:
    """A new scenario with the same deltas (copying the base gives an empty what-if)."""
    require(user, "reconciliation.add_scenario", "copy scenarios")
    source = Scenario.objects.get(pk=scenario.pk)
    return _scenario_new(
        source.cycle_id,
        name,
        user,
        description=source.description if not source.is_base else "",
        deltas=list(source.deltas),
        copied_from=source,
    )


def _scenario_new(
    cycle_id: int, name: str, user: AbstractBaseUser | None, **fields: Any
) -> Scenario:
    """Save a new what-if of the cycle under its lock, and audit it as a create or a copy.

    `fields`: its description and deltas, and `copied_from` for a copy.
    """
    source = fields.get("copied_from")
    with transaction.atomic():
        cycle = editable(Cycle.objects.select_for_update().get(pk=cycle_id))
        scenario_base(cycle=cycle)
        scenario = Scenario.objects.create(
            cycle=cycle,
            name=_check_name(cycle, name),
            created_by=who(user),
            updated_by=who(user),
            **fields,
        )
        audit_record(
            user=user,
            action="scenario.copy" if source is not None else "scenario.create",
            object_type="scenario",
            object_id=scenario.pk,
            cycle=cycle,
            old=None if source is None else {"from": source.pk, "name": source.name},
            new={"name": scenario.name, "deltas": scenario.deltas},
        )
    return scenario


def scenario_rename(
    *,
    scenario: Scenario,
    name: str,
    description: str,
    version: int | None,
    user: AbstractBaseUser | None,
) -> Scenario:
    require(user, "reconciliation.change_scenario", "rename scenarios")
    with transaction.atomic():
        current = _locked(scenario, version, base_refusal="The base plan keeps its name.")
        old = {"name": current.name, "description": current.description}
        current.name = _check_name(current.cycle, name, exclude=current.pk)
        current.description = (description or "").strip()
        _bump(current, user, ["name", "description"])
        audit_of(
            current,
            "scenario.rename",
            user=user,
            old=old,
            new={"name": current.name, "description": current.description},
        )
    return current


def scenario_delete(*, scenario: Scenario, version: int | None, user: AbstractBaseUser | None):
    """Delete a what-if and its results; the base plan and its numbers stay as they are."""
    require(user, "reconciliation.delete_scenario", "delete scenarios")
    with transaction.atomic():
        current = _locked(scenario, version, base_refusal="The base plan cannot be deleted.")
        if ScenarioRun.objects.filter(scenario=current, status__in=ACTIVE_STATUSES).exists():
            raise RunInProgress(f"{current.name} is being computed: delete it when it finishes.")
        runs = list(current.runs.values_list("pk", flat=True))
        ScenarioLine.objects.filter(run_id__in=runs).delete()
        audit_of(
            current,
            "scenario.delete",
            user=user,
            old={
                "name": current.name,
                "deltas": current.deltas,
                "recommended": current.recommended,
            },
        )
        current.delete()


def _deltas_change(
    *,
    scenario: Scenario,
    version: int | None,
    user: AbstractBaseUser | None,
    action: str,
    change: Callable[[Scenario, list[dict[str, Any]]], list[dict[str, Any]]],
) -> Scenario:
    """Lock the scenario, give its deltas to `change`, save the result and audit it."""
    with transaction.atomic():
        current = _locked(scenario, version)
        old = list(current.deltas)
        current.deltas = change(current, old)
        _bump(current, user, ["deltas"])
        audit_record(
            user=user,
            action=action,
            object_type="scenario",
            object_id=current.pk,
            cycle=current.cycle,
            old={"deltas": old},
            new={"deltas": current.deltas},
        )
    return current


def scenario_delta_add(
    *,
    scenario: Scenario,
    delta: dict[str, Any],
    version: int | None,
    user: AbstractBaseUser | None,
) -> Scenario:
    """Append one delta (validated by the engine's own checks) to a what-if."""
    require(user, "reconciliation.change_scenario", "change scenarios")
    (checked,) = engine.deltas_to_json(engine.deltas_from_json([delta]))

    def append(current: Scenario, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if current.is_base:
            raise ScenarioReadOnly("The base plan has no deltas: copy it into a scenario first.")
        return [*deltas, checked]

    return _deltas_change(
        scenario=scenario, version=version, user=user, action="scenario.delta_add", change=append
    )


def scenario_delta_remove(
    *, scenario: Scenario, index: int, version: int | None, user: AbstractBaseUser | None
) -> Scenario:
    require(user, "reconciliation.change_scenario", "change scenarios")

    def drop(current: Scenario, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not 0 <= index < len(deltas):
            raise ValidationError(f"{current.name} has no delta number {index + 1}.")
        return deltas[:index] + deltas[index + 1 :]

    return _deltas_change(
        scenario=scenario, version=version, user=user, action="scenario.delta_remove", change=drop
    )


def scenario_recommend(
    *, scenario: Scenario, user: AbstractBaseUser | None, comment: str = ""
) -> Scenario:
    """Mark the scenario as the one the reconciliation recommends (one per cycle)."""
    require(user, "reconciliation.recommend_scenario", "recommend a scenario")
    with transaction.atomic():
        cycle = editable(Cycle.objects.select_for_update().get(pk=scenario.cycle_id))
        previous = Scenario.objects.filter(cycle=cycle, recommended=True).first()
        Scenario.objects.filter(cycle=cycle, recommended=True).update(recommended=False)
        current = Scenario.objects.select_for_update().get(pk=scenario.pk)
        current.recommended = True
        _bump(current, user, ["recommended"])
        audit_of(
            current,
            "scenario.recommend",
            user=user,
            old={"recommended": previous.name if previous else None},
            new={"recommended": current.name},
            reason=comment,
        )
    return current
