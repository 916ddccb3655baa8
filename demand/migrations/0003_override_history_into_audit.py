"""The override history moves into the audit trail, the one edit history of every app.

Every override save wrote an OverrideHistory row and an AuditEvent in one transaction, so
most rows are duplicates: each is matched to its event (same cycle, cell, user and new
value, written within a minute, first unmatched in time order) and only gives the event the
family and reason code the history panel reads. The rows with no event (the overrides
carried over from the previous cycle) become events of their own, at their own time.
Events left without a family (none expected) get it from the SKU or the cell itself.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import migrations

OBJECT_TYPE = "demand_override"
SAME_SAVE = dt.timedelta(minutes=1)


def _number(value):
    return None if value is None else format(Decimal(value).normalize(), "f")


def history_into_audit(apps, schema_editor):
    OverrideHistory = apps.get_model("demand", "OverrideHistory")
    AuditEvent = apps.get_model("sop", "AuditEvent")
    Product = apps.get_model("sop", "Product")

    unmatched = defaultdict(list)
    for event in AuditEvent.objects.filter(object_type=OBJECT_TYPE).order_by("at", "id"):
        unmatched[(event.cycle_id, event.object_id, event.user_id)].append(event)

    rows = OverrideHistory.objects.select_related("product", "location").order_by("at", "id")
    for row in rows.iterator():
        if row.product_id is None:
            where = row.family
        else:
            where = row.product.sku + (f"@{row.location.code}" if row.location_id else "")
        object_id = f"{where}/{row.month:%Y-%m}"
        new = {
            "kind": row.new_kind or None,
            "value": _number(row.new_value),
            "reason": row.reason,
            "family": row.family,
        }
        candidates = unmatched[(row.cycle_id, object_id, row.user_id)]
        event = next(
            (
                e
                for e in candidates
                if abs(e.at - row.at) <= SAME_SAVE and (e.new or {}).get("value") == new["value"]
            ),
            None,
        )
        if event is not None:
            candidates.remove(event)
            event.new = new
            event.save(update_fields=["new"])
            continue
        carried = not row.old_kind and row.comment.startswith("From ")
        event = AuditEvent.objects.create(
            user_id=row.user_id,
            action="demand.override_carry_over" if carried else "demand.override",
            object_type=OBJECT_TYPE,
            object_id=object_id,
            cycle_id=row.cycle_id,
            old={"kind": row.old_kind, "value": _number(row.old_value)} if row.old_kind else None,
            new=new,
            reason=row.comment,
        )
        AuditEvent.objects.filter(pk=event.pk).update(at=row.at)  # `at` is auto_now_add

    families = dict(Product.objects.values_list("sku", "family"))
    for events in unmatched.values():
        for event in events:
            if "family" in (event.new or {}):
                continue
            where = event.object_id.rpartition("/")[0]
            family = families.get(where.split("@")[0], where)  # a SKU's, else the cell's
            event.new = {**(event.new or {"kind": None, "value": None}), "family": family}
            event.save(update_fields=["new"])


class Migration(migrations.Migration):
    dependencies = [
        ("demand", "0002_series_fit_error_quantiles"),
        ("sop", "0006_audit_cycle_history_idx"),
    ]

    operations = [
        migrations.RunPython(history_into_audit, migrations.RunPython.noop),
        migrations.DeleteModel(name="OverrideHistory"),
    ]
