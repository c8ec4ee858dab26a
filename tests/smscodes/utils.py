"""Test helpers other apps' tests may import (tests only: real codes never leave the SMS)."""

from config.phones import phone_to_e164
from smscodes.backends import locmem


def last_code_for(phone: str) -> str:
    """The code in the last message the locmem backend "sent" to ``phone`` (any format)."""
    e164 = phone_to_e164(phone) or phone
    for message in reversed(locmem.outbox):
        if message.phone == e164:
            return message.code
    raise AssertionError(f"no SMS was sent to {e164}")


def sent_to(phone: str) -> list:
    e164 = phone_to_e164(phone) or phone
    return [message for message in locmem.outbox if message.phone == e164]
