"""Typed readers for settings taken from environment variables.

Each reader fails loudly with the variable's name and the bad value, so a typo in a
deployment stops start-up instead of running with a silently wrong setting.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at most {maximum}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} must be one of {', '.join(choices)}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_currency(name: str, default: str) -> str:
    """An ISO 4217 currency code (EUR, USD, CHF ...), as babel's CLDR data knows them."""
    from babel.numbers import is_currency

    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    code = raw.strip().upper()
    if not is_currency(code):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an ISO 4217 currency code (e.g. EUR, USD, GBP, CHF)."
        )
    return code


def env_database(name: str, default: str) -> dict:
    """Parse a database URL; only PostgreSQL and SQLite are supported."""
    import dj_database_url

    raw = os.environ.get(name) or default
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # the parser raises several types for malformed URLs
        raise ImproperlyConfigured(f"{name}={raw!r} is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(
            f"{name}={raw!r}: only postgres:// and sqlite:// URLs are supported."
        )
    if engine == "django.db.backends.sqlite3":
        # SQLite has no connection pool to keep alive; a long timeout avoids
        # "database is locked" while a background run writes. WAL lets pages read while a
        # run writes, and IMMEDIATE transactions wait for the write lock at BEGIN instead of
        # failing at once when a read-then-write transaction meets another writer.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        config["OPTIONS"] = {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    return config


def env_redis_url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name}={raw!r} must start with redis://, rediss:// or unix://."
        )
    return raw
