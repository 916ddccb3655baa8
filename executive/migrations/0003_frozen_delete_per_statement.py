"""Check deletes of an approved cycle's rows once per statement instead of once per row.

0002 deferred a check per deleted row to commit, so that deleting a whole cycle (whose
rows Django deletes first) still worked; it cost about 40 microseconds a row, seconds for
a full consensus rebuild of a large company. Now a delete statement is checked at once
over its transition table, and deleting a whole approved cycle is recognised because
`executive.signals.on_cycle_delete` names the cycle in the transaction-local setting
`sop.deleting_cycles` before Django deletes anything.
"""

from django.db import migrations

CYCLE_TABLES = (
    "demand_demandoverride",
    "demand_consensusdemand",
    "supply_plannedsupplyedit",
    "supply_capacityadjustment",
    "reconciliation_scenario",
    "reconciliation_decisionlogentry",
    "executive_planapproval",
)
APPROVAL_TABLES = (
    "executive_frozenplanline",
    "executive_frozenfamilymonth",
    "executive_frozenresourcemonth",
)
MESSAGE = "%s on %s refused: the cycle is approved and its plan is frozen"
# The cycles this transaction deletes whole (ids, comma-separated; see on_cycle_delete).
RELEASED = (
    "c.id::text <> ALL (string_to_array("
    "coalesce(current_setting('sop.deleting_cycles', true), ''), ','))"
)

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION sop_frozen_cycle_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM old_rows r JOIN sop_cycle c ON c.id = r.cycle_id
             WHERE c.stage = 'approved' AND {RELEASED}) THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sop_frozen_approval_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM old_rows r JOIN executive_planapproval a ON a.id = r.approval_id
             JOIN sop_cycle c ON c.id = a.cycle_id
             WHERE c.stage = 'approved' AND {RELEASED}) THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('{MESSAGE}', TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;
"""

OLD_FUNCTIONS = """
CREATE OR REPLACE FUNCTION sop_frozen_cycle_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM sop_cycle WHERE id = OLD.cycle_id AND stage = 'approved') THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('%s on %s refused: the cycle is approved and its plan is frozen',
                       TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sop_frozen_approval_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM executive_planapproval WHERE id = OLD.approval_id) THEN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
      MESSAGE = format('%s on %s refused: the cycle is approved and its plan is frozen',
                       TG_OP, TG_TABLE_NAME);
  END IF;
  RETURN NULL;
END $$;
"""


def _tables():
    for table in CYCLE_TABLES:
        yield table, "sop_frozen_cycle_delete"
    for table in APPROVAL_TABLES:
        yield table, "sop_frozen_approval_delete"


def forwards() -> list[str]:
    out = [f"DROP TRIGGER IF EXISTS {t}_frozen_delete ON {t}" for t, _ in _tables()]
    out.append(FUNCTIONS)
    out += [
        f"CREATE TRIGGER {table}_frozen_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for table, function in _tables()
    ]
    return out


def backwards() -> list[str]:
    out = [f"DROP TRIGGER IF EXISTS {t}_frozen_delete ON {t}" for t, _ in _tables()]
    out.append(OLD_FUNCTIONS)
    out += [
        f"CREATE CONSTRAINT TRIGGER {table}_frozen_delete AFTER DELETE ON {table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()"
        for table, function in _tables()
    ]
    return out


def _run(make):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite guards inserts and updates only (0002)
        with schema_editor.connection.cursor() as cursor:
            for sql in make():
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("executive", "0002_frozen_plan_triggers")]

    operations = [migrations.RunPython(_run(forwards), _run(backwards))]
