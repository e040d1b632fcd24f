"""Several keys per client: scopes per operation, expiry, rotation, revocation within the memo time, last use."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from clients.access import insufficient_scope_message
from clients.models import Client, ClientKey
from clients.services import client_create, client_key_create, client_key_revoke, client_key_rotate
from common import memo
from common.memo import memos_clear
from messaging.tests.factories import make_template
from tests.processes import WebServer

VALID = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


class MemoClock:
    """The memos' clock, moved by hand: a memo's expiry is reached without sleeping."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def shift(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def memo_clock(monkeypatch: pytest.MonkeyPatch) -> MemoClock:
    clock = MemoClock(memo.clock())
    monkeypatch.setattr(memo, "clock", clock)
    return clock


@pytest.fixture
def owner(db: Any) -> Client:
    make_template(template_id=1, token_names=["code"])
    return client_create(name="shop")[0]


def api_for(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def new_key(owner: Client, *scopes: str, **fields: Any) -> str:
    return client_key_create(client=owner, name="k", scopes=scopes, **fields)[1]


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- Scopes ----------------------------------------------------------------------------------------

_OPERATIONS = {
    "send": ("post", "/sendsms/"),
    "list": ("get", "/sendsms/"),
    "request": ("get", "/sendsms/1/"),
    "start": ("post", "/verifications/"),
    "verification": ("get", f"/verifications/{uuid.UUID(int=1)}/"),
    "check": ("post", f"/verifications/{uuid.UUID(int=1)}/check/"),
    "check_by_phone": ("post", "/verifications/check/"),
    "cancel": ("post", f"/verifications/{uuid.UUID(int=1)}/cancel/"),
}
# What each scope reaches; every other operation is a 403 for it.
_REACHES = {
    "sms:send": {"send"},
    "verify": {"start", "verification", "check", "check_by_phone", "cancel"},
    "read": {"list", "request", "verification"},
}


@pytest.mark.parametrize("scope", sorted(_REACHES))
@pytest.mark.parametrize("operation", sorted(_OPERATIONS))
def test_a_key_reaches_only_the_operations_its_scopes_allow(owner: Client, scope: str, operation: str) -> None:
    method, path = _OPERATIONS[operation]
    api = api_for(new_key(owner, scope))

    response = getattr(api, method)(path, {}, format="json") if method == "post" else api.get(path)

    if operation in _REACHES[scope]:
        assert response.status_code in {200, 400, 404}, response.content  # past the key: the operation's own answer
    else:
        assert response.status_code == 403, response.content
        assert error_code(response) == "insufficient_scope"
        assert response.json()["error"]["message"].startswith("This key lacks the scope")


def test_a_key_with_every_scope_reaches_every_operation(owner: Client) -> None:
    api = api_for(new_key(owner, "sms:send", "verify", "read"))
    for method, path in _OPERATIONS.values():
        response = getattr(api, method)(path, {}, format="json") if method == "post" else api.get(path)
        assert response.status_code != 403, (method, path)


def _api_views() -> Iterator[Any]:
    def walk(patterns: list[Any]) -> Iterator[Any]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    return (view for view in walk(get_resolver().url_patterns) if view.__module__.endswith(".api.views"))


def test_every_client_operation_declares_the_scopes_it_accepts() -> None:
    views = list(_api_views())
    assert len(views) == 7
    for view in views:
        handled = {method.upper() for method in view.http_method_names if hasattr(view, method)} - {"OPTIONS"}
        assert handled <= set(view.key_scopes), view.__name__


# --- Expiry, revocation, rotation ------------------------------------------------------------------


def test_a_key_works_until_its_expiry_and_not_a_moment_after(owner: Client) -> None:
    expires_at = timezone.now() + timedelta(hours=1)
    api = api_for(new_key(owner, "read", expires_at=expires_at))

    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        assert api.get("/sendsms/").status_code == 200
    with time_machine.travel(expires_at, tick=False):  # remembered or not, the expiry is checked every time
        response = api.get("/sendsms/")
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_a_key_revoked_here_is_refused_at_once(owner: Client) -> None:
    key, secret = client_key_create(client=owner, name="k", scopes=["read"])
    api = api_for(secret)
    assert api.get("/sendsms/").status_code == 200

    client_key_revoke(key=key)

    assert api.get("/sendsms/").status_code == 401


def test_a_key_of_a_deactivated_client_is_refused(owner: Client) -> None:
    api = api_for(new_key(owner, "read"))
    owner.is_active = False
    owner.save()

    assert error_code(api.get("/sendsms/")) == "invalid_token"


def test_rotation_gives_a_new_key_and_the_old_one_works_until_revoked(owner: Client) -> None:
    old, old_secret = client_key_create(client=owner, name="production", scopes=["sms:send", "read"])

    new, new_secret = client_key_rotate(key=old)

    assert (new.name, new.scopes, new.client_id) == ("production", ["sms:send", "read"], owner.pk)
    assert new_secret != old_secret
    assert api_for(old_secret).get("/sendsms/").status_code == 200
    assert api_for(new_secret).get("/sendsms/").status_code == 200
    client_key_revoke(key=old)
    assert api_for(old_secret).get("/sendsms/").status_code == 401
    assert api_for(new_secret).get("/sendsms/").status_code == 200


def test_rotation_can_give_the_old_key_an_expiry(owner: Client) -> None:
    old, old_secret = client_key_create(client=owner, name="production", scopes=["read"])
    until = timezone.now() + timedelta(days=7)

    client_key_rotate(key=old, old_expires_at=until)

    old.refresh_from_db()
    assert old.expires_at == until
    with time_machine.travel(until, tick=False):
        assert api_for(old_secret).get("/sendsms/").status_code == 401


@pytest.mark.parametrize("path", ["fast", "drf"])
def test_a_key_revoked_elsewhere_works_at_most_the_memo_time_then_is_refused(
    owner: Client, memo_clock: MemoClock, settings: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    from messaging.api import accept

    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "AUTH_MEMO_SECONDS": 5}
    if path == "drf":
        monkeypatch.setattr(accept, "fast_accept", lambda request: None)
    key, secret = client_key_create(client=owner, name="k", scopes=["sms:send"])
    api = api_for(secret)
    assert api.post("/sendsms/", VALID, format="json").status_code == 202

    # Another process revokes it: a bare UPDATE, so no signal clears this process's memo.
    ClientKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())

    memo_clock.shift(4.9)
    assert api.post("/sendsms/", VALID, format="json").status_code == 202  # still trusted, within the bound
    memo_clock.shift(0.1)
    refused = api.post("/sendsms/", VALID, format="json")
    assert refused.status_code == 401
    assert error_code(refused) == "invalid_token"


