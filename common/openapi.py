"""OpenAPI pieces for drf-spectacular: the error shape, an example for every error code, strict request bodies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
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


class StrictSerializerScheme(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """A ``StrictSerializer`` refuses fields it does not know (400 ``unexpected_field``): the schema says so."""

    target_class = "common.api.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema
