"""The supply review over the REST API: the published supply plan and its replenishment export.

Mounted at /api/v1/supply/ by sop/urls.py. Both read the cycle's published supply run, as
the supply review page does; the export is the page's own (`views.export_response`).
"""

# No `from __future__ import annotations`: django-ninja reads the routes' parameter types
# at import, and a paginated route's wrapper cannot resolve them from strings.

from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from sop.api import Page, PlanQuery, SeriesMonth, answers, one
from sop.choices import AbcClass
from sop.exports import XLSX_TYPE
from sop.models import Cycle
from supply import selectors
from supply.models import SupplyRun
from supply.views import EXPORT_TABLES, export_response

router = Router(tags=["supply"])


class PlanRow(SeriesMonth):
    demand: float = Field(description="Consensus demand")
    receipts: float = Field(description="Scheduled receipts (open orders)")
    planned_unconstrained: float = Field(description="Planned supply before capacity")
    planned: float = Field(description="Planned supply within capacity")
    firm: bool = Field(description="Planned supply fixed by a planner")
    shortage: float = Field(description="Planned production cut for lack of capacity")
    on_hand: float = Field(description="Projected closing stock")
    unmet: float = Field(description="Demand lost to a stockout")
    weeks_of_cover: float
    excess_quantity: float = Field(description="Stock above the maximum cover")


class ExportQuery(Schema):
    table: Literal[EXPORT_TABLES] = Field(
        "targets",
        description="targets: safety stock and order-up-to level per SKU-location (the "
        "replenishment parameters); plan: planned supply per month; capacity, shortages, excess",
    )
    format: Literal["csv", "xlsx"] = "csv"
    family: str = ""
    abc: Literal["", *AbcClass.values] = ""


def _published(cycle_id: int) -> tuple[Cycle, SupplyRun]:
    cycle = one(Cycle, "cycle", pk=cycle_id)
    run = selectors.supply_run_published(cycle=cycle)
    if run is None:
        raise Http404(f"{cycle} has no published supply plan yet: run the supply plan first.")
    return cycle, run


@router.get("/cycles/{cycle_id}/plan", response=answers({200: list[PlanRow]}))
@paginate(Page)
def supply_plan(request: HttpRequest, cycle_id: int, filters: Query[PlanQuery]):
    """The published supply plan per SKU, location and month, sorted that way."""
    _, run = _published(cycle_id)
    return selectors.plan_rows(run=run, filters=filters.filters())


@router.get(
    "/cycles/{cycle_id}/export",
    response=answers({200: None}),
    openapi_extra={
        "responses": {
            200: {
                "description": "The table as a file",
                "content": {"text/csv": {}, XLSX_TYPE: {}},
            }
        }
    },
)
def supply_export(request: HttpRequest, cycle_id: int, options: Query[ExportQuery]):
    """The replenishment export: a table of the published plan as CSV or XLSX, as on the page."""
    cycle, run = _published(cycle_id)
    return export_response(
        cycle=cycle,
        run=run,
        table=options.table,
        filters=selectors.Filters(family=options.family, abc=options.abc),
        fmt=options.format,
    )
