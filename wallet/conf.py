"""The wallet's settings, each declared once here with its default and meaning.

``config/settings.py`` copies a ``WALLET_*`` variable from the environment
only when it is set; everything else comes from :data:`DEFAULTS`. Read them
as ``wallet_settings.MAX_TOP_UP`` (simplejwt's ``api_settings`` habit): each
read looks at ``django.conf.settings`` again, so ``override_settings`` in a
test works, and strings from the environment are parsed to the default's type.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Development and tests only: production has no sandbox secret unless one is set.
DEVELOPMENT_SANDBOX_SECRET = "sandbox-development-secret"  # noqa: S105 - not a production secret


def _development() -> bool:
    return bool(settings.DEBUG or getattr(settings, "TESTING", False))


@dataclass(frozen=True)
class Setting:
    default: Any  # a value, or a callable for a default that depends on DEBUG/TESTING
    help: str

    def resolve_default(self) -> Any:
        return self.default() if callable(self.default) else self.default


DEFAULTS: dict[str, Setting] = {
    "CURRENCY": Setting("CNY", "ISO 4217 code of every wallet."),
    "MAX_TOP_UP": Setting(Decimal("5000.00"), "Largest single top-up."),
    "MAX_BALANCE": Setting(
        Decimal("5000.00"), "Largest balance; balance + pending top-ups + a new one may not exceed it."
    ),
    "CHANNELS": Setting(
        lambda: ["sandbox"] if _development() else [],
        "Enabled payment channels, comma-separated: sandbox, alipay, wechatpay. "
        "Default: sandbox with DEBUG or under tests, none in production.",
    ),
    "SANDBOX_SECRET": Setting(
        lambda: DEVELOPMENT_SANDBOX_SECRET if _development() else "",
        "HMAC key of the sandbox channel's notifications; required to enable the sandbox in production.",
    ),
    "TOP_UP_TTL": Setting(1800, "Seconds a top-up stays payable; wallet_sync closes it after that."),
    "QUERY_AFTER": Setting(60, "Seconds after which wallet_sync asks the channel about a pending top-up."),
    "NOTIFICATION_TOLERANCE": Setting(300, "Seconds a signed notification's timestamp may be from now."),
    "TOP_UP_PRESETS": Setting(["10", "50", "100", "200", "500"], "Amounts offered on the wallet page."),
    "PUBLIC_URL": Setting(
        "", "Public base URL (https://host) for links a channel calls or shows (notify URL, return URL)."
    ),
    "CLIENT_RATE": Setting(
        "6000/m", "Requests per client application (charges, refunds; all its keys together), e.g. 100/s; 0: off."
    ),
}


def _parse(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, Decimal) and not isinstance(raw, Decimal):
        try:
            return Decimal(str(raw))
        except InvalidOperation as exc:
            raise ImproperlyConfigured(f"WALLET_{name} must be a decimal amount, not {raw!r}") from exc
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int) and not isinstance(raw, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"WALLET_{name} must be an integer, not {raw!r}") from exc
    if isinstance(default, list) and isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


class WalletSettings:
    """Attribute access to the settings above: ``wallet_settings.MAX_BALANCE``."""

    def __getattr__(self, name: str) -> Any:
        try:
            setting = DEFAULTS[name]
        except KeyError:
            raise AttributeError(f"wallet has no setting {name}") from None
        default = setting.resolve_default()
        # The one place that reads a wallet setting with a fallback.
        raw = getattr(settings, f"WALLET_{name}", default)
        return _parse(name, raw, default)


wallet_settings = WalletSettings()
