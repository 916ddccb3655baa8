from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sop.env import env_bool, env_database, env_int, env_redis_url


def test_a_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG")


def test_a_bad_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("SOP_IMPORT_MAX_BYTES", "50MB")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("SOP_IMPORT_MAX_BYTES", 1)


def test_a_percentage_above_100_is_refused(monkeypatch):
    monkeypatch.setenv("SOP_OTIF_IN_FULL_PERCENT", "105")
    with pytest.raises(
        ImproperlyConfigured, match="SOP_OTIF_IN_FULL_PERCENT='105' must be at most"
    ):
        env_int("SOP_OTIF_IN_FULL_PERCENT", 0, minimum=0, maximum=100)


def test_an_unsupported_database_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/sop")
    with pytest.raises(ImproperlyConfigured, match="only postgres"):
        env_database("DATABASE_URL", "sqlite:///x.sqlite3")


def test_the_embedded_default_is_sqlite_under_var(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = env_database("DATABASE_URL", f"sqlite:///{settings.BASE_DIR / 'var/sop.sqlite3'}")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]).endswith("var/sop.sqlite3")


def test_a_redis_url_without_a_scheme_is_refused(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "127.0.0.1:6379")
    with pytest.raises(ImproperlyConfigured, match="redis://"):
        env_redis_url("REDIS_URL")


def test_start_up_stops_with_a_clear_message_on_a_bad_value():
    env = {**os.environ, "DEBUG": "perhaps", "SOP_NO_BOOTSTRAP": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_without_redis_url_tasks_run_in_process():
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert settings.CELERY_BROKER_URL == "memory://"
