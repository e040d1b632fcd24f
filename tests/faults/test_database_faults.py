"""PostgreSQL restarted under load: the API says 503 in the error shape (never 500, never a hang), workers
recover on their own, and every accepted request ends."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import OperationalError, connections
from rest_framework.test import APIClient

from tests.faults.stack import Reply

BODY = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.mark.faults
@pytest.mark.timeout(300)
def test_postgres_restart_under_load_answers_503_and_every_202_ends(make_stack):
    stack = make_stack()
    stack.api()
    worker = stack.worker(concurrency=4)
    stack.beat()
    replies: list[Reply] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                replies.append(stack.post(timeout=5))
            except OSError as exc:  # a hang or a dropped connection: exactly what must not happen
                replies.append(Reply(0, str(exc), 5.0, {}))
            time.sleep(0.05)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        stack.pg.stop()
        down_since = time.monotonic()
        time.sleep(6)
        stack.pg.start()
        down_for = time.monotonic() - down_since
        time.sleep(4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    statuses = Counter(reply.status for reply in replies)
    assert set(statuses) <= {202, 503}, statuses
    assert statuses[503] > 0
    for reply in replies:
        if reply.status == 503:
            assert reply.body["error"]["code"] == "service_unavailable"
            assert reply.headers["Retry-After"]
    slowest = max(reply.elapsed for reply in replies)
    assert slowest < 2.0
    accepted = [reply.body["id"] for reply in replies if reply.status == 202]
    stack.wait_all_final(len(accepted), timeout=120)
    assert worker.process.poll() is None  # the same worker, never restarted
    done = {row[0] for row in stack.rows("SELECT id FROM messaging_verifyrequests WHERE flag = 'DONE'")}
    assert set(accepted) <= done
    summary = stack.summary(
        "postgres_restart",
        note=f"down={down_for:.1f}s answers: 202={statuses[202]} 503={statuses[503]} slowest={slowest:.2f}s",
    )
    assert summary.duplicates == summary.duplicates_explained


# The two paths the live test cannot aim at: a database error inside authentication and one on commit.


@pytest.fixture
def api(api_client_key: tuple[Any, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_client_key[1]}")
    return client


def fail(*args: Any, **kwargs: Any) -> None:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def assert_503(response: Any) -> None:
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response["Retry-After"]


@pytest.mark.django_db
def test_a_database_error_during_authentication_is_a_503(api, monkeypatch):
    monkeypatch.setattr("clients.authentication.hash_key", fail)
    assert_503(api.post("/sendsms/", BODY, format="json"))


@pytest.mark.django_db(transaction=True)
def test_a_database_error_on_commit_is_a_503(api, monkeypatch):
    from django.apps import apps

    apps.get_model("messaging", "Templates").objects.create(template_id=1, name="login", token_names=["code"])
    # Without an Idempotency-Key the request is one INSERT in autocommit: its failure is the commit's.
    monkeypatch.setattr("messaging.services.requests.insert_many", fail)
    assert_503(api.post("/sendsms/", BODY, format="json"))
    monkeypatch.undo()
    # With one, the request and its idempotency record commit together.
    monkeypatch.setattr(connections["default"], "commit", fail)
    assert_503(api.post("/sendsms/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="commit-fails"))
