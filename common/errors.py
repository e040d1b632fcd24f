"""One error shape for every client-facing failure: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from common.exceptions import ApplicationError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    details = exc.get_full_details()
    if not isinstance(details, dict):
        details = {"non_field_errors": details if isinstance(details, list) else [details]}
    fields: dict[str, Any] = {}
    codes: list[str] = []
    messages: list[str] = []

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and "code" in value and "message" in value:
            fields.setdefault(prefix, []).append({"code": value["code"], "message": str(value["message"])})
            codes.append(str(value["code"]))
            messages.append(f"{prefix}: {value['message']}" if prefix != "non_field_errors" else str(value["message"]))
        elif isinstance(value, dict):
            for key, item in value.items():
                flatten(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                is_leaf = isinstance(item, dict) and "code" in item
                flatten(prefix if is_leaf else f"{prefix}.{index}", item)

    flatten("", details)
    # One distinct problem gets its own code at the top, so clients can branch on it directly.
    code = codes[0] if len(set(codes)) == 1 else "validation_error"
    return error_body(code, "; ".join(messages) or "Invalid input.", fields)


_SIMPLE = {
    exceptions.ParseError: "malformed_json",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "invalid_token",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "rate_limited",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the one error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    headers: dict[str, str] = {}

    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code, headers=exc.headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "The request body is over 16 KiB."), status=413)
    if isinstance(exc, OperationalError | InterfaceError | DatabaseError):
        # The database is down or unreachable: say so plainly and let the client retry.
        set_rollback()
        logger.warning("database unavailable: %s", type(exc).__name__)
        return Response(
            error_body("service_unavailable", "The service is temporarily unavailable; retry shortly."),
            status=503,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(_validation_body(exc), status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _SIMPLE.items() if isinstance(exc, cls)), str(exc.default_code))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = "Token"
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait) + 1)
        return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
    return None


def json_error(code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


# Errors Django raises before a view runs (a bad request, a refused permission, an unknown URL, a crash) get
# the error shape too; the admin's own pages keep Django's HTML answers.


def _admin_page(request: Any) -> bool:
    return str(getattr(request, "path", "")).startswith("/admin/")


def handler400(request: Any, exception: Exception) -> HttpResponse:
    if _admin_page(request):
        return defaults.bad_request(request, exception)
    return json_error("bad_request", "The request is malformed.", 400)


def handler403(request: Any, exception: Exception) -> HttpResponse:
    if _admin_page(request):
        return defaults.permission_denied(request, exception)
    return json_error("permission_denied", "You do not have permission to perform this action.", 403)


def handler404(request: Any, exception: Exception) -> HttpResponse:
    if _admin_page(request):
        return defaults.page_not_found(request, exception)
    return json_error("not_found", "Not found.", 404)


def handler500(request: Any) -> HttpResponse:
    if _admin_page(request):
        return defaults.server_error(request)
    return json_error("internal_error", "Internal error; it has been reported.", 500)
