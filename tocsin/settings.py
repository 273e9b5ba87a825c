"""Tocsin settings: every knob comes from the environment (django-environ).

Each setting has a safe development default so `make run` works on a bare machine;
production sets `DJANGO_ENV=production`, which refuses the development secret key and
turns on the secure-transport settings that `manage.py check --deploy` looks for.
Every variable is listed in `.env.example`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105 (refused in production, see below)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if IS_PRODUCTION else DEV_SECRET_KEY)
if IS_PRODUCTION and (not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY):
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.common",
    "apps.tenancy",
    "apps.audit",
    "apps.devices",
    "apps.alerts",
    "apps.ingest",
    "apps.reports",
    "apps.oncall",
    "apps.notifications",
    "apps.responses",
    "apps.realtime",
    "apps.iot",
    "apps.operations",
    "apps.demo",
    "workers",
]

MIDDLEWARE = [
    # A connection used cleanly a moment ago skips the health check's SELECT 1.
    "apps.common.connection_trust.TrustFreshConnectionsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.common.middleware.RequestIdMiddleware",
    # Before sessions and auth: a NUL in a cookie or header must not reach a lookup.
    "apps.common.middleware.RefuseNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tocsin.content_security.StreamAwareCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session opened before the person's token version moved on (deactivated, new password) ends here.
    "apps.tenancy.token_versions.SessionTokenVersionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Members of a tenant that requires two-factor sign-in use the admin only once verified by TOTP.
    "apps.tenancy.two_factor.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.common.middleware.ApiErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "tocsin.urls"
WSGI_APPLICATION = "tocsin.wsgi.application"
# No ASGI_APPLICATION: tocsin/asgi.py is the stream process, not Django over ASGI.

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
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tocsin"),
}
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
# Persistent connections: a new connection per request costs more than half of the
# request budget on this hardware (see docs/architecture.md, "Measured on this kind of machine").
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DATABASE_CONNECT_TIMEOUT", default=5
)
# While PostgreSQL is unreachable or restarting, requests answer 503 with this Retry-After.
TOCSIN_DATABASE_RETRY_AFTER_SECONDS = env.int("TOCSIN_DATABASE_RETRY_AFTER_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="tocsin")
# Bounded waits on Redis for the request path (throttle, enqueue, live publish); behind
# them a circuit breaker per server, closed again by a probe (apps/common/redis_guard.py).
TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS = env.float("TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS", default=0.25)
TOCSIN_REDIS_SOCKET_TIMEOUT_SECONDS = env.float("TOCSIN_REDIS_SOCKET_TIMEOUT_SECONDS", default=0.5)
TOCSIN_REDIS_PROBE_INTERVAL_SECONDS = env.float("TOCSIN_REDIS_PROBE_INTERVAL_SECONDS", default=1.0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS,
                    "socket_timeout": TOCSIN_REDIS_SOCKET_TIMEOUT_SECONDS},
    }
}

# --- Auth -------------------------------------------------------------------------------

# Django's model backend behind the per-account login lockout (apps/tenancy/login_guard.py).
AUTHENTICATION_BACKENDS = ["apps.tenancy.login_guard.LockoutModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "DJANGO_PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.devices.authentication.ApiKeyAuthentication",
        "apps.tenancy.token_versions.VersionedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Depth, NUL and number limits on every JSON body (apps/common/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["apps.common.parsers.BoundedJSONParser"],
    # django-filter, plus the instant and number limits on every filter value.
    "DEFAULT_FILTER_BACKENDS": ["apps.common.filters.BoundedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.common.throttling.UserRateThrottle",
        "apps.common.throttling.ApiKeyRateThrottle",
        "apps.common.throttling.AnonRateThrottle",
    ],
    # Client IPs for per-IP limits: the number of trusted reverse proxies in front of us.
    "NUM_PROXIES": env.int("TOCSIN_TRUSTED_PROXIES", default=0),
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Our login view sends `user_logged_in`, whose receiver already updates last_login.
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ALGORITHM": "HS256",
    # Every token carries the person's token version (apps/tenancy/token_versions.py).
    "TOKEN_OBTAIN_SERIALIZER": "apps.tenancy.token_versions.VersionedTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "apps.tenancy.token_versions.VersionedTokenRefreshSerializer",
}

# Self-service accounts (apps/tenancy/accounts.py): invitation links and password-reset
# links work once, for this long.
TOCSIN_INVITE_TTL_HOURS = env.int("TOCSIN_INVITE_TTL_HOURS", default=72)
PASSWORD_RESET_TIMEOUT = env.int("DJANGO_PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 3600)
# Password-reset and invitation emails per address and per client address.
TOCSIN_PASSWORD_RESET_RATE = env.str("TOCSIN_PASSWORD_RESET_RATE", default="5/hour")
# TOTP two-factor sign-in (django-otp): the issuer name authenticator apps show.
OTP_TOTP_ISSUER = env.str("TOCSIN_TOTP_ISSUER", default="Tocsin")

SPECTACULAR_SETTINGS = {
    "TITLE": "Tocsin API",
    "DESCRIPTION": "Multi-tenant alerting for field devices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The house error shape, documented with the 4xx answers every operation can give.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.schema.document_error_responses",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SiteKindEnum": "apps.tenancy.models.SiteKind",
        "DeviceKindEnum": "apps.devices.models.DeviceKind",
        "DeviceStatusEnum": "apps.devices.models.DeviceStatus",
        "AlertKindEnum": "apps.alerts.models.AlertKind",
        "SeverityEnum": "apps.alerts.models.Severity",
        "AlertStatusEnum": "apps.alerts.models.AlertStatus",
        "ChannelKindEnum": "apps.notifications.models.ChannelKind",
        "NotificationStatusEnum": "apps.notifications.models.NotificationStatus",
        "ReportKindEnum": "apps.reports.models.ReportKind",
        "ReportStatusEnum": "apps.reports.models.ReportStatus",
        "AnchorKindEnum": "apps.audit.models.AnchorKind",
        "DeviceReportKindEnum": ["battery_low", "breach", "custom", "tamper", "underage"],
        "EventSeverityEnum": ["critical", "error", "high", "info", "warning"],
        "RoleEnum": "apps.tenancy.models.Role",
        "AlertSourceEnum": "apps.alerts.models.AlertSource",
    },
}

# --- Internationalisation ----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security ----------------------------------------------------------------------------

# X-Forwarded-Proto is trusted only when a TLS proxy that sets it (and drops a client's own)
# is declared in front, as docker-compose.yml's Caddy is; otherwise any client could claim
# https and get secure-only behaviour over plain HTTP.
TOCSIN_BEHIND_TLS_PROXY = env.bool("TOCSIN_BEHIND_TLS_PROXY", default=False)
if TOCSIN_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=IS_PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=IS_PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Bodies past these answer 413 / 400 (JSON under /api/ and /hooks/, see apps/common/middleware.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DJANGO_MAX_FORM_FIELDS", default=1000)

# CORS (django-cors-headers) for a portal on another origin: only the listed origins, only
# the API, and no cookies (such a portal authenticates with JWT bearer tokens).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False

# The OpenAPI schema and Swagger UI name every route; without DEBUG they need a login
# (a session for the docs page; a session, JWT or API key for the schema).
TOCSIN_API_DOCS_PUBLIC = env.bool("TOCSIN_API_DOCS_PUBLIC", default=DEBUG)

# `/metrics` wants `Authorization: Bearer <METRICS_TOKEN>`. Without a token it answers 404
# in production and stays open in development (make run, tests).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_PUBLIC_WITHOUT_TOKEN = not IS_PRODUCTION

# --- Celery ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Redis redelivers an unacknowledged task after the visibility timeout; every countdown,
# retry delay and time limit below is kept well under it so nothing runs twice by accident.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
}
# Every key of the broker (queues, unacked messages, fanout channels) under this prefix, so
# two stacks or two test runs on one Redis database never take each other's tasks.
CELERY_BROKER_KEY_PREFIX = env.str("CELERY_BROKER_KEY_PREFIX", default="")
if CELERY_BROKER_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_BROKER_KEY_PREFIX
# Kombu's Redis transport with its client kept per pool (apps/common/broker_transport.py).
if urlsplit(CELERY_BROKER_URL).scheme == "redis":
    CELERY_BROKER_TRANSPORT = "apps.common.broker_transport:Transport"
CELERY_BROKER_CONNECTION_TIMEOUT = TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One immediate retry (a pooled connection Redis closed); a real outage opens the breaker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Task events (one Redis publish per task state, in the worker's main process, and one more
# per publish with "sent" events) are for monitors. Flower turns them on in every worker it
# sees (its `enable_events`, every few seconds) and they stay on for that worker's life; with
# no monitor nobody reads them, and they cost ~30 % of a busy worker's main process and a
# publish per new alert. Set either to true to have them from the start.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# django-celery-beat's database scheduler, writing beat's heartbeat (workers/heartbeats.py).
CELERY_BEAT_SCHEDULER = "workers.heartbeats:HeartbeatScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fixup closes the database connection around every task unless this is set,
# which made each delivery pay a new PostgreSQL connection (~5 ms here, ~17 ms of database
# CPU). With it, a worker keeps its connection; workers/signals.py still drops it when it
# is older than CONN_MAX_AGE or broken, as Django does between requests.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# A connection that finished the last request or task cleanly this recently skips the health
# check's `SELECT 1` before the next one (apps/common/connection_trust.py); 0 checks every time.
TOCSIN_DB_TRUST_SECONDS = env.float("TOCSIN_DB_TRUST_SECONDS", default=2.0)
# The longest a retry may wait; far below the visibility timeout (see above).
TOCSIN_TASK_RETRY_BACKOFF_MAX = env.int("TOCSIN_TASK_RETRY_BACKOFF_MAX", default=300)
TOCSIN_TASK_MAX_RETRIES = env.int("TOCSIN_TASK_MAX_RETRIES", default=6)

# --- Logging -----------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
CELERY_TASK_LOG_LEVEL = env.str("CELERY_TASK_LOG_LEVEL", default="WARNING").upper()
for _name, _level in (("LOG_LEVEL", LOG_LEVEL.upper()), ("CELERY_TASK_LOG_LEVEL", CELERY_TASK_LOG_LEVEL)):
    if _level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise environ.ImproperlyConfigured(f"{_name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {_level!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.common.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "apps.common.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "plain"} else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        # Celery's own line per task received and per task succeeded: two JSON lines per delivery
        # in the worker's main process, at hundreds a second under load. Off unless asked for
        # (Flower shows every task; failures are logged at ERROR whatever this says).
        "celery.worker.strategy": {"level": CELERY_TASK_LOG_LEVEL},
        "celery.app.trace": {"level": CELERY_TASK_LOG_LEVEL},
        # The SDKs log whole requests (phone numbers, message text) at INFO; keep them quiet.
        "twilio.http_client": {"level": "WARNING"},
        "slack_sdk": {"level": "WARNING"},
    },
}

# --- Tocsin ------------------------------------------------------------------------------

TOCSIN_PUBLIC_BASE_URL = env.str("TOCSIN_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
TOCSIN_HEALTH_TIMEOUT_SECONDS = env.float("TOCSIN_HEALTH_TIMEOUT_SECONDS", default=2.0)

# --- The platform watching itself (apps/operations) -------------------------------------
# The tenant whose policies and channels receive platform alerts (beat or workers stopped,
# outbox backlog); empty: platform problems are only logged, at CRITICAL.
TOCSIN_OPERATOR_TENANT = env.str("TOCSIN_OPERATOR_TENANT", default="")
TOCSIN_HEARTBEAT_SECONDS = env.float("TOCSIN_HEARTBEAT_SECONDS", default=10)
TOCSIN_BEAT_STALE_SECONDS = env.float("TOCSIN_BEAT_STALE_SECONDS", default=60)
TOCSIN_WORKER_STALE_SECONDS = env.float("TOCSIN_WORKER_STALE_SECONDS", default=60)
TOCSIN_OUTBOX_BACKLOG_SECONDS = env.float("TOCSIN_OUTBOX_BACKLOG_SECONDS", default=120)
TOCSIN_WATCHDOG_INTERVAL_SECONDS = env.float("TOCSIN_WATCHDOG_INTERVAL_SECONDS", default=15)

# --- Devices -----------------------------------------------------------------------------

DEVICE_TOKEN_LIFETIME_SECONDS = env.int("DEVICE_TOKEN_LIFETIME_SECONDS", default=24 * 3600)
TOCSIN_CHALLENGE_TTL_SECONDS = env.int("TOCSIN_CHALLENGE_TTL_SECONDS", default=300)
# How long a staff re-admit lets the next enrolment of that hardware id re-key the device.
TOCSIN_READMIT_TTL_HOURS = env.int("TOCSIN_READMIT_TTL_HOURS", default=24)
# Failed logins per account (whatever the address) before it is locked for the window.
TOCSIN_LOGIN_LOCKOUT_FAILURES = env.int("TOCSIN_LOGIN_LOCKOUT_FAILURES", default=10)
TOCSIN_LOGIN_LOCKOUT_SECONDS = env.int("TOCSIN_LOGIN_LOCKOUT_SECONDS", default=900)
TOCSIN_RATE_LIMITS = {
    "enroll": env.str("RATE_LIMIT_ENROLL", default="20/hour"),
    "renew": env.str("RATE_LIMIT_RENEW", default="30/hour"),
    "login": env.str("RATE_LIMIT_LOGIN", default="30/min"),
    "device": env.str("RATE_LIMIT_DEVICE", default="600/min"),
    "user": env.str("RATE_LIMIT_USER", default="300/min"),
    "anon": env.str("RATE_LIMIT_ANON", default="60/min"),
}
# What a device is told at start when no site rule says otherwise (GET /devices/me/).
TOCSIN_DEVICE_DEFAULTS = {
    "heartbeat_interval_seconds": env.int("DEVICE_HEARTBEAT_INTERVAL_SECONDS", default=60),
    "batch_size": env.int("DEVICE_BATCH_SIZE", default=10),
    "batch_timeout_seconds": env.int("DEVICE_BATCH_TIMEOUT_SECONDS", default=300),
    "underage_age": 21,
    "cpu_temp_threshold": 85.0,
    "battery_warning_percent": 20,
    "rssi_breach_dbm": -85,
}

# --- Secrets at rest ------------------------------------------------------------------------


def _development_encryption_key() -> str:
    """Derived from the secret key so development needs no extra setup; production sets keys."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(f"tocsin-fernet:{SECRET_KEY}".encode()).digest()).decode()


