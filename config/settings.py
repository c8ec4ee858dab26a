"""Settings for the account service.

Everything comes from environment variables (see README.md for the full list).
The embedded defaults give a working development set-up (SQLite, local-memory
cache, SMS codes printed to the console); production values that are secret
have no default, so a missing secret stops the process at start-up.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from config import logs, sentry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# The test suite runs with DEBUG off, like production, but must not need
# production secrets: tests get a throwaway key and local hosts. It says so
# explicitly (pyproject.toml's pytest `env` sets DJANGO_TESTING=1), so no
# process becomes "a test" by merely importing pytest.
TESTING = env.bool("DJANGO_TESTING", default=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _development_secret_key() -> str:
    """A key generated once per checkout (git-ignored), for DEBUG and tests only."""
    path = BASE_DIR / ".dev-secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        return key


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.apps.AccountsAdminConfig",  # django.contrib.admin, with the accounts admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "rest_framework_api_key",  # wallet's client-application keys subclass its AbstractAPIKey
    "accounts",
    "smscodes",
    "wallet",
]

MIDDLEWARE = [
    # Operability, outermost: request id and log line, request metrics, 503 on outages.
    "config.logs.RequestLogMiddleware",
    "config.metrics.MetricsMiddleware",
    "config.faults.OutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ApiMiddleware",
    # Session, user and messages: skipped for API requests with a token or without a session cookie.
    "config.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "accounts.sessions.SessionRevocationMiddleware",
    # A signed-in person agrees to a newly published legal version before going on (pages only).
    "accounts.middleware.ConsentGateMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: opening a PostgreSQL connection costs more than
    # most of our requests. A connection the server closed is dropped before
    # the next request by config.faults.OutageMiddleware, without the SELECT 1
    # round trip that CONN_HEALTH_CHECKS would add to every request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    # Server-side prepared statements, for the hot reads that ask for them (config.sql.Prepared):
    # psycopg disables them when this is None, Django's default. Django's own cursors bind on the
    # client and never prepare, so this changes nothing else.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------
# Codes, rate-limit counters and the token deny-list live here, so production
# needs a cache shared by every process: Redis.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="acct")
if TESTING:
    # Each test run gets its own key space and deletes only its own keys.
    CACHE_KEY_PREFIX = f"test-{secrets.token_hex(4)}"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": 300,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Counts and times every round trip (config.metrics).
                "REDIS_CLIENT_CLASS": "config.metrics.InstrumentedRedis",
                # A pooled connection that died with a Redis restart is retried
                # once on a fresh one, so recovery costs no error; a timeout is
                # not retried, so a hung Redis costs SOCKET_TIMEOUT, not twice it.
                "CONNECTION_POOL_KWARGS": {
                    "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                },
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "accounts-service",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth and passwords -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The only backend: every password check obeys the lockout and the per-IP limit.
AUTHENTICATION_BACKENDS = ["accounts.backends.AccountBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    # Django's, within the same per-process hashing bound (accounts/password_pool.py).
    "accounts.hashers.BoundedPBKDF2PasswordHasher",
    "accounts.hashers.BoundedPBKDF2SHA1PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "accounts.validators.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "phone", "nickname", "email")},
    },
    {"NAME": "accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.LetterAndDigitValidator"},
]
# "Contains a letter and a digit"; some deployments prefer length alone.
ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT = env.bool("ACCOUNTS_PASSWORD_REQUIRE_LETTER_AND_DIGIT", default=True)

# --- Accounts -----------------------------------------------------------------------
ACCOUNTS_PHONE_REQUIRED = env.bool("ACCOUNTS_PHONE_REQUIRED", default=True)
# Every door that creates an account needs the current terms and privacy policy agreed to (PIPL).
ACCOUNTS_CONSENT_REQUIRED = env.bool("ACCOUNTS_CONSENT_REQUIRED", default=True)
# One-step "手机号快捷登录": a login code goes to any number, and signing in with it creates the account.
ACCOUNTS_CODE_LOGIN_SIGNS_UP = env.bool("ACCOUNTS_CODE_LOGIN_SIGNS_UP", default=True)
ACCOUNTS_LOGIN_MAX_FAILURES = env.int("ACCOUNTS_LOGIN_MAX_FAILURES", default=5)
ACCOUNTS_LOCKOUT_SECONDS = env.int("ACCOUNTS_LOCKOUT_SECONDS", default=900)
ACCOUNTS_LOGIN_IP_RATE = env.str("ACCOUNTS_LOGIN_IP_RATE", default="30/m")
# Failed logins per account, then the lockout, as one rate ("5/15m"); when set it
# replaces ACCOUNTS_LOGIN_MAX_FAILURES / ACCOUNTS_LOCKOUT_SECONDS.
ACCOUNTS_LOCKOUT_RATE = env.str("ACCOUNTS_LOCKOUT_RATE", default="")
# A phone change needs a login this recent, or the current password.
ACCOUNTS_RECENT_LOGIN_SECONDS = env.int("ACCOUNTS_RECENT_LOGIN_SECONDS", default=600)
# Days between asking for account deletion (注销) and accounts_purge erasing it;
# the person may sign in and cancel meanwhile. 0: erased by the next purge.
ACCOUNTS_DELETION_GRACE_DAYS = env.int("ACCOUNTS_DELETION_GRACE_DAYS", default=15)
# Other apps' parts in deleting and exporting an account (accounts.lifecycle):
# dotted paths loaded at run time, so accounts never imports them.
ACCOUNTS_LIFECYCLE_HOOKS = ["wallet.lifecycle.WalletLifecycle"]
# Password hashing per process (accounts/password_pool.py): at once, waiting, niceness of its threads.
ACCOUNTS_PASSWORD_HASH_CONCURRENCY = env.int("ACCOUNTS_PASSWORD_HASH_CONCURRENCY", default=1)
ACCOUNTS_PASSWORD_HASH_QUEUE = env.int("ACCOUNTS_PASSWORD_HASH_QUEUE", default=2)
ACCOUNTS_PASSWORD_HASH_NICE = env.int("ACCOUNTS_PASSWORD_HASH_NICE", default=10)

# --- Avatars ------------------------------------------------------------------------
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
AVATAR_MAX_PIXELS = env.int("AVATAR_MAX_PIXELS", default=40_000_000)

MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = env.str("MEDIA_URL", default="/media/")

# --- Wallet -------------------------------------------------------------------------
# Meaning of each: wallet/conf.py. Amounts are strings here; wallet.conf parses them.
WALLET_CURRENCY = env.str("WALLET_CURRENCY", default="CNY")
WALLET_MAX_TOP_UP = env.str("WALLET_MAX_TOP_UP", default="5000.00")
WALLET_MAX_BALANCE = env.str("WALLET_MAX_BALANCE", default="5000.00")
# The sandbox channel is on by default only in development and tests; in
# production it needs WALLET_CHANNELS to name it and a WALLET_SANDBOX_SECRET.
WALLET_CHANNELS = env.list("WALLET_CHANNELS", default=["sandbox"] if DEBUG or TESTING else [])
WALLET_SANDBOX_SECRET = env.str(
    "WALLET_SANDBOX_SECRET", default="sandbox-development-secret" if DEBUG or TESTING else ""
)
WALLET_TOP_UP_TTL = env.int("WALLET_TOP_UP_TTL", default=1800)
WALLET_QUERY_AFTER = env.int("WALLET_QUERY_AFTER", default=60)
WALLET_NOTIFICATION_TOLERANCE = env.int("WALLET_NOTIFICATION_TOLERANCE", default=300)
WALLET_TOP_UP_PRESETS = env.list("WALLET_TOP_UP_PRESETS", default=["10", "50", "100", "200", "500"])
WALLET_PUBLIC_URL = env.str("WALLET_PUBLIC_URL", default="")
WALLET_CHANNEL_TIMEOUT = env.int("WALLET_CHANNEL_TIMEOUT", default=10)  # Alipay / WeChat Pay calls, seconds
WALLET_CLIENT_RATE = env.str("WALLET_CLIENT_RATE", default="6000/m")

# --- SMS codes ----------------------------------------------------------------------
# Short names select a bundled backend; a dotted path selects any other.
SMS_BACKEND = env.str("SMS_BACKEND", default="locmem" if TESTING else "console")
SMS_DEFAULT_REGION = env.str("SMS_DEFAULT_REGION", default="CN")
SMS_ALLOWED_REGIONS = env.list("SMS_ALLOWED_REGIONS", default=["CN"])
SMS_CODE_LENGTH = env.int("SMS_CODE_LENGTH", default=6)
SMS_CODE_TTL = env.int("SMS_CODE_TTL", default=600)
SMS_CODE_MAX_ATTEMPTS = env.int("SMS_CODE_MAX_ATTEMPTS", default=5)
# Wrong guesses per client IP and number, and per number over every client
# (smscodes.limits.guess_limits): a stranger cannot lock the owner out, and
# the guesses against one number stay bounded.
SMS_CODE_CLIENT_FAILURES = env.str("SMS_CODE_CLIENT_FAILURES", default="10/d")
SMS_CODE_NUMBER_FAILURES = env.str("SMS_CODE_NUMBER_FAILURES", default="20/d")
SMS_RESEND_INTERVAL = env.int("SMS_RESEND_INTERVAL", default=60)
SMS_PHONE_HOURLY_LIMIT = env.int("SMS_PHONE_HOURLY_LIMIT", default=5)
SMS_PHONE_DAILY_LIMIT = env.int("SMS_PHONE_DAILY_LIMIT", default=10)
SMS_IP_HOURLY_LIMIT = env.int("SMS_IP_HOURLY_LIMIT", default=20)
SMS_DAILY_LIMIT = env.int("SMS_DAILY_LIMIT", default=10_000)
# The same caps in the rate syntax of config.ratelimit ("5/h,10/d"); when set they
# replace the four counts above, which keep working on their own.
SMS_PHONE_RATES = env.list("SMS_PHONE_RATES", default=[])
SMS_IP_RATES = env.list("SMS_IP_RATES", default=[])
SMS_GLOBAL_RATES = env.list("SMS_GLOBAL_RATES", default=[])
# "+8613800000001:246810,+8613800000002:135790": fixed codes, never sent.
SMS_TEST_NUMBERS = env.str("SMS_TEST_NUMBERS", default="")
# Provider adapters (SMS_BACKEND=aliyun|tencent|twilio); templates per purpose as
# "register=…,login=…,reset_password=…,change_phone=…" or "default=…". Endpoint
# overrides are for tests and proxies. The timeout is capped at 5 s.
SMS_PROVIDER_TIMEOUT = env.float("SMS_PROVIDER_TIMEOUT", default=5.0)
SMS_ALIYUN_ACCESS_KEY_ID = env.str("SMS_ALIYUN_ACCESS_KEY_ID", default="")
SMS_ALIYUN_ACCESS_KEY_SECRET = env.str("SMS_ALIYUN_ACCESS_KEY_SECRET", default="")
SMS_ALIYUN_SIGN_NAME = env.str("SMS_ALIYUN_SIGN_NAME", default="")
SMS_ALIYUN_TEMPLATES = env.dict("SMS_ALIYUN_TEMPLATES", default={})
SMS_ALIYUN_ENDPOINT = env.str("SMS_ALIYUN_ENDPOINT", default="dysmsapi.aliyuncs.com")
SMS_TENCENT_SECRET_ID = env.str("SMS_TENCENT_SECRET_ID", default="")
SMS_TENCENT_SECRET_KEY = env.str("SMS_TENCENT_SECRET_KEY", default="")
SMS_TENCENT_SDK_APP_ID = env.str("SMS_TENCENT_SDK_APP_ID", default="")
SMS_TENCENT_SIGN_NAME = env.str("SMS_TENCENT_SIGN_NAME", default="")
SMS_TENCENT_TEMPLATES = env.dict("SMS_TENCENT_TEMPLATES", default={})
SMS_TENCENT_SEND_MINUTES = env.bool("SMS_TENCENT_SEND_MINUTES", default=True)
SMS_TENCENT_REGION = env.str("SMS_TENCENT_REGION", default="ap-guangzhou")
SMS_TENCENT_ENDPOINT = env.str("SMS_TENCENT_ENDPOINT", default="sms.tencentcloudapi.com")
SMS_TWILIO_ACCOUNT_SID = env.str("SMS_TWILIO_ACCOUNT_SID", default="")
SMS_TWILIO_AUTH_TOKEN = env.str("SMS_TWILIO_AUTH_TOKEN", default="")
SMS_TWILIO_FROM = env.str("SMS_TWILIO_FROM", default="")
SMS_TWILIO_MESSAGING_SERVICE_SID = env.str("SMS_TWILIO_MESSAGING_SERVICE_SID", default="")
SMS_TWILIO_BASE_URL = env.str("SMS_TWILIO_BASE_URL", default="")

# --- Payment channels (wallet/channels/settings.py reads them; README "Payment channels") ---
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
ALIPAY_APP_PRIVATE_KEY = env.str("ALIPAY_APP_PRIVATE_KEY", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="")
ALIPAY_SELLER_ID = env.str("ALIPAY_SELLER_ID", default="")
ALIPAY_GATEWAY = env.str("ALIPAY_GATEWAY", default="https://openapi.alipay.com/gateway.do")
ALIPAY_RETURN_URL = env.str("ALIPAY_RETURN_URL", default="")
WECHATPAY_MCH_ID = env.str("WECHATPAY_MCH_ID", default="")
WECHATPAY_APP_ID = env.str("WECHATPAY_APP_ID", default="")
WECHATPAY_API_V3_KEY = env.str("WECHATPAY_API_V3_KEY", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="")
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_CERT_DIR = env.str("WECHATPAY_CERT_DIR", default="")
WECHATPAY_GATEWAY = env.str("WECHATPAY_GATEWAY", default="https://api.mch.weixin.qq.com")
WECHATPAY_H5_REDIRECT_URL = env.str("WECHATPAY_H5_REDIRECT_URL", default="")

PHONENUMBER_DEFAULT_REGION = SMS_DEFAULT_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# Behind N trusted reverse proxies the client address is the N-th entry from
# the right of X-Forwarded-For; 0 means REMOTE_ADDR (nothing to trust).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.ORJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.negotiation.JSONFirstContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    # Used by config.ratelimit.ScopedRateThrottle on the views that name a scope.
    "DEFAULT_THROTTLE_RATES": {
        "sms_send": env.str("THROTTLE_SMS_SEND", default="10/m"),
        "sms_verify": env.str("THROTTLE_SMS_VERIFY", default="30/m"),
        "avatar_upload": env.str("THROTTLE_AVATAR_UPLOAD", default="10/m"),
        "data_export": env.str("THROTTLE_DATA_EXPORT", default="5/h"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=14 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": env.str("JWT_ALGORITHM", default="HS256"),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Account service API",
    "DESCRIPTION": (
        "Phone-number accounts, SMS codes, profile and wallet. The contract (routes, fields, status and "
        "error codes; revision 2) is `docs/API.md` in the repository; this schema describes the same routes."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Stored and served (API) in UTC; pages show China time unless configured.
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production: HTTPS behind a proxy that sets X-Forwarded-Proto) ------------
_SECURE = not (DEBUG or TESTING)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_SECURE)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000 if _SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=_SECURE)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Probes and the metrics scraper talk plain HTTP to the app port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Large bodies are refused before they are read into memory (avatars stream
# to a temporary file past this size, see AVATAR_MAX_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Logging ------------------------------------------------------------------------------
# Structured (config.logs): one JSON object a line in production, readable
# key=value lines in development and tests. Phone numbers masked, secrets dropped.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG or TESTING else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'console'.")
LOGGING = logs.logging_config(json=LOG_FORMAT == "json", level=LOG_LEVEL)

# --- Metrics and error reports ---------------------------------------------------------------
# /metrics answers these addresses or networks (after TRUSTED_PROXY_COUNT), or
# a request with "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry.sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=""),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Pages: brand and Content-Security-Policy --------------------------------------------
# The product's name wherever a page or the admin shows it. Unset: "Account
# service", translated (账号服务).
SITE_BRAND = env.str("SITE_BRAND", default="") or _("Account service")

# A strict policy on every response Django renders (django-csp): scripts and
# styles only from our own static files (no inline <script>, no style=""), no
# plug-ins, no framing, forms post only to this site. Uploaded avatars come from
# MEDIA_URL, which may be another origin (a CDN).
_MEDIA_ORIGIN = [MEDIA_URL.split("/", 3)[0] + "//" + MEDIA_URL.split("/", 3)[2]] if "://" in MEDIA_URL else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # blob: shows a picked avatar before it is uploaded.
        "img-src": ["'self'", "data:", "blob:", *_MEDIA_ORIGIN],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
INSTALLED_APPS += ["csp"]
# Our CSRF-failure page renders with the request, so it can link back to the form.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
# Last, so it sees the response of every view and error page; a response that
# already has its own policy (served media: "default-src 'none'; sandbox") keeps it.
MIDDLEWARE += ["config.csp.CSPMiddleware"]
