"""The wallet's settings, read at call time (tests override them) through one accessor.

Every value comes from ``config/settings.py``, which reads it from the
environment with its default (the README's "Wallet" table lists them);
nothing else in the app reads these settings. Read them as
``wallet_settings.MAX_TOP_UP`` (simplejwt's ``api_settings`` habit): each
read looks at ``django.conf.settings`` again, and a string (from the
environment or a test) is parsed to the setting's type.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _decimal(name: str, raw: Any) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"WALLET_{name} must be a decimal amount, not {raw!r}") from exc
    if not value.is_finite() or value <= 0:
        raise ImproperlyConfigured(f"WALLET_{name} must be a positive amount, not {raw!r}")
    return value


def _int(name: str, raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"WALLET_{name} must be an integer, not {raw!r}") from exc


def _list(name: str, raw: Any) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [str(item).strip() for item in items if str(item).strip()]


def _str(name: str, raw: Any) -> str:
    return str(raw or "")


@dataclass(frozen=True)
class Setting:
    parse: Callable[[str, Any], Any]
    help: str


SETTINGS: dict[str, Setting] = {
    "CURRENCY": Setting(_str, "ISO 4217 code of new ledger accounts."),
    "MAX_TOP_UP": Setting(_decimal, "Largest single top-up."),
    "MAX_BALANCE": Setting(_decimal, "Largest balance; balance + pending top-ups + a new one may not exceed it."),
    "CHANNELS": Setting(_list, "Enabled payment channels: sandbox, alipay, wechatpay."),
    "SANDBOX_SECRET": Setting(_str, "HMAC key of the sandbox's notifications; without it the sandbox is off."),
    "TOP_UP_TTL": Setting(_int, "Seconds a top-up stays payable; wallet_sync closes it after that."),
    "QUERY_AFTER": Setting(_int, "Seconds after which wallet_sync asks the channel about a pending top-up."),
    "NOTIFICATION_TOLERANCE": Setting(_int, "Seconds a signed notification's timestamp may be from now."),
    "TOP_UP_PRESETS": Setting(_list, "Amounts offered on the wallet page."),
    "PUBLIC_URL": Setting(_str, "Public base URL (https://host) for links a channel calls or shows."),
    "CHANNEL_TIMEOUT": Setting(_int, "Seconds one call to Alipay or WeChat Pay may take (at most 30)."),
    "CLIENT_RATE": Setting(
        _str, "Requests per client application (charges, refunds; all its keys together), e.g. 100/s; 0: off."
    ),
}


class WalletSettings:
    """Attribute access to the settings above: ``wallet_settings.MAX_BALANCE``."""

    def __getattr__(self, name: str) -> Any:
        try:
            setting = SETTINGS[name]
        except KeyError:
            raise AttributeError(f"wallet has no setting {name}") from None
        return setting.parse(name, getattr(settings, f"WALLET_{name}"))


wallet_settings = WalletSettings()
