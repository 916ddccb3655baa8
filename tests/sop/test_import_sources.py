"""Scheduled pulls: a folder the ERP drops files into, an SQL query on the ERP's database."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from sop import import_profiles, import_sources
from sop.choices import JobStatus, PullOutcome, Role, SourceKind, Stage
from sop.extract_reader import ReadOptions
from sop.models import (
    ImportJob,
    ImportPull,
    ImportSource,
    InventorySnapshot,
    Notification,
    SalesHistory,
)
from tests.factories import CycleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "refs")]

SAP_OPTIONS = ReadOptions.with_number_format(
    "1.234,5",
    separator=";",
    month_format="mm.yyyy",
    columns={"Material": "sku", "Plant": "location_code", "Period": "month", "Qty": "quantity"},
)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def planner(make_user):
    return make_user(Role.DEMAND_PLANNER)


@pytest.fixture
def drop(tmp_path):
    folder = tmp_path / "erp-drop"
    folder.mkdir()
    return folder


@pytest.fixture
def folder_source(drop, admin):
    profile = import_profiles.import_profile_create(
        user=admin, name="SAP sales", entity="sales_history", options=SAP_OPTIONS
    )
    return ImportSource.objects.create(
        name="SAP drop",
        kind=SourceKind.FOLDER,
        entity="sales_history",
        profile=profile,
        folder=str(drop),
        file_glob="VBRK_*.csv",
    )


def dropped(folder: Path, name: str, text: str, *, age_seconds: int = 120) -> Path:
    """A file the ERP finished writing `age_seconds` ago."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


GOOD = "Material;Plant;Period;Qty\nA1;WH1;03.2026;1.250,5\nB2;WH1;03.2026;7\n"


def sales() -> dict[tuple[str, str, dt.date], Decimal]:
    return {
        (s.product.sku, s.location.code, s.month): s.quantity
        for s in SalesHistory.objects.select_related("product", "location")
    }


# -- Folders ---------------------------------------------------------------------------------


def test_a_dropped_file_is_imported_with_the_profile_and_moved_to_done(folder_source, drop):
    dropped(drop, "VBRK_0301.csv", GOOD)
    dropped(drop, "notes.txt", "not an extract")
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.outcome == PullOutcome.SUCCEEDED
    assert sales() == {
        ("A1", "WH1", dt.date(2026, 3, 1)): Decimal("1250.5"),
        ("B2", "WH1", dt.date(2026, 3, 1)): Decimal("7"),
    }
    assert (drop / "done" / "VBRK_0301.csv").is_file()
    assert not (drop / "VBRK_0301.csv").exists()
    assert (drop / "notes.txt").is_file()
    job = ImportJob.objects.get()
    assert (job.status, job.file_name, job.profile_name) == (
        JobStatus.SUCCEEDED,
        "VBRK_0301.csv",
        "SAP sales",
    )
    assert pull.job == job
    folder_source.refresh_from_db()
    assert folder_source.last_pull_at is not None
    assert folder_source.pulling_since is None


def test_the_same_content_dropped_again_is_not_imported_twice(folder_source, drop):
    dropped(drop, "VBRK_0301.csv", GOOD)
    import_sources.import_source_pull(source=folder_source)
    dropped(drop, "VBRK_0301_resent.csv", GOOD)
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.outcome == PullOutcome.SKIPPED
    assert pull.message.startswith("The same content as VBRK_0301.csv, imported ")
    assert ImportJob.objects.count() == 1
    assert (drop / "done" / "VBRK_0301_resent.csv").is_file()


def test_a_file_still_being_written_waits_for_the_next_pull(folder_source, drop):
    dropped(drop, "VBRK_0301.csv", GOOD, age_seconds=5)
    assert import_sources.import_source_pull(source=folder_source) == []
    assert (drop / "VBRK_0301.csv").is_file()
    assert not SalesHistory.objects.exists()


