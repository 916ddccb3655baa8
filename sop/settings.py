"""Django settings: every knob comes from an environment variable (see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from sop.env import (
    env_bool,
    env_choice,
    env_currency,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SOP_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("SOP_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    # The embedded quick start runs without configuration; production sets SECRET_KEY.
    SECRET_KEY = "django-insecure-embedded-default-change-me-0123456789abcdefghijklmnopqrstuv"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The REST API (sop/api.py); listed so its docs page is served from static/, not a CDN.
    "ninja",
    # Counts failed sign-ins per account and per client address (sop/accounts.py).
    "axes",
    "sop",
    "demand",
    "supply",
    "reconciliation",
    "executive",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sop.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "sop.middleware.IdleTimeoutMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sop.urls"
WSGI_APPLICATION = "sop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sop.context_processors.navigation",
                "sop.context_processors.formats",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sop.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("SOP_PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes, sop/accounts.py). After SOP_LOGIN_FAILURE_LIMIT failed
# sign-ins on one account (from anywhere), or SOP_LOGIN_ADDRESS_FAILURE_LIMIT from one
# client address (on any accounts), that account or address is refused (429) until
# SOP_LOGIN_COOLOFF_MINUTES have passed or an admin lifts the lock on the users page;
# 0 minutes keeps the lock until an admin lifts it. A successful sign-in resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SOP_LOGIN_FAILURE_LIMIT", 10, minimum=1)
_COOLOFF_MINUTES = env_int("SOP_LOGIN_COOLOFF_MINUTES", 30, minimum=0)
AXES_COOLOFF_TIME = timedelta(minutes=_COOLOFF_MINUTES) if _COOLOFF_MINUTES else None
# Counted per account and per client address (in this order: sop/axes_handler.py reads
# them so), an address with its own, higher limit: an office shares one address.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "sop.axes_handler.AccountAndAddressHandler"
SOP_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("SOP_LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)
AXES_VERBOSE = False
# A successful sign-in resets only its own account-and-address count (sop.accounts): axes'
# reset would also wipe every other account's failures from that address, so a guesser
# who signs into an account of their own between guesses would never be locked out.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The audit trail records every sign-in (sop/accounts.py): axes keeps only its counters.
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_IP_CALLABLE = "sop.middleware.client_address"
# Behind N reverse proxies that append to X-Forwarded-For, the client is the Nth address
# from the right; 0 (no proxy) takes the connection's address, which a client cannot forge.
SOP_PROXY_COUNT = env_int("SOP_PROXY_COUNT", 0, minimum=0)
# An executive approving a plan must have signed in or confirmed their password within
# these minutes.
SOP_REAUTH_MINUTES = env_int("SOP_REAUTH_MINUTES", 15, minimum=1)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600, minimum=300)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sop:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Uploads: an ERP extract is at most this big; larger files are refused with a message.
SOP_IMPORT_MAX_BYTES = env_int("SOP_IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
# An XLSX is a zip: its parts may unpack to at most this much (a zip bomb is refused unread).
SOP_IMPORT_MAX_UNPACKED_BYTES = env_int(
    "SOP_IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024, minimum=1024
)
# An import reads and checks a CSV this many bytes at a time (its memory follows the chunk,
# not the file), keeps at most this many error rows for its report (the count is whole).
SOP_IMPORT_CHUNK_BYTES = env_int("SOP_IMPORT_CHUNK_BYTES", 2 * 1024 * 1024, minimum=64)
SOP_IMPORT_ERRORS_KEPT = env_int("SOP_IMPORT_ERRORS_KEPT", 10_000, minimum=1)
# The stored copy of an imported file is deleted this many days after its import (the import
# history keeps its name, size, checksum and errors); a refused file's after this many (0:
# at once). Beat sweeps them hourly.
SOP_IMPORT_KEEP_DAYS = env_int("SOP_IMPORT_KEEP_DAYS", 30, minimum=0)
SOP_IMPORT_REFUSED_KEEP_DAYS = env_int("SOP_IMPORT_REFUSED_KEEP_DAYS", 0, minimum=0)
# Files above this many rows are loaded through a COPY into a staging table on Postgres.
SOP_IMPORT_COPY_THRESHOLD = env_int("SOP_IMPORT_COPY_THRESHOLD", 5000, minimum=0)
# An import source's SQL query is cancelled by its database after this many seconds.
SOP_PULL_STATEMENT_TIMEOUT = env_int("SOP_PULL_STATEMENT_TIMEOUT", 300, minimum=1)
# Supply planning: target cycle service level (%) per ABC class (unclassified items get
# C's), the months between two plans that safety stock also covers (the review period of a
# monthly plan), and the weeks of cover above which stock counts as excess.
SOP_SUPPLY_SERVICE_LEVEL_A = env_int("SOP_SUPPLY_SERVICE_LEVEL_A", 98, minimum=1)
SOP_SUPPLY_SERVICE_LEVEL_B = env_int("SOP_SUPPLY_SERVICE_LEVEL_B", 95, minimum=1)
SOP_SUPPLY_SERVICE_LEVEL_C = env_int("SOP_SUPPLY_SERVICE_LEVEL_C", 90, minimum=1)
SOP_SUPPLY_REVIEW_PERIOD_MONTHS = env_int("SOP_SUPPLY_REVIEW_PERIOD_MONTHS", 1, minimum=0)
SOP_SUPPLY_MAX_COVER_WEEKS = env_int("SOP_SUPPLY_MAX_COVER_WEEKS", 26, minimum=1)
# Alternate sources (`supply.sourcing`): what the primary source cannot supply is taken from
# the alternates in their priority order, or cheapest first ("cost").
SOP_ALTERNATE_ORDER = env_choice("SOP_ALTERNATE_ORDER", "priority", ("priority", "cost"))
# Customer service OTIF (`supply.service`): a line shipped up to this many days after the
# requested date is on time, and one short by up to this percent of the requested quantity
# is in full.
SOP_CUSTOMER_OTIF_DAYS = env_int("SOP_CUSTOMER_OTIF_DAYS", 0, minimum=0)
SOP_CUSTOMER_OTIF_PERCENT = env_int("SOP_CUSTOMER_OTIF_PERCENT", 0, minimum=0, maximum=100)
# Supplier performance (supply.performance): a purchase-order line is on time when its last
# receipt comes at most this many days after the promised date, in full when it receives at
# least the promised quantity less this percentage.
SOP_OTIF_ON_TIME_DAYS = env_int("SOP_OTIF_ON_TIME_DAYS", 0, minimum=0)
SOP_OTIF_IN_FULL_PERCENT = env_int("SOP_OTIF_IN_FULL_PERCENT", 0, minimum=0, maximum=100)
# Sanity limit of a planner's typed value (`sop.sanity`): above this many times the highest
# month of the series' last 24 months of sales, or above the hard cap (units a month), the
# page asks for a confirmation and the saved value is listed as an exception.
SOP_SANITY_FACTOR = env_int("SOP_SANITY_FACTOR", 10, minimum=1)
SOP_SANITY_HARD_CAP = env_int("SOP_SANITY_HARD_CAP", 10_000_000, minimum=1)
# The company's currency (ISO 4217): every money figure on the pages, in the print pack and
# in the exports' headers carries it. Prices, costs and budgets are imported in it.
SOP_CURRENCY = env_currency("SOP_CURRENCY", "EUR")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Larger uploads go to a temporary file that stops growing past SOP_IMPORT_MAX_BYTES.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "sop.forms.CappedUploadHandler",
]

# Celery: with REDIS_URL unset there are no workers (the embedded default): in the web
# process a run's tasks go to a small thread pool (sop.background), so the page answers at
# once and polls the run's progress; anywhere else (tests, commands, scripts) they run
# eagerly in the caller.
REDIS_URL = env_redis_url("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
SOP_BACKGROUND_THREADS = env_int("SOP_BACKGROUND_THREADS", 2, minimum=1)
# Every task records its failures on the run row (sop.tasks); an eager task must not raise
# into the request, and an eager retry (sop.run_fail) only works when it is not propagated.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that queues a run must answer within seconds when Redis is down, not hang:
# short connect timeouts and two quick publish retries, then the run fails with a message.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_TIMEZONE = TIME_ZONE
# A run of any kind whose worker was killed stops sending heartbeats; beat marks it failed
# so the page says so (the previously published result stays in place). No GET does this.
CELERY_BEAT_SCHEDULE = {
    "runs-fail-stale": {"task": "sop.runs_fail_stale", "schedule": 300.0},
    # Each source keeps its own interval; this only looks for the ones that are due.
    "import-sources-due": {"task": "sop.import_sources_due", "schedule": 60.0},
    "imports-sweep": {"task": "sop.imports_sweep", "schedule": 3600.0},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A session ends after SOP_SESSION_IDLE_HOURS without a request (a working day by
# default): sop.middleware.IdleTimeoutMiddleware moves its expiry on as the user works.
SESSION_COOKIE_AGE = env_int(
    "SESSION_COOKIE_AGE", env_int("SOP_SESSION_IDLE_HOURS", 8, minimum=1) * 3600, minimum=60
)
CSRF_COOKIE_SAMESITE = "Lax"
# Production sets these behind HTTPS; the defaults keep `manage.py demo` working over http.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# HTTPS only: browsers are told to keep to it for a year once the site redirects to it.
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SECURE_SSL_REDIRECT else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy that terminates TLS, Django sees plain http: without the proxy's header
# SECURE_SSL_REDIRECT would redirect forever. Set it only when the proxy sets the header
# (and strips any the client sent).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): the app's own scripts and styles only, served from
# static/ (htmx and plotly are vendored there): no inline script or handler, no inline
# style, no eval, nothing from another origin, and no framing. SOP_CSP_REPORT_ONLY=on sends
# it as Content-Security-Policy-Report-Only, to try it on a deployment before enforcing.
_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Style attributes: only the empty one, which plotly's colour bars set
        # (.attr("style", "")); the hash is SHA-256 of the empty string.
        "style-src-attr": [
            "'unsafe-hashes'",
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        ],
        # plotly's modebar icons and "download as PNG" use data: URLs.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if env_bool("SOP_CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP
# Powerful browser features the app never uses, switched off for it and anything it embeds.
SOP_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# E-mail: off unless EMAIL_HOST (SMTP) or another EMAIL_BACKEND is configured; stage moves
# are always notified inside the app, and by e-mail too when SOP_NOTIFY_EMAIL is on.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.dummy.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "sop@localhost")
SOP_NOTIFY_EMAIL = env_bool("SOP_NOTIFY_EMAIL", bool(EMAIL_HOST))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
