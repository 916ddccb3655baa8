"""Request middleware of the core: security headers, the idle timeout, the client address."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# The session's last sign of life; its expiry moves on at most this often, so a user at
# work costs a session write every few minutes, not one per request.
SEEN_KEY = "sop_seen"
SEEN_EVERY_SECONDS = 300


def client_address(request: HttpRequest) -> str:
    """The client's address: the connection's, or behind SOP_PROXY_COUNT proxies the one
    the outermost of them saw (the Nth address from the right of X-Forwarded-For)."""
    proxies = settings.SOP_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.SOP_PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.SOP_PERMISSIONS_POLICY)
        return response


class IdleTimeoutMiddleware:
    """End a signed-in session after SESSION_COOKIE_AGE without a request.

    The session (and its cookie) expires SESSION_COOKIE_AGE after it was last saved;
    marking it modified every few minutes while the user works moves that on, so the
    timeout counts from the last request, give or take SEEN_EVERY_SECONDS.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            seen = request.session.get(SEEN_KEY)
            if not isinstance(seen, int | float) or now - seen >= SEEN_EVERY_SECONDS:
                request.session[SEEN_KEY] = now
        return self.get_response(request)
