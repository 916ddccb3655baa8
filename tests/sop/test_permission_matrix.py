"""Every URL, every role (and anonymous), GET and POST: the status each gets, as designed.

The matrix is keyed by URL name and must cover every URL the resolver knows (Django's admin
and static files aside): a new URL fails `test_every_url_is_in_the_matrix` until its row is
added here. The statuses are those of a request the page itself would send (a valid form
for a write), so a 403 means the role is refused, not that the form was incomplete.

The REST API's routes have a matrix of their own (`API_MATRIX`), checked against the
OpenAPI schema: each route's method, called with a read-write token of each role
(anonymous: no token), and again with a read-only token, which reads what its role reads
and writes nothing.

One dataset (a small company, its cycle with forecast, supply plan and scenarios, last
month's approved cycle, an import, a notification) is built once for the module inside a
transaction that is rolled back at the end; each test runs in a savepoint of its own, so a
write in one test is gone before the next.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from demand.models import ConsensusDemand, ForecastRun
from executive.models import PlanApproval
from reconciliation import services as reconciliation_services
from reconciliation.models import Risk, Scenario, ScenarioRun
from sop import services as sop_services
from sop.api import api
from sop.choices import JobStatus, Role, Stage, TokenScope
from sop.extract_reader import ReadOptions
from sop.models import (
    ApiToken,
    Capacity,
    Cycle,
    Event,
    ImportJob,
    ImportProfile,
    ImportSource,
    ImportUpload,
    InventorySnapshot,
    Location,
    Notification,
    Product,
    Resource,
    Routing,
    SalesHistory,
)
from supply.models import SupplyRun
from tests.factories import LocationFactory, ProductFactory, ResourceFactory, UserFactory

ANONYMOUS = "anonymous"
ROLE_USERS = {
    "admin": Role.ADMIN,
    "demand": Role.DEMAND_PLANNER,
    "supply": Role.SUPPLY_PLANNER,
    "finance": Role.FINANCE,
    "exec": Role.EXECUTIVE,
    "sales": Role.SALES,
    "marketing": Role.MARKETING,
}
SIGNED_IN = tuple(ROLE_USERS)
ROLES = (ANONYMOUS, *SIGNED_IN)
METHODS = ("GET", "POST")
# Django's own admin has its permission model; static files are served by whitenoise.
EXCLUDED_NAMESPACES = {"admin"}

CYCLE_MONTH = dt.date(2026, 11, 1)
HORIZON = 3
MONTHS = [sop_services.add_months(CYCLE_MONTH, h) for h in range(HORIZON)]


@dataclass
class Data:
    """The module's dataset: what the URLs' kwargs, queries and forms refer to."""

    users: dict[str, User]
    cycle: Cycle
    products: dict[str, Product]
    dc: Location
    line: Resource
    forecast: ForecastRun
    supply_run: SupplyRun
    import_job: ImportJob
    profile: ImportProfile
    source: ImportSource
    upload: ImportUpload
    base: Scenario
    whatif: Scenario
    scenario_run: ScenarioRun
    notification: Notification
    approval: PlanApproval  # of last month's cycle
    tokens: dict[tuple[str, str], str]  # (role, scope) -> the token's text
    demand_token: ApiToken  # the demand planner's, for the revoke page


def _nothing(data: Data) -> dict:
    return {}


def every(status: int, *, anonymous: int = 302) -> dict[str, int]:
    """Every signed-in role gets `status`; anonymous is sent to sign in."""
    return {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, status)}


def only(status: int, *roles: str, other: int = 403, anonymous: int = 302) -> dict[str, int]:
    """`roles` get `status`, the other signed-in roles `other` (403: refused)."""
    return {ANONYMOUS: anonymous, **{r: status if r in roles else other for r in SIGNED_IN}}


@dataclass(frozen=True)
class Case:
    """How to call one URL and the status each role gets for GET and POST."""

    get: dict[str, int]
    post: dict[str, int]
    kwargs: Callable[[Data], dict] = _nothing
    query: Callable[[Data], dict] = _nothing
    data: Callable[[Data], dict] = _nothing
    # The stage the cycle is moved to before the request: writes are open in one stage only.
    stage: str = Stage.SUPPLY_REVIEW

    def expected(self, method: str, role: str) -> int:
        return (self.get if method == "GET" else self.post)[role]


GET_ONLY = every(405)  # a read refuses POST (anonymous is still sent to sign in first)
POST_ONLY = every(405)  # a write refuses GET


def _cycle(d: Data) -> dict:
    return {"cycle_pk": d.cycle.pk}


def _override(d: Data) -> dict:
    return {
        "family": "Bikes",
        "month": CYCLE_MONTH.isoformat(),
        "value": "75",
        "version": "",
        "reason": "promotion",
        "comment": "Spring promotion",
    }


def _planned(d: Data) -> dict:
    return {
        "product": d.products["BIKE"].pk,
        "location": d.dc.pk,
        "month": MONTHS[1].isoformat(),
        "quantity": "70",
        "version": "",
        "reason": SUPPLY_REASON,
        "comment": "Fixed with the supplier",
    }


def _risk(d: Data) -> Risk:
    risk, _ = Risk.objects.get_or_create(cycle=d.cycle, title="Port strike")
    return risk


def _risk_data(prefix: str = "risk") -> dict:
    fields = {"title": "Port strike", "probability": "20", "impact": "50000", "status": "open"}
    return {f"{prefix}-{k}": v for k, v in fields.items()}


def _capacity(d: Data) -> dict:
    return {
        "resource": d.line.pk,
        "month": MONTHS[1].isoformat(),
        "delta_hours": "20",
        "version": "",
        "reason": CAPACITY_REASON,
        "comment": "Saturday shift",
    }


def _reasons() -> tuple[str, str]:
    from supply.choices import CapacityReason, SupplyReason

    return SupplyReason.values[0], CapacityReason.values[0]


SUPPLY_REASON, CAPACITY_REASON = _reasons()
# Finance and supply planners build the what-ifs together.
SCENARIO_ROLES = ("supply", "finance")


def _whatif(d: Data) -> dict:
    return {"pk": d.whatif.pk}


def _version(d: Data) -> dict:
    """The version the page shows: the scenario as it is now, inside this test."""
    return {"version": Scenario.objects.get(pk=d.whatif.pk).version}


def _profile_form(**fields) -> dict:
    """A valid profile form: the documented format but for the fields given."""
    return {"header_row": 1, "first_column": "A", "number_format": "1.234,5", **fields}


def _source_form(d: Data, **fields) -> dict:
    """A valid folder source form."""
    return {
        "kind": "folder",
        "entity": "sales_history",
        "profile": d.profile.pk,
        "folder": d.source.folder,
        "file_glob": "*.csv",
        "interval_minutes": 60,
        "enabled": "on",
        **fields,
    }


def _profile_version(d: Data) -> int:
    return ImportProfile.objects.get(pk=d.profile.pk).version


# The events calendar is read by everyone signed in and kept by marketing, demand planners
# and admins.
EVENT_KEEPERS = ("admin", "demand", "marketing")


def _event(d: Data) -> Event:
    event, _ = Event.objects.get_or_create(
        code="PROMO-BIKES",
        defaults=dict(
            name="Bike promotion",
            kind="promotion",
            scope="family",
            family="Bikes",
            start_month=MONTHS[1],
            end_month=MONTHS[1],
            effect_value=30,
        ),
    )
    return event


def _event_form(d: Data, **fields) -> dict:
    return {
        "code": "PROMO-LAMPS",
        "name": "Lamp promotion",
        "kind": "promotion",
        "status": "proposed",
        "scope": "family",
        "family": "Lamps",
        "start_month": MONTHS[1].strftime("%Y-%m"),
        "end_month": MONTHS[2].strftime("%Y-%m"),
        "effect_kind": "percent",
        "effect_value": "25",
        "dip_months": "0",
        "dip_percent": "0",
        **fields,
    }


MATRIX: dict[str, Case] = {
    # --- sign in and out ---------------------------------------------------------------
    "login": Case(
        # The form re-renders with errors for the empty POST, signed in or not.
        get=every(200, anonymous=200),
        post=every(200, anonymous=200),
    ),
    "logout": Case(get=POST_ONLY, post=every(302)),
    # Password change for the signed-in; the empty form re-renders with its errors.
    "password_change": Case(get=every(200), post=every(200)),
    "password_change_done": Case(get=every(200), post=GET_ONLY),
    # Password reset by e-mail needs no sign-in.
    "password_reset": Case(get=every(200, anonymous=200), post=every(200, anonymous=200)),
    "password_reset_done": Case(get=every(200, anonymous=200), post=every(405, anonymous=405)),
    # A link that is not valid says so, to anyone.
    "password_reset_confirm": Case(
        get=every(200, anonymous=200),
        post=every(200, anonymous=200),
        kwargs=lambda d: {"uidb64": "MQ", "token": "not-a-token"},
    ),
    "password_reset_complete": Case(get=every(200, anonymous=200), post=every(405, anonymous=405)),
    # --- cycle home and stage moves -------------------------------------------------------
    "sop:home": Case(get=every(200), post=GET_ONLY),
    "sop:cycle_open": Case(get=POST_ONLY, post=only(302, "admin")),
    "sop:cycle_advance": Case(
        get=POST_ONLY,
        post=only(302, "supply"),
        kwargs=lambda d: {"pk": d.cycle.pk},
        data=lambda d: {"target": Stage.RECONCILIATION, "comment": "Plan is feasible"},
    ),
    # A notification is its recipient's: anyone else is told it does not exist.
    "sop:notification_read": Case(
        get=POST_ONLY,
        post=only(302, "demand", other=404),
        kwargs=lambda d: {"pk": d.notification.pk},
    ),
    "sop:notifications_read_all": Case(get=POST_ONLY, post=every(302)),
    # Executives govern the plan: they read the audit trail as admins do.
    "sop:audit": Case(get=only(200, "admin", "exec"), post=GET_ONLY),
    "sop:audit_export": Case(get=only(200, "admin", "exec"), post=GET_ONLY),
    # Users and sign-in lock-outs are the admins'.
    "sop:users": Case(get=only(200, "admin"), post=GET_ONLY),
    "sop:user_active": Case(
        get=POST_ONLY,
        post=only(302, "admin"),
        kwargs=lambda d: {"pk": d.users["sales"].pk},
        data=lambda d: {"active": "0", "reason": "Left the company"},
    ),
    # A lock-out that has already ended: the admin is told so.
    "sop:lockout_lift": Case(
        get=POST_ONLY,
        post=only(302, "admin"),
        data=lambda d: {"kind": "account", "key": "nobody"},
    ),
    # --- the events calendar --------------------------------------------------------------
    "sop:event_list": Case(get=every(200), post=GET_ONLY),
    "sop:event_create": Case(
        get=only(200, *EVENT_KEEPERS),
        post=only(302, *EVENT_KEEPERS),
        data=lambda d: _event_form(d),
    ),
    "sop:event_edit": Case(
        get=only(200, *EVENT_KEEPERS),
        post=only(302, *EVENT_KEEPERS),
        kwargs=lambda d: {"pk": _event(d).pk},
        data=lambda d: _event_form(d, code="PROMO-BIKES", version=_event(d).version),
    ),
    "sop:event_cancel": Case(
        get=POST_ONLY,
        post=only(302, *EVENT_KEEPERS),
        kwargs=lambda d: {"pk": _event(d).pk},
        data=lambda d: {"version": _event(d).version},
    ),
    "sop:event_delete": Case(
        get=POST_ONLY,
        post=only(302, *EVENT_KEEPERS),
        kwargs=lambda d: {"pk": _event(d).pk},
        data=lambda d: {"version": _event(d).version},
    ),
    # --- API tokens and the API's docs ----------------------------------------------------
    # Everyone signed in keeps tokens of their own; the POST answers with the new token.
    "sop:api_tokens": Case(
        get=every(200), post=every(200), data=lambda d: {"name": "ERP", "scope": "read"}
    ),
    # A token is its user's (admins may revoke anyone's): others are told it does not exist.
    "sop:api_token_revoke": Case(
        get=POST_ONLY,
        post=only(302, "demand", "admin", other=404),
        kwargs=lambda d: {"pk": d.demand_token.pk},
    ),
    "api:openapi-view": Case(get=every(200), post=GET_ONLY),
    "api:openapi-json": Case(get=every(200), post=GET_ONLY),
    # The API's root is a name for its prefix, nothing to show.
    "api:api-root": Case(get=every(404, anonymous=404), post=every(404, anonymous=404)),
    # --- imports (admins only) -----------------------------------------------------------
    "sop:import_list": Case(
        get=only(200, "admin"),
        # An empty upload re-renders the form with its errors.
        post=only(200, "admin"),
    ),
    "sop:import_detail": Case(
        get=only(200, "admin"),
        # The permission decorator runs inside @require_GET: a POST is 405 before the role.
        post=GET_ONLY,
        kwargs=lambda d: {"pk": d.import_job.pk},
    ),
    "sop:import_progress": Case(
        get=only(200, "admin"), post=GET_ONLY, kwargs=lambda d: {"pk": d.import_job.pk}
    ),
    "sop:import_errors_csv": Case(
        get=only(200, "admin"), post=GET_ONLY, kwargs=lambda d: {"pk": d.import_job.pk}
    ),
    "sop:import_sample": Case(
        get=only(200, "admin"), post=GET_ONLY, kwargs=lambda d: {"entity": "products"}
    ),
    "sop:import_upload": Case(
        get=only(200, "admin"), post=GET_ONLY, kwargs=lambda d: {"pk": d.upload.pk}
    ),
    "sop:import_upload_confirm": Case(
        get=POST_ONLY, post=only(302, "admin"), kwargs=lambda d: {"pk": d.upload.pk}
    ),
    "sop:import_upload_cancel": Case(
        get=POST_ONLY, post=only(302, "admin"), kwargs=lambda d: {"pk": d.upload.pk}
    ),
    # Import profiles are the admins' alone: executives and planners neither read nor edit them.
    "sop:import_profile_list": Case(get=only(200, "admin"), post=GET_ONLY),
    "sop:import_profile_create": Case(
        get=only(200, "admin"),
        post=only(302, "admin"),
        data=lambda d: _profile_form(name="Odoo stock", entity="inventory"),
    ),
    "sop:import_profile_edit": Case(
        get=only(200, "admin"),
        post=only(302, "admin"),
        kwargs=lambda d: {"pk": d.profile.pk},
        data=lambda d: _profile_form(
            name="SAP sales", entity="sales_history", version=_profile_version(d)
        ),
    ),
    "sop:import_profile_delete": Case(
        get=POST_ONLY,
        post=only(302, "admin"),
        kwargs=lambda d: {"pk": d.profile.pk},
        data=lambda d: {"version": _profile_version(d)},
    ),
    # Import sources are the admins' too; checking and pulling one is importing.
    "sop:import_source_list": Case(get=only(200, "admin"), post=GET_ONLY),
    "sop:import_source_create": Case(
        get=only(200, "admin"),
        post=only(302, "admin"),
        data=lambda d: _source_form(d, name="ERP outbox"),
    ),
    "sop:import_source_edit": Case(
        get=only(200, "admin"),
        post=only(302, "admin"),
        kwargs=lambda d: {"pk": d.source.pk},
        data=lambda d: _source_form(d, name="SAP drop"),
    ),
    "sop:import_source_check": Case(
        get=POST_ONLY, post=only(200, "admin"), kwargs=lambda d: {"pk": d.source.pk}
    ),
    "sop:import_source_pull": Case(
        get=POST_ONLY, post=only(302, "admin"), kwargs=lambda d: {"pk": d.source.pk}
    ),
    # --- demand review -------------------------------------------------------------------
    "demand:review": Case(get=every(200), post=GET_ONLY, query=lambda d: {"family": "Bikes"}),
    "demand:override_save": Case(
        get=POST_ONLY,
        post=only(200, "demand"),
        kwargs=_cycle,
        data=_override,
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:grid": Case(get=every(200), post=GET_ONLY, query=lambda d: {"family": "Bikes"}),
    "demand:event_lift": Case(get=every(200), post=GET_ONLY),
    "demand:grid_override_save": Case(
        get=POST_ONLY,
        post=only(200, "demand"),
        kwargs=_cycle,
        data=lambda d: {
            **_override(d),
            "sku": d.products["BIKE"].pk,
            "location": d.dc.pk,
        },
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:workbook": Case(
        get=every(200), post=GET_ONLY, query=lambda d: {"cycle": d.cycle.pk, "family": "Bikes"}
    ),
    # An upload with no workbook is refused as such (400) to the planner who may upload.
    "demand:workbook_preview": Case(
        get=POST_ONLY, post=only(400, "demand"), kwargs=_cycle, stage=Stage.DEMAND_REVIEW
    ),
    "demand:workbook_apply": Case(
        get=POST_ONLY, post=only(400, "demand"), kwargs=_cycle, stage=Stage.DEMAND_REVIEW
    ),
    "demand:source_save": Case(
        get=POST_ONLY,
        post=only(302, "demand"),
        kwargs=_cycle,
        data=lambda d: {
            "family": "Bikes",
            "source": "sales",
            "reason": "market_intelligence",
            "comment": "Sales hears of a large order",
        },
        stage=Stage.DEMAND_REVIEW,
    ),
    # Each stream is entered by its own role only: marketing holds the permission too, for
    # its stream, and is refused the sales stream.
    "demand:grid_stream_save": Case(
        get=POST_ONLY,
        post=only(200, "sales"),
        kwargs=_cycle,
        data=lambda d: {
            **_override(d),
            "stream": "sales",
            "sku": d.products["BIKE"].pk,
            "location": d.dc.pk,
        },
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:stream_workbook": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"code": "marketing"},
        query=lambda d: {"cycle": d.cycle.pk, "family": "Bikes"},
    ),
    "demand:stream_workbook_preview": Case(
        get=POST_ONLY,
        post=only(400, "marketing"),
        kwargs=lambda d: {"cycle_pk": d.cycle.pk, "code": "marketing"},
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:stream_workbook_apply": Case(
        get=POST_ONLY,
        post=only(400, "sales"),
        kwargs=lambda d: {"cycle_pk": d.cycle.pk, "code": "sales"},
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:run_start": Case(
        get=POST_ONLY, post=only(302, "demand"), kwargs=_cycle, stage=Stage.DEMAND_REVIEW
    ),
    "demand:sku_reforecast": Case(
        get=POST_ONLY,
        post=only(302, "demand"),
        kwargs=lambda d: {"cycle_pk": d.cycle.pk, "product_pk": d.products["BIKE"].pk},
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:run_status": Case(
        get=every(200), post=GET_ONLY, kwargs=lambda d: {"pk": d.forecast.pk}
    ),
    "demand:run_cancel": Case(
        get=POST_ONLY,
        post=only(302, "demand"),
        kwargs=lambda d: {"pk": d.forecast.pk},
        stage=Stage.DEMAND_REVIEW,
    ),
    "demand:export": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"fmt": "csv"},
        query=lambda d: {"cycle": d.cycle.pk, "family": "Bikes"},
    ),
    # --- supply review -------------------------------------------------------------------
    "supply:review": Case(get=every(200), post=GET_ONLY),
    "supply:classification": Case(get=every(200), post=GET_ONLY),
    "supply:suppliers": Case(get=every(200), post=GET_ONLY),
    "supply:suppliers_missed_export": Case(
        get=every(200), post=GET_ONLY, kwargs=lambda d: {"fmt": "csv"}
    ),
    "supply:run_start": Case(get=POST_ONLY, post=only(302, "supply"), kwargs=_cycle),
    "supply:planned_save": Case(
        get=POST_ONLY, post=only(200, "supply"), kwargs=_cycle, data=_planned
    ),
    "supply:grid": Case(get=every(200), post=GET_ONLY),
    "supply:grid_planned_save": Case(
        get=POST_ONLY, post=only(200, "supply"), kwargs=_cycle, data=_planned
    ),
    "supply:workbook": Case(get=every(200), post=GET_ONLY, query=lambda d: {"cycle": d.cycle.pk}),
    "supply:workbook_preview": Case(get=POST_ONLY, post=only(400, "supply"), kwargs=_cycle),
    "supply:workbook_apply": Case(get=POST_ONLY, post=only(400, "supply"), kwargs=_cycle),
    "supply:capacity_save": Case(
        get=POST_ONLY, post=only(200, "supply"), kwargs=_cycle, data=_capacity
    ),
    "supply:run_status": Case(
        get=every(200), post=GET_ONLY, kwargs=lambda d: {"pk": d.supply_run.pk}
    ),
    "supply:sku_card": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=_cycle,
        query=lambda d: {"sku": d.products["BIKE"].pk, "location": d.dc.pk},
    ),
    "supply:capacity_drill": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"run_pk": d.supply_run.pk},
        query=lambda d: {"resource": d.line.pk, "month": MONTHS[1].isoformat()},
    ),
    "supply:export": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"fmt": "csv"},
        query=lambda d: {"cycle": d.cycle.pk, "table": "plan"},
    ),
    # --- reconciliation ------------------------------------------------------------------
    "reconciliation:review": Case(get=every(200), post=GET_ONLY, stage=Stage.RECONCILIATION),
    "reconciliation:compare": Case(
        get=every(200),
        post=GET_ONLY,
        query=lambda d: {"cycle": d.cycle.pk, "s": [d.base.pk, d.whatif.pk]},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:compare_export": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"fmt": "csv"},
        query=lambda d: {"cycle": d.cycle.pk, "s": [d.base.pk, d.whatif.pk]},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenarios_status": Case(
        get=every(200), post=GET_ONLY, kwargs=_cycle, stage=Stage.RECONCILIATION
    ),
    "reconciliation:run_status": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"pk": d.scenario_run.pk},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:sku_gaps": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"run_pk": d.scenario_run.pk},
        query=lambda d: {"family": "Bikes"},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:export": Case(
        get=every(200),
        post=GET_ONLY,
        kwargs=lambda d: {"fmt": "csv"},
        query=lambda d: {"cycle": d.cycle.pk, "scenario": d.whatif.pk},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenario_create": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_cycle,
        data=lambda d: {"name": "Late supplier", "description": ""},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:base_run": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_cycle,
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:risk_add": Case(
        get=POST_ONLY,
        # The planning roles keep the register (as the log); the admin keeps the data.
        post=only(302, "demand", "supply", "finance", "exec"),
        kwargs=_cycle,
        data=lambda d: _risk_data(),
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:risk_change": Case(
        get=POST_ONLY,
        post=only(302, "demand", "supply", "finance", "exec"),
        kwargs=lambda d: {"cycle_pk": d.cycle.pk, "pk": _risk(d).pk},
        data=lambda d: _risk_data(prefix=f"risk{_risk(d).pk}"),
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:decision_add": Case(
        get=POST_ONLY,
        # Every planning role writes to the log; the admin keeps the data, not the plan.
        post=only(302, "demand", "supply", "finance", "exec"),
        kwargs=_cycle,
        data=lambda d: {"kind": "decision", "text": "Add a Saturday shift", "scenario": ""},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenario_run": Case(
        get=POST_ONLY, post=only(302, *SCENARIO_ROLES), kwargs=_whatif, stage=Stage.RECONCILIATION
    ),
    "reconciliation:scenario_copy": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_whatif,
        data=lambda d: {"name": "Promotion (copy)"},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenario_rename": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_whatif,
        data=lambda d: {"name": "Big promotion", "description": "", **_version(d)},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenario_delete": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_whatif,
        data=lambda d: {"confirm": "yes", **_version(d)},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:scenario_recommend": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=_whatif,
        data=lambda d: {"comment": "Best margin"},
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:delta_add": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=lambda d: {"pk": d.whatif.pk, "kind": "demand"},
        data=lambda d: {
            "demand-version": _version(d)["version"],
            "demand-family": "Lamps",
            "demand-product": "",
            "demand-amount": "5",
            "demand-unit": "percent",
            "demand-start": MONTHS[0].isoformat(),
            "demand-end": MONTHS[2].isoformat(),
        },
        stage=Stage.RECONCILIATION,
    ),
    "reconciliation:delta_remove": Case(
        get=POST_ONLY,
        post=only(302, *SCENARIO_ROLES),
        kwargs=lambda d: {"pk": d.whatif.pk, "index": 0},
        data=_version,
        stage=Stage.RECONCILIATION,
    ),
    # --- executive review ----------------------------------------------------------------
    "executive:signoff": Case(get=every(200), post=GET_ONLY, stage=Stage.EXECUTIVE_REVIEW),
    "executive:print": Case(get=every(200), post=GET_ONLY, stage=Stage.EXECUTIVE_REVIEW),
    "executive:decide": Case(
        get=POST_ONLY,
        post=only(302, "exec"),
        kwargs=lambda d: {"pk": d.cycle.pk},
        data=lambda d: {"decision": "send_back", "comment": "Cover the October peak first"},
        stage=Stage.EXECUTIVE_REVIEW,
    ),
    "executive:approved": Case(get=every(200), post=GET_ONLY),
    "executive:approved_detail": Case(
        get=every(200), post=GET_ONLY, kwargs=lambda d: {"pk": d.approval.pk}
    ),
    "executive:approved_export": Case(
        get=every(200), post=GET_ONLY, kwargs=lambda d: {"pk": d.approval.pk, "fmt": "csv"}
    ),
}


# --- the REST API ---------------------------------------------------------------------------


def api_every(status: int) -> dict[str, int]:
    """Every role's token gets `status`; no token is 401."""
    return {ANONYMOUS: 401, **dict.fromkeys(SIGNED_IN, status)}