TOCSIN_ENCRYPTION_KEYS = env.list("TOCSIN_ENCRYPTION_KEYS", default=[] if IS_PRODUCTION else [
    _development_encryption_key()])
if IS_PRODUCTION and not TOCSIN_ENCRYPTION_KEYS:
    raise environ.ImproperlyConfigured("TOCSIN_ENCRYPTION_KEYS must be set in production")

# The audit chain's HMAC keys, `id:secret`, newest first: held outside the database so that
# someone with database access cannot recompute the chain after editing it. Keep an old key
# listed for as long as entries it keyed are retained.
def _development_audit_key() -> str:
    import hashlib

    return "dev1:" + hashlib.sha256(f"tocsin-audit:{SECRET_KEY}".encode()).hexdigest()


TOCSIN_AUDIT_KEYS = env.list("TOCSIN_AUDIT_KEYS", default=[] if IS_PRODUCTION else [_development_audit_key()])
if IS_PRODUCTION and not TOCSIN_AUDIT_KEYS:
    raise environ.ImproperlyConfigured("TOCSIN_AUDIT_KEYS must be set in production")
# The tenant whose alerts page the platform's operators (audit chain broken, ...), by slug.
TOCSIN_OPERATOR_TENANT = env.str("TOCSIN_OPERATOR_TENANT", default="")

