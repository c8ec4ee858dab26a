"""Small request helpers shared by every door."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The caller's IP address.

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` says we sit behind that many
    proxies we trust; then the entry they appended to ``X-Forwarded-For``.
    Entries further left are whatever the client claimed and are ignored, so
    a client cannot pick its own address to escape per-IP limits. Anything
    that is not an IP address (a misconfigured proxy, junk) counts as
    ``REMOTE_ADDR``: the value ends up in cache keys and the database.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if proxies <= 0:
        return remote
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else (forwarded[0] if forwarded else remote)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