def api_only(status: int, *roles: str, other: int = 403) -> dict[str, int]:
    return {ANONYMOUS: 401, **{r: status if r in roles else other for r in SIGNED_IN}}


@dataclass(frozen=True)
class ApiCase:
    """How to call one API route (its one method) and the status each role's token gets."""

    method: str
    statuses: dict[str, int]
    kwargs: Callable[[Data], dict] = _nothing
    query: Callable[[Data], dict] = _nothing
    body: Callable[[Data], dict] = _nothing
    stage: str = Stage.SUPPLY_REVIEW


def _approved(d: Data) -> dict:
    return {"cycle_id": d.approval.cycle_id}


API_MATRIX: dict[str, ApiCase] = {
    "api:cycle_list": ApiCase("GET", api_every(200)),
    "api:cycle_detail": ApiCase("GET", api_every(200), kwargs=lambda d: {"cycle_id": d.cycle.pk}),
    "api:cycle_advance": ApiCase(
        "POST",
        api_only(200, "supply"),
        kwargs=lambda d: {"cycle_id": d.cycle.pk},
        body=lambda d: {"target": Stage.RECONCILIATION, "comment": "Plan is feasible"},
    ),
    "api:data_push": ApiCase(
        "POST",
        api_only(200, "admin"),
        kwargs=lambda d: {"entity": "locations"},
        body=lambda d: {"rows": [{"location_code": "DC2", "name": "Second DC"}]},
    ),
    "api:import_list": ApiCase("GET", api_only(200, "admin")),
    "api:import_detail": ApiCase(
        "GET", api_only(200, "admin"), kwargs=lambda d: {"import_id": d.import_job.pk}
    ),
    "api:run_start": ApiCase(
        "POST",
        api_only(202, "demand"),
        kwargs=lambda d: {"cycle_id": d.cycle.pk, "kind": "forecast"},
        stage=Stage.DEMAND_REVIEW,
    ),
    # An import's status is the admins', as its page is; other kinds' are everyone's.
    "api:run_status": ApiCase(
        "GET",
        api_only(200, "admin"),
        kwargs=lambda d: {"kind": "import", "run_id": d.import_job.pk},
    ),
    "api:demand_consensus": ApiCase(
        "GET",
        api_every(200),
        kwargs=lambda d: {"cycle_id": d.cycle.pk},
        query=lambda d: {"family": "Bikes"},
    ),
    "api:demand_overrides": ApiCase(
        "GET", api_every(200), kwargs=lambda d: {"cycle_id": d.cycle.pk}
    ),
    "api:override_save": ApiCase(
        "PUT",
        api_only(200, "demand"),
        kwargs=lambda d: {"cycle_id": d.cycle.pk},
        body=lambda d: {**_override(d), "value": 75, "version": None},
        stage=Stage.DEMAND_REVIEW,
    ),
    "api:supply_plan": ApiCase("GET", api_every(200), kwargs=lambda d: {"cycle_id": d.cycle.pk}),
    "api:supply_export": ApiCase("GET", api_every(200), kwargs=lambda d: {"cycle_id": d.cycle.pk}),
    "api:approved_plans": ApiCase("GET", api_every(200)),
    "api:approved_plan": ApiCase("GET", api_every(200), kwargs=_approved),
    "api:approved_plan_lines": ApiCase("GET", api_every(200), kwargs=_approved),
    "api:approved_plan_export": ApiCase("GET", api_every(200), kwargs=_approved),
}


def url_names() -> set[str]:
    """Every named URL the resolver knows, as `namespace:name`, but Django's admin."""
    names: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in EXCLUDED_NAMESPACES:
                    continue
                ns = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern.url_patterns, ns)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"{pattern.pattern} has no name: name it and add it here"
                names.add(prefix + pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def _build() -> Data:
    """A small company after the supply tests': one line making BIKE and LAMP."""
    from supply import services as supply_services

    users = {
        name: UserFactory(username=f"matrix-{name}", roles=[role], is_staff=role == Role.ADMIN)
        for name, role in ROLE_USERS.items()
    }
    dc = LocationFactory(code="DC")
    line = ResourceFactory(code="LINE", name="Assembly line")
    products = {
        "BIKE": ProductFactory(sku="BIKE", family="Bikes", abc_class="A", lead_time_days=0),
        "LAMP": ProductFactory(sku="LAMP", family="Lamps", abc_class="C", lead_time_days=0),
    }
    for product in products.values():
        Routing.objects.create(product=product, resource=line, hours_per_unit=Decimal("1"))
    Capacity.objects.bulk_create(Capacity(resource=line, month=m, hours=100) for m in MONTHS)
    InventorySnapshot.objects.bulk_create(
        InventorySnapshot(product=p, location=dc, date=CYCLE_MONTH, on_hand=30)
        for p in products.values()
    )
    SalesHistory.objects.bulk_create(
        SalesHistory(
            product=p, location=dc, month=sop_services.add_months(CYCLE_MONTH, -h), quantity=50
        )
        for p in products.values()
        for h in range(1, 25)
    )
    cycle = sop_services.cycle_open(month=CYCLE_MONTH, user=users["admin"], horizon_months=HORIZON)
    forecast = ForecastRun.objects.create(
        cycle=cycle,
        status=JobStatus.SUCCEEDED,
        is_published=True,
        published_at=timezone.now(),
        progress=100,
    )
    ConsensusDemand.objects.bulk_create(
        ConsensusDemand(cycle=cycle, product=p, location=dc, month=m, statistical=60, value=60)
        for p in products.values()
        for m in MONTHS
    )
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    cycle.refresh_from_db()
    with TestCase.captureOnCommitCallbacks(execute=True):
        supply_run = supply_services.supply_run_start(
            cycle=cycle, user=users["supply"], chunk_rows=1
        )
    supply_run.refresh_from_db()
    assert supply_run.is_published, supply_run.error
    # The reconciliation's base plan and one what-if, both computed.
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.RECONCILIATION)
    cycle.refresh_from_db()
    base = reconciliation_services.scenario_base(cycle=cycle)
    whatif = reconciliation_services.scenario_create(
        cycle=cycle,
        name="Promotion",
        user=users["finance"],
        deltas=[
            {
                "kind": "demand",
                "family": "Bikes",
                "percent": 10.0,
                "start": MONTHS[0].isoformat(),
                "end": MONTHS[2].isoformat(),
            }
        ],
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        reconciliation_services.scenario_run_start(scenario=base, user=users["finance"])
        reconciliation_services.scenario_run_start(scenario=whatif, user=users["finance"])
    scenario_run = ScenarioRun.objects.get(scenario=whatif, is_published=True)
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.SUPPLY_REVIEW)
    cycle.refresh_from_db()
    import_job = ImportJob.objects.create(
        entity="products",
        file_name="products.csv",
        status=JobStatus.FAILED,
        error_count=1,
        errors_csv="row,column,error\n2,sku,missing\n",
        created_by=users["admin"],
    )
    profile = ImportProfile.objects.create(
        name="SAP sales",
        entity="sales_history",
        options=ReadOptions.with_number_format("1.234,5").to_dict(),
    )
    drop = Path(settings.MEDIA_ROOT) / "drop"
    drop.mkdir(parents=True)
    source = ImportSource.objects.create(
        name="SAP drop", kind="folder", entity="sales_history", profile=profile, folder=str(drop)
    )
    stored = Path(settings.MEDIA_ROOT) / "imports" / "matrix" / "products.csv"
    stored.parent.mkdir(parents=True)
    stored.write_text("sku,name,family\nBIKE,Bike,Bikes\n")
    upload = ImportUpload.objects.create(
        entity="products",
        file_name=stored.name,
        file_path=str(stored.relative_to(settings.MEDIA_ROOT)),
        created_by=users["admin"],
    )
    approval = _approved_cycle(users["exec"])
    notification = Notification.objects.create(
        recipient=users["demand"], cycle=cycle, message="The demand review waits on you."
    )
    tokens = {
        (name, scope): sop_services.api_token_create(
            owner=user, name=f"{name} {scope}", scope=scope, user=user
        )[1]
        for name, user in users.items()
        for scope in TokenScope.values
    }
    demand_token, _ = sop_services.api_token_create(
        owner=users["demand"], name="Forecast export", scope="read", user=users["demand"]
    )
    return Data(
        users=users,
        cycle=cycle,
        products=products,
        dc=dc,
        line=line,
        forecast=forecast,
        supply_run=supply_run,
        import_job=import_job,
        profile=profile,
        source=source,
        upload=upload,
        base=base,
        whatif=whatif,
        scenario_run=scenario_run,
        notification=notification,
        approval=approval,
        tokens=tokens,
        demand_token=demand_token,
    )


