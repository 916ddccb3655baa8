"""The events calendar imported as an extract: all or nothing, errors on the row and column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from sop import imports
from sop import services as sop_services
from sop.choices import JobStatus, Role
from sop.models import AuditEvent, Event, SalesHistory
from tests.factories import LocationFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "without_data_checks")]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = (
    "event_code,name,kind,scope,family,sku,locations,start_month,end_month,"
    "effect_kind,effect_value,dip_months,dip_percent,status,owner,note\n"
)
GOOD = (
    "P1,Spring bikes,promotion,family,Bikes,,NORTH|SOUTH,2027-03,2027-04,percent,30,1,-20,"
    "confirmed,marketing,\n"
)


@pytest.fixture
def company(make_user):
    """Bikes sold at NORTH since Jan 2025; the Jan 2027 cycle plans 6 months (to Jun 2027)."""
    bike = ProductFactory(sku="BIKE", family="Bikes")
    north = LocationFactory(code="NORTH")
    LocationFactory(code="SOUTH")
    SalesHistory.objects.create(product=bike, location=north, month=dt.date(2025, 1, 1), quantity=5)
    sop_services.cycle_open(month=dt.date(2027, 1, 1), horizon_months=6)
    return {"bike": bike, "marketing": make_user(Role.MARKETING)}


def run(tmp_path: Path, content: str):
    path = tmp_path / "events.csv"
    path.write_text(content)
    return imports.import_file(entity="events", path=path)


def reasons(job) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in job.errors]


def test_an_events_file_loads_with_its_locations_owner_and_dip(tmp_path, company):
    job = run(tmp_path, HEADER + GOOD)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert (job.rows_inserted, job.rows_updated) == (1, 0)
    event = Event.objects.get(code="P1")
    assert [loc.code for loc in event.locations.order_by("code")] == ["NORTH", "SOUTH"]
    assert event.owner == company["marketing"]
    assert (event.effect_value, event.dip_months, event.dip_percent) == (
        Decimal("30"),
        1,
        Decimal("-20"),
    )
    assert (event.start_month, event.end_month) == (dt.date(2027, 3, 1), dt.date(2027, 4, 1))


def test_reloading_with_other_locations_updates_the_event_and_bumps_its_version(tmp_path, company):
    run(tmp_path, HEADER + GOOD)
    job = run(tmp_path, HEADER + GOOD.replace("NORTH|SOUTH", "SOUTH"))
    assert (job.rows_inserted, job.rows_updated, job.rows_unchanged) == (0, 1, 0)
    event = Event.objects.get(code="P1")
    assert [loc.code for loc in event.locations.all()] == ["SOUTH"]
    assert event.version == 2
    load = AuditEvent.objects.filter(action="import.load").first()
    assert load.old["P1 locations"] == "NORTH|SOUTH" and load.new["P1 locations"] == "SOUTH"
    again = run(tmp_path, HEADER + GOOD.replace("NORTH|SOUTH", "SOUTH"))
    assert (again.rows_updated, again.rows_unchanged) == (0, 1)


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (
            "P2,Gone,promotion,product,,NOPE,,2027-03,2027-03,percent,10,0,0,,,\n",
            "sku",
            "unknown SKU",
        ),
        (
            "P2,Boats,promotion,family,Boats,,,2027-03,2027-03,percent,10,0,0,,,\n",
            "family",
            "unknown product family",
        ),
        (
            "P2,Too much,promotion,all,,,,2027-03,2027-03,percent,-120,0,0,,,\n",
            "effect_value",
            "An effect of -120.0 % would take away more than all of the demand "
            "(-100 % at the least).",
        ),
        (
            "P2,Late,promotion,all,,,,2027-06,2027-07,percent,10,0,0,,,\n",
            "end_month",
            "Jul 2027 is after the last month of the latest cycle's horizon (Jun 2027).",
        ),
        (
            "P2,Early,promotion,all,,,,2024-12,2025-01,percent,10,0,0,,,\n",
            "start_month",
            "Dec 2024 is before the first month of sales history (Jan 2025).",
        ),
        (
            "P2,Where,promotion,all,,,NORTH|EAST|WEST,2027-03,2027-03,percent,10,0,0,,,\n",
            "locations",
            "unknown locations in the list: EAST, WEST",
        ),
        (
            "P2,Which,promotion,family,,,,2027-03,2027-03,percent,10,0,0,,,\n",
            "family",
            "A family event names its product family.",
        ),
        (
            "P2,Backwards,promotion,all,,,,2027-04,2027-03,percent,10,0,0,,,\n",
            "end_month",
            "An event cannot end before it starts.",
        ),
        (
            "P2,Nobody,promotion,all,,,,2027-03,2027-03,percent,10,0,0,,ghost,\n",
            "owner",
            "unknown user",
        ),
    ],
)
def test_a_bad_row_loads_nothing_and_is_named_by_row_and_column(
    tmp_path, company, row, column, reason
):
    job = run(tmp_path, HEADER + GOOD + row)
    assert job.status == JobStatus.FAILED
    assert reasons(job) == [(3, column, reason)]
    assert not Event.objects.exists()


def test_the_sample_loads_after_the_master_data_samples(tmp_path, settings):
    for entity in ("suppliers", "products", "locations", "sales_history"):
        job = imports.import_file(entity=entity, path=SAMPLES / f"{entity}.csv")
        assert job.status == JobStatus.SUCCEEDED, (entity, job.errors)
    sop_services.cycle_open(month=dt.date(2026, 11, 1), horizon_months=18)
    job = imports.import_file(entity="events", path=SAMPLES / "events.csv")
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert job.rows_inserted == 3
    promo = Event.objects.get(code="PROMO-2026-11-WID")
    assert sorted(loc.code for loc in promo.locations.all()) == ["DC-SOUTH", "WH-NORTH"]
    assert not Event.objects.get(code="FAIR-2026-10").locations.exists()
