"""Approved plans over the REST API: the approval and its checksum, the lines, the ERP file.

Mounted at /api/v1/executive/ by sop/urls.py. A plan is read from its frozen copy; the
export is the page's own download (`views.approved_csv`), whose SHA-256 is the checksum
recorded when the plan was approved.
"""

# No `from __future__ import annotations`: django-ninja reads the routes' parameter types
# at import, and a paginated route's wrapper cannot resolve them from strings.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from executive import selectors
from executive.models import PlanApproval
from executive.views import approved_csv
from sop.api import Page, PlanQuery, SeriesMonth, answers, one

router = Router(tags=["approved plans"])


class ApprovalOut(Schema):
    cycle_id: int
    month: dt.date
    approved_by: str
    approved_at: dt.datetime
    comment: str
    scenario: str = Field(description="The scenario approved")
    checksum: str = Field(
        description="SHA-256 of the plan's CSV export, taken when it was approved"
    )
    line_count: int

    @staticmethod
    def resolve_month(approval: PlanApproval) -> dt.date:
        return approval.cycle.month

    @staticmethod
    def resolve_approved_by(approval: PlanApproval) -> str:
        return approval.approved_by_name

    @staticmethod
    def resolve_scenario(approval: PlanApproval) -> str:
        return approval.scenario_name


class ApprovalDetail(ApprovalOut):
    kpis: dict[str, Any] = Field(description="The approved scenario's headline figures")


class PlanLine(SeriesMonth):
    make_or_buy: str
    planned: float = Field(description="Planned production (make) or purchase (buy)")
    consensus: float = Field(description="Consensus demand")
    demand: float = Field(description="The scenario's demand: consensus and its changes")
    on_hand: float = Field(description="Projected closing stock")
    unmet: float = Field(description="Demand lost to a stockout")


def _approval(cycle_id: int) -> PlanApproval:
    return one(selectors.approvals(), "approved plan of cycle", cycle_id=cycle_id)


@router.get("/approved", response=answers({200: list[ApprovalOut]}))
@paginate(Page)
def approved_plans(request: HttpRequest):
    """Every approved plan with its checksum, newest month first."""
    return selectors.approvals()


@router.get("/cycles/{cycle_id}/approved-plan", response=answers({200: ApprovalDetail}))
def approved_plan(request: HttpRequest, cycle_id: int):
    """A cycle's approved plan: who approved what and when, its checksum and figures."""
    return _approval(cycle_id)


@router.get("/cycles/{cycle_id}/approved-plan/lines", response=answers({200: list[PlanLine]}))
@paginate(Page)
def approved_plan_lines(request: HttpRequest, cycle_id: int, filters: Query[PlanQuery]):
    """The approved plan per SKU, location and month, in the ERP file's order."""
    return selectors.plan_lines(approval=_approval(cycle_id), filters=filters.filters())


@router.get(
    "/cycles/{cycle_id}/approved-plan/export.csv",
    response=answers({200: None}),
    openapi_extra={"responses": {200: {"description": "The CSV", "content": {"text/csv": {}}}}},
)
def approved_plan_export(request: HttpRequest, cycle_id: int):
    """The approved plan for the ERP as CSV; its SHA-256 is the approval's checksum (header
    X-Checksum-SHA256)."""
    return approved_csv(_approval(cycle_id))
