"""The SMS settings, read at call time (so tests can override them) and clamped to safe ranges."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.phones import phone_to_e164
from config.ratelimit import Rate, rate_parse

MAX_CODE_TTL = 600
HOUR = 3600
DAY = 86400


def code_length() -> int:
    return min(8, max(4, int(settings.SMS_CODE_LENGTH)))


def code_ttl() -> int:
    return min(MAX_CODE_TTL, max(1, int(settings.SMS_CODE_TTL)))


def max_attempts() -> int:
    return max(1, int(settings.SMS_CODE_MAX_ATTEMPTS))


def resend_interval() -> int:
    return max(0, int(settings.SMS_RESEND_INTERVAL))


def allowed_regions() -> set[str]:
    regions = settings.SMS_ALLOWED_REGIONS
    if isinstance(regions, str):
        regions = regions.split(",")
    return {region.strip().upper() for region in regions if region.strip()}


@dataclass(frozen=True)
class Limits:
    """The caps of ``sms_code_send``, in the project's one rate syntax (``config.ratelimit``)."""

    phone: tuple[Rate, ...]  # per number
    ip: tuple[Rate, ...]  # per client IP
    total: tuple[Rate, ...]  # all numbers together


def _rates(configured: str | list[str], *legacy: Rate) -> tuple[Rate, ...]:
    """``SMS_*_RATES`` ("5/h,10/d") when set; otherwise the rates of the older count variables."""
    if configured:
        items = configured.split(",") if isinstance(configured, str) else configured
        return tuple(rate_parse(item) for item in items if str(item).strip())
    return legacy


def limits() -> Limits:
    """``SMS_PHONE_RATES`` / ``SMS_IP_RATES`` / ``SMS_GLOBAL_RATES``, or the counts of
    ``SMS_PHONE_HOURLY_LIMIT``, ``SMS_PHONE_DAILY_LIMIT``, ``SMS_IP_HOURLY_LIMIT`` and
    ``SMS_DAILY_LIMIT`` (names kept working). A count of 0 switches a cap off."""
    return Limits(
        phone=_rates(
            settings.SMS_PHONE_RATES,
            Rate(int(settings.SMS_PHONE_HOURLY_LIMIT), HOUR),
            Rate(int(settings.SMS_PHONE_DAILY_LIMIT), DAY),
        ),
        ip=_rates(settings.SMS_IP_RATES, Rate(int(settings.SMS_IP_HOURLY_LIMIT), HOUR)),
        total=_rates(settings.SMS_GLOBAL_RATES, Rate(int(settings.SMS_DAILY_LIMIT), DAY)),
    )


_test_numbers_cache: tuple[str, dict[str, str]] = ("", {})


def test_numbers() -> dict[str, str]:
    """``SMS_TEST_NUMBERS`` as {E.164: fixed code}, parsed once per distinct value."""
    global _test_numbers_cache
    raw = settings.SMS_TEST_NUMBERS or ""
    if isinstance(raw, dict):
        return raw
    if _test_numbers_cache[0] == raw:
        return _test_numbers_cache[1]
    parsed: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        number, sep, code = item.strip().rpartition(":")
        e164 = phone_to_e164(number)
        if not sep or e164 is None or not code.isdigit():
            raise ImproperlyConfigured(f"SMS_TEST_NUMBERS: {item.strip()!r} is not '<phone>:<digits>'.")
        parsed[e164] = code
    _test_numbers_cache = (raw, parsed)
    return parsed


# --- The SMS backend and the provider adapters ---------------------------------------------

# Never wait longer than this for a provider, whatever SMS_PROVIDER_TIMEOUT says:
# a request thread is held while we wait.
MAX_PROVIDER_TIMEOUT = 5.0


def backend() -> str:
    """``SMS_BACKEND``: a bundled backend's short name, or a dotted path."""
    return str(settings.SMS_BACKEND)


def provider_timeout() -> float:
    """``SMS_PROVIDER_TIMEOUT`` in seconds, capped at ``MAX_PROVIDER_TIMEOUT``."""
    return min(MAX_PROVIDER_TIMEOUT, float(settings.SMS_PROVIDER_TIMEOUT))


def provider_setting(name: str, *, required: bool = True) -> str:
    """One of the ``SMS_<PROVIDER>_*`` settings; ImproperlyConfigured when a required one is empty."""
    value = getattr(settings, name)  # every SMS_* name is declared in config/settings.py
    if required and not value:
        raise ImproperlyConfigured(f"{name} must be set to use SMS_BACKEND={backend()!r}.")
    return value


def provider_flag(name: str) -> bool:
    return bool(getattr(settings, name))


def provider_templates(name: str) -> dict[str, str]:
    """A ``{"purpose": "template id", "default": "template id"}`` setting (``SMS_*_TEMPLATES``)."""
    return dict(getattr(settings, name) or {})