def test_a_refused_file_loads_nothing_goes_to_refused_and_notifies_the_admins(
    folder_source, drop, admin, planner
):
    dropped(
        drop, "VBRK_0302.csv", "Material;Plant;Period;Qty\nA1;WH1;03.2026;4\nGHOST;WH1;03.2026;1\n"
    )
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.outcome == PullOutcome.FAILED
    assert not SalesHistory.objects.exists()
    assert (drop / "refused" / "VBRK_0302.csv").is_file()
    assert pull.job.status == JobStatus.FAILED
    [note] = Notification.objects.all()
    assert note.recipient == admin
    assert note.message.startswith(
        "The scheduled pull of VBRK_0302.csv from SAP drop failed and loaded nothing: "
        "1 error found; nothing was loaded."
    )
    assert "row 3 sku 'GHOST': unknown SKU" in note.message
    assert note.url == f"/imports/{pull.job.pk}/"


def test_a_refused_pulls_notification_names_the_real_problem_before_the_unknown_skus(
    folder_source, drop, admin
):
    ghosts = "".join(f"GHOST{i};WH1;03.2026;1\n" for i in range(10))
    dropped(drop, "VBRK_0303.csv", "Material;Plant;Period;Qty\n" + ghosts + "A1;WH1;03.2026;x\n")
    import_sources.import_source_pull(source=folder_source)
    [note] = Notification.objects.all()
    # Rows 2-11 name unknown SKUs; the quantity of row 12 is said first all the same.
    assert note.message.endswith(
        "11 errors found; nothing was loaded. Fix the file and upload it again. "
        "row 12 quantity 'x': not a number; row 2 sku 'GHOST0': unknown SKU (and 9 more)"
    )


def test_a_missing_folder_fails_the_pull_and_says_so(folder_source, admin):
    folder_source.folder = "/nonexistent/erp"
    folder_source.save()
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.outcome == PullOutcome.FAILED
    assert pull.message == "the folder /nonexistent/erp is not there or is not a folder"
    assert Notification.objects.get().recipient == admin


def test_only_an_admin_pulls_and_a_running_pull_is_not_doubled(folder_source, planner, admin):
    with pytest.raises(PermissionDenied):
        import_sources.import_source_pull(source=folder_source, user=planner)
    ImportSource.objects.filter(pk=folder_source.pk).update(pulling_since=timezone.now())
    with pytest.raises(import_sources.PullBusy):
        import_sources.import_source_pull(source=folder_source, user=admin)


def test_a_profile_a_source_reads_with_cannot_be_deleted(folder_source, admin):
    with pytest.raises(ValidationError, match="reads the pulls of SAP drop"):
        import_profiles.import_profile_delete(profile=folder_source.profile, version=1, user=admin)


# -- The schedule ----------------------------------------------------------------------------


def test_due_sources_are_claimed_once_and_scheduled_by_their_interval(folder_source, drop):
    now = timezone.now()
    later = ImportSource.objects.create(
        name="later", kind=SourceKind.FOLDER, entity="inventory", folder=str(drop),
        next_due_at=now + dt.timedelta(minutes=5),
    )  # fmt: skip
    ImportSource.objects.create(
        name="off", kind=SourceKind.FOLDER, entity="inventory", folder=str(drop), enabled=False
    )
    assert import_sources.import_sources_due(now=now) == [folder_source.pk]
    folder_source.refresh_from_db()
    assert folder_source.next_due_at == now + dt.timedelta(minutes=60)
    assert import_sources.import_sources_due(now=now) == []
    in_ten = now + dt.timedelta(minutes=10)
    assert import_sources.import_sources_due(now=in_ten) == [later.pk]


def test_the_beat_task_pulls_what_is_due(folder_source, drop):
    from sop.tasks import import_sources_due_task

    dropped(drop, "VBRK_0301.csv", GOOD)
    import_sources_due_task.apply()
    assert ImportPull.objects.get().outcome == PullOutcome.SUCCEEDED
    assert len(sales()) == 2


# -- SQL: a second PostgreSQL database stands in for Odoo ------------------------------------

