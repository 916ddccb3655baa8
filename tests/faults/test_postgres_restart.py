"""PostgreSQL restarted mid-import: the load is all or nothing and the job says what happened.

The import runs in a subprocess against a private cluster, through the real upload path
(job row, queued task, eager here); the cluster is restarted (`pg_ctl -m fast`) while the
200,000 rows are being loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import psycopg

from tests.faults.conftest import ROOT, wait_for

SKUS, LOCATIONS, MONTHS = 400, 5, 100
ROWS = SKUS * LOCATIONS * MONTHS

_SCRIPT = """
import os, sys
from pathlib import Path
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
django.setup()
from django.conf import settings
from django.core.files import File
from django.core.management import call_command
from sop import imports
from sop.models import Location, Product

settings.MEDIA_ROOT = Path(sys.argv[2])
settings.SOP_IMPORT_MAX_BYTES = 1 << 30
if sys.argv[1] == "setup":
    call_command("migrate", verbosity=0)
    skus, locations = int(sys.argv[3]), int(sys.argv[4])
    Product.objects.bulk_create(
        Product(sku=f"R-{i:04d}", name=f"R {i}", family=f"F{i % 9}") for i in range(skus)
    )
    Location.objects.bulk_create(Location(code=f"L{j}", name=f"L{j}") for j in range(locations))
else:
    with open(sys.argv[3], "rb") as handle:
        # Queued after commit and, with no REDIS_URL, run at once by the import task.
        imports.import_job_create(entity="sales_history", upload=File(handle, name="sales.csv"))
"""


def write_extract(path) -> None:
    months = [f"{2015 + m // 12}-{m % 12 + 1:02d}" for m in range(MONTHS)]
    quantity = np.random.default_rng(3).gamma(2.0, 60.0, ROWS).round(1)
    pd.DataFrame(
        {
            "sku": np.repeat([f"R-{i:04d}" for i in range(SKUS)], LOCATIONS * MONTHS),
            "location_code": np.tile(np.repeat([f"L{j}" for j in range(LOCATIONS)], MONTHS), SKUS),
            "month": np.tile(months, SKUS * LOCATIONS),
            "quantity": quantity,
            "revenue": (quantity * 12.5).round(2),
        }
    ).to_csv(path, index=False)


def query(url: str, sql: str):
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None  # restarting


def test_a_postgres_restart_mid_import_loads_nothing_and_a_rerun_loads_everything(
    private_postgres, tmp_path
):
    with psycopg.connect(private_postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE sop")
    url = private_postgres.url("sop")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"DATABASE_URL": url}
    media, extract = str(tmp_path / "media"), tmp_path / "sales.csv"
    write_extract(extract)

    def script(*args: str, **kwargs):
        command = [sys.executable, "-c", _SCRIPT, *args]
        return subprocess.Popen(command, cwd=ROOT, env=env, **kwargs)

    setup = script("setup", media, str(SKUS), str(LOCATIONS))
    assert setup.wait(timeout=300) == 0
    importer = script("import", media, str(extract), stderr=subprocess.PIPE)

    def loading() -> bool:
        rows = query(url, "SELECT phase FROM sop_importjob ORDER BY id DESC LIMIT 1")
        assert importer.poll() is None, "the import ended before its load started"
        return bool(rows) and rows[0][0].startswith("Loading")

    wait_for(loading, 180, "the load to start", poll=0.02)
    private_postgres.restart()
    _, stderr = importer.communicate(timeout=180)
    assert importer.returncode == 0, stderr.decode()[-3000:]

    [(status, message)] = query(url, "SELECT status, message FROM sop_importjob")
    [(loaded,)] = query(url, "SELECT count(*) FROM sop_saleshistory")
    assert (status, loaded) == ("failed", 0), message  # all or nothing: nothing
    assert "nothing" in message and "loaded" in message

    # The file again, once PostgreSQL is back: every row.
    assert script("import", media, str(extract)).wait(timeout=300) == 0
    status, message = query(url, "SELECT status, message FROM sop_importjob ORDER BY id")[-1]
    assert status == "succeeded", message
    assert query(url, "SELECT count(*) FROM sop_saleshistory") == [(ROWS,)]
