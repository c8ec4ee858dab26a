"""Small request helpers shared by every door."""

import functools
import ipaddress

from django.http import HttpRequest

from config import conf


@functools.lru_cache(maxsize=4096)  # parsed twice a request (log line, origin), from a few addresses
def ip_or_empty(value: str | None) -> str:
    """``value`` as a canonical IP address, or "" when it is not one."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return ""


def client_ip(request: HttpRequest) -> str:
    """The caller's IP address ("" if the server was handed none).

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` says we sit behind that many
    proxies we trust; then the entry they appended to ``X-Forwarded-For``.
    Entries further left are whatever the client claimed and are ignored, so
    a client cannot pick its own address to escape per-IP limits. Anything
    that is not an IP address (a misconfigured proxy, junk) counts as
    ``REMOTE_ADDR``: the value ends up in cache keys and the database.
    This is the only place the project reads those headers (``config.origin``).
    """
    proxies = conf.trusted_proxy_count()
    remote = ip_or_empty(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else (forwarded[0] if forwarded else remote)
    return ip_or_empty(candidate) or remote