def _approved_cycle(approver: User) -> PlanApproval:
    """Last month's cycle, approved with an (empty) frozen plan.

    Written directly: approving through the stage machine needs a whole reconciled plan of
    its own. The approval row goes in while the cycle is in executive review, as the
    freeze does; the triggers refuse it once the cycle is approved.
    """
    month = sop_services.add_months(CYCLE_MONTH, -1)
    cycle = Cycle.objects.create(month=month, horizon_months=HORIZON, stage=Stage.EXECUTIVE_REVIEW)
    approval = PlanApproval.objects.create(
        cycle=cycle,
        approved_by=approver,
        approved_by_name=approver.get_username(),
        approved_at=timezone.now(),
        checksum="0" * 64,
    )
    Cycle.objects.filter(pk=cycle.pk).update(stage=Stage.APPROVED)
    return approval


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once in an outer transaction; each test's savepoint nests inside it."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # The real hasher costs ~0.3 s a password; these users sign in with force_login.
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ):
                data = _build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield data
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
    media.disable()


def _client(data: Data, role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    if role != ANONYMOUS:
        client.force_login(data.users[role])
    return client


def _url(data: Data, name: str, case: Case) -> str:
    return reverse(name, kwargs=case.kwargs(data))


def _send(client: Client, method: str, url: str, case: Case, data: Data):
    Cycle.objects.filter(pk=data.cycle.pk).update(stage=case.stage)
    if method == "GET":
        return client.get(url, case.query(data))
    query = case.query(data)
    if query:
        url = f"{url}?{urlencode(query, doseq=True)}"
    return client.post(url, case.data(data))


def test_every_url_is_in_the_matrix():
    names = url_names()
    missing = sorted(names - MATRIX.keys() - API_MATRIX.keys())
    assert not missing, f"add it to the matrix in {__name__}: {missing}"
    gone = sorted((MATRIX.keys() | API_MATRIX.keys()) - names)
    assert not gone, f"these URLs no longer exist, remove them from the matrix: {gone}"


def test_every_api_operation_is_in_the_api_matrix_with_its_method():
    """Each operation of the OpenAPI schema is a named URL; the matrix calls it as declared."""
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    operations = [
        (f"api:{op['operationId']}", method.upper())
        for methods in schema["paths"].values()
        for method, op in methods.items()
    ]
    assert len(operations) == len(set(operations)), "two operations share a name"
    assert set(operations) == {(name, case.method) for name, case in API_MATRIX.items()}


def test_every_role_has_a_status_for_every_method():
    for name, case in MATRIX.items():
        for statuses in (case.get, case.post):
            assert set(statuses) == set(ROLES), name


CASES = [
    pytest.param(name, role, method, id=f"{name}-{role}-{method}")
    for name in sorted(MATRIX)
    for role in ROLES
    for method in METHODS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role", "method"), CASES)
def test_each_role_gets_the_designed_status(dataset, name, role, method):
    case = MATRIX[name]
    url = _url(dataset, name, case)
    response = _send(_client(dataset, role), method, url, case, dataset)
    expected = case.expected(method, role)
    assert response.status_code == expected, (
        f"{method} {url} as {role}: {response.status_code}, the matrix says {expected}"
    )
    if role == ANONYMOUS and expected == 302:
        assert response["Location"].startswith(f"{reverse('login')}?next="), response["Location"]


def _csrf_role(case: Case) -> str | None:
    """A role whose POST the view accepts (a signed-in one first), or None: no POST."""
    accepted = [r for r in ROLES if 200 <= case.post[r] < 400]
    signed_in = [r for r in accepted if r != ANONYMOUS]
    if signed_in:
        return signed_in[0]
    # Anonymous only where the view itself answers it (the login form), not the redirect.
    return ANONYMOUS if ANONYMOUS in accepted and case.post[ANONYMOUS] != 302 else None


CSRF_CASES = [(name, role) for name, case in sorted(MATRIX.items()) if (role := _csrf_role(case))]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), CSRF_CASES, ids=[f"{n}-{r}" for n, r in CSRF_CASES])
def test_a_write_without_a_csrf_token_is_refused(dataset, name, role):
    case = MATRIX[name]
    client = _client(dataset, role, enforce_csrf_checks=True)
    response = _send(client, "POST", _url(dataset, name, case), case, dataset)
    assert response.status_code == 403
    assert b"CSRF" in response.content


