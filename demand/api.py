"""The demand review over the REST API: the consensus demand, and overrides with their lock.

Mounted at /api/v1/demand/ by sop/urls.py. An override is saved by the service the grid
uses (`services.override_save`): the same role check, stage rule, horizon, reason and
optimistic lock, so a save naming a version someone else has moved past gets 409 and the
override as it is now.
"""

# No `from __future__ import annotations`: django-ninja reads the routes' parameter types
# at import, and a paginated route's wrapper cannot resolve them from strings.

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from demand import selectors, services
from demand.choices import OverrideKind, ReasonCode
from demand.models import DemandOverride
from sop.api import Month, Page, PlanQuery, SeriesMonth, answers, api_user, one
from sop.locking import EditConflict
from sop.models import Cycle, Location, Product

router = Router(tags=["demand"])


class ConsensusRow(SeriesMonth):
    statistical: float = Field(description="The published statistical forecast")
    events: float = Field(description="What confirmed planned events add (negative: remove)")
    override_delta: float = Field(description="What the overrides add (negative: remove)")
    consensus: float = Field(description="The consensus demand: statistical + events + overrides")


class OverrideOut(Schema):
    id: int
    level: str
    family: str
    sku: str | None
    location: str | None
    month: dt.date
    kind: str
    value: float
    reason: str
    comment: str
    author: str | None
    version: int = Field(description="Name it as `version` to change or clear this override")
    updated_at: dt.datetime

    @staticmethod
    def resolve_sku(override: DemandOverride) -> str | None:
        return override.product.sku if override.product_id else None

    @staticmethod
    def resolve_location(override: DemandOverride) -> str | None:
        return override.location.code if override.location_id else None

    @staticmethod
    def resolve_author(override: DemandOverride) -> str | None:
        return override.author.get_username() if override.author_id else None


class OverrideIn(Schema):
    family: str = Field("", description="A family override: the family (leave sku empty)")
    sku: str = Field("", description="A SKU override: the SKU (its family is implied)")
    location: str = Field("", description="With a SKU: one location's override")
    month: Month
    value: Decimal | None = Field(
        description="The quantity, or with kind=percent the change in %; null clears",
        max_digits=14,
        decimal_places=3,
    )
    kind: str = Field(OverrideKind.ABSOLUTE, description="absolute or percent")
    reason: str = Field(description="One of " + ", ".join(ReasonCode.values))
    comment: str = Field(description="Why: it goes into the audit trail")
    version: int | None = Field(
        description="The version of the override you saw; null when there was none"
    )


class Conflict(Schema):
    detail: str
    current: OverrideOut | None = Field(description="The override as it is now (null: none)")


def _known(model, what: str, **lookup: str):
    """The row a body names by code; a 400 (not a 404: the URL is right) when none."""
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise ValidationError(f"No {what} {next(iter(lookup.values()))!r}.")
    return found


@router.get("/cycles/{cycle_id}/consensus", response=answers({200: list[ConsensusRow]}))
@paginate(Page)
def demand_consensus(request: HttpRequest, cycle_id: int, filters: Query[PlanQuery]):
    """The consensus demand per SKU, location and month, sorted that way."""
    cycle = one(Cycle, "cycle", pk=cycle_id)
    return selectors.consensus_rows(cycle=cycle, filters=filters.filters())


@router.get("/cycles/{cycle_id}/overrides", response=answers({200: list[OverrideOut]}))
@paginate(Page)
def demand_overrides(request: HttpRequest, cycle_id: int, filters: Query[PlanQuery]):
    """The cycle's overrides, each with the version a change must name."""
    cycle = one(Cycle, "cycle", pk=cycle_id)
    return selectors.override_rows(cycle=cycle, filters=filters.filters())


@router.put(
    "/cycles/{cycle_id}/overrides",
    response=answers({200: OverrideOut, 204: None}, 400) | {409: Conflict},
)
def override_save(request: HttpRequest, cycle_id: int, change: OverrideIn):
    """Set or (value null) clear the override of a family, SKU or SKU at a location."""
    cycle = one(Cycle, "cycle", pk=cycle_id)
    product = _known(Product, "SKU", sku=change.sku) if change.sku else None
    location = _known(Location, "location", code=change.location) if change.location else None
    try:
        saved = services.override_save(
            cycle=cycle,
            user=api_user(request),
            month=change.month,
            value=change.value,
            kind=change.kind,
            reason=change.reason,
            comment=change.comment,
            family=change.family,
            product=product,
            location=location,
            expected_version=change.version,
        )
    except EditConflict as conflict:
        return Status(409, {"detail": str(conflict), "current": conflict.current})
    if saved is None:
        return Status(204, None)
    return saved
