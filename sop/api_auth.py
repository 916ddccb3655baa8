"""Who calls the REST API: a user's bearer token (`sop.ApiToken`), checked for every route.

The token stands for its user: the routes call the same services as the pages, which check
the user's role with `sop.roles.require`. The token's scope is checked here, once, so no
route can forget it: a read-only token may only read (GET), whatever its user's roles.
Sessions do not open the API: a browser's cookie would make every write a CSRF target.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import HttpBearer

from sop.models import ApiToken

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# How often a token's "last used" is written: a client reading page after page must not
# turn every read into a write of the same row.
LAST_USED_EVERY = dt.timedelta(minutes=1)
NO_TOKEN = "Send an API token: Authorization: Bearer sop_… (create one under API tokens)."


def api_token_find(raw: str) -> ApiToken:
    """The active token whose text is `raw`; AuthenticationError (401) says why not."""
    prefix = ApiToken.prefix_of(raw)
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compared in constant time: how long a refusal takes says nothing about the hash.
    if token is None or not hmac.compare_digest(token.secret_hash, ApiToken.digest(raw)):
        raise AuthenticationError(message="This API token is not valid.")
    if token.revoked_at is not None:
        raise AuthenticationError(
            message=f"This API token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC."
        )
    if not token.user.is_active:
        raise AuthenticationError(message="This API token's user is deactivated.")
    return token


def api_token_touch(token: ApiToken) -> None:
    """Record that the token was used, at most once every LAST_USED_EVERY."""
    now = timezone.now()
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY), pk=token.pk
    ).update(last_used_at=now)


class TokenAuth(HttpBearer):
    """Every API route's authentication: the token's user becomes `request.user`."""

    def __call__(self, request: HttpRequest) -> ApiToken:
        token = super().__call__(request)
        if token is None:  # no Authorization header, or not a bearer one
            raise AuthenticationError(message=NO_TOKEN)
        return token

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        found = api_token_find(token)
        if request.method not in SAFE_METHODS and not found.can_write:
            raise AuthorizationError(
                message="This API token is read-only: create a read-write token to change data."
            )
        api_token_touch(found)
        request.user = found.user
        return found
