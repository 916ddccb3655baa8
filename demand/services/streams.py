"""Input streams: entries by their roles, the planner's consensus source, the frozen streams."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from demand import consensus, streams
from demand.choices import OverrideKind, OverrideLevel, ReasonCode
from demand.models import (
    ConsensusDemand,
    ConsensusSource,
    ForecastRun,
    InputStream,
    StreamEntry,
    StreamPlanSnapshot,
)
from demand.services._common import bulk_insert, edit_scope
from sop.choices import Stage
from sop.locking import VersionedRow, cycle_lock_in_stage
from sop.models import Cycle, Location, Product
from sop.roles import require, user_roles
from sop.selectors import cycle_previous
from sop.services import audit_number, audit_record

STREAM_OBJECT_TYPE = "demand.streamentry"
SOURCE_OBJECT_TYPE = "demand.consensussource"


def stream_can_write(*, stream: InputStream, user) -> bool:
    """Whether `user` enters `stream`: its role's members (and superusers)."""
    if user is None:
        return True
    if not user.has_perm("demand.change_streamentry"):
        return False
    return user.is_superuser or stream.role in user_roles(user)


def _open_cycle(cycle: Cycle) -> Cycle:
    return cycle_lock_in_stage(cycle.pk, stage=Stage.DEMAND_REVIEW, plan="demand")


