"""Sign-in that IT accepts: throttling and lock-outs, the sign-in audit, password reset and
change, deactivation, the idle timeout, security headers."""

from __future__ import annotations

import re
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from sop import accounts
from sop.choices import Role
from sop.middleware import SEEN_EVERY_SECONDS, SEEN_KEY
from sop.models import AuditEvent

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
PASSWORD = "pass-for-tests-1"  # tests.factories.UserFactory


def _sign_in(username, password=PASSWORD, address="10.0.0.1") -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password})
    return client, response


def _signed_in(client: Client) -> bool:
    return client.get(reverse("sop:home")).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_an_account_is_locked_after_the_limit_of_failed_sign_ins(make_user):
    make_user(Role.DEMAND_PLANNER)
    answers = [_sign_in("demand", "wrong", address="10.0.0.1")[1] for _ in range(3)]
    # The form again with its error, until the failure that reaches the limit.
    assert [r.status_code for r in answers] == [200, 200, 429]
    # Locked now: even the right password, and from another address, is refused.
    _, response = _sign_in("demand", PASSWORD, address="10.0.0.2")
    assert response.status_code == 429
    assert "Too many failed sign-ins (3)" in response.content.decode()
    assert "The lock ends 30 minutes after the last try" in response.content.decode()
    failed = AuditEvent.objects.filter(action="signin.failed", object_id="demand")
    # The three wrong passwords and the refused attempt while locked, newest first.
    assert [e.new["address"] for e in failed] == ["10.0.0.2"] + ["10.0.0.1"] * 3
    assert AuditEvent.objects.filter(action="signin.locked_out", object_id="demand").exists()
    assert not AuditEvent.objects.filter(action="signin.succeeded").exists()


@override_settings(AXES_FAILURE_LIMIT=3, SOP_LOGIN_ADDRESS_FAILURE_LIMIT=5)
def test_a_client_address_guessing_across_accounts_is_locked_at_its_own_limit(make_user):
    make_user(Role.FINANCE)
    for name in ("alice", "bob", "carol", "dave"):
        _sign_in(name, "wrong", address="10.0.0.9")
    # Four failures on four accounts: no account and not the address (limit 5) is locked.
    assert accounts.lockouts() == []
    _sign_in("erin", "wrong", address="10.0.0.9")
    (lock,) = accounts.lockouts()
    assert (lock.kind, lock.key, lock.failures) == ("address", "10.0.0.9", 5)
    _, response = _sign_in("finance", PASSWORD, address="10.0.0.9")
    assert response.status_code == 429
    # The account itself is not locked: from another address it signs in.
    client, response = _sign_in("finance", PASSWORD, address="10.0.0.3")
    assert response.status_code == 302 and _signed_in(client)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_successful_sign_in_resets_the_count_and_is_audited_with_its_address(make_user):
    make_user(Role.DEMAND_PLANNER)
    for _ in range(2):
        _sign_in("demand", "wrong", address="10.0.0.7")
    client, response = _sign_in("demand", address="10.0.0.7")
    assert response.status_code == 302
    assert client.session[accounts.AUTH_TIME_KEY] == pytest.approx(time.time(), abs=5)
    event = AuditEvent.objects.get(action="signin.succeeded")
    assert (event.user.username, event.new) == (
        "demand",
        {"address": "10.0.0.7", "method": "password"},
    )
    for _ in range(2):  # counted from zero again: two more failures do not lock
        _sign_in("demand", "wrong", address="10.0.0.7")
    assert _sign_in("demand", address="10.0.0.7")[1].status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_sign_in_into_another_account_does_not_forgive_a_guessers_failures(make_user):
    make_user(Role.DEMAND_PLANNER)
    make_user(Role.FINANCE)  # the guesser's own account
    for _ in range(2):
        _sign_in("demand", "guess", address="10.0.0.8")
    assert _sign_in("finance", address="10.0.0.8")[1].status_code == 302
    # Still two failures on "demand": the third locks it.
    assert _sign_in("demand", "guess", address="10.0.0.8")[1].status_code == 429


@override_settings(AXES_FAILURE_LIMIT=2)
def test_an_admin_sees_the_lock_out_and_lifts_it(make_user, client_for):
    make_user(Role.DEMAND_PLANNER)
    for _ in range(2):
        _sign_in("demand", "wrong", address="10.0.0.5")
    admin = client_for(Role.ADMIN)
    page = admin.get(reverse("sop:users")).content.decode()
    assert "Locked out now" in page and "account <strong>demand</strong>" in page
    (lock,) = accounts.lockouts()
    assert (lock.kind, lock.key, lock.failures) == ("account", "demand", 2)
    response = admin.post(
        reverse("sop:lockout_lift"), {"kind": "account", "key": "demand", "reason": "called me"}
    )
    assert response.status_code == 302
    assert accounts.lockouts() == []
    assert _sign_in("demand", address="10.0.0.5")[1].status_code == 302
    lifted = AuditEvent.objects.get(action="signin.lockout_lifted")
    assert (lifted.object_id, lifted.reason, lifted.user.username) == (
        "demand",
        "called me",
        "admin",
    )