# --- Notifications ---------------------------------------------------------------------------

# Webhook, Slack-webhook and Slack API destinations that resolve to loopback, private,
# link-local or reserved addresses are refused (apps.common.netguard). Development
# stand-ins on 127.0.0.1 need this on; production refuses to start with it.
TOCSIN_ALLOW_PRIVATE_TARGETS = env.bool("TOCSIN_ALLOW_PRIVATE_TARGETS", default=False)
if IS_PRODUCTION and TOCSIN_ALLOW_PRIVATE_TARGETS:
    raise environ.ImproperlyConfigured("TOCSIN_ALLOW_PRIVATE_TARGETS is for development only")
TOCSIN_NOTIFY_MAX_ATTEMPTS = env.int("TOCSIN_NOTIFY_MAX_ATTEMPTS", default=5)
TOCSIN_NOTIFY_PROVIDER_TIMEOUT = env.float("TOCSIN_NOTIFY_PROVIDER_TIMEOUT", default=10.0)
TOCSIN_NOTIFY_RETRY_BASE_SECONDS = env.float("TOCSIN_NOTIFY_RETRY_BASE_SECONDS", default=2.0)
TOCSIN_NOTIFY_RETRY_MAX_SECONDS = env.float("TOCSIN_NOTIFY_RETRY_MAX_SECONDS", default=300.0)
TOCSIN_SMS_BUNDLE_SECONDS = env.int("TOCSIN_SMS_BUNDLE_SECONDS", default=30)
# A row still "sending" after this long belongs to a worker that died mid-send.
TOCSIN_NOTIFY_STALE_SENDING_SECONDS = env.int("TOCSIN_NOTIFY_STALE_SENDING_SECONDS", default=180)
TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS = env.int("TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS", default=60)
# Site outages: alerts of these kinds can be grouped (thresholds are per site); their first
# page waits this long, so the first devices of a power cut don't page one by one.
TOCSIN_OUTAGE_KINDS = env.list("TOCSIN_OUTAGE_KINDS", default=["offline"])
TOCSIN_OUTAGE_HOLD_SECONDS = env.int("TOCSIN_OUTAGE_HOLD_SECONDS", default=60)

TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_BASE_URL = env.str("SLACK_API_BASE_URL", default="https://slack.com/api/")
# Answering pages from where they arrive (apps.responses). Slack's interactivity requests
# are verified with the app's signing secret: without one, button presses are refused.
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
# An emailed acknowledge / resolve link works once, for this long after the page was sent.
TOCSIN_ACTION_LINK_MAX_AGE_HOURS = env.int("TOCSIN_ACTION_LINK_MAX_AGE_HOURS", default=24)

EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
    EMAIL_ENABLED = True
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    EMAIL_ENABLED = False
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tocsin <alerts@tocsin.invalid>")

# --- Fake-ID detection ----------------------------------------------------------------------
# One document (its keyed hash) scanned at two or more sites of a tenant within this window, or
# scanned this many more times after being refused as underage, raises "document reuse".
TOCSIN_DOCUMENT_REUSE_WINDOW_SECONDS = env.int("TOCSIN_DOCUMENT_REUSE_WINDOW_SECONDS", default=3600)
TOCSIN_DOCUMENT_REUSE_AFTER_REFUSAL = env.int("TOCSIN_DOCUMENT_REUSE_AFTER_REFUSAL", default=2)

# --- Fleet: shadows, commands, backlog ------------------------------------------------------
# Desired config not reported back by the device within this long raises "shadow drift".
TOCSIN_SHADOW_DRIFT_SECONDS = env.int("TOCSIN_SHADOW_DRIFT_SECONDS", default=300)
# A command not acknowledged within this long (unless the sender says otherwise) expires.
TOCSIN_COMMAND_TTL_SECONDS = env.int("TOCSIN_COMMAND_TTL_SECONDS", default=900)
# An agent whose oldest unsent item is older than this raises "device backlog".
TOCSIN_BACKLOG_ALERT_SECONDS = env.int("TOCSIN_BACKLOG_ALERT_SECONDS", default=3600)