ODOO_SCHEMA = """
CREATE TABLE product_product (id int PRIMARY KEY, default_code varchar);
CREATE TABLE stock_warehouse (id int PRIMARY KEY, code varchar);
CREATE TABLE stock_location (id int PRIMARY KEY, warehouse_id int REFERENCES stock_warehouse);
CREATE TABLE sale_order (
    id int PRIMARY KEY, date_order timestamp, warehouse_id int REFERENCES stock_warehouse,
    state varchar);
CREATE TABLE sale_order_line (
    id int PRIMARY KEY, order_id int REFERENCES sale_order, product_id int REFERENCES
    product_product, product_uom_qty numeric, price_subtotal numeric);
CREATE TABLE stock_quant (
    id int PRIMARY KEY, product_id int REFERENCES product_product,
    location_id int REFERENCES stock_location, quantity numeric);
INSERT INTO product_product VALUES (1, 'A1'), (2, 'B2');
INSERT INTO stock_warehouse VALUES (1, 'WH1');
INSERT INTO stock_location VALUES (10, 1), (11, 1);
INSERT INTO sale_order VALUES
    (100, '2026-03-04 10:00', 1, 'sale'), (101, '2026-03-28 16:30', 1, 'done'),
    (102, '2026-03-15 09:00', 1, 'cancel'), (103, '2026-04-02 08:00', 1, 'sale');
INSERT INTO sale_order_line VALUES
    (1, 100, 1, 3, 30.00), (2, 101, 1, 4.5, 45.50), (3, 102, 1, 100, 999),
    (4, 103, 2, 2, 19.99);
INSERT INTO stock_quant VALUES (1, 1, 10, 10), (2, 1, 11, 2.5), (3, 2, 10, 0);
"""

ODOO_SALES = """
SELECT pp.default_code AS "Internal Reference", wh.code AS "Warehouse",
       to_char(so.date_order, 'MM/YYYY') AS "Period",
       SUM(sol.product_uom_qty) AS "Quantity", SUM(sol.price_subtotal) AS "Untaxed Amount"
FROM sale_order_line sol
JOIN sale_order so ON so.id = sol.order_id
JOIN product_product pp ON pp.id = sol.product_id
JOIN stock_warehouse wh ON wh.id = so.warehouse_id
WHERE so.state IN ('sale', 'done')
GROUP BY 1, 2, 3
"""

ODOO_STOCK = """
SELECT pp.default_code AS sku, wh.code AS location_code, SUM(q.quantity) AS on_hand
FROM stock_quant q
JOIN product_product pp ON pp.id = q.product_id
JOIN stock_location sl ON sl.id = q.location_id
JOIN stock_warehouse wh ON wh.id = sl.warehouse_id
GROUP BY 1, 2
"""


