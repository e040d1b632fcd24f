"""What every request passes before any view: a host we serve, a body of known size; errors in the one shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import get_resolver

from common.errors import handler400, handler403, handler404, handler500
from conftest import GatewayAPIClient
from messaging.models import VerifyRequests
from messaging.tests.factories import make_template

VALID = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def served_hosts(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code


def test_fast_accept_path_refuses_a_host_it_does_not_serve(api: GatewayAPIClient, served_hosts: None) -> None:
    make_template(template_id=1, token_names=["code"])

    response = api.post("/sendsms/", VALID, format="json", HTTP_HOST="attacker.example")

    assert_error(response, 400, "invalid_host")
    assert not VerifyRequests.objects.exists()
    assert api.post("/sendsms/", VALID, format="json", HTTP_HOST="127.0.0.1").status_code == 202


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sendsms/"),
        ("post", "/verifications/"),
        ("get", "/schema/"),
        ("get", "/admin/login/"),
        ("get", "/nowhere/"),
    ],
)
def test_every_path_refuses_a_host_it_does_not_serve_in_the_error_shape(
    api: GatewayAPIClient, served_hosts: None, method: str, path: str
) -> None:
    response = getattr(api, method)(path, HTTP_HOST="attacker.example")

    assert_error(response, 400, "invalid_host")


@pytest.mark.parametrize("path", ["/sendsms/", "/verifications/"])
def test_a_chunked_body_is_refused_with_length_required(api: GatewayAPIClient, path: str) -> None:
    make_template(template_id=1, token_names=["code"])

    response = api.post(path, VALID, format="json", HTTP_TRANSFER_ENCODING="chunked")

    assert_error(response, 411, "length_required")
    assert not VerifyRequests.objects.exists()


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (handler400, 400, "bad_request"),
        (handler403, 403, "permission_denied"),
        (handler404, 404, "not_found"),
    ],
)
def test_errors_raised_before_the_api_handlers_have_the_error_shape(handler: Any, status: int, code: str) -> None:
    assert_error(handler(RequestFactory().get("/sendsms/"), Exception()), status, code)
    assert get_resolver().resolve_error_handler(status) is handler


def test_a_crash_outside_the_api_handlers_has_the_error_shape() -> None:
    assert_error(handler500(RequestFactory().get("/sendsms/")), 500, "internal_error")
    assert get_resolver().resolve_error_handler(500) is handler500


@pytest.mark.parametrize("handler", [handler400, handler403, handler404])
def test_admin_pages_keep_djangos_html_error_pages(handler: Any) -> None:
    response = handler(RequestFactory().get("/admin/messaging/"), Exception())

    assert response["Content-Type"].startswith("text/html")


def test_an_error_django_raises_past_the_api_handler_is_answered_in_the_error_shape(
    api: GatewayAPIClient, settings: Any
) -> None:
    # Production settings: Django answers a suspicious request through handler400 (DEBUG shows its debug page).
    settings.DEBUG = False
    # Django refuses a query string with more parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS as it parses it.
    query = "&".join(f"f{index}=1" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    assert_error(api.get(f"/sendsms/?{query}"), 400, "bad_request")
