"""The supply review's Excel round-trip: export the plan, edit planned supply, upload it."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from sop.choices import Role, Stage
from sop.models import Cycle
from supply.models import InventoryProjection, PlannedSupplyEdit
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db

# Rows of the plan workbook: per SKU-location (BIKE, LAMP, TEA @ DC) consensus demand,
# planned supply, projected on hand; A SKU, B location, C name, D row, E-G the three
# months, H reason, I comment.
BIKE_NOV, LAMP_NOV, TEA_DEC = "E4", "E7", "F10"


@pytest.fixture(autouse=True)
def wide_sanity_limit(settings):
    """The workbooks' figures are round numbers, not the test SKUs' sales: 1000x history."""
    settings.SOP_SANITY_FACTOR = 1000


@pytest.fixture
def planner_client(client, supply_planner):
    client.force_login(supply_planner)
    return client


def download(client, cycle, query="") -> bytes:
    response = client.get(f"/supply/workbook.xlsx?cycle={cycle.pk}{query}")
    assert response.status_code == 200
    return response.content


def edited(data: bytes, cells: dict[str, object]) -> bytes:
    book = load_workbook(io.BytesIO(data))
    ws = book["Planned supply"]
    for ref, value in cells.items():
        ws[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def why(row: int) -> dict[str, str]:
    return {f"H{row}": "Production campaign", f"I{row}": "Campaign in week 1"}


def upload(client, cycle, data: bytes):
    return client.post(
        f"/supply/cycles/{cycle.pk}/workbook/preview/", {"workbook": io.BytesIO(data)}
    )


def apply(client, cycle, preview):
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode()).group(1)
    return client.post(f"/supply/cycles/{cycle.pk}/workbook/apply/", {"token": token})


def test_the_workbook_holds_the_hand_computed_plan_with_planned_supply_editable(
    planner_client, published
):
    ws = load_workbook(io.BytesIO(download(planner_client, published.cycle)))["Planned supply"]
    assert [ws[f"{c}2"].value for c in "ABCDEFGHI"] == [
        "SKU", "Location", "Name", "Row", *(m.isoformat() for m in MONTHS), "Reason", "Comment",
    ]  # fmt: skip
    assert [ws[f"D{r}"].value for r in (3, 4, 5)] == [
        "Consensus demand", "Planned supply", "Projected on hand",
    ]  # fmt: skip
    assert [ws[f"{c}3"].value for c in "EFG"] == [60, 60, 60]  # BIKE's demand
    # BIKE pre-builds 10 of December and 10 of January into November (the line's 100 h).
    assert [ws[f"{c}4"].value for c in "EFG"] == [50, 50, 50]
    assert [ws[f"{c}7"].value for c in "EFG"] == [50, 50, 50]  # LAMP
    assert ws[BIKE_NOV].protection.locked is False and ws["E3"].protection.locked is True
    assert ws.freeze_panes == "E3"


def test_a_clean_change_fixes_planned_supply_and_recomputes_the_plan(
    planner_client, published, django_capture_on_commit_callbacks
):
    cycle = published.cycle
    preview = upload(
        planner_client, cycle, edited(download(planner_client, cycle), {LAMP_NOV: 40, **why(7)})
    )
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "<strong>E7</strong>" in page and "LAMP" in page and ">50<" in page and ">40<" in page
    assert not PlannedSupplyEdit.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the recompute runs after commit
        assert apply(planner_client, cycle, preview).status_code == 302
    edit = PlannedSupplyEdit.objects.get()
    assert (edit.product.sku, edit.month, edit.quantity, edit.reason) == (
        "LAMP",
        MONTHS[0],
        40,
        "campaign",
    )
    lamp = InventoryProjection.objects.get(run=published, product__sku="LAMP", month=MONTHS[0])
    # 40 made against 50 wanted, from no stock: 10 short in November.
    assert (lamp.planned, lamp.firm, lamp.unmet) == (40, True, 10)


def test_a_stale_planned_supply_cell_is_a_conflict_and_nothing_is_saved(
    planner_client, published, company, supply_planner
):
    from supply import services

    cycle = published.cycle
    data = edited(download(planner_client, cycle), {LAMP_NOV: 40, **why(7), TEA_DEC: 30, **why(10)})
    services.planned_supply_save(
        cycle=cycle, user=supply_planner, product=company["LAMP"], location=company["dc"],
        month=MONTHS[0], quantity=45,
        reason="capacity", comment="Line down", expected_version=None,
    )  # fmt: skip
    preview = upload(planner_client, cycle, data)
    assert preview.status_code == 400
    page = preview.content.decode()
    assert "Conflict:" in page and "it is now 45" in page
    assert list(PlannedSupplyEdit.objects.values_list("product__sku", "quantity")) == [("LAMP", 45)]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({LAMP_NOV: 40, "I7": "Campaign"}, "Choose a reason."),
        ({LAMP_NOV: -5, **why(7)}, "Planned supply cannot be negative."),
        ({LAMP_NOV: "=E6", **why(7)}, "=E6 is a formula"),
        ({"A7": "GHOST", LAMP_NOV: 40, **why(7)}, "Unknown SKU &#x27;GHOST&#x27;."),
    ],
    ids=["no-reason", "negative", "formula", "sku"],
)
def test_a_bad_planned_supply_cell_is_refused(planner_client, published, cells, message):
    cycle = published.cycle
    preview = upload(planner_client, cycle, edited(download(planner_client, cycle), cells))
    assert preview.status_code == 400
    assert message in preview.content.decode()
    assert not PlannedSupplyEdit.objects.exists()


def test_only_a_supply_planner_in_supply_review_uploads(client_for, planner_client, published):
    cycle = published.cycle
    data = edited(download(planner_client, cycle), {LAMP_NOV: 40, **why(7)})
    assert upload(client_for(Role.EXECUTIVE), cycle, data).status_code == 403
    assert upload(client_for(Role.DEMAND_PLANNER), cycle, data).status_code == 403
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.RECONCILIATION)
    response = upload(planner_client, cycle, data)
    assert response.status_code == 400 and "nothing was read" in response.content.decode()
    assert not PlannedSupplyEdit.objects.exists()


def test_the_demand_workbook_is_refused_on_the_supply_page(planner_client, published, client_for):
    cycle = published.cycle
    demand = client_for(Role.DEMAND_PLANNER).get(
        f"/demand/workbook.xlsx?cycle={cycle.pk}&family=Bikes"
    )
    page = upload(planner_client, cycle, demand.content).content.decode()
    assert "This is not a planned supply workbook" in page
