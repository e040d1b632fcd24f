"""Tells drf-spectacular (and so Swagger UI) how clients authenticate, which key scopes each operation needs,
and what ``Idempotency-Key`` takes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from clients.access import insufficient_scope_message, view_scopes
from clients.idempotency import HEADER, KEY_MAX_LENGTH, KEY_PATTERN
from common.openapi import ErrorSerializer


class ClientTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "clients.authentication.ClientTokenAuthentication"
    name = "ClientToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`. A key holds scopes (`sms:send`, `verify`, `read`); each operation names the ones it "
                "accepts and answers 403 `insufficient_scope` to a key without them. "
                "`python manage.py client_keys create CLIENT` prints a key."
            ),
        }


class ScopedAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus each operation's key scopes (view ``key_scopes``) and its 403."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        scopes = view_scopes(self.view, self.method)
        if operation is None or scopes is None:
            return operation
        names = " or ".join(f"`{scope}`" for scope in sorted(scopes))
        operation["description"] = f"{operation.get('description', '')}\n\nKey scope: {names}.".lstrip()
        operation["x-key-scopes"] = sorted(scopes)
        error = self.resolve_serializer(ErrorSerializer, "response")
        operation["responses"]["403"] = {
            "content": {
                "application/json": {
                    "schema": error.ref,
                    "examples": {
                        "403InsufficientScope": {
                            "value": {
                                "error": {
                                    "code": "insufficient_scope",
                                    "message": insufficient_scope_message(scopes),
                                    "fields": {},
                                }
                            },
                            "summary": "403 insufficient_scope",
                        }
                    },
                }
            },
            "description": "The key lacks the scope this operation needs.",
        }
        return operation


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    description=(
        f"1-{KEY_MAX_LENGTH} printable ASCII characters. The same key and body within 24 hours replays the first "
        "answer (header `Idempotent-Replayed: true`); the same key with another body is 422."
    ),
)