# --- Retention ------------------------------------------------------------------------------

TOCSIN_HEALTH_RETENTION_DAYS = env.int("TOCSIN_HEALTH_RETENTION_DAYS", default=14)
TOCSIN_TELEMETRY_RETENTION_DAYS = env.int("TOCSIN_TELEMETRY_RETENTION_DAYS", default=90)
# Platform defaults; a tenant may set its own period per table (retention policies in the admin).
TOCSIN_SCAN_RETENTION_DAYS = env.int("TOCSIN_SCAN_RETENTION_DAYS", default=365)
TOCSIN_ALERT_RETENTION_DAYS = env.int("TOCSIN_ALERT_RETENTION_DAYS", default=365)
TOCSIN_REPORT_RETENTION_DAYS = env.int("TOCSIN_REPORT_RETENTION_DAYS", default=2 * 365)
TOCSIN_AUDIT_RETENTION_DAYS = env.int("TOCSIN_AUDIT_RETENTION_DAYS", default=7 * 365 + 2)
# The nightly job deletes in batches of this many rows, at most this many batches per table and
# tenant per run, so one run's locks and WAL stay bounded; what is left goes on the next night.
TOCSIN_RETENTION_BATCH_SIZE = env.int("TOCSIN_RETENTION_BATCH_SIZE", default=5000)
TOCSIN_RETENTION_MAX_BATCHES = env.int("TOCSIN_RETENTION_MAX_BATCHES", default=20)

