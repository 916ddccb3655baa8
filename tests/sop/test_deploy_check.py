"""`manage.py check --deploy` is clean with the production settings of .env.example."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SOP_REQUIRE_SECRET_KEY": "1",
    "ALLOWED_HOSTS": "sop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://sop.example.com",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def deploy_check(**overrides: str | None) -> subprocess.CompletedProcess:
    # A clean environment: the test session's own variables (DJANGO_ALLOW_ASYNC_UNSAFE for
    # the browser tests, DEBUG ...) are not a production server's.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64), SOP_NO_BOOTSTRAP="1")
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_settings_pass_the_deploy_check_without_a_warning(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # as the browser tests leave it
    result = deploy_check()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output


def test_the_deploy_check_fails_when_https_hardening_is_left_out():
    result = deploy_check(SECURE_HSTS_SECONDS="0", SESSION_COOKIE_SECURE="0")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W004" in output and "security.W012" in output


def test_the_embedded_secret_key_is_flagged_as_insecure():
    result = deploy_check(SECRET_KEY=None, SOP_REQUIRE_SECRET_KEY="0")
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = deploy_check(SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_hsts_is_on_for_a_year_by_default_once_the_site_redirects_to_https():
    result = deploy_check(SECURE_HSTS_SECONDS=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "security.W004" not in result.stdout + result.stderr
