"""The input streams of an approved cycle are frozen like its other plan rows; SQLite's
guards are made again over the tables as they are now.

- PostgreSQL: the stream entries and the planner's consensus sources get 0002's insert and
  update triggers and 0003's delete trigger (statement-level, over transition tables).
- SQLite: 0002's row triggers name every column of the table they guard, and a migration
  that adds a column with a default rebuilds the table (SQLite has no ALTER for it), which
  drops the table's triggers with the old table. Every guard is therefore dropped and made
  again here, with the columns of today's tables, the stream tables included.
"""

import importlib

from django.db import migrations

_0002 = importlib.import_module("executive.migrations.0002_frozen_plan_triggers")

STREAM_TABLES = ("demand_streamentry", "demand_consensussource")


def _pg_forwards(apps) -> list[str]:
    out = []
    for table in STREAM_TABLES:
        insert, update, _ = _0002._pg_table(table, "sop_frozen_cycle_rows", "unused")
        out += [
            insert,
            update,
            f"CREATE TRIGGER {table}_frozen_delete AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION sop_frozen_cycle_delete()",
        ]
    return out


def _pg_backwards(apps) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_frozen_{event} ON {table}"
        for table in STREAM_TABLES
        for event in ("insert", "update", "delete")
    ]


def _sqlite_statements(apps, tables) -> list[str]:
    out = []
    for table in tables:
        inserted = _0002._sqlite_condition(table, "NEW")
        changed = _0002._sqlite_changed(apps, table)
        updated = f"({_0002._sqlite_condition(table, 'OLD')}) AND {changed}"
        for event, when in (("insert", inserted), ("update", updated)):
            message = _0002.MESSAGE % (event.upper(), table)
            out += [
                f"DROP TRIGGER IF EXISTS {table}_frozen_{event}",
                f"CREATE TRIGGER {table}_frozen_{event} BEFORE {event.upper()} ON {table} "
                f"WHEN {when} BEGIN SELECT RAISE(ABORT, '{message}'); END",
            ]
    return out


def _sqlite_forwards(apps) -> list[str]:
    return _sqlite_statements(apps, (*_0002.CYCLE_TABLES, *_0002.APPROVAL_TABLES, *STREAM_TABLES))


def _sqlite_backwards(apps) -> list[str]:
    # The guards made here name today's columns, which earlier migrations drop on their way
    # back: they go, and SQLite is unguarded until this migration is applied again.
    return [
        f"DROP TRIGGER IF EXISTS {table}_frozen_{event}"
        for table in (*_0002.CYCLE_TABLES, *_0002.APPROVAL_TABLES, *STREAM_TABLES)
        for event in ("insert", "update")
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("executive", "0005_plan_lifecycle_columns"),
        ("demand", "0009_consensus_events_layer"),
        ("supply", "0007_planner_edit_outside_history_plan_recompute"),
        ("reconciliation", "0003_risk_register"),
    ]

    operations = [
        migrations.RunPython(
            _0002._run({"postgresql": _pg_forwards, "sqlite": _sqlite_forwards}),
            _0002._run({"postgresql": _pg_backwards, "sqlite": _sqlite_backwards}),
        ),
    ]
