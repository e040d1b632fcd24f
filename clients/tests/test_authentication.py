"""``Authorization: Token <key>``: who may call the API."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from clients.access import READ, key_access


def get_with(header: str | None) -> Any:
    api = APIClient()
    if header is not None:
        api.credentials(HTTP_AUTHORIZATION=header)
    return api.get("/sendsms/")


def assert_401(response: Any, code: str) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Token"


def test_request_with_valid_key_is_authenticated(api_client_key: tuple[Any, str]) -> None:
    assert get_with(f"Token {api_client_key[1]}").status_code == 200


def test_token_keyword_is_case_insensitive(api_client_key: tuple[Any, str]) -> None:
    assert get_with(f"token {api_client_key[1]}").status_code == 200


def test_request_without_key_is_refused_with_not_authenticated(db: Any) -> None:
    assert_401(get_with(None), "not_authenticated")


def test_request_with_other_scheme_is_refused_with_not_authenticated(api_client_key: tuple[Any, str]) -> None:
    assert_401(get_with(f"Bearer {api_client_key[1]}"), "not_authenticated")


def test_request_with_wrong_key_is_refused_with_invalid_token(api_client_key: tuple[Any, str]) -> None:
    assert_401(get_with("Token not-a-real-key"), "invalid_token")


@pytest.mark.parametrize("header", ["Token", "Token a b"])
def test_malformed_token_header_is_refused_with_invalid_token(db: Any, header: str) -> None:
    assert_401(get_with(header), "invalid_token")


def test_non_ascii_key_is_refused_with_invalid_token(db: Any) -> None:
    assert_401(get_with("Token kléé"), "invalid_token")


def test_inactive_client_is_refused(api_client_key: tuple[Any, str]) -> None:
    client, key = api_client_key
    client.is_active = False
    client.save()

    assert_401(get_with(f"Token {key}"), "invalid_token")


def test_a_known_key_is_remembered_for_a_few_seconds_so_requests_skip_the_lookup(
    api_client_key: tuple[Any, str], django_assert_num_queries: Any
) -> None:
    client, key = api_client_key
    with django_assert_num_queries(1):
        assert key_access(key=key, scopes=None) == client
    with django_assert_num_queries(0):
        assert key_access(key=key, scopes=READ) == client
    with django_assert_num_queries(1), pytest.raises(AuthenticationFailed):  # unknown keys are never remembered
        key_access(key="not-a-real-key", scopes=None)


def test_with_the_memo_off_every_request_looks_the_key_up(
    api_client_key: tuple[Any, str], django_assert_num_queries: Any, settings: Any
) -> None:
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "AUTH_MEMO_SECONDS": 0}
    key_access(key=api_client_key[1], scopes=None)
    with django_assert_num_queries(1):
        assert key_access(key=api_client_key[1], scopes=None) == api_client_key[0]
