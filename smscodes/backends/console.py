import logging
import uuid

from smscodes.backends import BaseSmsBackend, SmsOutgoing

logger = logging.getLogger("smscodes.console")


class ConsoleBackend(BaseSmsBackend):
    """Development: the message (code included) goes to the server log instead of a phone."""

    name = "console"

    def send(self, message: SmsOutgoing) -> str:
        logger.info("SMS to %s (%s): %s", message.phone, message.purpose, message.text)
        return f"console-{uuid.uuid4().hex[:12]}"
