"""What the demand services share: the plan's read-only error, the bulk insert, sales history."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, models

from demand.constants import BULK_BATCH
from sop.models import SalesHistory
from sop.months import month_index, month_numbers

# How COPY spells NULL, so that an empty string stays an empty string.
_NULL = "\\N"


class PlanReadOnly(ValidationError):
    """The cycle's demand plan can no longer change (submitted, or not yet in review)."""


def bulk_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert many rows of plain values (JSON as text): COPY on PostgreSQL, else executemany.

    Both skip building a model instance per row, which costs more than the insert itself
    at a hundred thousand rows.
    """
    meta = model._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in fields)
    table = connection.ops.quote_name(meta.db_table)
    if connection.vendor == "postgresql":
        # One CSV text block: the csv module in C is several times faster than row by row.
        buffer = io.StringIO()
        csv.writer(buffer).writerows(tuple(_NULL if v is None else v for v in row) for row in rows)
        sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())
        return
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    # SQLite stores dates as ISO text, which is what Django reads back.
    values = [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row) for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(values), BULK_BATCH):
            cursor.executemany(sql, values[start : start + BULK_BATCH])


def history_matrix(
    *, product_ids: Sequence[int] | None, before: dt.date, active_only: bool = True
) -> tuple[list[tuple[int, int]], np.ndarray, int]:
    """Monthly sales of each (product, location) before `before`, one row per series.

    Returns the series keys, a (series x months) matrix with zeros for months without a
    sale, and the month index of the first column. One query.
    """
    qs = SalesHistory.objects.filter(month__lt=before)
    if active_only:
        qs = qs.filter(product__active=True)
    if product_ids is not None:
        qs = qs.filter(product_id__in=product_ids)
    rows = list(qs.values_list("product_id", "location_id", "month", "quantity"))
    if not rows:
        return [], np.zeros((0, 0)), 0
    df = pd.DataFrame(rows, columns=["product", "location", "month", "qty"])
    df["m"] = month_numbers(df["month"])
    first = int(df["m"].min())
    last = month_index(before) - 1
    keys = df[["product", "location"]].drop_duplicates().sort_values(["product", "location"])
    key_list = list(keys.itertuples(index=False, name=None))
    code = pd.MultiIndex.from_frame(keys).get_indexer(
        pd.MultiIndex.from_frame(df[["product", "location"]])
    )
    matrix = np.zeros((len(key_list), last - first + 1))
    np.add.at(matrix, (code, df["m"].to_numpy() - first), df["qty"].astype(float).to_numpy())
    return key_list, matrix, first
