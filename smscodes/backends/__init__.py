"""SMS backends, chosen by ``SMS_BACKEND`` like Django's ``EMAIL_BACKEND``.

A backend gets an :class:`SmsOutgoing` and returns the provider's message id,
or raises :class:`SmsBackendError` with a short reason that goes in the send log.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from smscodes import conf

BUILTIN = {
    "console": "smscodes.backends.console.ConsoleBackend",
    "locmem": "smscodes.backends.locmem.LocmemBackend",
    "aliyun": "smscodes.backends.aliyun.AliyunBackend",
    "tencent": "smscodes.backends.tencent.TencentBackend",
    "twilio": "smscodes.backends.twilio.TwilioBackend",
}


@dataclass(frozen=True)
class SmsOutgoing:
    phone: str  # E.164
    purpose: str
    code: str
    text: str  # the whole message in the requester's language (for providers that send free text)
    language: str
    ttl_minutes: int

    def __repr__(self) -> str:  # never print the code by accident
        return f"SmsOutgoing(phone={self.phone!r}, purpose={self.purpose!r})"


class SmsBackendError(Exception):
    """The provider refused or could not be reached (the message is the log's reason)."""


class BaseSmsBackend:
    name = "base"

    def send(self, message: SmsOutgoing) -> str:
        raise NotImplementedError


def backend_path() -> str:
    return BUILTIN.get(conf.backend(), conf.backend())


def get_backend() -> BaseSmsBackend:
    try:
        backend_class = import_string(backend_path())
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND={conf.backend()!r} cannot be imported: {exc}") from exc
    return backend_class()


provider_timeout = conf.provider_timeout


def setting(name: str) -> str:
    """A required provider setting: a clear error when it is missing."""
    return conf.provider_setting(name)


def template_for(setting_name: str, purpose: str) -> str:
    """The provider template id for a purpose from a ``{"purpose": "id", "default": "id"}`` setting."""
    templates = conf.provider_templates(setting_name)
    template = templates.get(purpose) or templates.get("default")
    if not template:
        raise ImproperlyConfigured(f"{setting_name} has no template for purpose {purpose!r} (nor a 'default').")
    return template


def endpoint_split(endpoint: str) -> tuple[str, str]:
    """``"http://127.0.0.1:8000/"`` -> ``("http", "127.0.0.1:8000")``; a bare host means https.

    The SDKs take the scheme and the host separately; tests and proxies give a URL.
    """
    for scheme in ("http", "https"):
        if endpoint.startswith(f"{scheme}://"):
            return scheme, endpoint[len(scheme) + 3 :].rstrip("/")
    return "https", endpoint
