"""The base of every domain error.

A service raises a subclass; the API exception handler renders it as
``{"code", "message", "fields"?, "retry_after"?}`` with its status, and HTML
views catch the same classes and show ``exc.message`` next to the form.
Each app keeps its own subclasses in ``<app>/errors.py``, one per API code.
"""

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    status: int = 400
    code: str = "error"
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, *, fields=None, retry_after=None):
        self.message = message if message is not None else self.default_message
        self.fields = fields
        self.retry_after = retry_after
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {name: [str(m) for m in msgs] for name, msgs in self.fields.items()}
        if self.retry_after is not None:
            body["retry_after"] = int(self.retry_after)
        return body


class InvalidInput(ServiceError):
    """A field-level problem found by a service (fields names the culprits)."""

    status = 400
    code = "validation_error"
    default_message = _("Some fields are invalid.")


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many requests. Please try again later.")


class ServiceUnavailable(ServiceError):
    status = 503
    code = "service_unavailable"
    default_message = _("The service is temporarily unavailable.")
