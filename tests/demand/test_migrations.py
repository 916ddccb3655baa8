"""The override history table moves into the audit trail without losing or doubling a row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    # SQLite's frozen-plan triggers name every column of the tables they guard as the
    # migrations stood when they were made: they go first, or dropping a column fails.
    ("executive", "0001_initial"),
    ("demand", "0002_series_fit_error_quantiles"),
    ("sop", "0006_audit_cycle_history_idx"),
]
AFTER = [("demand", "0003_override_history_into_audit")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_history_rows_become_audit_events_once_with_family_and_reason():
    apps = migrate(BEFORE)
    try:
        Cycle = apps.get_model("sop", "Cycle")
        User = apps.get_model("auth", "User")
        History = apps.get_model("demand", "OverrideHistory")
        AuditEvent = apps.get_model("sop", "AuditEvent")
        cycle = Cycle.objects.create(month=dt.date(2026, 11, 1))
        dana = User.objects.create(username="dana")
        month = dt.date(2026, 12, 1)
        common = {"cycle": cycle, "level": "family", "month": month, "user": dana}
        # A save wrote its history row and its audit event together.
        History.objects.create(
            **common,
            family="Bikes",
            new_kind="absolute",
            new_value=Decimal("800"),
            reason="promotion",
            comment="Spring",
        )
        AuditEvent.objects.create(
            user=dana,
            action="demand.override",
            object_type="demand_override",
            object_id="Bikes/2026-12",
            cycle=cycle,
            new={"kind": "absolute", "value": "800", "reason": "promotion"},
            reason="Spring",
        )
        # A carried-over override had a history row only.
        carried_at = timezone.now() - dt.timedelta(days=3)
        carried = History.objects.create(
            **common,
            family="Lamps",
            new_kind="percent",
            new_value=Decimal("15"),
            reason="promotion",
            comment="From Oct 2026: Fair",
        )
        History.objects.filter(pk=carried.pk).update(at=carried_at)

        apps = migrate(AFTER)
        AuditEvent = apps.get_model("sop", "AuditEvent")
        events = {e.object_id: e for e in AuditEvent.objects.filter(object_type="demand_override")}
        assert set(events) == {"Bikes/2026-12", "Lamps/2026-12"}
        assert events["Bikes/2026-12"].new == {
            "kind": "absolute",
            "value": "800",
            "reason": "promotion",
            "family": "Bikes",
        }
        lamps = events["Lamps/2026-12"]
        assert (lamps.action, lamps.user_id, lamps.reason, lamps.at) == (
            "demand.override_carry_over",
            dana.pk,
            "From Oct 2026: Fair",
            carried_at,
        )
        assert lamps.new["family"] == "Lamps" and lamps.new["value"] == "15"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
