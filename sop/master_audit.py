"""Master-data changes as audit events, old -> new: the admin's edits and the imports'.

A row is named by its natural key (a product by its SKU, a routing by SKU and resource),
its values are stored as the text the admin shows, and a foreign key as the natural key of
the row it points to; so the trail reads "P-100 unit_price: 10.0000 -> 12.0000".
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from sop.services import audit_record

# What the imports' audit event lists old -> new per changed row: the small tables that
# steer every plan. The facts (sales, stock, receipts, capacity, budget) run to millions of
# rows a load; their event carries the counts.
MASTER_DATA = (
    "sop.Supplier",
    "sop.Product",
    "sop.Location",
    "sop.Resource",
    "sop.Routing",
    "sop.Event",
)


def natural_key(obj: models.Model) -> str:
    """The key a person knows the row by: its unique code, or its natural-key constraint's
    fields joined by "/" (a foreign key by the natural key of its row); else the id."""
    meta = obj._meta
    for field in meta.concrete_fields:
        if field.unique and not field.primary_key:
            return str(getattr(obj, field.attname))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            return "/".join(_text(obj, meta.get_field(name)) for name in constraint.fields)
    return str(obj.pk)


def row_values(obj: models.Model) -> dict[str, str | None]:
    """Every field of the row but its id, as text (None for an empty value); a many-to-many
    as the natural keys of its rows, sorted and joined by "|" (an event's locations)."""
    values = {
        field.name: _text(obj, field)
        for field in obj._meta.concrete_fields
        if not field.primary_key
    }
    for field in obj._meta.many_to_many:
        related = sorted(natural_key(o) for o in getattr(obj, field.name).all())
        values[field.name] = "|".join(related) or None
    return values


def _text(obj: models.Model, field: models.Field) -> str | None:
    if getattr(obj, field.attname) is None:
        return None
    if field.is_relation:
        return natural_key(getattr(obj, field.name))
    return field.value_to_string(obj)


def _changed(old: dict, new: dict) -> tuple[dict, dict]:
    keys = [k for k in new if old.get(k) != new[k]]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def master_change_record(
    *,
    user: AbstractBaseUser | None,
    obj: models.Model,
    old: dict[str, str | None] | None,
    deleted: bool = False,
    reason: str = "",
) -> None:
    """Audit one row's create (`old` None), change (`old` its values before) or delete.

    A save that changed nothing records nothing. The values are read back as stored (a
    form's 12.5 is the database's 12.5000), as `row_values` read the old ones.
    """
    object_type = obj._meta.model_name
    if not deleted:
        obj = type(obj)._default_manager.get(pk=obj.pk)
    if deleted:
        action, before, after = "delete", row_values(obj), None
    elif old is None:
        action, before, after = "create", None, row_values(obj)
    else:
        before, after = _changed(old, row_values(obj))
        if not after:
            return
        action = "change"
    audit_record(
        user=user,
        action=f"masterdata.{action}",
        object_type=object_type,
        object_id=natural_key(obj)[:100],
        old=before,
        new=after,
        reason=reason,
    )


@dataclasses.dataclass
class ImportChanges:
    """What a load changed in master-data rows that existed before it, per row and field."""

    old: dict[str, str | None] = dataclasses.field(default_factory=dict)
    new: dict[str, str | None] = dataclasses.field(default_factory=dict)


def _snapshot(model: type[models.Model]) -> dict[Any, tuple[str, dict]]:
    relations = [f.name for f in model._meta.concrete_fields if f.is_relation]
    rows = (
        model._default_manager.select_related(*relations)
        .prefetch_related(*(f.name for f in model._meta.many_to_many))
        .order_by()
    )
    return {obj.pk: (natural_key(obj), row_values(obj)) for obj in rows.iterator(2000)}


@contextlib.contextmanager
def import_changes(model_label: str) -> Iterator[ImportChanges]:
    """Around a load: fills in old -> new of every changed field of a master-data row,
    keyed "<natural key> <field>". Facts leave it empty."""
    changes = ImportChanges()
    if model_label not in MASTER_DATA:
        yield changes
        return
    model = apps.get_model(model_label)
    before = _snapshot(model)
    yield changes
    for pk, (key, values) in _snapshot(model).items():
        if pk not in before:
            continue
        old, new = _changed(before[pk][1], values)
        changes.old.update({f"{key} {field}": value for field, value in old.items()})
        changes.new.update({f"{key} {field}": value for field, value in new.items()})
