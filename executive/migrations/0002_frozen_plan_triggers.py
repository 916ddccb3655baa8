"""Database triggers that keep an approved cycle's plan as it was approved.

Services refuse these writes with a message; the triggers make sure no other path (a
shell, a script, a future bug) can change an approved plan either:

- inserts and updates of a cycle's plan rows (overrides, consensus, supply edits, capacity
  changes, scenarios and their deltas, the decisions log, the approval and its frozen
  copy) are refused once the cycle is approved;
- deleting such rows is refused at commit unless their cycle is deleted with them (a
  deferred check: Django deletes a cycle's rows before the cycle itself, so removing a
  whole cycle keeps working);
- an approved cycle's stage, month and horizon cannot change.

PostgreSQL checks inserts and updates once per statement over the transition tables, so
the large COPY loads of the plan grids pay one join, not a function call per row. SQLite
(the quick start) gets row triggers for inserts and updates; its deletes are not guarded.
"""

from django.db import migrations

APPROVED = "approved"
# Tables whose rows name their cycle in cycle_id.
CYCLE_TABLES = (
    "demand_demandoverride",
    "demand_consensusdemand",
    "supply_plannedsupplyedit",
    "supply_capacityadjustment",
    "reconciliation_scenario",
    "reconciliation_decisionlogentry",
    "executive_planapproval",
)
# Frozen rows, which reach their cycle through their approval.
APPROVAL_TABLES = (
    "executive_frozenplanline",
    "executive_frozenfamilymonth",
    "executive_frozenresourcemonth",
)
MESSAGE = "%s on %s refused: the cycle is approved and its plan is frozen"
# An update changes a frozen row when a column takes a new value, other than a reference
# cleared to NULL: that is what on_delete=SET_NULL does when a user or scenario is deleted
# (and Django does it before deleting a whole cycle's rows), and it alters no figure.
CHANGED = """EXISTS (
    SELECT 1 FROM jsonb_each(to_jsonb(n)) nv JOIN jsonb_each(to_jsonb(r)) ov USING (key)
    WHERE nv.value IS DISTINCT FROM ov.value
      AND NOT (nv.value = 'null'::jsonb AND key LIKE '%\\_id'))"""

PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION sop_frozen_cycle_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Each branch names only the transition tables its trigger declares.
  IF EXISTS (SELECT 1 FROM new_rows r JOIN sop_cycle c ON c.id = r.cycle_id
             WHERE c.stage = '{APPROVED}' AND TG_OP = 'INSERT') THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF EXISTS (SELECT 1 FROM old_rows r JOIN new_rows n ON n.id = r.id
               JOIN sop_cycle c ON c.id = r.cycle_id
               WHERE c.stage = '{APPROVED}' AND {CHANGED}) THEN
      RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sop_frozen_approval_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows r JOIN executive_planapproval a ON a.id = r.approval_id
             JOIN sop_cycle c ON c.id = a.cycle_id
             WHERE c.stage = '{APPROVED}' AND TG_OP = 'INSERT') THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF EXISTS (SELECT 1 FROM old_rows r JOIN new_rows n ON n.id = r.id
               JOIN executive_planapproval a ON a.id = r.approval_id
               JOIN sop_cycle c ON c.id = a.cycle_id
               WHERE c.stage = '{APPROVED}' AND {CHANGED}) THEN
      RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- Deferred to commit: by then a deleted cycle is gone, and its rows may go with it.
CREATE OR REPLACE FUNCTION sop_frozen_cycle_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM sop_cycle WHERE id = OLD.cycle_id AND stage = '{APPROVED}') THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sop_frozen_approval_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM executive_planapproval WHERE id = OLD.approval_id) THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sop_frozen_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.stage IS DISTINCT FROM OLD.stage OR NEW.month IS DISTINCT FROM OLD.month
     OR NEW.horizon_months IS DISTINCT FROM OLD.horizon_months THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = 'The cycle is approved: its stage, month and horizon are final';
  END IF;
  RETURN NEW;
