"""``manage.py create_client NAME``: prints the key once, stores only its hash."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from clients.models import Client, ClientKey


def create_client(name: str) -> str:
    out = io.StringIO()
    call_command("create_client", name, stdout=out)
    return out.getvalue()


def test_create_client_prints_the_key_as_the_last_line(db: Any) -> None:
    output = create_client("shop-backend")

    key = output.strip().splitlines()[-1]
    assert len(key) >= 32
    assert " " not in key
    first = ClientKey.objects.get(client__name="shop-backend")
    assert first.prefix == key[:8]
    assert first.scopes == ["sms:send", "verify", "read"]
    assert (first.expires_at, first.revoked_at) == (None, None)


def test_create_client_key_authenticates(db: Any) -> None:
    key = create_client("shop-backend").strip().splitlines()[-1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api.get("/sendsms/")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_create_client_refuses_a_duplicate_name(db: Any) -> None:
    create_client("shop-backend")

    with pytest.raises(CommandError, match="shop-backend"):
        create_client("shop-backend")

    assert Client.objects.filter(name="shop-backend").count() == 1


def test_create_client_stores_only_a_hash_of_the_key(db: Any) -> None:
    key = create_client("shop-backend").strip().splitlines()[-1]

    row = ClientKey.objects.filter(client__name="shop-backend").values().get()
    assert all(key not in str(value) for value in row.values())
    assert len(row["key_hash"]) == 64


def test_create_client_gives_each_client_a_different_key(db: Any) -> None:
    first = create_client("one").strip().splitlines()[-1]
    second = create_client("two").strip().splitlines()[-1]

    assert first != second
