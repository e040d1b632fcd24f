"""Settings for the SMS verification gateway.

Every environment variable the project reads is read here and nowhere else; other modules read
``django.conf.settings`` at call time. `.env.example` lists them all.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
# A development .env (scripts/up.sh writes one; never committed) fills in what the environment leaves unset.
# ENV_FILE names another file; empty reads none (scripts/test.sh, so tests never see a developer's .env).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "common",
    "clients",
    "providers",
    "messaging",
    "verifications",
]

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",  # first: every answer, errors included, carries X-Request-ID
    # /healthz and /readyz: answered before host checks, redirects and everything else (smsproject.probes).
    "smsproject.probes.ProbeMiddleware",
    "common.middleware.HostCheckMiddleware",
    "common.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, Swagger UI, Redoc) from the app itself, also under gunicorn with DEBUG off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # only adds a header: first, so every answer has it
    # The hot path (POST /sendsms/) is answered here; what follows serves the admin and the rest.
    "messaging.api.accept.FastAcceptMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out admin login (django-axes)
]

ROOT_URLCONF = "smsproject.urls"
WSGI_APPLICATION = "smsproject.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's own pages (the admin's provider-health page and its link on the admin index).
        "DIRS": [BASE_DIR / "smsproject" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "db.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        # Off by default (Django's default): a check is one more round trip on every request. Without it, a
        # connection that died with the database fails one request (503) and is then replaced.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
# No process may wait on the database without end (docs/guarantees.md, promise 3). Seconds; 0 = none.
# connect: a new connection (libpq's connect_timeout). statement and lock: the server ends a statement that
# runs or waits for a lock longer; an idle transaction: the server ends a session that holds one open
# (its locks with it). A server that stops answering altogether is given up on by the client after the
# statement timeout + 2 s (common.postgresql). One set of defaults for web and worker: every statement
# the gateway runs takes milliseconds on a healthy server, 7 s bounds an API answer (a 503) and fits well
# inside the task time limits and the lease. Raise DB_STATEMENT_TIMEOUT for a long migration.
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3)
DB_STATEMENT_TIMEOUT = env_float("DB_STATEMENT_TIMEOUT", 5.0)
DB_LOCK_TIMEOUT = env_float("DB_LOCK_TIMEOUT", 3.0)
DB_IDLE_IN_TRANSACTION_TIMEOUT = env_float("DB_IDLE_IN_TRANSACTION_TIMEOUT", 30.0)
DB_ANSWER_TIMEOUT = DB_STATEMENT_TIMEOUT + 2 if DB_STATEMENT_TIMEOUT else 0.0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "common.postgresql"
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if DB_CONNECT_TIMEOUT:
        _options["connect_timeout"] = DB_CONNECT_TIMEOUT
    if DB_ANSWER_TIMEOUT:
        _options["answer_timeout"] = DB_ANSWER_TIMEOUT
    _options["options"] = " ".join(
        f"-c {name}={int(seconds * 1000)}"
        for name, seconds in (
            ("statement_timeout", DB_STATEMENT_TIMEOUT),
            ("lock_timeout", DB_LOCK_TIMEOUT),
            ("idle_in_transaction_session_timeout", DB_IDLE_IN_TRANSACTION_TIMEOUT),
        )
    )
if DATABASES["default"]["ENGINE"] == "common.postgresql" and env_bool("DB_SERVER_SIDE_BINDING", True):
    # Parameters travel apart from the statement (psycopg's default; Django's is to inline them): no
    # quoting in Python. Measured: -0.5 ms CPU per accept.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # A statement run this many times on a connection is prepared (psycopg's default; Django turns it
    # off): every statement on the hot paths repeats, and PostgreSQL then skips parsing and planning
    # (measured: 0.15 -> 0.07 ms of server CPU per accepted request's INSERT). 0 turns it off: needed
    # behind a transaction-pooling PgBouncer older than 1.21, which cannot keep prepared statements.
    _prepare = env_int("DB_PREPARE_THRESHOLD", 5)
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = _prepare or None
# Unset: the server's setting (PostgreSQL's default is on). "off" answers a commit before its WAL is on disk:
# a disk whose flushes stall (docs/benchmark.md, design notes) then no longer stalls the 202s, but a crash of
# PostgreSQL or of the machine loses the last ~0.6 s of commits, accepted requests included. An operator's
# choice for the web processes only (docs/guarantees.md); the workers' commits record what a provider did.
DB_SYNCHRONOUS_COMMIT = os.environ.get("DB_SYNCHRONOUS_COMMIT", "")
if DB_SYNCHRONOUS_COMMIT:
    if DATABASES["default"]["ENGINE"] != "common.postgresql":
        raise ImproperlyConfigured("DB_SYNCHRONOUS_COMMIT is PostgreSQL's setting; unset it for SQLite")
    if DB_SYNCHRONOUS_COMMIT not in {"on", "off", "local", "remote_write", "remote_apply"}:
        raise ImproperlyConfigured(f"DB_SYNCHRONOUS_COMMIT={DB_SYNCHRONOUS_COMMIT!r} is not a synchronous_commit value")
    DATABASES["default"]["OPTIONS"]["options"] += f" -c synchronous_commit={DB_SYNCHRONOUS_COMMIT}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat are separate processes sharing one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock up front so two writers queue instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Tests run a real worker process, so the test database must be a file both can open.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_db.sqlite3")}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: rate limits, circuit breakers and idempotency keys are shared by every process --------
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    # Breakers, limits and the pump's wake-up run inside API requests and sends; a frozen Redis must cost each
    # call a fraction of a second, not hang it. An API answer makes up to ~6 cache calls, so 0.25 s keeps it
    # under 2 s with the cache frozen (tests/faults/test_redis_faults.py); a healthy Redis answers in ~1 ms.
    CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "gateway_cache",
        }
    }

# --- Celery ---------------------------------------------------------------------------------------
# The embedded default is kombu's filesystem transport: a folder that every process on the machine
# shares, no server needed. Messages are files; it is polled, so it is for development, not load.
BROKER_DIR = DATA_DIR / "broker"
# "localhost" only keeps kombu from warning that the URL names no host; the folders below are the broker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://localhost/"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    # A publisher (the API) tries the broker once and moves on: the outbox sweeper re-publishes.
    # The worker's own reconnect loop passes its own retry count and is not affected.
    "max_retries": 0,
}
# Redis hands a message that was delivered but not acknowledged to another worker after this many seconds;
# every countdown (backoff, at most SMS_BACKOFF_MAX_SECONDS) plus the task time limit must stay below it, or
# a waiting task is delivered twice. RabbitMQ has no such timer: it redelivers when the consumer's
# connection closes, and its consumer_timeout (30 min by default) only closes a channel holding one longer.
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
if CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # A frozen or unreachable Redis must not hang the API's publish or a worker forever. One second: an
    # API answer that publishes must stay within 2 s while Redis is frozen (tests/faults/test_redis_faults.py);
    # the worker's BRPOP runs on its event loop, where health_check_interval catches a frozen server instead.
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
            "socket_timeout": 1,
            "socket_connect_timeout": 1,
            "retry_on_timeout": False,
            "health_check_interval": 10,
        }
    )
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(BROKER_DIR / "out"),
            "data_folder_out": str(BROKER_DIR / "out"),
            "processed_folder": str(BROKER_DIR / "processed"),
            "control_folder": str(BROKER_DIR / "control"),
            "store_processed": False,
        }
    )
# Why each of these: see docs/celery.md. The database row is the result, so results are ignored.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Prefork, one child: its parent kills a child stuck past the task time limit and starts a new one. The
# solo pool (two solo workers: 0.48-0.53 of the bare client at 0 ms against 0.39-0.41, 275 MB) has no such
# watchdog, and one solo worker stalled in the whole-worker SIGKILL fault test (docs/benchmark.md, design notes).
CELERY_WORKER_POOL = os.environ.get("CELERY_WORKER_POOL") or "prefork"
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 1)
# Allocations between the garbage collector's young-generation passes in gunicorn and Celery workers
# (common.runtime.gc_tune; Python's default is 700). 0 keeps Python's default.
SMS_GC_THRESHOLD = env_int("SMS_GC_THRESHOLD", 50_000)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must never hang the API when the broker is down: fail fast, the outbox sweeper
# publishes the request later. The API and the workers publish with retry=False at every call
# (messaging/publishing.py). Beat publishes with this default, and needs the retry: it keeps one producer
# for its whole life, and only a retry reconnects it. Without it, after RabbitMQ restarts every scheduled
# sweep fails on the dead connection until beat is restarted (tests/faults/test_rabbitmq_faults.py).
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 1.0)
CELERY_TASK_PUBLISH_RETRY = True
# A task that holds an unacknowledged message when the broker connection drops keeps running: its claims
# are leased and its results go to the database, and the message, redelivered, finds nothing left to claim.
# Cancelling it (Celery 6's default) would cut provider calls short and record them as timeouts.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_POOL_LIMIT = 10
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["clients.authentication.ClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["clients.authentication.IsClient"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "clients.schema.ScopedAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS verification gateway",
    "DESCRIPTION": (
        "Send verification SMS through SMS.IR and Kavenegar with failover. "
        "Authenticate with `Authorization: Token <key>`. Every error has the shape "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar's copies, served here: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024  # bodies over 16 KiB are refused with 413

# --- Gateway behaviour ------------------------------------------------------------------------------
SMS_GATEWAY: dict[str, Any] = {
    # Rounds over all engines before a request is FAILED, and the age after which it stops trying.
    "MAX_ROUNDS": env_int("SMS_MAX_ROUNDS", 3),
    "MAX_AGE_SECONDS": env_int("SMS_MAX_AGE_SECONDS", 300),
    "BACKOFF_BASE_SECONDS": env_float("SMS_BACKOFF_BASE_SECONDS", 2.0),
    "BACKOFF_MAX_SECONDS": env_float("SMS_BACKOFF_MAX_SECONDS", 60.0),
    # A claimed request whose worker died is taken back after this lease.
    "LEASE_SECONDS": env_int("SMS_LEASE_SECONDS", 120),
    "SWEEP_INTERVAL_SECONDS": env_int("SMS_SWEEP_INTERVAL_SECONDS", 30),
    "SWEEP_BATCH": env_int("SMS_SWEEP_BATCH", 500),
    # The sweeper leaves requests due for less than this alone: their own publish is on its way.
    "SWEEP_GRACE_SECONDS": env_int("SMS_SWEEP_GRACE_SECONDS", 5),
    "TOKEN_MAX_LENGTH": 25,
    # Countries whose numbers we send to (ISO 3166 codes); Iran only by default.
    "ALLOWED_REGIONS": env_list("SMS_ALLOWED_REGIONS", "IR"),
    # The pump (messaging/services/pump.py): new requests are found by a running pump instead of one
    # Celery message each. Off: one deliver_request task per request.
    "PUMP_ENABLED": env_bool("SMS_PUMP_ENABLED", True),
    # Rows per claim. A backlog at a 0 ms provider went 1,535 -> 1,719 SMS/s from 200 to 500 (back-to-back runs).
    "PUMP_BATCH": env_int("SMS_PUMP_BATCH", 500),
    # How often a running pump claims new requests: up to this long is a new request's wait. At 200 req/s,
    # 50 -> 30 ms took accept-to-provider p99 from 87-101 to 70 ms for ~4 % of a core (docs/benchmark.md).
    "PUMP_POLL_SECONDS": env_float("SMS_PUMP_POLL_SECONDS", 0.03),
    "PUMP_IDLE_EXIT_SECONDS": env_float("SMS_PUMP_IDLE_EXIT_SECONDS", 2.0),
    "PUMP_BUDGET_SECONDS": env_float("SMS_PUMP_BUDGET_SECONDS", 20.0),
    "PUMP_MAX_IN_FLIGHT": env_int("SMS_PUMP_MAX_IN_FLIGHT", 1000),
    # Delivery reports (messaging.services.reports): first look after DONE, then these waits between looks,
    # until a final state or the age limit (then "unknown"). The poller runs every REPORTS_INTERVAL_SECONDS
    # (beat), claims up to REPORTS_BATCH requests per run and waits at most REPORTS_BUDGET_SECONDS for answers.
    "REPORTS_FIRST_POLL_SECONDS": env_float("SMS_REPORTS_FIRST_POLL_SECONDS", 10.0),
    "REPORTS_BACKOFF_SECONDS": [float(item) for item in env_list("SMS_REPORTS_BACKOFF_SECONDS", "30,120,600,3600")],
    "REPORTS_MAX_AGE_SECONDS": env_int("SMS_REPORTS_MAX_AGE_SECONDS", 48 * 3600),
    "REPORTS_INTERVAL_SECONDS": env_int("SMS_REPORTS_INTERVAL_SECONDS", 5),
    "REPORTS_BATCH": env_int("SMS_REPORTS_BATCH", 1000),
    "REPORTS_BUDGET_SECONDS": env_float("SMS_REPORTS_BUDGET_SECONDS", 2.0),
    # While sending is busy the poller waits, unless a look is this late: then it takes a short turn (this
    # budget, a batch of this size), so reports keep coming under constant traffic at a bounded cost to sending.
    "REPORTS_MAX_LAG_SECONDS": env_int("SMS_REPORTS_MAX_LAG_SECONDS", 60),
    "REPORTS_BUSY_BUDGET_SECONDS": env_float("SMS_REPORTS_BUSY_BUDGET_SECONDS", 0.5),
    "REPORTS_BUSY_BATCH": env_int("SMS_REPORTS_BUSY_BATCH", 500),
    # Adaptive routing (messaging.services.routing, messaging.services.scores): per engine and operator, a score
    # from the last ~ROUTING_WINDOW outcomes to that operator (send refusals and delivery reports), trusted once
    # the operator has ROUTING_MIN_SAMPLE of them; ROUTING_EXPLORATION of messages go first to another engine
    # so its score stays fresh. Scores live in the cache; each process reads them at most every
    # ROUTING_MEMO_SECONDS, and after a cache flush they are rebuilt from the last ROUTING_REBUILD_HOURS.
    "ROUTING_WINDOW": env_int("SMS_ROUTING_WINDOW", 100),
    "ROUTING_MIN_SAMPLE": env_int("SMS_ROUTING_MIN_SAMPLE", 20),
    "ROUTING_EXPLORATION": env_float("SMS_ROUTING_EXPLORATION", 0.05),
    "ROUTING_MEMO_SECONDS": env_float("SMS_ROUTING_MEMO_SECONDS", 1.0),
    "ROUTING_REBUILD_HOURS": env_int("SMS_ROUTING_REBUILD_HOURS", 6),
    # Rescue of verification codes (templates with "rescue" on): a code whose SMS is reported undelivered, or
    # not reported delivered RESCUE_AFTER_SECONDS after the provider took it, is sent once more through the
    # next-best engine (then, with "voice_rescue", by a call). The check runs every RESCUE_INTERVAL_SECONDS.
    "RESCUE_AFTER_SECONDS": env_int("SMS_RESCUE_AFTER_SECONDS", 30),
    "RESCUE_INTERVAL_SECONDS": env_int("SMS_RESCUE_INTERVAL_SECONDS", 5),
    # Each engine's credit is read this often (beat); a low-credit threshold is set per engine.
    "CREDIT_INTERVAL_SECONDS": env_int("SMS_CREDIT_INTERVAL_SECONDS", 300),
    # Circuit breaker per engine: consecutive retryable failures before it opens, and its cool-down.
    "BREAKER_THRESHOLD": env_int("SMS_BREAKER_THRESHOLD", 5),
    "BREAKER_COOLDOWN_SECONDS": env_float("SMS_BREAKER_COOLDOWN_SECONDS", 30.0),
    # Keys sealing secrets at rest (token values, resend copies of codes, provider API keys), comma separated:
    # every one opens, the first seals. To rotate, put a new key first, run `manage.py reseal`, then drop the
    # old one. Unset: TOKEN_SEAL_KEY (a single key) if set, else one key derived from SECRET_KEY.
    "TOKEN_SEAL_KEYS": env_list("TOKEN_SEAL_KEYS", "") or [os.environ.get("TOKEN_SEAL_KEY", "")],
    # --- Rate limits and SMS-pumping defences (messaging.services.limits) ---
    # "count/seconds" windows per scope; a send must fit every window of every scope. Rows in the admin
    # ("Rate limits") replace a scope's defaults. Prefix = country code + first 7 national digits.
    "RATE_LIMITS": {
        "phone": env_list("SMS_RATE_LIMIT_PHONE", "3/600,10/86400"),
        "prefix": env_list("SMS_RATE_LIMIT_PREFIX", "50/3600"),
        "client": env_list("SMS_RATE_LIMIT_CLIENT", "300/60,20000/86400"),
        "ip": env_list("SMS_RATE_LIMIT_IP", "300/60"),
    },
    # Proxies in front of the API that append to X-Forwarded-For; 0 = ignore the header, use REMOTE_ADDR.
    "TRUSTED_PROXY_COUNT": env_int("SMS_TRUSTED_PROXY_COUNT", 0),
    # How long each process may use the admin's rate-limit and allowlist rows before re-reading them.
    "LIMITS_CACHE_SECONDS": env_int("SMS_LIMITS_CACHE_SECONDS", 30),
    # How long each API process trusts a key it has seen (a revoked key works this long elsewhere); 0 = never.
    "AUTH_MEMO_SECONDS": env_float("SMS_AUTH_MEMO_SECONDS", 5.0),
    # --- Verification codes (verifications app) ---
    "OTP_DEFAULT_TEMPLATE_ID": env_int("SMS_OTP_DEFAULT_TEMPLATE_ID", 0),  # 0: template_id is required
    "OTP_CODE_LENGTH": env_int("SMS_OTP_CODE_LENGTH", 6),  # 4-10; Templates.code_length overrides
    "OTP_TTL_SECONDS": env_int("SMS_OTP_TTL_SECONDS", 600),
    "OTP_RESEND_INTERVAL_SECONDS": env_int("SMS_OTP_RESEND_INTERVAL_SECONDS", 60),
    "OTP_MAX_SENDS": env_int("SMS_OTP_MAX_SENDS", 5),
    "OTP_MAX_CHECKS": env_int("SMS_OTP_MAX_CHECKS", 5),
    "OTP_RETENTION_DAYS": env_int("SMS_OTP_RETENTION_DAYS", 7),
    "OTP_PURGE_INTERVAL_SECONDS": env_int("SMS_OTP_PURGE_INTERVAL_SECONDS", 3600),
    # Key for the codes' HMAC; defaults to one derived from SECRET_KEY (never SECRET_KEY itself).
    "OTP_HMAC_KEY": os.environ.get("OTP_HMAC_KEY", ""),
    # --- Personal data (verifications.retention) ---
    # Send requests with their attempts, verifications and idempotency records older than this are deleted by
    # the purge_personal_data task (beat, every RETENTION_PURGE_SECONDS), RETENTION_BATCH rows at a time.
    "RETENTION_DAYS": env_int("SMS_RETENTION_DAYS", 90),
    "RETENTION_PURGE_SECONDS": env_int("SMS_RETENTION_PURGE_SECONDS", 3600),
    "RETENTION_BATCH": env_int("SMS_RETENTION_BATCH", 1000),
    # "phone:code" pairs that never reach a provider and approve with their fixed code (QA, store review).
    "TEST_NUMBERS": dict(item.split(":", 1) for item in env_list("SMS_TEST_NUMBERS", "") if ":" in item),
}

# --- Probes (smsproject.probes, smsproject.heartbeats) ----------------------------------------------
PROBES = {
    # /readyz answers within this, each check running meanwhile; one still running counts as failed.
    "CHECK_SECONDS": env_float("SMS_READY_CHECK_SECONDS", 0.8),
    # How often each worker writes its heartbeat, and the age at which /readyz calls it missing.
    "HEARTBEAT_SECONDS": env_float("SMS_HEARTBEAT_SECONDS", 10.0),
    "WORKER_MAX_AGE_SECONDS": env_float("SMS_READY_WORKER_MAX_AGE_SECONDS", 60.0),
    # Beat beats when it publishes; it publishes the sweeper every SMS_SWEEP_INTERVAL_SECONDS.
    "BEAT_MAX_AGE_SECONDS": env_float("SMS_READY_BEAT_MAX_AGE_SECONDS", 3.0 * SMS_GATEWAY["SWEEP_INTERVAL_SECONDS"]),
}

# --- Metrics (Prometheus, at /metrics) ---------------------------------------------------------------
# Every process (gunicorn workers, Celery workers) counts into files in one folder and a scrape sums them
# (prometheus_client's multiprocess mode, which reads PROMETHEUS_MULTIPROC_DIR when it is first imported,
# so it is set here, before any module imports it). Processes on one host must share the folder; empty it
# when the whole service is stopped (scripts and deploy/ do), never while processes run.
METRICS_ENABLED = env_bool("SMS_METRICS_ENABLED", True)
METRICS_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or DATA_DIR / "metrics")
if METRICS_ENABLED:
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
# Who may scrape: a bearer token (Prometheus' `authorization` setting) and/or client addresses or networks.
# Both empty: anyone who reaches the port; put one in front of a public API.
METRICS_TOKEN = os.environ.get("SMS_METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("SMS_METRICS_ALLOWED_IPS", "")

# --- Admin login throttling (django-axes) ------------------------------------------------------------
# After this many wrong passwords for one user from one address, that pair is locked out (429) for the
# cool-off, the right password included. A success clears the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("ADMIN_LOGIN_COOLOFF_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner in every process's log; lockouts are still logged, without user or address
# The address rate limits use too: REMOTE_ADDR, or the one SMS_TRUSTED_PROXY_COUNT proxies name.
AXES_CLIENT_IP_CALLABLE = "messaging.admin.admin_login_ip"

# --- HTTPS (manage.py check --deploy) ------------------------------------------------------------------
# Off by default so a plain-HTTP set-up (development, tests, the benchmark) works; turn them on where the
# site is served over HTTPS only. Behind a proxy that terminates TLS, SECURE_PROXY_SSL_HEADER=1 trusts its
# X-Forwarded-Proto (only when the proxy always sets it), or the redirect never ends.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None

# --- Sentry ---------------------------------------------------------------------------------------
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "production")

# --- Static, i18n, logging --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static")  # filled by `manage.py collectstatic`
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies beside each file; no manifest, so a process never fails on a missing collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
# Times are stored in UTC; the admin (and the provider-health page's hours) show them in this zone.
TIME_ZONE = os.environ.get("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# "plain" (a line of text) or "json" (one JSON object a line, for a log shipper). Either way every line
# carries the request id (X-Request-ID) it belongs to, in the API and in the workers.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_pii": {"()": "common.masking.MaskingFilter"},
        "request_id": {"()": "common.logs.RequestIdFilter"},
        "mask_access": {"()": "common.masking.AccessLogMaskingFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id", "mask_pii"]},
        # runserver's access log (Django's own handler, plus masking: GET /sendsms/?phone= carries numbers).
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["mask_access"]},
    },
    "loggers": {
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # A failed readiness check is in /readyz's answer; logging it would repeat an outage at every probe.
        "health_check": {"level": "ERROR"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

from smsproject.sentry import init_sentry  # noqa: E402  (needs the values above)

init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)