API_CASES = [
    pytest.param(name, role, id=f"{name}-{role}") for name in sorted(API_MATRIX) for role in ROLES
]


def _api_call(data: Data, name: str, role: str, *, scope: str = TokenScope.READ_WRITE):
    case = API_MATRIX[name]
    Cycle.objects.filter(pk=data.cycle.pk).update(stage=case.stage)
    headers = {} if role == ANONYMOUS else {"Authorization": f"Bearer {data.tokens[role, scope]}"}
    url = reverse(name, kwargs=case.kwargs(data))
    query = case.query(data)
    if query:
        url = f"{url}?{urlencode(query, doseq=True)}"
    body = case.body(data)
    return Client(headers=headers).generic(
        case.method,
        url,
        json.dumps(body) if body else "",
        content_type="application/json",
    )


@pytest.fixture
def _api_media(settings, tmp_path):
    # A push stores its rows as an import's file.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
@pytest.mark.usefixtures("_api_media")
@pytest.mark.parametrize(("name", "role"), API_CASES)
def test_each_roles_token_gets_the_designed_status_from_the_api(dataset, name, role):
    response = _api_call(dataset, name, role)
    expected = API_MATRIX[name].statuses[role]
    assert response.status_code == expected, (
        f"{API_MATRIX[name].method} {name} as {role}: {response.status_code} "
        f"{response.content[:300]!r}, the matrix says {expected}"
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("_api_media")
@pytest.mark.parametrize(("name", "role"), [c for c in API_CASES if c.values[1] != ANONYMOUS])
def test_a_read_only_token_reads_as_its_role_and_writes_nothing(dataset, name, role):
    case = API_MATRIX[name]
    response = _api_call(dataset, name, role, scope=TokenScope.READ)
    expected = case.statuses[role] if case.method == "GET" else 403
    assert response.status_code == expected, f"{case.method} {name} as {role}, read-only"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_MATRIX))
def test_a_signed_in_session_without_a_token_gets_401_from_the_api(dataset, name):
    case = API_MATRIX[name]
    client = _client(dataset, "admin")
    response = client.generic(
        case.method, reverse(name, kwargs=case.kwargs(dataset)), content_type="application/json"
    )
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(API_MATRIX))
def test_an_api_route_refuses_a_method_it_does_not_have(dataset, name):
    url = reverse(name, kwargs=API_MATRIX[name].kwargs(dataset))
    headers = {"Authorization": f"Bearer {dataset.tokens['admin', TokenScope.READ_WRITE]}"}
    assert Client(headers=headers).delete(url).status_code == 405
