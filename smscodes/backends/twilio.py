"""Twilio Programmable Messaging through its official SDK: ``pip install twilio``.

Settings: SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN, and SMS_TWILIO_FROM (a sender number)
or SMS_TWILIO_MESSAGING_SERVICE_SID; SMS_TWILIO_BASE_URL (default https://api.twilio.com)
points the SDK elsewhere, e.g. a local stand-in in tests. The message text is sent as is,
in the requester's language.
"""

from django.core.exceptions import ImproperlyConfigured

from smscodes import conf
from smscodes.backends import BaseSmsBackend, SmsBackendError, SmsOutgoing, provider_timeout, setting


class TwilioBackend(BaseSmsBackend):
    name = "twilio"

    def __init__(self):
        try:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client
        except ImportError as exc:
            raise ImproperlyConfigured("SMS_BACKEND=twilio needs the Twilio SDK: pip install twilio") from exc
        self.sender = {}
        service_sid = conf.provider_setting("SMS_TWILIO_MESSAGING_SERVICE_SID", required=False)
        if service_sid:
            self.sender["messaging_service_sid"] = service_sid
        else:
            self.sender["from_"] = setting("SMS_TWILIO_FROM")
        self.client = Client(
            setting("SMS_TWILIO_ACCOUNT_SID"),
            setting("SMS_TWILIO_AUTH_TOKEN"),
            http_client=TwilioHttpClient(timeout=provider_timeout()),
        )
        base_url = conf.provider_setting("SMS_TWILIO_BASE_URL", required=False)
        if base_url:
            self.client.api.base_url = base_url.rstrip("/")

    def send(self, message: SmsOutgoing) -> str:
        try:
            sent = self.client.messages.create(to=message.phone, body=message.text, **self.sender)
        except Exception as exc:  # TwilioRestException, or the HTTP library's errors
            raise SmsBackendError(f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}") from exc
        return sent.sid or ""
