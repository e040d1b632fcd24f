"""``manage.py client_keys create|list|rotate|revoke``: keys printed once, lists show prefixes only."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from clients.access import key_access
from clients.models import Client, ClientKey
from clients.services import client_create


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("client_keys", *args, stdout=out)
    return out.getvalue()


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def status_of(key: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return int(api.get("/sendsms/").status_code)


@pytest.fixture
def shop(db: Any) -> tuple[Client, str]:
    return client_create(name="shop")


def test_create_prints_the_key_once_with_the_scopes_asked_for(shop: tuple[Client, str]) -> None:
    output = run("create", "shop", "--name", "reports", "--scopes", "read")

    key = last_line(output)
    assert output.count(key) == 1
    stored = ClientKey.objects.get(prefix=key[:8])
    assert (stored.name, stored.scopes, stored.expires_at) == ("reports", ["read"], None)
    assert stored.key_hash != key and key not in str(ClientKey.objects.filter(pk=stored.pk).values().get())
    assert key_access(key=key, scopes=None) == shop[0]


def test_create_with_an_expiry(shop: tuple[Client, str]) -> None:
    before = timezone.now()
    key = last_line(run("create", "shop", "--expires-in", "7d"))

    expires_at = ClientKey.objects.get(prefix=key[:8]).expires_at
    assert expires_at is not None
    assert timedelta(days=7) <= expires_at - before < timedelta(days=7, minutes=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "nobody"], "no client named 'nobody'"),
        (["create", "shop", "--scopes", "read,admin"], "got admin"),
        (["create", "shop", "--expires-in", "soon"], "not a duration"),
        (["rotate", "zzzzzzzz"], "No key starts with 'zzzzzzzz'"),
        (["revoke", "zzzzzzzz"], "No key starts with 'zzzzzzzz'"),
    ],
)
def test_bad_input_is_a_clear_error(shop: tuple[Client, str], args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_list_shows_prefixes_and_never_a_full_key(shop: tuple[Client, str]) -> None:
    _, first = shop
    second = last_line(run("create", "shop", "--name", "reports", "--scopes", "read"))
    run("revoke", second[:8])

    output = run("list", "shop")

    assert first[:8] in output and second[:8] in output
    assert first not in output and second not in output
    assert first[:9] not in output and second[:9] not in output
    lines = output.strip().splitlines()
    assert len(lines) == 3
    assert "revoked" in next(line for line in lines if second[:8] in line)
    assert "active" in next(line for line in lines if first[:8] in line)


def test_rotate_prints_a_new_key_and_the_old_one_keeps_working_until_revoked(shop: tuple[Client, str]) -> None:
    _, old = shop

    output = run("rotate", old[:8])

    new = last_line(output)
    assert new != old and output.count(new) == 1
    assert "keeps working until you revoke it" in output
    assert (status_of(old), status_of(new)) == (200, 200)
    run("revoke", old[:8])
    assert (status_of(old), status_of(new)) == (401, 200)


def test_rotate_can_let_the_old_key_expire(shop: tuple[Client, str]) -> None:
    _, old = shop

    run("rotate", old[:8], "--old-expires-in", "12h")

    expires_at = ClientKey.objects.get(prefix=old[:8]).expires_at
    assert expires_at is not None and expires_at - timezone.now() <= timedelta(hours=12)


def test_a_revoked_key_cannot_be_rotated(shop: tuple[Client, str]) -> None:
    _, old = shop
    run("revoke", old[:8])

    with pytest.raises(CommandError, match="is revoked"):
        run("rotate", old[:8])


def test_a_key_never_starts_with_a_dash_so_its_prefix_is_never_read_as_an_option(
    shop: tuple[Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["-" + "a" * 42, "b" * 43])
    monkeypatch.setattr("clients.services.secrets.token_urlsafe", lambda _: next(drawn))

    key = last_line(run("create", "shop", "--name", "dashless"))

    assert key == "b" * 43
    assert "Revoked bbbbbbbb" in run("revoke", key[:8])