# --- Last use ----------------------------------------------------------------------------------------


def _last_used_writes(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith('UPDATE "clients_clientkey"')]


def test_last_use_is_written_after_the_response_not_during_the_request(owner: Client) -> None:
    from django.test import RequestFactory

    from messaging.api.accept import fast_accept

    key, secret = client_key_create(client=owner, name="k", scopes=["sms:send"])
    request = RequestFactory().post(
        "/sendsms/", VALID, content_type="application/json", HTTP_AUTHORIZATION=f"Token {secret}"
    )

    with CaptureQueriesContext(connection) as during:
        response = fast_accept(request)
    assert response is not None and response.status_code == 202
    assert _last_used_writes(during) == []
    key.refresh_from_db()
    assert key.last_used_at is None

    # The WSGI server has sent the response and closes it (the test database stays open, as in the test client).
    request_finished.disconnect(close_old_connections)
    try:
        with CaptureQueriesContext(connection) as after:
            request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)
    assert len(_last_used_writes(after)) == 1
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute_per_key(owner: Client, memo_clock: MemoClock) -> None:
    key, secret = client_key_create(client=owner, name="k", scopes=["sms:send", "read"])
    api = api_for(secret)

    with CaptureQueriesContext(connection) as queries:
        api.post("/sendsms/", VALID, format="json")
        for _ in range(5):
            api.get("/sendsms/")
        memos_clear()  # another process, that has not noted the key yet: the cache's guard holds it back
        api.get("/sendsms/")
    assert len(_last_used_writes(queries)) == 1

    memo_clock.shift(60)
    cache.delete(f"client-key-used:{key.pk}")  # as the cache expires it, a minute after it was added
    with CaptureQueriesContext(connection) as queries:
        api.get("/sendsms/")
    assert len(_last_used_writes(queries)) == 1


