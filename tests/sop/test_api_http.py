"""The REST API over real HTTP: a running server, a client with only urllib and a token.

The ERP's day as a script would live it: push master data and sales, move the cycle on,
start the forecast and wait for it, read the consensus a page at a time, write an override
and meet another writer's change (409), then lose the token.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sop import services
from sop.choices import Role, Stage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("without_data_checks"),
]

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


class Api:
    """A bare HTTP client of the API, as an ERP's script would write one."""

    def __init__(self, base: str, token: str | None):
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(f"{self.base}/api/v1{path}", method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data, timeout=60) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as refused:
            status, headers, raw = refused.code, refused.headers, refused.read()
        is_json = headers.get("Content-Type", "").startswith("application/json")
        return status, (json.loads(raw) if is_json and raw else raw)


def sample_rows(entity: str) -> list[dict]:
    with (SAMPLES / f"{entity}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_an_erp_script_drives_the_cycle_over_http(live_server, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin, planner = make_user(Role.ADMIN), make_user(Role.DEMAND_PLANNER)
    tokens = {
        name: services.api_token_create(owner=user, name="ERP", scope=scope, user=user)[1]
        for name, user, scope in (
            ("admin", admin, "read_write"),
            ("planner", planner, "read_write"),
            ("reader", planner, "read"),
        )
    }
    erp, plan, reader = (Api(live_server.url, tokens[n]) for n in ("admin", "planner", "reader"))

    status, schema = erp("GET", "/openapi.json")
    assert status == 200
    assert "/api/v1/data/{entity}" in schema["paths"]
    assert Api(live_server.url, None)("GET", "/cycles")[0] == 401

    for entity in ("suppliers", "products", "locations"):
        status, body = erp("POST", f"/data/{entity}", {"rows": sample_rows(entity)})
        assert (status, body["status"]) == (200, "succeeded"), body
    bad = sample_rows("sales_history")
    bad[4] = {**bad[4], "quantity": "-12"}
    status, body = erp("POST", "/data/sales_history", {"rows": bad})
    assert status == 422
    assert body["errors"] == [
        {
            "row": 5,
            "field": "quantity",
            "value": "-12",
            "reason": "negative quantity: must be 0 or more",
        }
    ]
    status, body = erp("POST", "/data/sales_history", {"rows": sample_rows("sales_history")})
    assert (status, body["rows_inserted"]) == (200, 100)
    status, history = erp("GET", "/imports?limit=10")
    assert [job["status"] for job in history["items"][:2]] == ["succeeded", "failed"]

    cycle = services.cycle_open(month=dt.date(2026, 11, 1), user=admin)
    status, body = erp("POST", f"/cycles/{cycle.pk}/advance", {"target": Stage.DEMAND_REVIEW})
    assert (status, body["stage"]) == (200, "demand_review")

    status, run = plan("POST", f"/cycles/{cycle.pk}/runs/forecast")
    assert status == 202
    deadline = time.monotonic() + 120
    while run["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
        run = plan("GET", f"/runs/forecast/{run['id']}")[1]
    assert run["status"] == "succeeded", run["error"]

    # The sample sells 10 SKU-locations: 18 months of consensus each.
    status, page = reader("GET", f"/demand/cycles/{cycle.pk}/consensus?limit=5&offset=5")
    assert (status, page["count"], len(page["items"])) == (200, 180, 5)
    status, widgets = reader(
        "GET", f"/demand/cycles/{cycle.pk}/consensus?family=Widgets&month_to=2026-11"
    )
    assert {row["family"] for row in widgets["items"]} == {"Widgets"}
    november = sum(row["consensus"] for row in widgets["items"])

    change = {
        "family": "Widgets",
        "month": "2026-11",
        "value": 5000,
        "reason": "promotion",
        "comment": "Spring promotion",
        "version": None,
    }
    assert reader("PUT", f"/demand/cycles/{cycle.pk}/overrides", change)[0] == 403
    status, saved = plan("PUT", f"/demand/cycles/{cycle.pk}/overrides", change)
    assert (status, saved["version"]) == (200, 1)
    status, conflict = plan("PUT", f"/demand/cycles/{cycle.pk}/overrides", {**change, "value": 1})
    assert (status, conflict["current"]["value"], conflict["current"]["version"]) == (409, 5000, 1)
    widgets = reader("GET", f"/demand/cycles/{cycle.pk}/consensus?family=Widgets&month_to=2026-11")
    assert sum(row["consensus"] for row in widgets[1]["items"]) == 5000 != november

    services.api_token_revoke(token=planner.api_tokens.get(scope="read"), user=planner)
    status, body = reader("GET", "/cycles")
    assert status == 401
    assert body["detail"].startswith("This API token was revoked on")
