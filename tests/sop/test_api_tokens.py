"""API tokens: created and revoked by their user or an admin, stored hashed, scoped, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sop import services
from sop.api_auth import NO_TOKEN
from sop.choices import Role, TokenScope
from sop.models import ApiToken, AuditEvent
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def _bearer(text: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {text}"})


def test_a_token_is_stored_only_as_the_sha256_of_its_text(make_user):
    user = make_user(Role.DEMAND_PLANNER)
    token, text = services.api_token_create(owner=user, name="ERP", scope="read", user=user)
    assert text.startswith(f"sop_{token.prefix}_") and len(text) == 60
    assert token.secret_hash == hashlib.sha256(text.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(text in str(value) for value in stored.values())
    other, other_text = services.api_token_create(owner=user, name="ERP", scope="read", user=user)
    assert (other.prefix, other_text) != (token.prefix, text)


def test_creating_and_revoking_a_token_is_audited(make_user):
    user = make_user(Role.DEMAND_PLANNER)
    token, _ = services.api_token_create(owner=user, name="ERP", scope="read_write", user=user)
    assert services.api_token_revoke(token=token, user=user) is True
    assert services.api_token_revoke(token=token, user=user) is False  # once is enough
    events = AuditEvent.objects.filter(object_type="api_token").order_by("at", "id")
    assert [(e.action, e.object_id, e.user) for e in events] == [
        ("api_token.create", token.prefix, user),
        ("api_token.revoke", token.prefix, user),
    ]
    assert events[0].new == {"owner": "demand", "name": "ERP", "scope": "read_write"}


def test_only_an_admin_creates_or_revokes_another_users_token(make_user):
    planner, finance, admin = (
        make_user(Role.DEMAND_PLANNER),
        make_user(Role.FINANCE),
        make_user(Role.ADMIN),
    )
    with pytest.raises(PermissionDenied, match="create API tokens for other users"):
        services.api_token_create(owner=planner, name="x", scope="read", user=finance)
    token, _ = services.api_token_create(owner=planner, name="ERP", scope="read", user=admin)
    assert (token.user, token.created_by) == (planner, admin)
    with pytest.raises(PermissionDenied, match="revoke other users' API tokens"):
        services.api_token_revoke(token=token, user=finance)
    assert services.api_token_revoke(token=token, user=admin)


def test_a_token_needs_a_name_a_scope_and_an_active_user(make_user):
    user = make_user(Role.FINANCE)
    with pytest.raises(ValidationError, match="Name the token"):
        services.api_token_create(owner=user, name="  ", scope="read", user=user)
    with pytest.raises(ValidationError, match="scope"):
        services.api_token_create(owner=user, name="x", scope="admin", user=user)
    user.is_active = False
    with pytest.raises(ValidationError, match="deactivated"):
        services.api_token_create(owner=user, name="x", scope="read", user=None)


# --- the API's door ---------------------------------------------------------------------------


def test_no_token_a_wrong_one_or_a_session_gets_401(api_for, client_for):
    good = api_for(Role.FINANCE)
    text = good.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    wrong_secret = text[:-1] + ("A" if text[-1] != "A" else "B")
    for client, detail in (
        (Client(), NO_TOKEN),
        (_bearer("not-a-token"), "This API token is not valid."),
        (_bearer(wrong_secret), "This API token is not valid."),
        (client_for(Role.FINANCE), NO_TOKEN),  # a signed-in browser's session opens no API
    ):
        response = client.get("/api/v1/cycles")
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_or_a_deactivated_users_token_stops_working_at_once(api_for):
    client = api_for(Role.FINANCE)
    assert client.get("/api/v1/cycles").status_code == 200
    at = timezone.make_aware(dt.datetime(2026, 12, 1, 9, 30), dt.UTC)
    ApiToken.objects.filter(pk=client.token.pk).update(revoked_at=at)
    revoked = client.get("/api/v1/cycles")
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "This API token was revoked on 2026-12-01 09:30 UTC."}
    other = api_for(Role.EXECUTIVE)
    other.token.user.is_active = False
    other.token.user.save()
    assert other.get("/api/v1/cycles").json() == {"detail": "This API token's user is deactivated."}


def test_a_read_token_reads_but_may_not_write_whatever_its_users_role(api_for):
    cycle = CycleFactory(month=dt.date(2026, 11, 1))
    admin = api_for(Role.ADMIN, scope=TokenScope.READ)
    assert admin.get(f"/api/v1/cycles/{cycle.pk}").status_code == 200
    response = admin.post(
        f"/api/v1/cycles/{cycle.pk}/advance",
        {"target": "demand_review"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This API token is read-only: create a read-write token to change data."
    }
    assert AuditEvent.objects.filter(action="cycle.transition").count() == 0


def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(api_for):
    client = api_for(Role.FINANCE)
    assert client.token.last_used_at is None
    client.get("/api/v1/cycles")
    first = ApiToken.objects.get(pk=client.token.pk).last_used_at
    assert first is not None
    client.get("/api/v1/cycles")
    assert ApiToken.objects.get(pk=client.token.pk).last_used_at == first
    ApiToken.objects.filter(pk=client.token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    client.get("/api/v1/cycles")
    assert ApiToken.objects.get(pk=client.token.pk).last_used_at > first


# --- the page -----------------------------------------------------------------------------------


def test_the_page_shows_a_new_tokens_text_once_and_the_token_works(client_for):
    client = client_for(Role.SUPPLY_PLANNER)
    response = client.post(reverse("sop:api_tokens"), {"name": "Nightly ERP", "scope": "read"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    text = response.context["created"]["text"]
    assert text.encode() in response.content
    assert _bearer(text).get("/api/v1/cycles").status_code == 200
    page = client.get(reverse("sop:api_tokens"))
    assert text.encode() not in page.content
    token = ApiToken.objects.get()
    assert f"sop_{token.prefix}_…".encode() in page.content
    assert b"Nightly ERP" in page.content


def test_a_planner_sees_only_their_tokens_and_cannot_revoke_anothers(client_for, make_user):
    owner = make_user(Role.FINANCE)
    theirs, _ = services.api_token_create(
        owner=owner, name="Finance cube", scope="read", user=owner
    )
    planner = client_for(Role.DEMAND_PLANNER)
    page = planner.get(reverse("sop:api_tokens"))
    assert b"Finance cube" not in page.content
    assert "owner" not in page.context["form"].fields
    refused = planner.post(reverse("sop:api_token_revoke", args=[theirs.pk]))
    assert refused.status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).is_active


def test_an_admin_sees_everyones_tokens_revokes_any_and_creates_one_for_a_user(
    client_for, make_user
):
    owner = make_user(Role.FINANCE)
    theirs, text = services.api_token_create(
        owner=owner, name="Finance cube", scope="read", user=owner
    )
    admin = client_for(Role.ADMIN)
    page = admin.get(reverse("sop:api_tokens"))
    assert [t.name for t in page.context["everyone"]] == ["Finance cube"]
    response = admin.post(reverse("sop:api_token_revoke", args=[theirs.pk]), follow=True)
    assert b"is revoked: it no longer works" in response.content
    assert _bearer(text).get("/api/v1/cycles").status_code == 401
    created = admin.post(
        reverse("sop:api_tokens"), {"name": "ERP service", "scope": "read_write", "owner": owner.pk}
    )
    assert created.context["created"]["token"].user == owner
    revoke = AuditEvent.objects.get(action="api_token.revoke")
    assert revoke.user.username == "admin"


# --- the command ----------------------------------------------------------------------------------


def test_the_command_creates_a_working_token_lists_and_revokes_it(make_user):
    make_user(Role.EXECUTIVE)
    out = io.StringIO()
    call_command("api_token", "create", "exec", "--name", "Board pack", stdout=out)
    text = out.getvalue().strip()
    assert _bearer(text).get("/api/v1/cycles").status_code == 200
    token = ApiToken.objects.get()
    assert (token.scope, token.created_by) == (TokenScope.READ, None)
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert listing.getvalue() == f"sop_{token.prefix}_…  exec  read  active  Board pack\n"
    call_command("api_token", "revoke", token.prefix, stdout=io.StringIO())
    assert _bearer(text).get("/api/v1/cycles").status_code == 401
