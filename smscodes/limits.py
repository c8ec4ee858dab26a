"""Cache keys and the limits of ``sms_code_send`` (counted atomically by ``smscodes.store``).

The caps are ``config.ratelimit`` rates, and their windows that module's
clock-aligned windows (hour, UTC day): ``retry_after`` is exact and every
process agrees on the window without asking the cache. They are checked and
taken all together with the cooldown by one Lua script (``smscodes.store``),
which is why they do not go through ``ratelimit_hit``. Numbers and addresses
appear in keys only as a keyed hash.
"""

from config.ratelimit import Rate, key_hash, window_of
from smscodes import conf
from smscodes.store import Counter


def key_id(value: str) -> str:
    return key_hash(value, salt="smscodes.key")


def code_key(*, purpose: str, phone: str) -> str:
    return f"sms:code:{purpose}:{key_id(phone)}"


def cooldown_key(*, purpose: str, phone: str) -> str:
    return f"sms:cool:{purpose}:{key_id(phone)}"


def token_used_key(nonce: str) -> str:
    return f"sms:vt:{nonce}"


def _counter(name: str, *, rate: Rate, now: float) -> Counter:
    index, window_end = window_of(rate, now)
    return Counter(
        key=f"sms:lim:{name}:{rate.period}:{index}", limit=rate.limit, window_end=window_end, ttl=rate.period + 60
    )


def send_counters(*, phone: str, client_ip: str, now: float) -> list[Counter]:
    """The counters one send uses up, most specific first (a limit of 0 or less is off)."""
    limits = conf.limits()
    phone_id = key_id(phone)
    counters = [_counter(f"ph:{phone_id}", rate=rate, now=now) for rate in limits.phone]
    if client_ip:
        counters += [_counter(f"ip:{key_id(client_ip)}", rate=rate, now=now) for rate in limits.ip]
    counters += [_counter("all", rate=rate, now=now) for rate in limits.total]
    return [c for c in counters if c.limit > 0]
