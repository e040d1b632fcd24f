"""``Idempotency-Key`` on POST /verifications/: a retry replays the first answer and sends nothing more."""

from __future__ import annotations

from typing import Any

from verifications.models import Verification


def start(api: Any, key: str, phone: str = "09121234567") -> Any:
    body = {"phone": phone, "template_id": 1}
    return api.post("/verifications/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_answer_without_another_send(api):
    first = start(api, "login-42")
    again = start(api, "login-42")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Verification.objects.get().send_count == 1


def test_same_key_with_another_body_is_refused_with_422(api):
    start(api, "login-42")
    other = start(api, "login-42", phone="09351234567")

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Verification.objects.count() == 1
