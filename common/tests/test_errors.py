"""The one error shape: ``{"error": {"code", "message", "fields"}}`` for every client-facing failure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, OperationalError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions, serializers

from common.errors import error_body, exception_handler, handler404, handler500
from common.exceptions import ApplicationError, RateLimited


def handle(exc: Exception) -> Any:
    response = exception_handler(exc, {})
    assert response is not None
    assert set(response.data) == {"error"}
    assert set(response.data["error"]) == {"code", "message", "fields"}
    return response


def test_error_body_has_code_message_and_fields() -> None:
    assert error_body("x", "y") == {"error": {"code": "x", "message": "y", "fields": {}}}


def test_application_error_keeps_its_code_status_fields_and_headers() -> None:
    fields = {"template_id": [{"code": "unknown_template", "message": "There is no template 9."}]}
    exc = ApplicationError("There is no template 9.", code="unknown_template", fields=fields, headers={"X-A": "1"})

    response = handle(exc)

    assert response.status_code == 400
    assert response.data["error"] == {
        "code": "unknown_template",
        "message": "There is no template 9.",
        "fields": fields,
    }
    assert response["X-A"] == "1"


def test_rate_limited_is_429_with_retry_after() -> None:
    response = handle(RateLimited("Too many.", retry_after=0))

    assert (response.status_code, response.data["error"]["code"], response["Retry-After"]) == (429, "rate_limited", "1")


def test_validation_error_with_one_code_uses_it_at_the_top() -> None:
    exc = serializers.ValidationError({"phone": [serializers.ErrorDetail("Bad number.", code="invalid_phone")]})

    error = handle(exc).data["error"]

    assert error["code"] == "invalid_phone"
    assert error["message"] == "phone: Bad number."
    assert error["fields"] == {"phone": [{"code": "invalid_phone", "message": "Bad number."}]}


def test_validation_error_with_several_codes_is_validation_error() -> None:
    exc = serializers.ValidationError(
        {
            "phone": [serializers.ErrorDetail("Required.", code="required")],
            "extra": [serializers.ErrorDetail("Not accepted.", code="unexpected_field")],
        }
    )

    response = handle(exc)

    assert response.status_code == 400
    assert response.data["error"]["code"] == "validation_error"
    assert set(response.data["error"]["fields"]) == {"phone", "extra"}


def test_validation_error_flattens_nested_fields_with_dotted_names() -> None:
    exc = serializers.ValidationError(
        {"token_value": {"code": [serializers.ErrorDetail("Too long.", code="token_too_long")]}}
    )

    error = handle(exc).data["error"]

    assert error["fields"] == {"token_value.code": [{"code": "token_too_long", "message": "Too long."}]}


def test_validation_error_without_fields_goes_to_non_field_errors() -> None:
    error = handle(serializers.ValidationError("Expected a JSON object.", code="invalid_type")).data["error"]

    assert error["code"] == "invalid_type"
    assert error["message"] == "Expected a JSON object."
    assert list(error["fields"]) == ["non_field_errors"]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (exceptions.ParseError(), 400, "malformed_json"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed(), 401, "invalid_token"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (exceptions.NotAcceptable(), 406, "not_acceptable"),
        (Http404(), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
        (RequestDataTooBig(), 413, "payload_too_large"),
    ],
)
def test_framework_errors_map_to_their_code_and_status(exc: Exception, status: int, code: str) -> None:
    response = handle(exc)

    assert (response.status_code, response.data["error"]["code"]) == (status, code)
    assert response.data["error"]["message"]


@pytest.mark.parametrize("exc", [exceptions.NotAuthenticated(), exceptions.AuthenticationFailed()])
def test_authentication_errors_ask_for_a_token(exc: Exception) -> None:
    assert handle(exc)["WWW-Authenticate"] == "Token"


def test_throttled_says_when_to_retry() -> None:
    response = handle(exceptions.Throttled(wait=9.5))

    assert (response.status_code, response.data["error"]["code"]) == (429, "rate_limited")
    assert int(response["Retry-After"]) >= 10


@pytest.mark.parametrize("exc", [OperationalError("connection refused"), DatabaseError("gone")])
def test_database_unavailable_is_503_with_retry_after_and_no_details(exc: Exception) -> None:
    response = handle(exc)

    assert (response.status_code, response.data["error"]["code"]) == (503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert "connection refused" not in json.dumps(response.data)


def test_unexpected_errors_are_left_to_django() -> None:
    assert exception_handler(RuntimeError("bug"), {}) is None


def test_handler404_and_handler500_answer_in_the_error_shape() -> None:
    request = RequestFactory().get("/nowhere/")

    not_found, internal = handler404(request, Http404()), handler500(request)

    assert (not_found.status_code, json.loads(not_found.content)["error"]["code"]) == (404, "not_found")
    assert (internal.status_code, json.loads(internal.content)["error"]["code"]) == (500, "internal_error")