def stream_entry_save(
    *,
    cycle: Cycle,
    stream: InputStream,
    user: AbstractBaseUser | None,
    month: dt.date,
    value: Decimal | None,
    kind: str = OverrideKind.ABSOLUTE,
    comment: str,
    family: str = "",
    product: Product | None = None,
    location: Location | None = None,
    expected_version: int | None,
) -> StreamEntry | None:
    """Set (or with value=None clear) a stream's figure for a family, SKU or SKU-location.

    Only the stream's role writes it. `expected_version` as for overrides (`sop.locking`).
    The consensus of the family's month is rebuilt: it moves if the planner chose the stream.
    """
    require(user, "demand.change_streamentry", "enter a sales or marketing input")
    if not stream_can_write(stream=stream, user=user):
        raise PermissionDenied(f"Only {stream.get_role_display()} can enter the {stream} input.")
    if not stream.active:
        raise ValidationError(f"The {stream} input is no longer active.")
    if product is not None:
        family = product.family
    if not family:
        raise ValidationError("Choose a family or a SKU.")
    if location is not None and product is None:
        raise ValidationError("A location figure needs a SKU.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    if kind not in OverrideKind.values:
        raise ValidationError("Unknown kind of figure.")
    if value is not None and kind == OverrideKind.PERCENT and value < -100:
        raise ValidationError("A decrease cannot exceed 100%.")
    level = OverrideLevel.PRODUCT if product is not None else OverrideLevel.FAMILY
    with transaction.atomic():
        locked = _open_cycle(cycle)
        locked.check_in_horizon(month)
        scope, where = edit_scope(
            level, month=month, family=family, product=product, location=location
        )
        scope.update(cycle=locked, stream=stream)
        row = VersionedRow(
            rows=StreamEntry.objects.filter(**scope),
            what=f"The {stream} input of {where} in {month:%b %Y}",
            show=lambda e: e.display_value if e is not None else "empty",
            object_type=STREAM_OBJECT_TYPE,
            object_id=f"{stream.code}/{where}/{month:%Y-%m}",
        )
        current = row.lock(seen=expected_version)
        if value is None and current is None:
            return None
        saved = row.save(
            current,
            None
            if value is None
            else {"kind": kind, "value": value, "comment": comment, "author": user},
            create={"family": family, **scope},
        )
        audit_record(
            user=user,
            action="demand.stream_entry",
            object_type=STREAM_OBJECT_TYPE,
            object_id=row.object_id,
            cycle=locked,
            old={"kind": current.kind, "value": audit_number(current.value)} if current else None,
            new={"kind": kind if value is not None else None, "value": audit_number(value)},
            reason=comment,
        )
        _rebuild(locked, family=family, month=month)
    return saved


def consensus_source_save(
    *,
    cycle: Cycle,
    user: AbstractBaseUser | None,
    weights: dict[str, int] | None,
    reason: str,
    comment: str,
    family: str = "",
    product: Product | None = None,
    expected_version: int | None,
) -> ConsensusSource | None:
    """Choose (or with weights=None return to the statistical) the source of a scope.

    `weights`: "statistical" or an active stream's code -> whole percent, summing to 100.
    """
    require(user, "demand.change_consensussource", "choose the consensus source")
    if product is not None:
        family = product.family
    if not family:
        raise ValidationError("Choose a family or a SKU.")
    if reason not in ReasonCode.values:
        raise ValidationError("Choose a reason code for the choice.")
    if not comment.strip():
        raise ValidationError("Write a comment saying why.")
    if weights is not None:
        weights = {code: int(share) for code, share in weights.items() if int(share) != 0}
        known = {
            streams.STATISTICAL,
            *InputStream.objects.filter(active=True).values_list("code", flat=True),
        }
        unknown = sorted(set(weights) - known)
        if unknown:
            raise ValidationError(f"Unknown input stream {', '.join(unknown)}.")
        if any(share < 0 for share in weights.values()):
            raise ValidationError("A weight cannot be negative.")
        if sum(weights.values()) != 100:
            raise ValidationError(
                f"The weights add up to {sum(weights.values())}%: they must add up to 100%."
            )
    level = OverrideLevel.PRODUCT if product is not None else OverrideLevel.FAMILY
    with transaction.atomic():
        locked = _open_cycle(cycle)
        scope = {"cycle": locked, "level": level}
        if level == OverrideLevel.FAMILY:
            scope["family"] = family
        else:
            scope["product"] = product
        where = family if product is None else product.sku
        row = VersionedRow(
            rows=ConsensusSource.objects.filter(**scope),
            what=f"The consensus source of {where}",
            show=lambda s: s.weights_label if s is not None else "the statistical forecast",
            object_type=SOURCE_OBJECT_TYPE,
            object_id=where,
        )
        current = row.lock(seen=expected_version)
        if weights is None and current is None:
            return None
        saved = row.save(
            current,
            None
            if weights is None
            else {"weights": weights, "reason": reason, "comment": comment, "author": user},
            create={"family": family, **scope},
        )
        audit_record(
            user=user,
            action="demand.consensus_source",
            object_type=SOURCE_OBJECT_TYPE,
            object_id=where,
            cycle=locked,
            old={"weights": current.weights} if current else None,
            new={"weights": weights, "reason": reason},
            reason=comment,
        )
        _rebuild(locked, family=family, month=None)
    return saved


def _rebuild(cycle: Cycle, *, family: str | None, month: dt.date | None) -> None:
    # Imported here: consensus_rebuild calls back into this module for the base.
    from demand.services.consensus import consensus_rebuild

    consensus_rebuild(cycle=cycle, family=family, month=month)


def _entries(*, cycle: Cycle, family: str | None, month: dt.date | None) -> dict[str, pd.DataFrame]:
    """The active streams' entries of the cycle (one query), as override frames per code."""
    qs = StreamEntry.objects.filter(cycle=cycle, stream__active=True)
    if family is not None:
        qs = qs.filter(family=family)
    if month is not None:
        qs = qs.filter(month=month)
    return qs.frames()


def consensus_stream_base(
    *, cycle: Cycle, stat: pd.DataFrame, family: str | None, month: dt.date | None
) -> np.ndarray:
    """The base of `stat`'s rows after the planner's source choices (`demand.streams`).

    `family`/`month` are the rebuild's scope: `stat` holds that scope's rows only.
    """
    choices_qs = ConsensusSource.objects.filter(cycle=cycle)
    if family is not None:
        choices_qs = choices_qs.filter(family=family)
    choices = pd.DataFrame(
        list(choices_qs.values_list("level", "family", "product_id", "weights")),
        columns=streams.CHOICE_COLUMNS,
    )
    if choices.empty:
        return stat["statistical"].to_numpy(float)
    figures = {
        code: streams.stream_series(stat, entries)[0]
        for code, entries in _entries(cycle=cycle, family=family, month=month).items()
    }
    return streams.consensus_base(stat, figures, choices)


def stream_plan_freeze(*, cycle: Cycle) -> int:
    """Keep every stream's figures per series in the frozen plan, where it had entries.

    The split follows the consensus' statistical column, as the consensus did.
    """
    stat = pd.DataFrame(
        list(
            ConsensusDemand.objects.filter(cycle=cycle).values_list(
                "product_id", "location_id", "product__family", "month", "statistical"
            )
        ),
        columns=consensus.STAT_COLUMNS,
    )
    codes = dict(InputStream.objects.values_list("code", "pk"))
    rows = []
    for code, entries in _entries(cycle=cycle, family=None, month=None).items():
        values, covered = streams.stream_series(stat, entries)
        part = stat.loc[covered, ["product", "location", "month"]].assign(
            stream=codes[code], value=values[covered]
        )
        rows.append(part)
    with transaction.atomic():
        StreamPlanSnapshot.objects.filter(cycle=cycle).delete()
        if not rows:
            return 0
        frame = pd.concat(rows)
        bulk_insert(
            StreamPlanSnapshot,
            ["cycle_id", "stream_id", "product_id", "location_id", "month", "value"],
            zip(
                [cycle.pk] * len(frame),
                frame["stream"].tolist(),
                frame["product"].tolist(),
                frame["location"].tolist(),
                frame["month"].tolist(),
                frame["value"].tolist(),
                strict=True,
            ),
        )
    return len(frame)


def streams_carry_over(*, cycle: Cycle) -> int:
    """Copy the previous cycle's stream figures that lie in this cycle's horizon, and the
    planner's consensus sources, into a review that starts.

    Sales and marketing then revise last month's input instead of typing it again, and the
    planner's standing choice of source holds until changed; each copy keeps its author and
    says where it came from. A figure or choice already in the cycle is kept. The consensus
    is rebuilt when the cycle has a published forecast. Returns how many rows were copied.
    """
    previous = cycle_previous(cycle=cycle)
    if previous is None:
        return 0
    came = f"From {previous.month:%b %Y}"
    last_month = cycle.horizon[-1]
    entry_key = ("stream_id", "level", "family", "product_id", "location_id", "month")
    taken = set(StreamEntry.objects.filter(cycle=cycle).values_list(*entry_key))
    entries = [
        StreamEntry(
            cycle=cycle,
            **{name: getattr(e, name) for name in (*entry_key, "kind", "value", "author_id")},
            comment=f"{came}: {e.comment}",
        )
        for e in StreamEntry.objects.filter(
            cycle=previous, month__gte=cycle.month, month__lte=last_month, stream__active=True
        )
        if tuple(getattr(e, name) for name in entry_key) not in taken
    ]
    source_key = ("level", "family", "product_id")
    chosen = set(ConsensusSource.objects.filter(cycle=cycle).values_list(*source_key))
    sources = [
        ConsensusSource(
            cycle=cycle,
            **{name: getattr(s, name) for name in (*source_key, "weights", "reason", "author_id")},
            comment=f"{came}: {s.comment}",
        )
        for s in ConsensusSource.objects.filter(cycle=previous)
        if tuple(getattr(s, name) for name in source_key) not in chosen
    ]
    StreamEntry.objects.bulk_create(entries)
    ConsensusSource.objects.bulk_create(sources)
    if sources or entries:
        audit_record(
            user=None,
            action="demand.streams_carry_over",
            object_type=SOURCE_OBJECT_TYPE,
            object_id=str(cycle.pk),
            cycle=cycle,
            new={"stream_figures": len(entries), "consensus_sources": len(sources)},
            reason=f"{came}: carried into the review",
        )
        if ForecastRun.objects.filter(cycle=cycle, is_published=True).exists():
            _rebuild(cycle, family=None, month=None)
    return len(entries) + len(sources)
