"""The SMS settings, read at call time (so tests can override them) and clamped to safe ranges."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.phones import phone_to_e164

MAX_CODE_TTL = 600


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
    phone_hourly: int
    phone_daily: int
    ip_hourly: int
    global_daily: int


def limits() -> Limits:
    return Limits(
        phone_hourly=int(settings.SMS_PHONE_HOURLY_LIMIT),
        phone_daily=int(settings.SMS_PHONE_DAILY_LIMIT),
        ip_hourly=int(settings.SMS_IP_HOURLY_LIMIT),
        global_daily=int(settings.SMS_DAILY_LIMIT),
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
