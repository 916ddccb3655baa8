"""The embedded default as `manage.py demo` starts it: a run never blocks the page.

The app runs as a subprocess with no DATABASE_URL and no REDIS_URL (SQLite in a temporary
directory, no Celery workers), on a small demo company loaded without its first forecast.
A demand planner clicks "Run forecast": the click must come back at once, the page must
stay where it was, and the progress must move before the run publishes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from sop.management.commands.seed_demo import DEMO_PASSWORD
from tests.faults.conftest import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# 120 SKUs at 2 locations: 240 series, three forecast chunks of up to 100 series.
SKUS, LOCATIONS = 120, 2
ANSWER_WITHIN = 2.0  # seconds; the work itself takes well over ten
RUN_TIMEOUT = 90


@pytest.fixture
def embedded_app(tmp_path):
    """`manage.py demo` on a fresh SQLite file with a small company; its URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"SOP_VAR_DIR": str(tmp_path), "STATIC_ROOT": str(tmp_path / "static")}

    def manage(*args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=120
        )

    manage("migrate", "--verbosity", "0")
    # The first forecast is what the test starts, so the seeder leaves it out.
    manage("seed_demo", "--skus", str(SKUS), "--locations", str(LOCATIONS), "--data-only")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "the demo server stopped"
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=1)
            break
        except OSError:
            assert time.monotonic() < deadline, "the demo server did not answer"
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_run_forecast_answers_at_once_and_shows_progress_until_it_publishes(
    embedded_app, chromium_page
):
    page = chromium_page
    page.goto(f"{embedded_app}/login/")
    page.fill("input[name=username]", "demand")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{embedded_app}/")
    page.goto(f"{embedded_app}/demand/")
    family = page.locator("aside nav details").first
    if family.get_attribute("open") is None:
        family.locator("summary").click()
    family.locator("a.family-link").click()  # a family: the place the user works in
    page.wait_for_selector("a.family-link[aria-current=page]")
    where = page.url

    started = time.monotonic()
    with page.expect_response(lambda r: "/forecast/" in r.url and r.request.method == "POST"):
        page.click("#run-panel button:has-text('Run forecast')")
    answered = time.monotonic() - started
    assert answered < ANSWER_WITHIN, f"the click took {answered:.1f} s"
    page.wait_for_selector("#run-panel [data-run-status]")
    assert page.url == where

    seen: list[int] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        assert time.monotonic() < deadline, f"not published after {RUN_TIMEOUT} s: {seen}"
        try:
            if "Published: run" in (page.text_content("#run-panel") or ""):
                break
            bar = page.query_selector("#run-panel [role=progressbar]")
            if bar is not None and (value := bar.get_attribute("aria-valuenow")) is not None:
                seen.append(int(value))
        except PlaywrightError:
            pass  # the page reloading itself once the run published
        page.wait_for_timeout(200)
    assert any(0 < value < 100 for value in seen), f"the progress never moved: {seen}"
    assert page.url == where  # the page reloaded in place to show the new forecast
