"""The Alipay and WeChat Pay adapters' settings, read at call time (so tests can override them).

``config/settings.py`` reads each ``ALIPAY_*`` / ``WECHATPAY_*`` variable from
the environment (README, "Payment channels"); the ``WALLET_*`` ones they share
with the rest of the wallet (``PUBLIC_URL``, ``CHANNEL_TIMEOUT``,
``NOTIFICATION_TOLERANCE``) come from ``wallet.conf``. This module turns them into one small frozen object per channel
and raises ``ImproperlyConfigured`` naming every variable that is missing, so
an operator fixes them all in one go rather than one restart at a time.

Keys and certificates may be given as PEM text, as the bare base64 body that
the providers' consoles hand out, or as the path of a file holding either.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from wallet.conf import wallet_settings

#: the path of the notify endpoint (API.md), appended to WALLET_PUBLIC_URL
NOTIFY_PATH = "/api/v1/wallet/notify/{channel}/"
#: the most WALLET_CHANNEL_TIMEOUT may be, in seconds
MAX_TIMEOUT = 30.0


def _value(name: str) -> str:
    return str(getattr(settings, name, "") or "").strip()


def channel_timeout() -> float:
    return min(MAX_TIMEOUT, max(1.0, float(wallet_settings.CHANNEL_TIMEOUT)))


def notification_tolerance() -> int:
    """Seconds a notification's timestamp may be from now (WALLET_NOTIFICATION_TOLERANCE, as the sandbox's)."""
    return int(wallet_settings.NOTIFICATION_TOLERANCE)


def notify_url(channel: str, names: list[str]) -> str:
    """The absolute notify URL the provider posts to; names WALLET_PUBLIC_URL when it is missing."""
    base = str(wallet_settings.PUBLIC_URL or "").strip()
    if not base:
        names.append("WALLET_PUBLIC_URL")
        return ""
    return base.rstrip("/") + NOTIFY_PATH.format(channel=channel)


def result_url(template: str, top_up_id: str) -> str:
    """Where the payer's browser comes back to: ``template`` with ``{top_up_id}``, else the top-up's result page."""
    if template:
        return template.format(top_up_id=top_up_id)
    return str(wallet_settings.PUBLIC_URL).rstrip("/") + reverse("wallet:top-up-result", args=[top_up_id])


def key_text(name: str, value: str, *, kind: str = "PUBLIC KEY") -> str:
    """A key or certificate as PEM text, from PEM text, bare base64 or a file path.

    Bare base64 (what Alipay's key tool and WeChat Pay's console show) is
    wrapped as ``kind``; pycryptodome and cryptography both read the DER
    inside whatever the label, PKCS#1 or PKCS#8.
    """
    text = value.strip()
    if not text.startswith("-----BEGIN") and os.path.isfile(text):
        try:
            text = Path(text).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}: cannot read {text}: {exc.strerror}") from exc
    if text.startswith("-----BEGIN"):
        return text
    body = "".join(text.split())
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} is neither PEM, base64 nor a readable file.") from exc
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"


@dataclass(frozen=True)
class AlipaySettings:
    app_id: str
    app_private_key: str  # PEM
    alipay_public_key: str  # PEM
    seller_id: str  # "" when not checked
    gateway: str
    notify_url: str
    return_url: str  # may hold "{top_up_id}"; "" for the top-up's result page
    timeout: float


def alipay_settings() -> AlipaySettings:
    names = ["ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"]
    missing = [name for name in names if not _value(name)]
    notify = notify_url("alipay", missing)
    if missing:
        raise ImproperlyConfigured(f"The alipay channel needs {', '.join(missing)} (see the README).")
    return AlipaySettings(
        app_id=_value("ALIPAY_APP_ID"),
        app_private_key=key_text("ALIPAY_APP_PRIVATE_KEY", _value("ALIPAY_APP_PRIVATE_KEY"), kind="PRIVATE KEY"),
        alipay_public_key=key_text("ALIPAY_PUBLIC_KEY", _value("ALIPAY_PUBLIC_KEY")),
        seller_id=_value("ALIPAY_SELLER_ID"),
        gateway=_value("ALIPAY_GATEWAY") or "https://openapi.alipay.com/gateway.do",
        notify_url=notify,
        return_url=_value("ALIPAY_RETURN_URL"),
        timeout=channel_timeout(),
    )


@dataclass(frozen=True)
class WechatpaySettings:
    mch_id: str
    app_id: str
    api_v3_key: str
    private_key: str  # the merchant API private key, PEM
    cert_serial_no: str  # the merchant API certificate's serial number
    public_key: str  # the platform public key, PEM ("" in certificate mode)
    public_key_id: str  # "PUB_KEY_ID_…" ("" in certificate mode)
    cert_dir: str  # platform certificates (*.pem) ("" in public-key mode)
    gateway: str
    notify_url: str
    h5_redirect_url: str  # may hold "{top_up_id}"; "" for the top-up's result page
    timeout: float


def wechatpay_settings() -> WechatpaySettings:
    names = [
        "WECHATPAY_MCH_ID",
        "WECHATPAY_APP_ID",
        "WECHATPAY_API_V3_KEY",
        "WECHATPAY_PRIVATE_KEY",
        "WECHATPAY_CERT_SERIAL_NO",
    ]
    missing = [name for name in names if not _value(name)]
    public_key, public_key_id, cert_dir = (
        _value("WECHATPAY_PUBLIC_KEY"),
        _value("WECHATPAY_PUBLIC_KEY_ID"),
        _value("WECHATPAY_CERT_DIR"),
    )
    # How WeChat Pay's own signatures are checked: its public key (the current way) or its platform certificates.
    if public_key or public_key_id:
        missing += [
            name
            for name, v in (("WECHATPAY_PUBLIC_KEY", public_key), ("WECHATPAY_PUBLIC_KEY_ID", public_key_id))
            if not v
        ]
    elif not cert_dir:
        missing.append("WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID (or WECHATPAY_CERT_DIR)")
    notify = notify_url("wechatpay", missing)
    if missing:
        raise ImproperlyConfigured(f"The wechatpay channel needs {', '.join(missing)} (see the README).")
    api_v3_key = _value("WECHATPAY_API_V3_KEY")
    if len(api_v3_key.encode()) != 32:
        raise ImproperlyConfigured("WECHATPAY_API_V3_KEY must be the 32-character API v3 key.")
    if cert_dir and not public_key and not any(Path(cert_dir).glob("*.pem")):
        # The SDK would otherwise download them from its built-in gateway while it is being built.
        raise ImproperlyConfigured(f"WECHATPAY_CERT_DIR ({cert_dir}) holds no platform certificate (*.pem).")
    return WechatpaySettings(
        mch_id=_value("WECHATPAY_MCH_ID"),
        app_id=_value("WECHATPAY_APP_ID"),
        api_v3_key=api_v3_key,
        private_key=key_text("WECHATPAY_PRIVATE_KEY", _value("WECHATPAY_PRIVATE_KEY"), kind="PRIVATE KEY"),
        cert_serial_no=_value("WECHATPAY_CERT_SERIAL_NO"),
        public_key=key_text("WECHATPAY_PUBLIC_KEY", public_key) if public_key else "",
        public_key_id=public_key_id,
        cert_dir="" if public_key else cert_dir,
        gateway=(_value("WECHATPAY_GATEWAY") or "https://api.mch.weixin.qq.com").rstrip("/"),
        notify_url=notify,
        h5_redirect_url=_value("WECHATPAY_H5_REDIRECT_URL"),
        timeout=channel_timeout(),
    )
