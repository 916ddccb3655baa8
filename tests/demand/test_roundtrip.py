"""The demand review's Excel round-trip: export a family, edit overrides in Excel, upload."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from demand import services
from demand.choices import ReasonCode
from demand.models import ConsensusDemand, DemandOverride
from sop import services as sop_services
from sop.choices import Role, Stage
from sop.models import Product

pytestmark = pytest.mark.django_db

# The Bikes workbook: row 3/4 the family's statistical/override rows, 5/6 BIKE-1's, 7/8
# BIKE-2's; A family, B SKU, C name, D row label, E..V the 18 months, W reason, X comment.
BIKE1_NOV, BIKE1_DEC, BIKE2_NOV = "E6", "F6", "E8"


@pytest.fixture(autouse=True)
def wide_sanity_limit(settings):
    """The workbooks' figures are round numbers, not the test SKUs' sales: 1000x history."""
    settings.SOP_SANITY_FACTOR = 1000


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


def download(client, cycle, family="Bikes") -> bytes:
    response = client.get(f"/demand/workbook.xlsx?cycle={cycle.pk}&family={family}")
    assert response.status_code == 200
    return response.content


def edited(data: bytes, cells: dict[str, object], *, sheet="Demand overrides") -> bytes:
    book = load_workbook(io.BytesIO(data))
    ws = book[sheet]
    for ref, value in cells.items():
        ws[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def why(row: int, reason="Promotion", comment="Trade fair") -> dict[str, object]:
    return {f"W{row}": reason, f"X{row}": comment}


def upload(client, cycle, data: bytes):
    return client.post(
        f"/demand/cycles/{cycle.pk}/workbook/preview/",
        {"workbook": io.BytesIO(data)},
    )


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the preview offers no apply button"
    return match.group(1)


def apply(client, cycle, token: str):
    return client.post(f"/demand/cycles/{cycle.pk}/workbook/apply/", {"token": token})


def test_the_workbook_lays_out_the_family_with_only_override_cells_editable(
    planner_client, published, planner
):
    cycle = published.cycle
    services.override_save(
        cycle=cycle, user=planner, month=cycle.month, value=Decimal("1234.4"),
        product=Product.objects.get(sku="BIKE-1"),
        reason=ReasonCode.PROMOTION, comment="Fair", expected_version=None,
    )  # fmt: skip
    services.override_save(
        cycle=cycle, user=planner, month=sop_services.add_months(cycle.month, 1),
        value=Decimal("10"), kind="percent", family="Bikes",
        reason=ReasonCode.PROMOTION, comment="Fair", expected_version=None,
    )  # fmt: skip
    book = load_workbook(io.BytesIO(download(planner_client, cycle)))
    ws = book["Demand overrides"]
    assert book["roundtrip"].sheet_state == "veryHidden"
    assert ws.freeze_panes == "E3"
    assert ws.protection.sheet is True
    assert "quantities in units" in ws["C1"].value
    assert [ws[f"{c}2"].value for c in "ABCDE"] == ["Family", "SKU", "Name", "Row", "2026-11-01"]
    assert (ws["V2"].value, ws["W2"].value, ws["X2"].value) == ("2028-04-01", "Reason", "Comment")
    assert [ws[f"D{r}"].value for r in range(3, 9)] == ["Statistical forecast", "Override"] * 3
    assert [ws[f"B{r}"].value for r in (4, 6, 8)] == [None, "BIKE-1", "BIKE-2"]
    # 1234.4 units exported whole; the family's +10% in December as typed.
    assert ws[BIKE1_NOV].value == 1234
    assert ws["F4"].value == "+10%"
    assert ws[BIKE1_NOV].protection.locked is False
    assert ws["W6"].protection.locked is False
    assert ws["E5"].protection.locked is True  # the statistical forecast
    assert ws["B6"].protection.locked is True  # the key
    assert ws[BIKE1_NOV].fill.fgColor.rgb.endswith("FFF2CC")


def test_an_executive_downloads_the_workbook_but_cannot_upload(client_for, published):
    cycle = published.cycle
    executive = client_for(Role.EXECUTIVE)
    data = download(executive, cycle)
    response = upload(executive, cycle, edited(data, {BIKE1_NOV: 900, **why(6)}))
    assert response.status_code == 403
    assert not DemandOverride.objects.exists()


def test_a_clean_change_is_previewed_without_saving_then_applied(planner_client, published):
    cycle = published.cycle
    data = edited(download(planner_client, cycle), {BIKE1_NOV: 1200, **why(6)})
    preview = upload(planner_client, cycle, data)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "1 changed cell" in page and "<strong>E6</strong>" in page
    assert "Nov 2026" in page and "BIKE-1" in page and ">1200<" in page
    assert not DemandOverride.objects.exists()  # a preview writes nothing

    response = apply(planner_client, cycle, token_of(preview))
    assert response.status_code == 302
    override = DemandOverride.objects.get()
    assert (override.product.sku, override.month, override.value) == ("BIKE-1", cycle.month, 1200)
    assert override.reason == ReasonCode.PROMOTION and override.comment == "Trade fair"
    # The SKU's consensus over its two locations is the override: 1200.
    total = ConsensusDemand.objects.filter(
        cycle=cycle, product__sku="BIKE-1", month=cycle.month
    ).aggregate(t=Sum("value"))["t"]
    assert round(total) == 1200


def test_a_cleared_cell_removes_the_override_and_a_percent_typed_in_excel_is_a_change(
    planner_client, published, planner
):
    cycle = published.cycle
    bike1 = Product.objects.get(sku="BIKE-1")
    services.override_save(
        cycle=cycle, user=planner, month=cycle.month, value=Decimal("800"), product=bike1,
        reason=ReasonCode.PROMOTION, comment="Fair", expected_version=None,
    )  # fmt: skip
    book = load_workbook(io.BytesIO(download(planner_client, cycle)))
    ws = book["Demand overrides"]
    ws[BIKE1_NOV] = None
    ws[BIKE1_DEC] = 0.1
    ws[BIKE1_DEC].number_format = "0%"  # Excel stores a typed 10% so
    for ref, value in why(6).items():
        ws[ref] = value
    out = io.BytesIO()
    book.save(out)
    preview = upload(planner_client, cycle, out.getvalue())
    assert preview.status_code == 200, preview.content.decode()
    assert apply(planner_client, cycle, token_of(preview)).status_code == 302
    override = DemandOverride.objects.get()
    assert (override.month, override.kind, override.value) == (
        sop_services.add_months(cycle.month, 1),
        "percent",
        10,
    )


def test_a_cell_changed_by_someone_else_since_the_export_is_a_conflict(
    planner_client, published, make_user
):
    cycle = published.cycle
    data = edited(download(planner_client, cycle), {BIKE1_NOV: 1200, **why(6)})
    sam = make_user(Role.DEMAND_PLANNER, username="sam", first_name="Sam")
    services.override_save(
        cycle=cycle, user=sam, month=cycle.month, value=Decimal("700"),
        product=Product.objects.get(sku="BIKE-1"),
        reason=ReasonCode.NEW_CUSTOMER, comment="Big order", expected_version=None,
    )  # fmt: skip
    preview = upload(planner_client, cycle, data)
    assert preview.status_code == 400
    page = preview.content.decode()
    assert "Conflict:" in page and "changed by Sam" in page and "it is now 700" in page
    assert 'name="token"' not in page
    assert DemandOverride.objects.get().value == 700  # Sam's value stays


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({BIKE1_NOV: 1200, "X6": "Trade fair"}, "Choose a reason code."),
        ({BIKE1_NOV: 1200, "W6": "Promotion"}, "Write a comment saying why."),
        ({BIKE1_NOV: "lots", **why(6)}, "&#x27;lots&#x27; is neither a quantity"),
        ({BIKE1_NOV: -5, **why(6)}, "A signed number reads as a change"),
        ({BIKE1_NOV: "=E5*2", **why(6)}, "=E5*2 is a formula: type the value instead."),
        ({BIKE1_NOV: "#DIV/0!", **why(6)}, "#DIV/0! is an error, not a number."),
        ({"B6": "NOPE-9", BIKE1_NOV: 5, **why(6)}, "Unknown SKU &#x27;NOPE-9&#x27;."),
        ({"V2": "2031-05-01", "V6": 5, **why(6)}, "May 2031 is outside the cycle"),
    ],
    ids=["no-reason", "no-comment", "text", "signed", "formula", "error", "sku", "month"],
)
def test_a_bad_cell_is_refused_with_its_reference(planner_client, published, cells, message):
    cycle = published.cycle
    preview = upload(planner_client, cycle, edited(download(planner_client, cycle), cells))
    assert preview.status_code == 400
    page = preview.content.decode()
    assert message in page
    assert 'name="token"' not in page
    assert not DemandOverride.objects.exists()


def test_one_bad_cell_loads_nothing_even_when_it_turns_bad_after_the_preview(
    planner_client, published, make_user
):
    cycle = published.cycle
    good_and_bad = {BIKE1_NOV: 1200, **why(6), BIKE2_NOV: "n/a", **why(8)}
    preview = upload(planner_client, cycle, edited(download(planner_client, cycle), good_and_bad))
    page = preview.content.decode()
    assert "1 of 2 changed cells cannot be saved" in page and "OK" in page
    assert 'name="token"' not in page

    both_good = {BIKE1_NOV: 1200, **why(6), BIKE2_NOV: 300, **why(8)}
    preview = upload(planner_client, cycle, edited(download(planner_client, cycle), both_good))
    token = token_of(preview)
    sam = make_user(Role.DEMAND_PLANNER, username="sam", first_name="Sam")
    services.override_save(
        cycle=cycle, user=sam, month=cycle.month, value=Decimal("250"),
        product=Product.objects.get(sku="BIKE-2"),
        reason=ReasonCode.NEW_CUSTOMER, comment="Big order", expected_version=None,
    )  # fmt: skip
    response = apply(planner_client, cycle, token)
    assert response.status_code == 409
    assert "Nothing was saved" in response.content.decode()
    # BIKE-1's good cell was rolled back with the conflicting one.
    assert list(DemandOverride.objects.values_list("product__sku", "value")) == [("BIKE-2", 250)]


def test_a_workbook_of_another_grid_or_cycle_is_refused_whole(planner_client, published):
    cycle = published.cycle
    book = load_workbook(io.BytesIO(download(planner_client, cycle)))
    book["Demand overrides"].title = "Planned supply"
    out = io.BytesIO()
    book.save(out)
    page = upload(planner_client, cycle, out.getvalue()).content.decode()
    assert "This is not a demand overrides workbook" in page
    book["Planned supply"].title = "Demand overrides"
    book["roundtrip"]["B1"] = "supply"
    out = io.BytesIO()
    book.save(out)
    page = upload(planner_client, cycle, out.getvalue()).content.decode()
    assert "This workbook is the supply grid&#x27;s" in page
    page = upload(planner_client, cycle, b"not a workbook").content.decode()
    assert "This file is not an XLSX workbook." in page


def test_an_upload_while_the_demand_review_is_closed_is_refused(planner_client, published, planner):
    cycle = published.cycle
    data = edited(download(planner_client, cycle), {BIKE1_NOV: 1200, **why(6)})
    sop_services.cycle_advance(cycle=cycle, target=Stage.SUPPLY_REVIEW, user=planner)
    response = upload(planner_client, cycle, data)
    assert response.status_code == 400
    assert "nothing was read" in response.content.decode()
    assert not DemandOverride.objects.exists()


def test_an_unchanged_workbook_changes_nothing(planner_client, published):
    cycle = published.cycle
    preview = upload(planner_client, cycle, download(planner_client, cycle))
    assert preview.status_code == 200
    assert "The workbook changes nothing" in preview.content.decode()


def test_a_value_far_outside_history_is_applied_only_when_confirmed(planner_client, published):
    cycle = published.cycle
    # BIKE-1 sells a few hundred a month: 5,000,000 is more than ten times its peak.
    data = edited(download(planner_client, cycle), {BIKE1_NOV: 5_000_000, **why(6)})
    preview = upload(planner_client, cycle, data)
    page = preview.content.decode()
    assert preview.status_code == 400
    assert "To confirm:" in page and "confirming 1 value outside history" in page
    assert 'name="confirmed" value="1"' in page
    token = token_of(preview)

    # The same changes posted without the confirmation save nothing.
    refused = apply(planner_client, cycle, token)
    assert refused.status_code == 400
    assert not DemandOverride.objects.exists()

    response = planner_client.post(
        f"/demand/cycles/{cycle.pk}/workbook/apply/", {"token": token, "confirmed": "1"}
    )
    assert response.status_code == 302
    override = DemandOverride.objects.get()
    assert (override.value, override.outside_history) == (5_000_000, True)
