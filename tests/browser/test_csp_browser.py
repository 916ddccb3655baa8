"""The Content-Security-Policy holds on every page: Chromium loads each page a person can
reach, as the role that reaches it, with the policy on, and the test fails on any
violation the browser reports (a refused inline script, handler or style, eval, a
resource from elsewhere) or any other console error.

Every GET page without parameters in its URL is visited, plus the pages of one object of
each kind (a SKU, an import, an approved plan...) and the admin's pages a planner uses.
"""

# The fixtures are imported by name and then requested as arguments.
# ruff: noqa: F811
from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import Error as PlaywrightError

from executive.models import PlanApproval
from sop.choices import Role
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in, wait_until  # noqa: F401
from tests.executive.conftest import (  # noqa: F401
    approved,
    company,
    cycle,
    executive,
    finance,
    in_review,
    published,
    recommended,
    reconciling,
    supply_planner,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not pages: downloads, the API, the sign-out, and writes answered by a redirect.
SKIP_PREFIXES = ("/api/", "/static/", "/logout/", "/admin/logout/", "/admin/r/")
SKIP_SUFFIXES = (".csv", ".xlsx", "/export/", "/download/", "/template/")


def _plain_paths() -> list[str]:
    """Every URL path of the resolver that takes no parameter."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.pattern.converters or "(?P<" in str(p.pattern):
                    continue
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if p.pattern.converters or "<" in route or "(?P" in route or "^" in route:
                    continue
                found.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted(
        path
        for path in set(found)
        if not path.startswith(SKIP_PREFIXES) and not path.endswith(SKIP_SUFFIXES)
    )


def _watch(page, found: list[str]):
    def on_console(message):
        # A page answered 403 (a role's refusal) logs its own status: not a fault here.
        if message.text.startswith("Failed to load resource: the server responded"):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(f"{page.url}: {error}"))


def _visit(page, url: str) -> int:
    try:
        response = page.goto(url)
    except PlaywrightError:  # a write that refuses GET answers 405 with no page
        return 0
    page.wait_for_load_state("networkidle")
    # Let plotly draw and htmx settle: a violation raised while they work is caught too.
    wait_until(
        page, "[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'))"
    )
    return response.status if response else 0


def test_every_page_keeps_to_the_content_security_policy(
    live_server, chromium_page, sign_in, approved, make_user, in_review
):
    page = chromium_page
    violations: list[str] = []
    _watch(page, violations)
    admin = make_user(Role.ADMIN)
    pk = approved.pk
    approval = PlanApproval.objects.get(cycle=approved)
    paths = [
        *_plain_paths(),
        f"/?cycle={pk}",
        f"/demand/?cycle={pk}&family=Bikes",
        f"/supply/?cycle={pk}",
        f"/reconciliation/?cycle={pk}",
        f"/executive/?cycle={pk}",
        f"/executive/approved/{approval.pk}/",
        "/admin/sop/product/",
        "/admin/sop/product/add/",
        "/api/v1/docs",
    ]
    sign_in(page, admin)
    header = page.goto(live_server.url + "/").headers["content-security-policy"]
    assert "script-src 'self'" in header and "style-src 'self'" in header
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    visited = []
    for path in paths:
        status = _visit(page, live_server.url + path)
        if status in (200, 403):
            visited.append(path)
    page.screenshot(path=str(ARTIFACTS / "csp_last_page.png"), full_page=True)
    assert len(visited) > 30, visited
    assert violations == [], "\n".join(violations)


def test_an_inline_script_would_be_reported(live_server, chromium_page, sign_in, make_user):
    """The check can fail: a script the page did not ship is refused and reported."""
    page = chromium_page
    violations: list[str] = []
    _watch(page, violations)
    sign_in(page, make_user(Role.DEMAND_PLANNER))
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.x") is None
    assert any("Content Security Policy" in v for v in violations), violations