END $$;
"""


def _pg_table(table: str, rows_function: str, delete_function: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_frozen_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {rows_function}()",
        f"CREATE TRIGGER {table}_frozen_update AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {rows_function}()",
        f"CREATE CONSTRAINT TRIGGER {table}_frozen_delete AFTER DELETE ON {table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {delete_function}()",
    ]


def _pg_statements(apps) -> list[str]:
    out = [PG_FUNCTIONS]
    for table in CYCLE_TABLES:
        out += _pg_table(table, "sop_frozen_cycle_rows", "sop_frozen_cycle_delete")
    for table in APPROVAL_TABLES:
        out += _pg_table(table, "sop_frozen_approval_rows", "sop_frozen_approval_delete")
    out.append(
        "CREATE TRIGGER sop_cycle_frozen BEFORE UPDATE ON sop_cycle FOR EACH ROW "
        f"WHEN (OLD.stage = '{APPROVED}') EXECUTE FUNCTION sop_frozen_cycle()"
    )
    return out


def _pg_drop(apps) -> list[str]:
    out = ["DROP TRIGGER IF EXISTS sop_cycle_frozen ON sop_cycle"]
    for table in (*CYCLE_TABLES, *APPROVAL_TABLES):
        for event in ("insert", "update", "delete"):
            out.append(f"DROP TRIGGER IF EXISTS {table}_frozen_{event} ON {table}")
    for name in (
        "sop_frozen_cycle",
        "sop_frozen_approval_delete",
        "sop_frozen_cycle_delete",
        "sop_frozen_approval_rows",
        "sop_frozen_cycle_rows",
    ):
        out.append(f"DROP FUNCTION IF EXISTS {name}()")
    return out


def _sqlite_condition(table: str, row: str) -> str:
    if table in APPROVAL_TABLES:
        return (
            f"(SELECT c.stage FROM executive_planapproval a JOIN sop_cycle c ON c.id = a.cycle_id "
            f"WHERE a.id = {row}.approval_id) = '{APPROVED}'"
        )
    return f"(SELECT stage FROM sop_cycle WHERE id = {row}.cycle_id) = '{APPROVED}'"


def _sqlite_changed(apps, table: str) -> str:
    """SQLite's version of CHANGED, column by column from the models as migrated."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    tests = []
    for field in model._meta.concrete_fields:
        column = field.column
        test = f"NEW.{column} IS NOT OLD.{column}"
        if field.is_relation and field.null:
            test = f"({test} AND NEW.{column} IS NOT NULL)"
        tests.append(test)
    return "(" + " OR ".join(tests) + ")"


def _sqlite_statements(apps) -> list[str]:
    out = []
    for table in (*CYCLE_TABLES, *APPROVAL_TABLES):
        inserted = _sqlite_condition(table, "NEW")
        updated = f"({_sqlite_condition(table, 'OLD')}) AND {_sqlite_changed(apps, table)}"
        for event, when in (("insert", inserted), ("update", updated)):
            message = MESSAGE % (event.upper(), table)
            out.append(
                f"CREATE TRIGGER {table}_frozen_{event} BEFORE {event.upper()} ON {table} "
                f"WHEN {when} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    out.append(
        "CREATE TRIGGER sop_cycle_frozen BEFORE UPDATE ON sop_cycle "
        f"WHEN OLD.stage = '{APPROVED}' AND (NEW.stage IS NOT OLD.stage "
        "OR NEW.month IS NOT OLD.month OR NEW.horizon_months IS NOT OLD.horizon_months) "
        "BEGIN SELECT RAISE(ABORT, 'The cycle is approved: its stage, month and horizon "
        "are final'); END"
    )
    return out


def _sqlite_drop(apps) -> list[str]:
    out = ["DROP TRIGGER IF EXISTS sop_cycle_frozen"]
    for table in (*CYCLE_TABLES, *APPROVAL_TABLES):
        for event in ("insert", "update"):
            out.append(f"DROP TRIGGER IF EXISTS {table}_frozen_{event}")
    return out


def _run(statements: dict):
    def run(apps, schema_editor):
        make = statements.get(schema_editor.connection.vendor)
        if make is None:
            return
        with schema_editor.connection.cursor() as cursor:
            for sql in make(apps):
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("executive", "0001_initial"),
        ("demand", "0001_initial"),
        ("supply", "0003_stock_target_plan_hash"),
        ("reconciliation", "0001_initial"),
        ("sop", "0003_drop_indexes_covered_by_natural_keys"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": _pg_statements, "sqlite": _sqlite_statements}),
            _run({"postgresql": _pg_drop, "sqlite": _sqlite_drop}),
        ),
    ]
