"""The ERP export of an approved plan carries each product's lifecycle; plans approved
before those columns keep their export, and so their checksum, byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from demand.constants import LIKE_MODEL
from demand.models import ForecastRun, SeriesFit
from executive import selectors
from executive.constants import EXPORT_WITH_LIFECYCLE
from executive.models import PlanApproval
from tests.supply.conftest import MONTHS

pytestmark = pytest.mark.django_db

OLD_HEADER = [
    "sku",
    "location",
    "month",
    "kind",
    "planned_quantity",
    "consensus_demand",
    "projected_on_hand",
    "unmet_demand",
]


@pytest.fixture
def lifecycle(in_review, company):
    """BIKE is new, forecast from LAMP's forecast; TEA ends in January."""
    bike, lamp, tea = company["BIKE"], company["LAMP"], company["TEA"]
    bike.like_product = lamp
    bike.save()
    tea.end_of_life_month = MONTHS[2]
    tea.save()
    run = ForecastRun.objects.get(cycle=in_review, is_published=True)
    SeriesFit.objects.create(
        run=run, product=bike, location=company["dc"], model=LIKE_MODEL, pattern="smooth"
    )
    return in_review


def _rows(approval) -> list[list[str]]:
    return list(csv.reader(io.StringIO(selectors.plan_csv(approval=approval).decode())))


def test_an_approved_plan_exports_the_lifecycle_of_each_line(lifecycle, approved):
    approval = approved.approval
    assert approval.export_version == EXPORT_WITH_LIFECYCLE
    header, *rows = _rows(approval)
    assert header == [*OLD_HEADER, "lifecycle", "like_sku", "end_of_life_month"]
    by_sku = {(r[0], r[2]): r[8:] for r in rows}
    assert by_sku[("BIKE", "2026-11-01")] == ["new", "LAMP", ""]
    assert by_sku[("TEA", "2027-01-01")] == ["ending", "", "2027-01-01"]
    assert by_sku[("LAMP", "2026-12-01")] == ["", "", ""]
    # The checksum is still that of the export as downloaded.
    body = selectors.plan_csv(approval=approval)
    assert approval.checksum == hashlib.sha256(body).hexdigest()


def test_a_plan_approved_before_the_lifecycle_columns_exports_as_it_did(lifecycle, approved):
    new = approved.approval
    # As every approval stored before migration executive 0005 reads: no export version.
    old = PlanApproval.objects.get(pk=new.pk)
    old.export_version = None
    header, *rows = _rows(old)
    assert header == OLD_HEADER
    assert all(len(r) == 8 for r in rows)
    # The old export is the new one without its last three columns: the same bytes the
    # old code wrote, so the checksum stored with an old plan still verifies.
    assert [r[:8] for r in _rows(new)[1:]] == rows
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(OLD_HEADER)
    writer.writerows(rows)
    assert selectors.plan_csv(approval=old) == text.getvalue().encode()


def test_the_xlsx_export_has_the_lifecycle_columns(lifecycle, approved, client, executive):
    import openpyxl

    client.force_login(executive)
    response = client.get(f"/executive/approved/{approved.approval.pk}/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header = next(r for r in values if r and r[0] == "sku")
    assert list(header[-3:]) == ["lifecycle", "like_sku", "end_of_life_month"]
    bike = next(r for r in values if r and r[0] == "BIKE")
    assert list(bike[-3:])[:2] == ["new", "LAMP"]
