"""Benchmark the ERP import of a big sales-history CSV: rows, seconds and peak memory.

    python bench/import_bench.py --rows 1130000 [--database sqlite|postgres|both]
    python bench/import_bench.py FILE [--database ...]
    python bench/import_bench.py --rows 1000000 --xlsx [--database ...]

Writes a sales-history extract of that many rows (or reads FILE: its SKUs and locations are
created first), then imports it in a child process per database and prints the rows, the
seconds, and the child's peak resident memory (getrusage ru_maxrss), which is what an
import worker needs. The goal: under 300 MB peak for a file at SOP_IMPORT_MAX_BYTES.

SQLite is a fresh file in a temporary directory; PostgreSQL is SOP_BENCH_DATABASE_URL,
else postgres://postgres@127.0.0.1:5432/sop_bench, created and migrated (DATABASE_URL is
ignored, so development data is never touched). SOP_IMPORT_CHUNK_BYTES is honoured: set it
to 1073741824 to read the file as one chunk, as imports did before they streamed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    # Run as a script: make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import create_database

BENCH_DB = "postgres://postgres@127.0.0.1:5432/sop_bench"
GOAL_MB = 300
LOCATIONS, MONTHS = 10, 48


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="a sales-history CSV to import")
    parser.add_argument("--rows", type=int, help="write an extract of this many rows")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--xlsx", action="store_true", help="write the extract as an XLSX workbook (with --rows)"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "FILE", "CODES"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--prepare", nargs=3, metavar=("ROWS", "FILE", "CODES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child)
    if args.prepare:
        rows, file, codes = args.prepare
        if int(rows):
            _write_extract(Path(file), int(rows))
        Path(codes).write_text(json.dumps(_codes(Path(file))))
        return 0
    if (args.file is None) == (args.rows is None):
        parser.error("give a FILE or --rows N")

    with tempfile.TemporaryDirectory(prefix="sop-import-bench-") as tmp:
        suffix = "xlsx" if args.xlsx else "csv"
        path = args.file or Path(tmp) / f"sales_history.{suffix}"
        codes = Path(tmp) / "codes.json"
        started = time.perf_counter()
        # In a process of its own: Linux carries a parent's peak RSS over to the children it
        # starts, so this process stays small for the children's figures to be their own.
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(args.rows or 0), str(path), str(codes)],
            check=True,
        )
        print(f"prepared {path.name} in {time.perf_counter() - started:.1f} s")
        size = path.stat().st_size
        print(f"extract: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(m.file_size for m in archive.infolist())
            print(f"unpacked: {unpacked / 2**20:.1f} MiB (limit SOP_IMPORT_MAX_UNPACKED_BYTES)")
        urls = []
        if args.database in ("sqlite", "both"):
            urls.append(f"sqlite:///{tmp}/bench.sqlite3")
        if args.database in ("postgres", "both"):
            urls.append(os.environ.get("SOP_BENCH_DATABASE_URL", BENCH_DB))
        ok = True
        for url in urls:
            _migrate(url)
            result = subprocess.run(
                [sys.executable, __file__, "--child", url, str(path), str(codes)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode:
                print(result.stdout, result.stderr, file=sys.stderr)
                return 1
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            peak = figures["peak_mb"]
            ok &= figures["status"] == "succeeded" and peak < GOAL_MB
            print(
                f"{url.split(':')[0]:<10} {figures['rows']:>11,} rows  "
                f"{figures['seconds']:7.1f} s  peak RSS {peak:6.0f} MB "
                f"(at start {figures['start_mb']:.0f} MB)  {figures['status']}: "
                f"{figures['message'][:90]}"
            )
            if figures["validated_mb"] is not None:
                print(
                    f"{'':<10} read and checked in {figures['validated_s']:.1f} s, "
                    f"peak RSS by then {figures['validated_mb']:.0f} MB"
                )
    print(f"goal (peak under {GOAL_MB} MB, every import succeeded): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def _write_extract(path: Path, rows: int) -> None:
    """`rows` rows of sales: SKU by location by month, quantities drawn at random.

    A path ending in .xlsx gets a workbook (openpyxl's streaming writer), as an ERP's
    Excel export would be: one sheet, a header row, numbers as numbers.
    """
    skus = -(-rows // (LOCATIONS * MONTHS))
    sku_codes = np.asarray([f"BENCH-{i:05d}" for i in range(skus)])
    location_codes = np.asarray([f"BLOC-{j:02d}" for j in range(LOCATIONS)])
    month_labels = np.asarray([f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(MONTHS)])
    i = np.arange(rows)
    quantity = np.random.default_rng(42).gamma(2.0, 60.0, rows).round(1)
    frame = pd.DataFrame(
        {
            "sku": sku_codes[i // (LOCATIONS * MONTHS)],
            "location_code": location_codes[(i // MONTHS) % LOCATIONS],
            "month": month_labels[i % MONTHS],
            "quantity": quantity,
            "revenue": (quantity * 12.5).round(2),
        }
    )
    if path.suffix != ".xlsx":
        frame.to_csv(path, index=False)
        return
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("sales_history")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.save(path)


def _codes(path: Path) -> dict[str, list[str]]:
    """The SKUs and locations the file names (read here, so the child's memory is the import's)."""
    skus, locations = set(), set()
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        for row in book.worksheets[0].iter_rows(min_row=2, max_col=2, values_only=True):
            skus.add(row[0])
            locations.add(row[1])
        book.close()
        return {"skus": sorted(skus), "locations": sorted(locations)}
    for chunk in pd.read_csv(path, usecols=["sku", "location_code"], dtype=str, chunksize=500_000):
        skus.update(chunk["sku"].dropna().unique())
        locations.update(chunk["location_code"].dropna().unique())
    return {"skus": sorted(skus), "locations": sorted(locations)}


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
    os.environ["SOP_NO_BOOTSTRAP"] = "1"
    import django

    django.setup()


def _migrate(url: str) -> None:
    if url.startswith("postgres"):
        create_database(url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity=0"],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "DATABASE_URL": url, "SOP_NO_BOOTSTRAP": "1"},
        check=True,
    )


def _child(url: str, file: str, codes_file: str) -> int:
    """Import the file into an empty sales history; print the figures as one JSON line."""
    _setup(url)
    from django.conf import settings
    from django.db import connection

    from sop import imports
    from sop.models import Location, Product, SalesHistory

    codes = json.loads(Path(codes_file).read_text())
    Product.objects.bulk_create(
        [Product(sku=s, name=f"Bench {s}", family="Bench") for s in codes["skus"]],
        ignore_conflicts=True,
    )
    Location.objects.bulk_create(
        [Location(code=c, name=c) for c in codes["locations"]], ignore_conflicts=True
    )
    with connection.cursor() as cursor:  # not .delete(): it would load every row first
        cursor.execute(f"DELETE FROM {SalesHistory._meta.db_table}")
    connection.close()
    with tempfile.TemporaryDirectory(prefix="sop-import-bench-media-") as media:
        settings.MEDIA_ROOT = Path(media)
        start_mb = _peak_mb()
        validated = []
        load = imports.extract_load

        def timed_load(**kwargs):
            if not validated:  # the peak of reading and checking, before the first load
                validated.append((_peak_mb(), time.perf_counter() - started))
            return load(**kwargs)

        imports.extract_load = timed_load
        started = time.perf_counter()
        job = imports.import_file(entity="sales_history", path=Path(file))
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": job.rows_read,
                "seconds": seconds,
                "peak_mb": _peak_mb(),
                "start_mb": start_mb,
                "validated_mb": validated[0][0] if validated else None,
                "validated_s": validated[0][1] if validated else None,
                "status": job.status,
                "message": job.message,
            }
        )
    )
    return 0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
