"""Shared browser fixtures: Debian's Chromium driven by Playwright's sync API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pass-for-tests-1"  # tests.factories.UserFactory's password


@pytest.fixture
def chromium_page():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from
    # the test body are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ["SOP_TEST_CHROMIUM"],
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection (Django keys
        # connections by async context); close it, or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def sign_in(live_server):
    """Sign a user in through the login form, as a person would."""

    def _sign_in(page, user) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return _sign_in


def wait_until(page, expression: str, timeout: float = 15.0) -> None:
    """Wait until the JavaScript `expression` is true on the page.

    Playwright's wait_for_function compiles its predicate with eval inside the page, which
    the app's Content-Security-Policy refuses; page.evaluate goes through the DevTools
    protocol, which the policy does not govern. So: poll with evaluate.
    """
    import time

    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise TimeoutError(f"{expression!r} still false after {timeout} s")
        page.wait_for_timeout(50)
