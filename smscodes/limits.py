"""Cache keys and the limits of ``sms_code_send`` (counted atomically by ``smscodes.store``).

Windows are aligned to the clock (hour, UTC day), so ``retry_after`` is exact
and every process agrees on the window without asking the cache. Numbers and
addresses appear in keys only as a keyed hash.
"""

from django.utils.crypto import salted_hmac

from smscodes import conf
from smscodes.store import Counter

HOUR = 3600
DAY = 86400


def key_id(value: str) -> str:
    return salted_hmac("smscodes.key", value, algorithm="sha256").hexdigest()[:24]


def code_key(*, purpose: str, phone: str) -> str:
    return f"sms:code:{purpose}:{key_id(phone)}"


def cooldown_key(*, purpose: str, phone: str) -> str:
    return f"sms:cool:{purpose}:{key_id(phone)}"


def token_used_key(nonce: str) -> str:
    return f"sms:vt:{nonce}"


def _counter(name: str, *, limit: int, period: int, now: float) -> Counter:
    index = int(now // period)
    return Counter(
        key=f"sms:lim:{name}:{period}:{index}", limit=limit, window_end=(index + 1) * period, ttl=period + 60
    )


def send_counters(*, phone: str, client_ip: str, now: float) -> list[Counter]:
    """The counters one send uses up, most specific first (a limit of 0 or less is off)."""
    limits = conf.limits()
    phone_id = key_id(phone)
    counters = [
        _counter(f"ph:{phone_id}", limit=limits.phone_hourly, period=HOUR, now=now),
        _counter(f"ph:{phone_id}", limit=limits.phone_daily, period=DAY, now=now),
    ]
    if client_ip:
        counters.append(_counter(f"ip:{key_id(client_ip)}", limit=limits.ip_hourly, period=HOUR, now=now))
    counters.append(_counter("all", limit=limits.global_daily, period=DAY, now=now))
    return [c for c in counters if c.limit > 0]
