"""Shared fixtures: users per role, signed-in clients, and the skips for missing services."""

from __future__ import annotations

import os

import pytest

from sop.choices import Role


def pytest_collection_modifyitems(config, items):
    no_redis = pytest.mark.skip(reason="no Redis reachable (SOP_TEST_REDIS_URL unset)")
    no_browser = pytest.mark.skip(reason="no Chromium (SOP_TEST_CHROMIUM unset)")
    no_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL is not postgres)")
    is_pg = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    for item in items:
        if "redis" in item.keywords and not os.environ.get("SOP_TEST_REDIS_URL"):
            item.add_marker(no_redis)
        if "browser" in item.keywords and not os.environ.get("SOP_TEST_CHROMIUM"):
            item.add_marker(no_browser)
        if "postgres" in item.keywords and not is_pg:
            item.add_marker(no_pg)


ROLE_USERNAMES = {
    Role.DEMAND_PLANNER: "demand",
    Role.SUPPLY_PLANNER: "supply",
    Role.FINANCE: "finance",
    Role.EXECUTIVE: "exec",
    Role.ADMIN: "admin",
    Role.SALES: "sales",
    Role.MARKETING: "marketing",
}


@pytest.fixture
def make_user(db):
    # Imported here so the ORM-free unit tests can run without Django (-p no:django).
    from tests.factories import UserFactory

    def _make(role: str | None = None, **kwargs):
        if role is not None:
            kwargs.setdefault("username", ROLE_USERNAMES[role])
            kwargs.setdefault("is_staff", role == Role.ADMIN)
            return UserFactory(roles=[role], **kwargs)
        return UserFactory(**kwargs)

    return _make


@pytest.fixture
def client_for(client, make_user):
    """A test client signed in as a fresh user of the given role."""

    def _client(role: str | None):
        from django.test import Client

        c = Client()
        if role is not None:
            c.force_login(make_user(role))
        return c

    return _client


@pytest.fixture
def api_for(make_user):
    """A test client that calls the REST API with a fresh token of a user of `role`.

    `user` instead of `role` gives the token to that user; `scope` is read_write unless
    said otherwise. The client's `token` attribute holds the token's row.
    """

    def _client(role: str | None = None, *, scope: str = "read_write", user=None):
        from django.test import Client

        from sop import services

        owner = user if user is not None else make_user(role)
        token, text = services.api_token_create(owner=owner, name="tests", scope=scope, user=owner)
        client = Client(headers={"Authorization": f"Bearer {text}"})
        client.token = token
        return client

    return _client


class _DjangoTestSettings:
    """Autouse fixtures that need pytest-django; registered only when it is active."""

    @pytest.fixture(autouse=True)
    def _test_settings(self, settings):
        # Each test starts with an empty cache (figures cached by one test's data must not
        # answer another's).
        from django.core.cache import cache

        cache.clear()
        # Production serves a hashed manifest built by collectstatic; tests read the sources.
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        settings.WHITENOISE_USE_FINDERS = True
        # The real hasher costs ~0.3 s a password by design; tests create many users.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    # The ORM-free unit tests may run with -p no:django.
    if config.pluginmanager.hasplugin("django"):
        config.pluginmanager.register(_DjangoTestSettings(), "sop-django-test-settings")


@pytest.fixture
def without_data_checks(monkeypatch):
    """Let an empty cycle (no sales history) leave draft: its failing data check is kept on
    the checklist but no longer holds the move. The data checks are tested in
    tests/sop/test_checks.py."""
    import dataclasses

    from sop import checks

    real = checks.SALES_CHECKLIST

    def build(cycle):
        return [dataclasses.replace(check, data_check=False) for check in real.build(cycle)]

    monkeypatch.setattr(checks, "SALES_CHECKLIST", dataclasses.replace(real, build=build))


@pytest.fixture
def past_cycles_build(make_user, django_capture_on_commit_callbacks):
    """Approve the demo's past cycles before a month, one user per role acting in each."""
    from django.contrib.auth.models import User

    from sop.demo_cycles import demo_past_cycles_build

    def _build(*, before, cycles: int):
        users = {
            role: User.objects.filter(username=ROLE_USERNAMES[role]).first() or make_user(role)
            for role in Role
        }
        with django_capture_on_commit_callbacks(execute=True):
            return demo_past_cycles_build(before=before, users=users, cycles=cycles)

    return _build
