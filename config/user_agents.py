"""A User-Agent header as a short device name people recognise ("iPhone · iOS 17 · Mobile Safari 17").

Parsed with ua-parser (the maintained port of the uap-core rules). Used where
staff read security events; the full header stays available next to it.
"""

from functools import lru_cache

from ua_parser import parse

_UNKNOWN = {"", "Other", "Generic Smartphone", "Generic Feature Phone", "Generic Tablet"}


def _named(family: str | None, major: str | None = None) -> str:
    if not family or family in _UNKNOWN:
        return ""
    return f"{family} {major}" if major else family


@lru_cache(maxsize=2048)
def user_agent_label(header: str) -> str:
    """Device, system and browser in one line; the raw header (shortened) when nothing is recognised."""
    header = (header or "").strip()
    if not header:
        return ""
    result = parse(header[:500])
    parts = []
    if result.device and result.device.family not in _UNKNOWN and result.device.brand != "Generic_Android":
        parts.append(result.device.family)
    if result.os:
        parts.append(_named(result.os.family, result.os.major))
    if result.user_agent:
        parts.append(_named(result.user_agent.family, result.user_agent.major))
    label = " · ".join(part for part in parts if part)
    return label or (header if len(header) <= 40 else header[:39] + "…")
