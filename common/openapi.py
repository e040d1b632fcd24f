"""OpenAPI pieces: the error shape and an example for every error code, for drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(),
            },
        )
    },
)


def error_example(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> OpenApiExample:
    return OpenApiExample(
        f"{status} {code}",
        value={"error": {"code": code, "message": message, "fields": fields or {}}},
        response_only=True,
        status_codes=[str(status)],
    )


def field_example(status: int, field: str, code: str, message: str) -> OpenApiExample:
    return error_example(status, code, f"{field}: {message}", {field: [{"code": code, "message": message}]})


AUTH_EXAMPLES = [
    error_example(401, "not_authenticated", "Authentication credentials were not provided."),
    error_example(401, "invalid_token", "Invalid or inactive token."),
]
BODY_EXAMPLES = [
    error_example(400, "malformed_json", "The body is not valid JSON."),
    error_example(415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    error_example(413, "payload_too_large", "The request body is over 16 KiB."),
    error_example(503, "service_unavailable", "The service is temporarily unavailable; retry shortly."),
]
NOT_FOUND = error_example(404, "not_found", "Not found.")


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ErrorSerializer) for status in statuses}
