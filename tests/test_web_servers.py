"""The API under real web servers on 127.0.0.1: what reaches the app from the wire, and what their access logs keep."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from clients.services import client_create
from messaging.models import VerifyRequests
from messaging.tests.factories import make_template
from tests.processes import WebServer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
BODY = json.dumps({"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}).encode()


@pytest.fixture
def key(transactional_db: Any) -> str:
    make_template(template_id=1, token_names=["code"])
    return client_create(name="web")[1]


@pytest.fixture
def gunicorn(worker_env: dict[str, str]) -> Iterator[WebServer]:
    server = WebServer(worker_env, "gunicorn")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def runserver(worker_env: dict[str, str]) -> Iterator[WebServer]:
    server = WebServer(worker_env, "runserver")
    server.start()
    yield server
    server.stop()


def chunked_post(server: WebServer, path: str, key: str, chunks: list[bytes], announced: int = 0) -> tuple[int, Any]:
    """POST ``chunks`` with ``Transfer-Encoding: chunked``; ``announced`` opens one more chunk of that size
    and sends only its first bytes, as a client streaming a large body would. Returns status and JSON body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    body += b"%x\r\n%s" % (announced, b"x" * 16 * 1024) if announced else b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("path", ["/sendsms/", "/verifications/"])  # the fast accept path and a DRF view
def test_a_chunked_body_is_refused_with_length_required_under_gunicorn(
    gunicorn: WebServer, key: str, path: str
) -> None:
    status, body = chunked_post(gunicorn, path, key, [BODY[:20], BODY[20:]])

    assert (status, body["error"]["code"]) == (411, "length_required")
    assert not VerifyRequests.objects.exists()


def test_an_11_mib_chunked_body_is_refused_before_it_is_read(gunicorn: WebServer, key: str) -> None:
    status, body = chunked_post(gunicorn, "/sendsms/", key, [], announced=11 * 1024 * 1024)

    assert (status, body["error"]["code"]) == (411, "length_required")


def get(server: WebServer, path: str) -> int:
    try:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


# A number as clients put it in the query string: plain, E.164 with its "+" escaped, and in Persian digits.
QUERIES = ["phone=09121234567", "phone=%2B989121234567", "flag=DONE&phone=" + quote("۰۹۱۲۱۲۳۴۵۶۷")]


@pytest.mark.parametrize("server_name", ["gunicorn", "runserver"])
def test_access_logs_mask_phone_numbers_in_the_query_string(server_name: str, request: pytest.FixtureRequest) -> None:
    server: WebServer = request.getfixturevalue(server_name)
    for query in QUERIES:
        assert get(server, f"/sendsms/?{query}") == 401

    log = wait_for(lambda: _access_lines(server), timeout=10, message="three access log lines")
    assert all("phone=0912***4567" in line for line in log), log
    text = server.log.read_text()
    assert "1234567" not in text and "%DB%B4%DB%B5%DB%B6%DB%B7" not in text.upper()


def _access_lines(server: WebServer) -> list[str]:
    lines = [line for line in server.log.read_text().splitlines() if "GET /sendsms/" in line]
    return lines if len(lines) == len(QUERIES) else []