# --- Realtime (live events, the SSE stream process, the board) -------------------------------
# Events go to one Redis stream per tenant, bounded by length and by age, so a client
# that reconnects within the retention window with Last-Event-ID loses nothing.

TOCSIN_REALTIME_PREFIX = env.str("TOCSIN_REALTIME_PREFIX", default="tocsin")
TOCSIN_STREAM_MAXLEN = env.int("TOCSIN_STREAM_MAXLEN", default=10000)
TOCSIN_STREAM_RETENTION_SECONDS = env.int("TOCSIN_STREAM_RETENTION_SECONDS", default=6 * 3600)
# Where browsers and API clients reach the stream process (uvicorn, tocsin.asgi).
TOCSIN_STREAM_PUBLIC_URL = env.str("TOCSIN_STREAM_PUBLIC_URL", default="http://127.0.0.1:8001")
TOCSIN_STREAM_TICKET_TTL_SECONDS = env.int("TOCSIN_STREAM_TICKET_TTL_SECONDS", default=45)
TOCSIN_STREAM_KEEPALIVE_SECONDS = env.float("TOCSIN_STREAM_KEEPALIVE_SECONDS", default=15.0)
TOCSIN_STREAM_RETRY_MS = env.int("TOCSIN_STREAM_RETRY_MS", default=3000)
# A connection ends after this long and the client comes back with a fresh ticket, so a
# removed membership or a deactivated account stops receiving events within this bound.
TOCSIN_STREAM_MAX_CONNECTION_SECONDS = env.int("TOCSIN_STREAM_MAX_CONNECTION_SECONDS", default=3600)

# --- Content-Security-Policy -------------------------------------------------------------
# On every response (django-csp). Scripts only from our own static
# files or carrying the per-request nonce (`{{ request.csp_nonce }}`: the API docs' inline
# bootstrap); <style> elements likewise; style *attributes* stay allowed (the admin and its
# forms use them, and they cannot run code). The board's event stream may live on another
# origin (TOCSIN_STREAM_PUBLIC_URL): tocsin.content_security adds it to connect-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Plants over MQTT (apps.iot) ---------------------------------------------------------------
# Empty MQTT_URL turns plants over MQTT off: plants are still created (with a warning) and
# gateways can be provisioned once it is set. Only mqtts:// (TLS with client certificates).
MQTT_URL = env.str("MQTT_URL", default="")
# What gateways are told to connect to, when it differs from the address Tocsin uses.
MQTT_PUBLIC_URL = env.str("MQTT_PUBLIC_URL", default="")
# Where Tocsin writes the broker's CA, CRL and config (shared with the broker in compose).
MQTT_BROKER_DIR = env.str("MQTT_BROKER_DIR", default=str(BASE_DIR / "var" / "mosquitto"))
# The broker's pid file, so a revocation reloads its CRL at once; empty: <MQTT_BROKER_DIR>/mosquitto.pid.
MQTT_BROKER_PIDFILE = env.str("MQTT_BROKER_PIDFILE", default="")
MQTT_CONTROL_TIMEOUT_SECONDS = env.float("MQTT_CONTROL_TIMEOUT_SECONDS", default=5.0)
# Dedup layer 1: a message id is remembered this long per plant.
MQTT_DEDUP_WINDOW_HOURS = env.int("MQTT_DEDUP_WINDOW_HOURS", default=24)
# The bridge commits (then acknowledges) up to this many messages at once, or what arrived within the wait.
# Measured (bench/README.md): 150 messages / 20 ms keep p99 publish → committed under 500 ms at
# 6,000 readings/s; 500 / 50 ms doubled the latency for no more throughput.
MQTT_BRIDGE_BATCH_SIZE = env.int("MQTT_BRIDGE_BATCH_SIZE", default=150)
MQTT_BRIDGE_BATCH_WAIT_MS = env.int("MQTT_BRIDGE_BATCH_WAIT_MS", default=20)
# true: bridges share `$share/tocsin/solar/+/data` (run several to split the load). false: one
# bridge on a plain subscription, which Mosquitto 2.0 restores after a broker restart, so
# nothing published before the bridge reconnects is lost (README, "Plants over MQTT").
MQTT_BRIDGE_SHARED = env.bool("MQTT_BRIDGE_SHARED", default=True)
