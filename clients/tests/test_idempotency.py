"""``Idempotency-Key`` on POST /sendsms/: replay, refusal of a reused key, scope, limits, concurrency, purge."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from clients.idempotency import idempotency_records_purge
from clients.models import IdempotencyRecord
from clients.services import client_create

BODY = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


def requests_count() -> int:
    # Looked up by name: clients sits below messaging in the layers and does not import it.
    return int(apps.get_model("messaging", "VerifyRequests").objects.count())


@pytest.fixture
def template(db: Any) -> Any:
    return apps.get_model("messaging", "Templates").objects.create(template_id=1, name="login", token_names=["code"])


def post(api: APIClient, body: Any = BODY, key: str | None = "key-1") -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post("/sendsms/", body, format="json", **headers)


def client_api(name: str) -> APIClient:
    _, key = client_create(name=name)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], set(error["fields"])) == (code, {"Idempotency-Key"})
    assert error["message"]


def test_the_same_key_and_body_replays_the_first_answer_without_a_new_request(api, template):
    first = post(api)
    second = post(api)

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert requests_count() == 1


def test_the_same_key_with_another_body_is_refused_with_422(api, template):
    post(api)
    response = post(api, {**BODY, "phone": "09127654321"})

    assert_error(response, 422, "idempotency_key_reused")
    assert requests_count() == 1


def test_keys_are_scoped_per_client(template):
    first = post(client_api("one"))
    second = post(client_api("two"))

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert requests_count() == 2


def test_without_a_key_every_post_creates_a_request(api, template):
    post(api, key=None)
    post(api, key=None)

    assert requests_count() == 2


def test_a_key_over_255_characters_is_refused_with_400(api, template):
    assert_error(post(api, key="k" * 256), 400, "idempotency_key_too_long")
    assert post(api, key="k" * 255).status_code == 202
    assert requests_count() == 1


def test_an_error_answer_is_not_stored_so_the_key_can_be_retried(api, template):
    refused = post(api, {**BODY, "phone": "not a phone"})
    accepted = post(api)

    assert (refused.status_code, accepted.status_code) == (400, 202)
    assert "Idempotent-Replayed" not in accepted
    assert requests_count() == 1


def test_a_key_older_than_24_hours_runs_again(api, template):
    first = post(api)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    second = post(api)

    assert second.status_code == 202
    assert second.json()["id"] != first.json()["id"]
    assert requests_count() == 2


def test_purge_deletes_only_records_older_than_24_hours(api, template):
    post(api, key="old")
    post(api, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_create_one_request(api_client_key, template):
    responses: list[Any] = []
    start = threading.Barrier(20)

    def send() -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {api_client_key[1]}")
        try:
            start.wait()
            responses.append(post(api, key="concurrent"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [response.status_code for response in responses] == [202] * 20
    assert len({response.json()["id"] for response in responses}) == 1
    assert requests_count() == 1
    assert sum(1 for response in responses if response.has_header("Idempotent-Replayed")) == 19
