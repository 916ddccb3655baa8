"""Sign-in and accounts: the audit of sign-ins, lock-outs and lifting them, recent
authentication for the approval, deactivating a user.

Throttling is django-axes (`settings.AXES_*`): it counts failed sign-ins per account and
per client address in the database, refuses both once either reaches the limit, and lifts
the lock by itself after the cool-off or at once when an admin lifts it here. The
receivers below write every sign-in, failed sign-in and lock-out to the audit trail
(object type `sign_in`), with the client's address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from axes.helpers import get_client_ip_address, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from sop.middleware import SEEN_KEY
from sop.services import audit_record

# When the session's user last proved who they are (password or identity provider): a
# POSIX time. The approval asks for it to be recent (`recently_authenticated`).
AUTH_TIME_KEY = "sop_auth_time"
SIGN_IN = "sign_in"


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return getattr(request, "axes_ip_address", None) or get_client_ip_address(request) or ""


def _method(user: AbstractBaseUser) -> str:
    backend = getattr(user, "backend", "") or ""
    return "single sign-on" if "oidc" in backend.lower() or "sso" in backend else "password"


def on_logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """A successful sign-in: note when (for re-authentication) and audit it."""
    address = client_address(request)
    # The user's own typos from this address are forgiven; nobody else's failures are.
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=address or None).delete()
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[AUTH_TIME_KEY] = now
        request.session[SEEN_KEY] = now  # the idle timeout counts from here
    audit_record(
        user=user,
        action="signin.succeeded",
        object_type=SIGN_IN,
        object_id=user.get_username(),
        new={"address": address, "method": _method(user)},
    )


def on_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kw) -> None:
    """A refused sign-in: the name that was tried and where from (never the password)."""
    username = str(credentials.get("username", ""))[:100]
    audit_record(
        user=None,
        action="signin.failed",
        object_type=SIGN_IN,
        object_id=username,
        new={"address": client_address(request)},
    )


def on_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    audit_record(
        user=None,
        action="signin.locked_out",
        object_type=SIGN_IN,
        object_id=str(username or "")[:100],
        new={"address": ip_address or ""},
        reason=f"{get_failure_limit(request, {})} failed sign-ins",
    )


@dataclass(frozen=True)
class Lockout:
    """An account (from any address) or a client address (on any accounts) that may not
    sign in until `until` (None: until an admin lifts it)."""

    kind: str  # "account" or "address"
    key: str  # the user name tried, or the address
    failures: int
    last_attempt: object
    until: object | None


LOCKOUT_KINDS = {"account": "username", "address": "ip_address"}


def lockouts() -> list[Lockout]:
    """Accounts and client addresses locked out now, the latest first."""
    limits = {
        "account": settings.AXES_FAILURE_LIMIT,
        "address": settings.SOP_LOGIN_ADDRESS_FAILURE_LIMIT,
    }
    cooloff = settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.all()
    if cooloff:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cooloff)
    found = []
    for kind, field in LOCKOUT_KINDS.items():
        rows = (
            attempts.order_by()  # no default ordering in the GROUP BY
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=limits[kind])
        )
        found += [
            Lockout(
                kind=kind,
                key=row[field],
                failures=row["failures"],
                last_attempt=row["last"],
                until=row["last"] + cooloff if cooloff else None,
            )
            for row in rows
            if row[field]  # a sign-in without a name, or without an address
        ]
    return sorted(found, key=lambda lock: lock.last_attempt, reverse=True)


def lockout_lift(*, kind: str, key: str, user: AbstractBaseUser, reason: str = "") -> bool:
    """Lift the lock-out of an account or an address: it may sign in again at once.

    False when there was none (it had ended already)."""
    found = next((x for x in lockouts() if (x.kind, x.key) == (kind, key)), None)
    if found is None:
        return False
    with transaction.atomic():
        if kind == "account":
            axes_reset(username=key)
        else:
            axes_reset(ip=key)
        audit_record(
            user=user,
            action="signin.lockout_lifted",
            object_type=SIGN_IN,
            object_id=key,
            old={"kind": kind, "failures": found.failures},
            reason=reason,
        )
    return True


def recently_authenticated(request: HttpRequest) -> bool:
    """Did the session's user sign in, or confirm their password, within the set minutes?"""
    at = request.session.get(AUTH_TIME_KEY)
    window = settings.SOP_REAUTH_MINUTES * 60
    return isinstance(at, int | float) and 0 <= time.time() - at <= window


def reauthenticate(request: HttpRequest, password: str) -> bool:
    """Confirm the signed-in user's password; on success the session counts as recent."""
    user = request.user
    if not password or not user.has_usable_password() or not user.check_password(password):
        return False
    request.session[AUTH_TIME_KEY] = time.time()
    return True


def _sessions_of(user_id: int) -> list[str]:
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            keys.append(session.session_key)
    return keys


def user_set_active(
    *, target: AbstractBaseUser, active: bool, user: AbstractBaseUser, reason: str
) -> int:
    """Deactivate (or reactivate) a user; deactivating ends their sessions at once.

    Returns the number of sessions ended. A deactivated user cannot sign in, by password
    or by single sign-on, and their API tokens stop working (`sop.api_auth`).
    """
    if target.pk == user.pk and not active:
        raise ValueError("You cannot deactivate yourself.")
    ended = 0
    with transaction.atomic():
        model = get_user_model()
        locked = model.objects.select_for_update().get(pk=target.pk)
        if locked.is_active == active:
            return 0
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        if not active:
            keys = _sessions_of(locked.pk)
            ended = Session.objects.filter(session_key__in=keys).delete()[0]
        audit_record(
            user=user,
            action="user.activated" if active else "user.deactivated",
            object_type="user",
            object_id=locked.get_username(),
            old={"is_active": not active},
            new={"is_active": active, "sessions_ended": ended},
            reason=reason,
        )
    target.is_active = active
    return ended


def password_changed(*, request: HttpRequest) -> None:
    """Audit a password change; the session that made it counts as just signed in."""
    request.session[AUTH_TIME_KEY] = time.time()
    audit_record(
        user=request.user,
        action="user.password_changed",
        object_type="user",
        object_id=request.user.get_username(),
        new={"address": client_address(request)},
    )


def reauth_refusal(request: HttpRequest) -> str | None:
    """Why the user may not approve now, or None: they signed in (or confirmed their
    password) within SOP_REAUTH_MINUTES, or confirm it with the request's `password`."""
    if recently_authenticated(request):
        return None
    if reauthenticate(request, request.POST.get("password", "")):
        return None
    minutes = settings.SOP_REAUTH_MINUTES
    if request.POST.get("password"):
        return "That password is not right: the plan was not approved."
    if not request.user.has_usable_password():
        return (
            f"Sign in again with single sign-on to approve: approving needs a sign-in "
            f"within the last {minutes} minutes."
        )
    return (
        f"Confirm your password to approve: approving needs a sign-in within the last "
        f"{minutes} minutes."
    )


def reauth_context(request: HttpRequest) -> dict:
    """What the approve forms need to ask for a recent sign-in (`reauth_field.html`)."""
    return {
        "needs_reauth": not recently_authenticated(request),
        "reauth_minutes": settings.SOP_REAUTH_MINUTES,
        "reauth_url": f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}",
    }
