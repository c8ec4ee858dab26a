"""Tests: messages are kept in ``outbox`` instead of being sent (like Django's locmem mail)."""

import threading
import uuid

from smscodes.backends import BaseSmsBackend, SmsBackendError, SmsOutgoing

outbox: list[SmsOutgoing] = []
_lock = threading.Lock()

# Tests set this to an exception message to make the next sends fail like a provider would.
fail_with: str | None = None


class LocmemBackend(BaseSmsBackend):
    name = "locmem"

    def send(self, message: SmsOutgoing) -> str:
        if fail_with:
            raise SmsBackendError(fail_with)
        with _lock:
            outbox.append(message)
        return f"locmem-{uuid.uuid4().hex[:12]}"
