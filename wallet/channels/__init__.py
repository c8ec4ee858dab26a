"""Payment channels: one adapter per provider behind :class:`wallet.channels.base.Channel`.

``channel_get(name)`` returns the adapter for a name listed in
``WALLET_CHANNELS``; the wallet services never import a provider SDK
themselves (the adapters import theirs lazily, so an unused channel's SDK
need not be installed). Adapters are found by dotted path, so a channel
whose module is absent simply cannot be enabled.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from wallet.channels.base import Channel
from wallet.conf import wallet_settings
from wallet.errors import ChannelUnavailable

#: every channel the wallet knows, by the name used in settings and URLs
ADAPTERS = {
    "sandbox": "wallet.channels.sandbox.SandboxChannel",
    "alipay": "wallet.channels.alipay.AlipayChannel",
    "wechatpay": "wallet.channels.wechatpay.WechatPayChannel",
}


def channels_enabled() -> list[str]:
    """The names in ``WALLET_CHANNELS`` that the wallet knows, in the configured order."""
    return [name for name in wallet_settings.CHANNELS if name in ADAPTERS]


def channel_get(name: str) -> Channel:
    """The adapter of an enabled channel. Raises ChannelUnavailable for an unknown or disabled one.

    The sandbox is refused (ChannelUnavailable) without ``WALLET_SANDBOX_SECRET``.
    A real channel with missing keys raises ``ImproperlyConfigured`` naming them.
    """
    if name not in channels_enabled():
        raise ChannelUnavailable()
    try:
        adapter_class = import_string(ADAPTERS[name])
    except ImportError as exc:
        raise ImproperlyConfigured(f"payment channel {name!r} is enabled but its adapter is missing: {exc}") from exc
    if name == "sandbox" and not wallet_settings.SANDBOX_SECRET:
        raise ChannelUnavailable()
    return adapter_class()
