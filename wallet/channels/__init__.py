"""Payment channels: one adapter per provider behind :class:`wallet.channels.base.Channel`.

``channel_get(name)`` returns the configured adapter for a name listed in
``WALLET_CHANNELS``; the wallet services never import a provider SDK
themselves (the adapters import theirs lazily, so an unused channel's SDK
need not be installed).
"""