def test_a_remembered_key_costs_the_accept_path_no_query(owner: Client) -> None:
    api = api_for(new_key(owner, "sms:send"))
    assert api.post("/sendsms/", VALID, format="json").status_code == 202

    with CaptureQueriesContext(connection) as queries:
        assert api.post("/sendsms/", {**VALID, "phone": "09121234568"}, format="json").status_code == 202

    assert [query["sql"] for query in queries.captured_queries if "clients_client" in query["sql"]] == []


def test_a_failing_last_use_write_never_fails_the_answer(owner: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("cache down")

    monkeypatch.setattr("clients.usage.cache.add", down)
    response = api_for(new_key(owner, "sms:send")).post("/sendsms/", VALID, format="json")

    assert response.status_code == 202
    assert ClientKey.objects.filter(last_used_at__isnull=False).count() == 0


def test_the_schema_names_each_operations_scopes_and_its_403(tmp_path: Any) -> None:
    from pathlib import Path

    import yaml
    from django.core.management import call_command

    out = Path(tmp_path) / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())

    for operation, (method, path) in _OPERATIONS.items():
        documented = schema["paths"][re.sub(r"[0-9a-f-]{36}|\d+", _placeholder(path), path)][method]
        scopes = {scope for scope, reached in _REACHES.items() if operation in reached}
        assert set(documented["x-key-scopes"]) == scopes, operation
        assert all(f"`{scope}`" in documented["description"] for scope in scopes)
        forbidden = documented["responses"]["403"]["content"]["application/json"]
        assert forbidden["schema"] == {"$ref": "#/components/schemas/Error"}
        [example] = forbidden["examples"].values()
        assert example["value"]["error"] == {
            "code": "insufficient_scope",
            "message": insufficient_scope_message(frozenset(scopes)),
            "fields": {},
        }


def _placeholder(path: str) -> str:
    return "{request_id}" if path.startswith("/sendsms/") else "{verification_id}"


# --- The bound across processes ------------------------------------------------------------------------


def _status(server: WebServer, secret: str, *, post: bool) -> int:
    request = urllib.request.Request(
        server.url + "/sendsms/",
        data=json.dumps(VALID).encode() if post else None,
        headers={"Authorization": f"Token {secret}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # a busy machine: the bound holds anyway
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_a_key_revoked_by_another_process_is_refused_once_the_memo_time_has_passed(
    worker_env: dict[str, str],
) -> None:
    make_template(template_id=1, token_names=["code"])
    key, secret = client_key_create(client=client_create(name="web")[0], name="k", scopes=["sms:send", "read"])
    unreached = {"SMS_RATE_LIMIT_PHONE": "1000/60", "SMS_RATE_LIMIT_PREFIX": "1000/60"}  # one number, many sends
    server = WebServer({**worker_env, **unreached, "SMS_AUTH_MEMO_SECONDS": "1"}, "gunicorn")
    server.start()
    try:
        assert (_status(server, secret, post=True), _status(server, secret, post=False)) == (202, 200)
        client_key_revoke(key=key)  # in this process: gunicorn's memo is another process's
        revoked_at = time.monotonic()
        late: list[int] = []
        while len(late) < 4:
            sent_after = time.monotonic() - revoked_at
            status = _status(server, secret, post=len(late) % 2 == 0)
            assert status in {200, 202, 401}
            if sent_after > 1.0:  # the server looked the key up no earlier than the revocation's commit
                late.append(status)
            assert sent_after < 120, "the server stopped answering"
    finally:
        server.stop()

    assert late == [401] * 4  # on the fast accept path and the DRF view alike
