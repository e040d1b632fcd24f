"""Admin actions on keys: create and rotate show the new key once, revoke refuses it; no page shows a stored key."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from clients.access import READ, InsufficientScope, key_access
from clients.models import Client, ClientKey
from clients.services import client_create

_SHOWN = re.compile(r"<code>([A-Za-z0-9_-]{40,})</code>")


@pytest.fixture
def shop(db: Any) -> tuple[Client, str]:
    return client_create(name="shop")


def shown_keys(response: Any) -> list[str]:
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return _SHOWN.findall(response.content.decode())


def test_create_action_asks_name_and_scopes_then_shows_the_key_once(
    admin_client: BrowserClient, shop: tuple[Client, str]
) -> None:
    client, _ = shop
    url = reverse("admin:clients_client_changelist")
    form = admin_client.post(url, {"action": "create_key", "_selected_action": [client.pk]})
    assert form.status_code == 200 and b'name="scopes"' in form.content

    response = admin_client.post(
        url,
        {"action": "create_key", "_selected_action": [client.pk], "apply": "1", "name": "reports", "scopes": ["read"]},
    )

    [key] = shown_keys(response)
    stored = ClientKey.objects.get(prefix=key[:8])
    assert (stored.client_id, stored.name, stored.scopes) == (client.pk, "reports", ["read"])
    assert key_access(key=key, scopes=frozenset({"read"})) == client
    assert key not in admin_client.get(reverse("admin:clients_client_change", args=[client.pk])).content.decode()


def test_rotate_action_shows_the_new_key_and_the_old_one_keeps_working(
    admin_client: BrowserClient, shop: tuple[Client, str]
) -> None:
    client, old = shop
    old_key = client.keys.get()

    response = admin_client.post(
        reverse("admin:clients_clientkey_changelist"), {"action": "rotate", "_selected_action": [old_key.pk]}
    )

    [new] = shown_keys(response)
    assert new != old
    assert key_access(key=new, scopes=None) == client
    assert key_access(key=old, scopes=None) == client


def test_revoke_action_refuses_the_key_at_once(admin_client: BrowserClient, shop: tuple[Client, str]) -> None:
    client, key = shop

    admin_client.post(
        reverse("admin:clients_clientkey_changelist"),
        {"action": "revoke", "_selected_action": [client.keys.get().pk]},
    )

    assert client.keys.get().revoked_at is not None
    api = BrowserClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/sendsms/").status_code == 401


def test_key_pages_show_the_prefix_never_the_key_or_its_hash(
    admin_client: BrowserClient, shop: tuple[Client, str]
) -> None:
    client, key = shop
    stored = client.keys.get()

    pages = [
        admin_client.get(reverse("admin:clients_clientkey_changelist")),
        admin_client.get(reverse("admin:clients_clientkey_change", args=[stored.pk])),
        admin_client.get(reverse("admin:clients_client_change", args=[client.pk])),
    ]

    for page in pages:
        assert page.status_code == 200
        content = page.content.decode()
        assert stored.prefix in content
        assert key not in content and key[:9] not in content and stored.key_hash not in content


def test_a_scope_taken_away_in_the_admin_applies_at_once(admin_client: BrowserClient, shop: tuple[Client, str]) -> None:
    client, key = shop
    stored = client.keys.get()
    assert key_access(key=key, scopes=READ) == client  # remembered by this process

    response = admin_client.post(
        reverse("admin:clients_clientkey_change", args=[stored.pk]),
        {"name": stored.name, "scopes": ["sms:send"], "expires_at_0": "", "expires_at_1": ""},
    )

    assert response.status_code == 302, response.content
    stored.refresh_from_db()
    assert stored.scopes == ["sms:send"]
    with pytest.raises(InsufficientScope):
        key_access(key=key, scopes=READ)