@override_settings(AXES_FAILURE_LIMIT=2)
def test_a_lock_out_ends_by_itself_after_the_cool_off(make_user):
    make_user(Role.DEMAND_PLANNER)
    for _ in range(2):
        _sign_in("demand", "wrong")
    assert len(accounts.lockouts()) == 1
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=31))
    assert accounts.lockouts() == []
    assert _sign_in("demand")[1].status_code == 302


def test_only_admins_reach_the_users_page(client_for):
    assert client_for(Role.ADMIN).get(reverse("sop:users")).status_code == 200
    for role in (Role.EXECUTIVE, Role.SUPPLY_PLANNER):
        assert client_for(role).get(reverse("sop:users")).status_code == 403
    assert Client().get(reverse("sop:users")).status_code == 302


def test_deactivating_a_user_ends_their_sessions_at_once(make_user, client_for):
    planner, _ = _sign_in(make_user(Role.DEMAND_PLANNER).username)
    other, _ = _sign_in(make_user(Role.FINANCE).username)
    assert _signed_in(planner)
    admin = client_for(Role.ADMIN)
    url = reverse("sop:user_active", args=[planner.session["_auth_user_id"]])
    refused = admin.post(url, {"active": "0", "reason": ""})
    assert refused.status_code == 302 and _signed_in(planner)  # a reason is required
    admin.post(url, {"active": "0", "reason": "left the company"})
    assert not _signed_in(planner)
    assert _signed_in(other)
    assert not Session.objects.filter(session_key=planner.session.session_key).exists()
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.new == {"is_active": False, "sessions_ended": 1}
    assert event.reason == "left the company"
    assert _sign_in("demand")[1].status_code == 200  # refused: the form again
    admin.post(url, {"active": "1"})
    assert _sign_in("demand")[1].status_code == 302


def test_an_admin_cannot_deactivate_themselves(client_for):
    admin = client_for(Role.ADMIN)
    me = admin.session["_auth_user_id"]
    response = admin.post(
        reverse("sop:user_active", args=[me]), {"active": "0", "reason": "x"}, follow=True
    )
    assert "You cannot deactivate yourself." in response.content.decode()
    assert _signed_in(admin)


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_a_forgotten_password_is_reset_by_e_mail(make_user):
    make_user(Role.DEMAND_PLANNER, email="dana@example.com")
    old, _ = _sign_in("demand")
    response = Client().post(reverse("password_reset"), {"email": "dana@example.com"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["dana@example.com"] and "within 3 hours" in message.body
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)
    browser = Client()
    form = browser.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    short = browser.post(
        form.redirect_chain[-1][0], {"new_password1": "Short1!", "new_password2": "Short1!"}
    )
    assert "at least 12 characters" in short.content.decode()
    new = "a-much-longer-passphrase-7"
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert not _signed_in(old)  # the session signed in with the old password ended
    assert _sign_in("demand", new)[1].status_code == 302
    assert _sign_in("demand", PASSWORD)[1].status_code == 200


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_a_reset_for_an_unknown_address_says_the_same_and_sends_nothing(make_user):
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and mail.outbox == []


def test_changing_the_password_ends_every_other_session(make_user):
    make_user(Role.SUPPLY_PLANNER)
    here, _ = _sign_in("supply")
    elsewhere, _ = _sign_in("supply", address="10.0.0.2")
    new = "another-long-passphrase-9"
    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)
    assert AuditEvent.objects.filter(action="user.password_changed", object_id="supply").exists()


def test_common_and_short_passwords_are_refused(make_user):
    make_user(Role.SUPPLY_PLANNER)
    here, _ = _sign_in("supply")
    for weak, reason in (("password1234", "too common"), ("12345678901234", "entirely numeric")):
        response = here.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
        )
        assert reason in response.content.decode()


def test_a_session_ends_after_a_working_day_without_a_request(make_user):
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    make_user(Role.FINANCE)
    client, _ = _sign_in("finance")
    client.get(reverse("sop:home"))
    stored = Session.objects.get(session_key=client.session.session_key)
    assert (stored.expire_date - timezone.now()).total_seconds() == pytest.approx(8 * 3600, abs=60)
    # Idle for 7 hours: the next request moves the end on to 8 hours from now.
    session = client.session
    session[SEEN_KEY] = time.time() - SEEN_EVERY_SECONDS - 1
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timezone.timedelta(hours=1)
    )
    client.get(reverse("sop:home"))
    stored.refresh_from_db()
    assert (stored.expire_date - timezone.now()).total_seconds() == pytest.approx(8 * 3600, abs=60)
    # Past its end, the session is gone.
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )
    assert not _signed_in(client)


def test_pages_carry_the_security_headers(client_for):
    response = client_for(Role.DEMAND_PLANNER).get(reverse("sop:home"))
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_audit_page_filters_sign_ins(make_user, client_for):
    make_user(Role.DEMAND_PLANNER)
    _sign_in("demand", "wrong", address="10.1.2.3")
    page = client_for(Role.ADMIN).get(reverse("sop:audit"), {"object_type": "sign_in"})
    body = page.content.decode()
    assert "signin.failed" in body and "10.1.2.3" in body
