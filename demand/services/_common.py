"""What the demand services share: the plan's read-only error, the bulk insert, sales history."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from django.db import connection, models

from demand import events as event_maths
from demand.choices import OverrideLevel
from demand.constants import BULK_BATCH
from sop.choices import EventStatus
from sop.locking import PlanReadOnly as PlanReadOnly  # the demand services raise it
from sop.models import Event, Product, SalesHistory
from sop.months import month_index, month_numbers

# How COPY spells NULL, so that an empty string stays an empty string.
_NULL = "\\N"


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


def event_frame(*, statuses: Sequence[str], before: dt.date | None = None) -> pd.DataFrame:
    """Events of these statuses as `demand.events` reads them (EVENT_COLUMNS, month numbers);
    with `before`, only those starting before that month. Two queries."""
    qs = Event.objects.filter(status__in=statuses)
    if before is not None:
        qs = qs.filter(start_month__lt=before)
    rows = list(
        qs.values_list(
            "pk",
            "scope",
            "family",
            "product_id",
            *Event.EFFECT_FIELDS,
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=[c for c in event_maths.EVENT_COLUMNS if c != "locations"],
    )
    if frame.empty:
        return pd.DataFrame(columns=event_maths.EVENT_COLUMNS)
    locations: dict[int, list[int]] = {}
    through = Event.locations.through.objects.filter(event_id__in=frame["event"].tolist())
    for event_id, location_id in through.values_list("event_id", "location_id"):
        locations.setdefault(event_id, []).append(location_id)
    frame["locations"] = [tuple(locations.get(e, ())) for e in frame["event"]]
    frame["start"] = month_numbers(frame["start"])
    frame["end"] = month_numbers(frame["end"])
    frame["effect_value"] = frame["effect_value"].astype(float)
    frame["dip_percent"] = frame["dip_percent"].astype(float)
    return frame[event_maths.EVENT_COLUMNS]


def history_events(
    keys: list[tuple[int, int]], first: int, n_months: int, before: dt.date
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """The past events (proposed or confirmed) before `before`, the series' families and
    their (series x months) event mask; cancelled events mark nothing."""
    events = event_frame(statuses=[EventStatus.PROPOSED, EventStatus.CONFIRMED], before=before)
    family_of = dict(
        Product.objects.filter(pk__in={p for p, _ in keys}).values_list("pk", "family")
    )
    families = np.array([family_of.get(p, "") for p, _ in keys], dtype=object)
    mask = event_maths.history_event_mask(keys, families, first, n_months, events)
    return mask, events, families


def edit_scope(level: str, *, month, family: str, product=None, location=None) -> tuple[dict, str]:
    """The filter of a planner's figure (an override, a stream entry) at `level` in `month`,
    and how messages and the audit name where it is: "Bikes", "BIKE-1", "BIKE-1@NORTH"."""
    scope = {"level": level, "month": month}
    if level == OverrideLevel.FAMILY:
        scope["family"] = family
    else:
        scope.update(product=product, location=location)
    where = family if product is None else product.sku
    if location is not None:
        where += f"@{location.code}"
    return scope, where