@pytest.fixture
def erp(monkeypatch):
    """A throwaway PostgreSQL database shaped like Odoo's; its URL is in ERP_TEST_URL."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQL pull runs against PostgreSQL")
    db = connection.settings_dict
    name = f"sop_fake_erp_{uuid.uuid4().hex[:10]}"
    server = {
        "host": db["HOST"] or "localhost",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    with psycopg.connect(dbname=db["NAME"], autocommit=True, **server) as admin_db:
        admin_db.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(dbname=name, autocommit=True, **server) as erp_db:
            erp_db.execute(ODOO_SCHEMA)
        password = f":{server['password']}" if server["password"] else ""
        url = f"postgresql://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
        monkeypatch.setenv("ERP_TEST_URL", url)
        yield url
    finally:
        with psycopg.connect(dbname=db["NAME"], autocommit=True, **server) as admin_db:
            admin_db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def odoo_sales(admin):
    profile = import_profiles.import_profile_create(
        user=admin,
        name="Odoo sales",
        entity="sales_history",
        options=ReadOptions(
            month_format="mm/yyyy",
            columns={
                "Internal Reference": "sku",
                "Warehouse": "location_code",
                "Period": "month",
                "Quantity": "quantity",
                "Untaxed Amount": "revenue",
            },
        ),
    )
    return ImportSource.objects.create(
        name="Odoo sales",
        kind=SourceKind.SQL,
        entity="sales_history",
        profile=profile,
        url_env="ERP_TEST_URL",
        query=ODOO_SALES,
    )


def test_an_sql_pull_loads_the_erps_sales_and_stock_through_the_profiles(erp, odoo_sales, admin):
    [pull] = import_sources.import_source_pull(source=odoo_sales, user=admin)
    assert pull.outcome == PullOutcome.SUCCEEDED, pull.message
    # March: 3 + 4.5 sold for 30.00 + 45.50; the cancelled order's 100 is left out.
    rows = {
        (s.product.sku, s.month): (s.quantity, s.revenue)
        for s in SalesHistory.objects.select_related("product")
    }
    assert rows == {
        ("A1", dt.date(2026, 3, 1)): (Decimal("7.5"), Decimal("75.50")),
        ("B2", dt.date(2026, 4, 1)): (Decimal("2"), Decimal("19.99")),
    }
    assert pull.job.profile_name == "Odoo sales"
    assert pull.job.file_name.startswith("sales_history-odoo-sales-")
    stock_profile = import_profiles.import_profile_create(
        user=admin,
        name="Odoo stock",
        entity="inventory",
        options=ReadOptions(constants={"date": "2026-04-30"}),
    )
    stock = ImportSource.objects.create(
        name="Odoo stock", kind=SourceKind.SQL, entity="inventory", profile=stock_profile,
        url_env="ERP_TEST_URL", query=ODOO_STOCK,
    )  # fmt: skip
    [pull] = import_sources.import_source_pull(source=stock, user=admin)
    assert pull.outcome == PullOutcome.SUCCEEDED, pull.message
    on_hand = {
        (s.product.sku, s.date): s.on_hand
        for s in InventorySnapshot.objects.select_related("product")
    }
    assert on_hand == {
        ("A1", dt.date(2026, 4, 30)): Decimal("12.5"),
        ("B2", dt.date(2026, 4, 30)): Decimal("0"),
    }


def test_an_sql_pull_with_a_refused_row_changes_nothing_and_notifies(erp, odoo_sales, admin):
    import_sources.import_source_pull(source=odoo_sales)
    with psycopg.connect(erp, autocommit=True) as erp_db:
        erp_db.execute("UPDATE sale_order_line SET product_uom_qty = 6 WHERE id = 1")
        erp_db.execute("INSERT INTO product_product VALUES (3, 'GHOST')")
        erp_db.execute("INSERT INTO sale_order_line VALUES (5, 100, 3, 1, 1)")
    [pull] = import_sources.import_source_pull(source=odoo_sales)
    assert pull.outcome == PullOutcome.FAILED
    assert "unknown SKU" in pull.message
    assert SalesHistory.objects.get(product__sku="A1").quantity == Decimal("7.5")
    assert Notification.objects.get().recipient == admin


def test_an_sql_pull_cannot_write_to_the_erp(erp, odoo_sales):
    odoo_sales.query = "UPDATE stock_quant SET quantity = 0 RETURNING id"
    odoo_sales.save()
    [pull] = import_sources.import_source_pull(source=odoo_sales)
    assert pull.outcome == PullOutcome.FAILED
    assert pull.message.startswith("the database could not run the query: syntax error")
    with psycopg.connect(erp) as erp_db:
        assert erp_db.execute("SELECT SUM(quantity) FROM stock_quant").fetchone()[0] == 12.5


def test_a_slow_query_is_cancelled_by_the_statement_timeout(erp, odoo_sales, settings):
    settings.SOP_PULL_STATEMENT_TIMEOUT = 1
    odoo_sales.query = "SELECT pg_sleep(3) AS sku"
    odoo_sales.save()
    [pull] = import_sources.import_source_pull(source=odoo_sales)
    assert pull.message == (
        "the database could not run the query: canceling statement due to statement timeout"
    )


def test_an_unreachable_database_or_unset_url_fails_the_pull_and_loads_nothing(
    odoo_sales, admin, monkeypatch
):
    monkeypatch.delenv("ERP_TEST_URL", raising=False)
    [pull] = import_sources.import_source_pull(source=odoo_sales)
    assert pull.message == (
        "the environment variable ERP_TEST_URL, which should hold the database's connection "
        "URL, is not set on the server"
    )
    monkeypatch.setenv("ERP_TEST_URL", "postgresql://erp:s3cret@127.0.0.1:1/erp")
    [pull] = import_sources.import_source_pull(source=odoo_sales)
    assert pull.outcome == PullOutcome.FAILED
    assert pull.message.startswith("the database could not run the query: connection")
    assert "s3cret" not in pull.message
    assert not SalesHistory.objects.exists()
    assert Notification.objects.filter(recipient=admin).count() == 2


# -- The pages -------------------------------------------------------------------------------


def test_an_admin_sets_up_checks_and_pulls_a_folder_source_from_the_pages(client_for, drop, admin):
    client = client_for(Role.ADMIN)
    profile = import_profiles.import_profile_create(
        user=admin, name="SAP sales", entity="sales_history", options=SAP_OPTIONS
    )
    form = {
        "name": "SAP drop", "kind": "sql", "entity": "sales_history", "profile": profile.pk,
        "folder": str(drop), "file_glob": "VBRK_*.csv", "interval_minutes": 15, "enabled": "on",
    }  # fmt: skip
    refused = client.post("/imports/sources/new/", form)
    assert refused.status_code == 200
    assert "Name an environment variable: ERP_DATABASE_URL." in refused.content.decode()
    assert not ImportSource.objects.exists()
    assert client.post("/imports/sources/new/", {**form, "kind": "folder"}).status_code == 302
    source = ImportSource.objects.get()
    dropped(drop, "VBRK_0301.csv", GOOD)
    dropped(drop, "VBRK_0302.csv", GOOD, age_seconds=1)
    checked = client.post(f"/imports/sources/{source.pk}/check/")
    assert "2 files match VBRK_*.csv (1 still being written): VBRK_0301.csv, VBRK_0302.csv." in (
        checked.content.decode()
    )
    assert not SalesHistory.objects.exists()
    assert client.post(f"/imports/sources/{source.pk}/pull/").status_code == 302
    assert len(sales()) == 2
    listed = client.get("/imports/sources/").content.decode()
    assert ": succeeded" in listed
    assert "Loaded 2 rows" in listed


# -- The forecast after a pull of sales history ----------------------------------------------


@pytest.mark.parametrize(
    ("stage", "said"),
    [
        (Stage.DEMAND_REVIEW, "The forecast of {cycle} is re-running."),
        (
            Stage.SUPPLY_REVIEW,
            "The forecast was not re-run: The demand plan of {cycle} is supply review: "
            "its forecast can no longer change.",
        ),
    ],
)
def test_a_pull_of_new_sales_re_runs_the_forecast_when_the_stage_allows(
    folder_source, drop, stage, said
):
    from demand.models import ForecastRun

    cycle = CycleFactory(stage=stage)
    ImportSource.objects.filter(pk=folder_source.pk).update(rerun_forecast=True)
    folder_source.refresh_from_db()
    dropped(drop, "VBRK_0301.csv", GOOD)
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.outcome == PullOutcome.SUCCEEDED
    assert pull.message.endswith(said.format(cycle=cycle))
    assert ForecastRun.objects.filter(cycle=cycle).exists() == (stage == Stage.DEMAND_REVIEW)


def test_a_pull_that_changes_no_sales_leaves_the_forecast_alone(folder_source, drop):
    from demand.models import ForecastRun

    CycleFactory(stage=Stage.DEMAND_REVIEW)
    dropped(drop, "VBRK_0301.csv", GOOD)
    import_sources.import_source_pull(source=folder_source)
    ImportSource.objects.filter(pk=folder_source.pk).update(rerun_forecast=True)
    folder_source.refresh_from_db()
    dropped(drop, "VBRK_0301_copy.csv", "Material;Plant;Period;Qty\nA1;WH1;03.2026;1.250,5\n")
    [pull] = import_sources.import_source_pull(source=folder_source)
    assert pull.message == "Loaded 1 rows: 0 inserted, 0 updated, 1 unchanged."
    assert not ForecastRun.objects.exists()
