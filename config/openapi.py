"""OpenAPI error responses generated from the error classes, so the description cannot drift from them."""

from collections import defaultdict

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from config.errors import ServiceError


class ErrorSerializer(serializers.Serializer):
    """The error body of every non-2xx response (docs/API.md, "Errors")."""

    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment] # the body's "fields", not Serializer.fields
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    retry_after = serializers.IntegerField(required=False)


def error_responses(*errors: type[ServiceError], notes: dict[str, str] | None = None) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse}`` for ``extend_schema(responses=…)``, one entry per status.

    Each description lists the codes of that status (with the field an error
    is about); ``notes`` adds a word after a code (``{"phone_taken": "register, change_phone"}``).
    """
    notes = notes or {}
    by_status: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        line = error.describe()
        if error.code in notes:
            line = f"{line}: {notes[error.code]}"
        if line not in by_status[error.status]:
            by_status[error.status].append(line)
    return {
        status: OpenApiResponse(ErrorSerializer, description=", ".join(lines))
        for status, lines in sorted(by_status.items())
    }
